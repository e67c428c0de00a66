package storetest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// OpenBench opens a new, empty store for a benchmark with o; the
// benchmark closes it when it ends.
type OpenBench func(b *testing.B, o registry.Options) registry.Store

// Bench runs the same operations against a store, so that each store's
// bench_test.go measures them alike and their figures compare:
//
//   - Get: lookups of random items of 10,000, each with a one-event
//     history (as most looked-up items have), by 1 reader and by 32
//     (lookups/s);
//   - Append: single events by 1 writer and by 32, each writer on 20
//     items of its own in turn (events/s);
//   - Register: registrations of 100 new serials each, by 1 caller and
//     by 8 (rows/s).
//
// Every write is durable when it returns, as the server acknowledges it.
// Compare the rates of one run (the machine is shared):
//
//	go test -run '^$' -bench Store -benchtime 3s ./registry/ ./registry/postgres/
func Bench(b *testing.B, open OpenBench) {
	b.Run("Get", func(b *testing.B) {
		for _, readers := range []int{1, 32} {
			b.Run(fmt.Sprintf("readers=%d", readers), func(b *testing.B) { benchGet(b, open, readers) })
		}
	})
	b.Run("Append", func(b *testing.B) {
		for _, writers := range []int{1, 32} {
			b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) { benchAppend(b, open, writers) })
		}
	})
	b.Run("Register", func(b *testing.B) {
		for _, callers := range []int{1, 8} {
			b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) { benchRegister(b, open, callers) })
		}
	})
}

// benchStore opens a store on the suite's clock with the suite's models.
func benchStore(b *testing.B, open OpenBench) registry.Store {
	b.Helper()
	s := open(b, registry.Options{Now: NewClock().Now})
	for _, m := range []policy.Model{
		{SKU: "P1", Name: "Mask One", Kind: policy.KindProduct},
		{SKU: "CHG", Name: "Charger", Kind: policy.KindAccessory},
	} {
		if _, _, err := s.PutModel(admin, m); err != nil {
			b.Fatalf("PutModel(%s): %v", m.SKU, err)
		}
	}
	return s
}

// benchRows are n rows of new serials prefix00000…, produced 2026-10-01,
// one in ten bundling a charger.
func benchRows(prefix string, n int) []registry.Row {
	rows := make([]registry.Row, n)
	for i := range rows {
		rows[i] = registry.Row{Serial: fmt.Sprintf("%s%05d", prefix, i), SKU: "P1", Batch: "B" + prefix,
			ProducedOn: policy.Date{Year: 2026, Month: 10, Day: 1}}
		if i%10 == 0 {
			rows[i].Accessories = []registry.Bundle{{SKU: "CHG", Batch: "CB1"}}
		}
	}
	return rows
}

// runN runs op b.N times in all over workers goroutines and reports the
// rate as unit/s, counting per ops of op.
func runN(b *testing.B, workers int, per float64, unit string, op func(worker, i int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range workers {
		wg.Go(func() {
			for i := 0; next.Add(1) <= int64(b.N); i++ {
				if err := op(w, i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)*per/b.Elapsed().Seconds(), unit+"/s")
}

func benchGet(b *testing.B, open OpenBench, readers int) {
	s := benchStore(b, open)
	rows := benchRows("G", 10_000)
	if _, err := s.Register(admin, rows); err != nil {
		b.Fatal(err)
	}
	evs := make([]registry.EventRow, len(rows))
	for i, r := range rows {
		evs[i] = registry.EventRow{Serial: r.Serial, Event: policy.Event{Type: policy.EvDispatched,
			On: policy.Date{Year: 2026, Month: 11, Day: 1}, Order: fmt.Sprintf("O%04d", i/10)}}
	}
	if _, err := s.AppendMany(registry.Write{Actor: admin}, evs); err != nil {
		b.Fatal(err)
	}
	runN(b, readers, 1, "lookups", func(w, i int) error {
		serial := rows[rand.IntN(len(rows))].Serial
		rec, err := s.Get(serial)
		if err == nil && len(rec.History) != 1 {
			err = fmt.Errorf("%s: history of %d events, want 1", serial, len(rec.History))
		}
		return err
	})
}

func benchAppend(b *testing.B, open OpenBench, writers int) {
	s := benchStore(b, open)
	const perWriter = 20
	rows := benchRows("W", writers*perWriter)
	if _, err := s.Register(admin, rows); err != nil {
		b.Fatal(err)
	}
	ev := policy.Event{Type: policy.EvTransferred, On: policy.Date{Year: 2026, Month: 11, Day: 2}}
	runN(b, writers, 1, "events", func(w, i int) error {
		_, err := s.Append(registry.Write{Actor: desk}, rows[w*perWriter+i%perWriter].Serial, ev)
		return err
	})
}

func benchRegister(b *testing.B, open OpenBench, callers int) {
	s := benchStore(b, open)
	const perCall = 100
	var calls atomic.Int64
	runN(b, callers, perCall, "rows", func(w, i int) error {
		_, err := s.Register(admin, benchRows(fmt.Sprintf("R%06d-", calls.Add(1)), perCall))
		return err
	})
}
