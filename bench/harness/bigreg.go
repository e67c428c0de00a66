package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Bounds of the big-registration campaign (issue 17, item 4).
const (
	// bigRegFactor and bigRegAtOnce bound the growth of the server's peak
	// RSS while big registration CSVs arrive at once: bigRegFactor times
	// the body of each of at most bigRegAtOnce of them, plus peakRSSSlack,
	// however many are sent. One request of 100,000 rows grows it by about
	// 10 times its body (bench/register); the server reads and writes two
	// at a time, the others wait unread (eight at once used to cost 9.7
	// times all of them).
	bigRegFactor = 12
	bigRegAtOnce = 3
	// bigRegLookupStall bounds the slowest item lookup while they are
	// written: reads never wait for a write transaction.
	bigRegLookupStall = 5 * time.Second
)

// BigRegistrations sends cfg.BigRegistrations registration CSVs of
// cfg.BigRegistrationRows rows each at once (a batch of its own each),
// while a reader looks items up without pause and the server's RSS is
// sampled: every CSV must be registered whole (201) or refused whole, the
// peak RSS must grow by at most bigRegFactor times bigRegAtOnce bodies
// (plus peakRSSSlack), every lookup must be answered 200 within
// bigRegLookupStall. Then serve is SIGKILLed and started again: every
// acknowledged CSV's rows are all there (its batch count, and its first,
// middle and last serial).
func (h *Harness) BigRegistrations() *Result {
	n, rows := h.cfg.BigRegistrations, h.cfg.BigRegistrationRows
	x, res := h.startExhaust("big registrations")
	if x == nil {
		return res
	}
	defer x.e.close()
	produced := policyToday().AddDays(-10).String()
	bodies := make([][]byte, n)
	total := 0
	for i := range bodies {
		var b bytes.Buffer
		b.WriteString("serial,sku,batch,produced_on\n")
		// Serials in a scattered order, as a file of several lines'
		// output is: the server sorts them.
		for k := range rows {
			j := (k * 7919) % rows
			fmt.Fprintf(&b, "RG%02d%07d,EX-1,%s,%s\n", i, j, bigRegBatch(i), produced)
		}
		bodies[i] = b.Bytes()
		total += b.Len()
	}
	before, err := x.snapshot()
	if err != nil {
		res.Failf("before: %v", err)
		return res
	}
	pid := x.e.srv.cmd.Process.Pid

	stop := make(chan struct{})
	var wg sync.WaitGroup
	// The reader: the stock's serials, one after another.
	var lookups, lookupFails int
	var latencies []time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			r, err := x.e.api.Do("GET", fmt.Sprintf("/api/v1/items/EX%05d", i%5), x.e.service, nil)
			lookups++
			latencies = append(latencies, r.Elapsed)
			if err != nil || r.Status != 200 {
				lookupFails++
				if lookupFails <= 3 {
					res.Failf("lookup during the registrations: %d %v", r.Status, err)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	// The sampler: RSS every 20 ms (VmHWM keeps the peak anyway).
	var rssMax float64
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				rss, _ := procMemory(pid)
				rssMax = max(rssMax, rss)
			}
		}
	}()

	acked := make([]bool, n)
	statuses := map[int]int{}
	var mu sync.Mutex
	var senders sync.WaitGroup
	start := time.Now()
	for i := range n {
		senders.Add(1)
		go func() {
			defer senders.Done()
			r, err := x.e.api.Do("POST", "/api/v1/items", x.e.warehouse, bodies[i], "Content-Type", "text/csv")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Failf("registration CSV %d (%d rows): no answer: %v", i, rows, err)
				return
			}
			statuses[r.Status]++
			switch {
			case r.Status == 201:
				var got struct{ Created, Unchanged int }
				if err := json.Unmarshal(r.Body, &got); err != nil || got.Created != rows {
					res.Failf("registration CSV %d: 201 %s, want created %d", i, clip(r.Body, 200), rows)
				}
				acked[i] = true
			case r.Status == 503 || r.Status == 507:
				// refused whole: checked below
			default:
				res.Failf("registration CSV %d (%d rows): %d %s", i, rows, r.Status, clip(r.Body, 200))
			}
		}()
	}
	senders.Wait()
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	after, err := x.snapshot()
	if err != nil {
		res.Failf("after: %v", err)
		return res
	}
	slices.Sort(latencies)
	growth := after.peakRSS - before.peakRSS
	bound := float64(bigRegFactor*min(n, bigRegAtOnce)*len(bodies[0]) + peakRSSSlack)
	res.Figuref("%d registration CSVs of %d rows (%.1f MiB in all) at once: %v in %s; %d lookups meanwhile, %d failed, median %s, slowest %s",
		n, rows, mib(float64(total)), statuses, elapsed.Round(100*time.Millisecond), lookups, lookupFails,
		pct(latencies, 50).Round(time.Millisecond), pct(latencies, 100).Round(time.Millisecond))
	res.Figuref("peak RSS %.1f → %.1f MiB: growth %.1f MiB = %.1f× the bodies, %.1f× one (bound %.1f MiB); RSS %.1f MiB after, sampled at most %.1f MiB",
		mib(before.peakRSS), mib(after.peakRSS), mib(growth), growth/float64(total), growth/float64(len(bodies[0])), mib(bound),
		mib(after.rss), mib(rssMax))
	if before.peakRSS > 0 && growth > bound {
		res.Failf("peak RSS grew by %.1f MiB, %.1f× the bodies (bound %.1f MiB: %d× %d of them + %d MiB)",
			mib(growth), growth/float64(total), mib(bound), bigRegFactor, min(n, bigRegAtOnce), peakRSSSlack>>20)
	}
	if slow := pct(latencies, 100); slow > bigRegLookupStall {
		res.Failf("a lookup took %s while the registrations were written (bound %s)", slow.Round(time.Millisecond), bigRegLookupStall)
	}

	// Nothing acknowledged lost, nothing refused half there: after a
	// SIGKILL and a restart.
	x.e.kill()
	if err := x.e.start(); err != nil {
		res.Failf("restart after SIGKILL: %v", err)
		return res
	}
	var list struct {
		Batches []struct {
			Batch string `json:"batch"`
			Count int    `json:"count"`
		} `json:"batches"`
	}
	if _, err := x.e.api.JSON("GET", "/api/v1/batches", x.e.warehouse, nil, &list); err != nil {
		res.Failf("after the restart: %v", err)
		return res
	}
	counts := map[string]int{}
	for _, b := range list.Batches {
		counts[b.Batch] = b.Count
	}
	lost := 0
	for i := range n {
		c := counts[bigRegBatch(i)]
		switch {
		case acked[i] && c != rows:
			res.Failf("registration CSV %d was acknowledged, but its batch %s holds %d of its %d rows after a SIGKILL", i, bigRegBatch(i), c, rows)
			lost++
		case !acked[i] && c != 0:
			res.Failf("registration CSV %d was not acknowledged, but %d of its %d rows are there", i, c, rows)
		}
		if !acked[i] {
			continue
		}
		for _, j := range []int{0, rows / 2, rows - 1} {
			serial := fmt.Sprintf("RG%02d%07d", i, j)
			if r, err := x.e.api.Do("GET", "/api/v1/items/"+serial, x.e.service, nil); err != nil || r.Status != 200 {
				res.Failf("acknowledged serial %s after a SIGKILL: %d %v", serial, r.Status, err)
				lost++
			}
		}
	}
	res.Figuref("after a SIGKILL and a restart: %d of %d acknowledged CSVs whole, %d missing rows or serials", countTrue(acked)-lost, countTrue(acked), lost)
	x.e.stop()
	return res
}

// bigRegBatch is the batch of the i-th CSV of BigRegistrations.
func bigRegBatch(i int) string { return fmt.Sprintf("RB%04d", i) }

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// pct is the p-th percentile of sorted d (0 for none).
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, len(d)*p/100)]
}
