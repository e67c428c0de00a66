package main

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Request kinds of the mixed load, in report order.
var mixedKinds = []string{"lookup", "public", "register", "event"}

// mixedSeeded is the number of serials registered before the load: the
// lookups, page views and events spread over them.
const mixedSeeded = 2000

// maxOpsPerClient bounds each client's loop by count as well as by time.
const maxOpsPerClient = 1 << 22

// Mixed runs Clients clients for Duration: 50% item lookups (service key),
// 25% public page views with the right check code, 10% registrations of a
// new serial (warehouse key), 15% `transferred` events (service key, half
// with an Idempotency-Key). The server trusts X-Forwarded-For from
// 127.0.0.1 (--trusted-proxy), as behind a reverse proxy, and each client
// sends its own address, so the public rate limiter sees 64 customers, not
// one; its 429s are counted apart, as expected answers. Every acknowledged
// write is then read back. Findings: any 5xx, any request without an
// answer, any answer other than the expected one (and 429 for page views),
// a lost or duplicated write, a failed consistency check afterwards.
func (h *Harness) Mixed() *Result {
	res := &Result{Name: "mixed load"}
	e, seeded := h.prepare(res, "mixed", "", stock{sku: "LOAD-1", prefix: "MX", batch: "MB0001", n: mixedSeeded, daysOld: 60},
		"--trusted-proxy", "127.0.0.1/32")
	if e == nil {
		return res
	}
	defer e.close()
	today := policyToday()
	produced := today.AddDays(-60)
	public, err := e.publicServed(seeded[0])
	if err != nil {
		res.Failf("public page: %v", err)
	}
	if !public {
		res.Figuref("public page views: not served by this build (GET /c/{serial} answers 404 \"no such route\"); their share went to lookups")
	}
	codes := make([]string, len(seeded))
	for i, s := range seeded {
		codes[i] = e.code(s)
	}
	before, _ := scrapeMetrics(e.srv.URL, e.admin)

	h.logf("mixed: %d clients for %s", h.cfg.Clients, h.cfg.Duration)
	var led ledger
	expected := map[string]int{"lookup": 200, "public": 200, "register": 201, "event": 201}
	var (
		mu      sync.Mutex
		totals  = map[string]*tally{}
		samples = map[string]string{} // first body per kind and unexpected status
	)
	for _, k := range mixedKinds {
		totals[k] = newTally()
	}
	loadStart := time.Now()
	deadline := loadStart.Add(h.cfg.Duration)
	rng := h.rand()
	var wg sync.WaitGroup
	for c := range h.cfg.Clients {
		seed := rng.Uint64()
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(c)))
			xff := fmt.Sprintf("198.18.%d.%d", c/250, c%250+1) // RFC 2544 benchmarking range
			mine := map[string]*tally{}
			for _, k := range mixedKinds {
				mine[k] = newTally()
			}
			note := func(kind string, status int, body []byte) {
				key := fmt.Sprintf("%s %d", kind, status)
				mu.Lock()
				if _, ok := samples[key]; !ok {
					samples[key] = clip(body, 300)
				}
				mu.Unlock()
			}
			// record counts an answer (or its absence) of kind; an answer
			// other than 200/201 is kept as a sample, and a 2xx whose body
			// is not what the contract says is a finding.
			record := func(kind string, resp Resp, err error) {
				switch {
				case resp.Status == 0:
					mine[kind].fail(err)
				case resp.Status != expected[kind] && !(kind == "public" && resp.Status == 429):
					mine[kind].add(resp.Status, resp.Elapsed)
					note(kind, resp.Status, resp.Body)
				default:
					mine[kind].add(resp.Status, resp.Elapsed)
					if err != nil {
						res.Failf("%s: %d with a malformed answer: %v", kind, resp.Status, err)
					}
				}
			}
			for i := 0; i < maxOpsPerClient && time.Now().Before(deadline); i++ {
				switch p := r.IntN(100); {
				case p < 50 || (!public && p < 75):
					resp, err := e.api.Do("GET", "/api/v1/items/"+seeded[r.IntN(len(seeded))], e.service, nil)
					record("lookup", resp, err)
				case p < 75:
					j := r.IntN(len(seeded))
					resp, err := e.api.Do("GET", publicPath(seeded[j], codes[j]), "", nil, "X-Forwarded-For", xff)
					record("public", resp, err)
				case p < 85:
					w := registration(e.warehouse, "LOAD-1", "MB0002", produced, fmt.Sprintf("MR%03d-%07d", c, i))
					resp, err := w.send(e.api)
					led.add(w)
					record("register", resp, err)
				default:
					w := transfer(e.service, seeded[r.IntN(len(seeded))], fmt.Sprintf("mixed-c%d-i%d", c, i), today, i%2 == 0)
					resp, err := w.send(e.api)
					led.add(w)
					record("event", resp, err)
				}
			}
			mu.Lock()
			for k, t := range mine {
				totals[k].merge(t)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(loadStart)
	e.api.Close()
	// Closed connections take a moment to leave the server's figures.
	after, _ := waitSettled(e.srv.URL, e.admin, before, 10*time.Second)

	all := 0
	for _, k := range mixedKinds {
		all += totals[k].n
	}
	res.Figuref("%d clients for %.1fs: %d requests, %.0f req/s", h.cfg.Clients, elapsed.Seconds(), all, float64(all)/elapsed.Seconds())
	for _, k := range mixedKinds {
		t := totals[k]
		if t.n == 0 {
			continue
		}
		res.Figuref("%-8s %7d req %7.0f req/s  p50 %s  p99 %s  [%s]", k, t.n, float64(t.n)/elapsed.Seconds(), ms(t.quantile(0.5)), ms(t.quantile(0.99)), t.statusLine())
		if n := t.count(func(s int) bool { return s >= 500 }); n > 0 {
			res.Failf("%s: %d answers 5xx", k, n)
		}
		if n := t.failures(); n > 0 {
			res.Failf("%s: %d requests got no answer (%s)", k, n, t.statusLine())
		}
		if n := t.count(func(s int) bool { return s < 500 && s != expected[k] && !(k == "public" && s == 429) }); n > 0 {
			res.Failf("%s: %d answers other than %d", k, n, expected[k])
		}
		if k == "public" {
			if n := t.statuses[429]; n > 0 {
				res.Figuref("public: %d of %d page views rate limited (429, expected under load from %d addresses)", n, t.n, h.cfg.Clients)
			}
		}
	}
	for key, body := range samples {
		res.Figuref("sample answer %s: %s", key, body)
	}
	if before != nil && after != nil {
		res.Figuref("server before → after the load, idle connections closed: goroutines %.0f → %.0f, heap in use %.1f → %.1f MiB, RSS %.1f → %.1f MiB, open files %.0f → %.0f",
			before["go_goroutines"], after["go_goroutines"], mib(before["go_memstats_heap_inuse_bytes"]), mib(after["go_memstats_heap_inuse_bytes"]),
			mib(before["process_resident_memory_bytes"]), mib(after["process_resident_memory_bytes"]), before["process_open_fds"], after["process_open_fds"])
	}

	writes := led.all()
	n, problems := verify(writes, apiLookup(e.api, e.service), 16)
	e.api.Close()
	ackW, ackRows := led.acked()
	res.Figuref("read back %d acknowledged writes (%d rows) over %d serials: %d problems", ackW, ackRows, n, len(problems))
	for _, p := range problems {
		res.Failf("%s", p)
	}
	e.stop()
	if err := checkFile(e.db); err != nil {
		res.Failf("consistency check after the load: %v", err)
	} else {
		res.Figuref("bbolt consistency check after a graceful stop: ok")
	}
	return res
}

func mib(v float64) float64 { return v / (1 << 20) }
