package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
)

// Benchmarks of webhooks (issue 20), each a ratio or a rate measured in one
// run (the machine is shared):
//
//	go test -run '^$' -bench 'WebhookAppend' -benchtime 3000x ./server/
//	go test -run '^$' -bench 'WebhookDrain' -benchtime 1x ./server/

// webhookBench is a server over 2,048 received serials; with subscribe,
// one webhook for every event type to a receiver on 127.0.0.1 answering
// 204, and with send the sender running, as under serve.
func webhookBench(b *testing.B, subscribe, send bool) (*env, []string) {
	e := newEnv(b, allowPrivate, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
		c.Now = time.Now
	})
	actor := registry.Actor{Name: "bench"}
	if _, _, err := e.db.PutModel(actor, policy.Model{SKU: "BM-1", Name: "Bench mask", Kind: policy.KindProduct}); err != nil {
		b.Fatal(err)
	}
	serials := make([]string, 2048)
	rows := make([]registry.Row, len(serials))
	evs := make([]registry.EventRow, 0, 2*len(serials))
	for i := range serials {
		serials[i] = fmt.Sprintf("WB%05d", i)
		rows[i] = registry.Row{Serial: serials[i], SKU: "BM-1", Batch: "B1", ProducedOn: policy.Date{Year: 2026, Month: 1, Day: 2}}
		evs = append(evs,
			registry.EventRow{Serial: serials[i], Event: policy.Event{Type: policy.EvDispatched, On: policy.Date{Year: 2026, Month: 9, Day: 1}, Order: "SO-" + serials[i]}},
			registry.EventRow{Serial: serials[i], Event: policy.Event{Type: policy.EvReceived, On: policy.Date{Year: 2026, Month: 9, Day: 3}, Evidence: policy.Courier}})
	}
	if _, err := e.db.Register(actor, rows); err != nil {
		b.Fatal(err)
	}
	if _, err := e.db.AppendMany(registry.Write{Actor: actor}, evs); err != nil {
		b.Fatal(err)
	}
	if subscribe {
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusNoContent)
		}))
		b.Cleanup(rcv.Close)
		if _, err := e.db.CreateSubscription(actor, rcv.URL, []string{registry.WildcardEvent}); err != nil {
			b.Fatal(err)
		}
		if send {
			e.srv.StartWebhooks()
		}
	}
	return e, serials
}

// appendRound appends n transfers from 32 writers (the group commit of
// concurrent requests) and returns how long it took.
func appendRound(b *testing.B, db *bolt.DB, serials []string, n int) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	ev := policy.Event{Type: policy.EvTransferred, On: policy.Date{Year: 2026, Month: 9, Day: 5}}
	start := time.Now()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				if _, err := db.Append(registry.Write{Actor: registry.Actor{Name: "bench"}}, serials[int(i)%len(serials)], ev); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkWebhookAppend: event appends with one webhook for every event
// type (each append also queues a delivery in its transaction) against
// appends with none, in alternating rounds on separate registries.
// ratio = rate with the webhook / rate without (the floor: 0.8).
// ratio-delivering is the same with the sender delivering meanwhile to a
// receiver in this process: on a small machine their CPU is the appends'.
func BenchmarkWebhookAppend(b *testing.B) {
	plain, ps := webhookBench(b, false, false)
	queued, qs := webhookBench(b, true, false)
	sending, ss := webhookBench(b, true, true)
	var without, with, delivering time.Duration
	const round = 200
	b.ResetTimer()
	for done := 0; done < b.N; done += round {
		n := min(round, b.N-done)
		without += appendRound(b, plain.db, ps, n)
		with += appendRound(b, queued.db, qs, n)
		delivering += appendRound(b, sending.db, ss, n)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/without.Seconds(), "appends/s")
	b.ReportMetric(float64(b.N)/with.Seconds(), "hooked-appends/s")
	b.ReportMetric(without.Seconds()/with.Seconds(), "ratio")
	b.ReportMetric(without.Seconds()/delivering.Seconds(), "ratio-delivering")
}

// BenchmarkWebhookDrain: 10,000 deliveries queued while no sender runs,
// then drained to a receiver on 127.0.0.1 (each attempt recorded in the
// registry). deliveries/s is the rate from the sender's start to an empty
// outbox.
func BenchmarkWebhookDrain(b *testing.B) {
	const n = 10_000
	for b.Loop() {
		b.StopTimer()
		e, serials := webhookBench(b, false, false)
		var got atomic.Int64
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			got.Add(1)
			w.WriteHeader(http.StatusNoContent)
		}))
		actor := registry.Actor{Name: "bench"}
		if _, err := e.db.CreateSubscription(actor, rcv.URL, []string{registry.WildcardEvent}); err != nil {
			b.Fatal(err)
		}
		evs := make([]registry.EventRow, n)
		for i := range evs {
			evs[i] = registry.EventRow{Serial: serials[i%len(serials)], Event: policy.Event{Type: policy.EvTransferred, On: policy.Date{Year: 2026, Month: 9, Day: 5}}}
		}
		for start := 0; start < n; start += 1000 {
			if _, err := e.db.AppendMany(registry.Write{Actor: actor}, evs[start:start+1000]); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		e.srv.StartWebhooks()
		for {
			pending, err := e.db.PendingDeliveries()
			if err != nil {
				b.Fatal(err)
			}
			if pending == 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if got.Load() < n {
			b.Fatalf("receiver got %d of %d", got.Load(), n)
		}
		b.ReportMetric(n/elapsed.Seconds(), "deliveries/s")
		e.srv.Close()
		rcv.Close()
		b.StartTimer()
	}
}
