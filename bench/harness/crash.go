package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry/bolt"
)

// crashSeeded is the number of serials the crash writers append events to.
const crashSeeded = 200

// maxWritesPerRound bounds a writer's loop by count as well as by the kill.
const maxWritesPerRound = 100_000

// CrashServe SIGKILLs serve CrashRounds times at a random moment (up to
// CrashMaxDelay after writes start) while CrashWriters clients write:
// single registrations, 20-row registrations, single events and 5-row
// event batches (all events with an Idempotency-Key). After each kill, with
// the server down, the file as the crash left it is opened read-only: it
// must pass bbolt's consistency check and hold every write acknowledged so
// far, and no unanswered multi-row write may be half there. The server is
// then restarted and every unanswered write retried as a client would, with
// the same body and key: it must succeed, and an event must not be stored
// twice. At the end everything is read back through the API.
func (h *Harness) CrashServe() *Result {
	res := &Result{Name: "crash: SIGKILL of serve under writes"}
	e, seeded := h.prepare(res, "crash-serve", "", stock{sku: "CRASH-1", prefix: "CS", batch: "CB0001", n: crashSeeded, daysOld: 30})
	if e == nil {
		return res
	}
	defer e.close()
	today := policyToday()
	produced := today.AddDays(-30)

	rng := h.rand()
	var led ledger
	var restarts []time.Duration
	var killedAt []time.Duration
	unansweredTotal, retried := 0, 0
	for round := 1; round <= h.cfg.CrashRounds; round++ {
		delay := 50*time.Millisecond + time.Duration(rng.Int64N(int64(max(h.cfg.CrashMaxDelay-50*time.Millisecond, time.Millisecond))))
		var stop atomic.Bool
		var mine ledger
		api := e.api // e.api changes at the restart; the writers keep this round's
		var wg sync.WaitGroup
		for w := range h.cfg.CrashWriters {
			seed := rng.Uint64()
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, uint64(w)))
				for i := 0; i < maxWritesPerRound && !stop.Load(); i++ {
					tag := fmt.Sprintf("r%d-w%d-%d", round, w, i)
					var wr *write
					switch p := r.IntN(10); {
					case p < 4:
						wr = registration(e.warehouse, "CRASH-1", "CB0002", produced, "K"+tag)
					case p < 5:
						serials := make([]string, 20)
						for j := range serials {
							serials[j] = fmt.Sprintf("K%s-%02d", tag, j)
						}
						wr = registration(e.warehouse, "CRASH-1", "CB0003", produced, serials...)
					case p < 9:
						wr = transfer(e.service, seeded[r.IntN(len(seeded))], "crash-"+tag, today, true)
					default:
						picked := r.Perm(len(seeded))[:5]
						serials, notes := make([]string, 5), make([]string, 5)
						for j, k := range picked {
							serials[j], notes[j] = seeded[k], fmt.Sprintf("crash-%s-%d", tag, j)
						}
						wr = transfers(e.service, serials, notes, today)
					}
					resp, err := wr.send(api)
					mine.add(wr)
					switch {
					case resp.Status == 0:
						return // the server is gone: this write's fate is unknown
					case resp.Status/100 == 2 && err != nil:
						res.Failf("round %d: %s %s: %v", round, wr.kind, wr.serials[0], err)
					case resp.Status/100 != 2:
						res.Failf("round %d: %s %s answered %d %s before the kill", round, wr.kind, wr.serials[0], resp.Status, clip(resp.Body, 200))
					}
				}
			}()
		}
		time.Sleep(delay)
		e.kill()
		killedAt = append(killedAt, delay)
		stop.Store(true)
		wg.Wait()
		writes := mine.all()
		var unanswered []*write
		for _, w := range writes {
			led.add(w)
			if !w.acked {
				unanswered = append(unanswered, w)
			}
		}
		unansweredTotal += len(unanswered)

		// The file as the crash left it.
		if err := h.checkCrashedFile(e.db, led.all(), round); err != nil {
			res.Failf("%v", err)
			return res
		}

		t0 := time.Now()
		if err := e.start(); err != nil {
			res.Failf("round %d: restart after SIGKILL: %v", round, err)
			return res
		}
		restarts = append(restarts, time.Since(t0))
		for _, w := range unanswered {
			resp, err := w.send(e.api)
			retried++
			if err != nil || resp.Status/100 != 2 {
				res.Failf("round %d: retrying unanswered %s %s (key %q) after restart: %d %s %v", round, w.kind, w.serials[0], w.idemKey, resp.Status, clip(resp.Body, 200), err)
			}
		}
		ackW, _ := led.acked()
		h.logf("crash: round %d killed after %s: %d writes sent, %d unanswered; %d acknowledged so far", round, delay, len(writes), len(unanswered), ackW)
	}

	e.api.Close()
	n, problems := verify(led.all(), apiLookup(e.api, e.service), 8)
	e.api.Close()
	for _, p := range problems {
		res.Failf("after all rounds: %s", p)
	}
	e.stop()
	if err := checkFile(e.db); err != nil {
		res.Failf("consistency check after the last graceful stop: %v", err)
	}
	ackW, ackRows := led.acked()
	slices.Sort(restarts)
	slices.Sort(killedAt)
	res.Figuref("%d SIGKILLs at %s–%s after writes began, %d writers", h.cfg.CrashRounds, killedAt[0].Round(time.Millisecond), killedAt[len(killedAt)-1].Round(time.Millisecond), h.cfg.CrashWriters)
	res.Figuref("%d writes acknowledged (%d rows over %d serials); %d unanswered at a kill, all retried with their Idempotency-Key/body after restart (%d retries)", ackW, ackRows, n, unansweredTotal, retried)
	res.Figuref("after every kill: bbolt check ok and every acknowledged write present in the file; no multi-row write half written; no event stored twice")
	if len(restarts) > 0 {
		res.Figuref("restart to /healthz 200 after SIGKILL: median %s, max %s", restarts[len(restarts)/2].Round(time.Millisecond), restarts[len(restarts)-1].Round(time.Millisecond))
	}
	return res
}

// checkCrashedFile opens a killed server's file read-only: bbolt's check
// must pass and every acknowledged write be there (unanswered multi-row
// writes all or nothing).
func (h *Harness) checkCrashedFile(db string, writes []*write, round int) error {
	d, err := openOffline(db)
	if err != nil {
		return fmt.Errorf("round %d: opening the file after SIGKILL: %v", round, err)
	}
	defer d.Close()
	if err := d.Check(); err != nil {
		return fmt.Errorf("round %d: consistency check after SIGKILL: %v", round, err)
	}
	_, problems := verify(writes, fileLookup(d), 4)
	if len(problems) > 0 {
		return fmt.Errorf("round %d: after SIGKILL, %d problems, first: %s", round, len(problems), problems[0])
	}
	return nil
}

// fileLookup reads serials from an open file.
func fileLookup(d *bolt.DB) lookupFunc {
	return func(serial string) (stored, error) {
		rec, err := d.Get(serial)
		if policy.ErrorCode(err) == policy.ENotFound {
			return stored{}, nil
		}
		if err != nil {
			return stored{}, err
		}
		s := stored{found: true, sku: rec.Item.SKU, batch: rec.Item.Batch, notes: map[string][]uint64{}}
		for _, ev := range rec.History {
			if ev.Note != "" {
				s.notes[ev.Note] = append(s.notes[ev.Note], ev.Seq)
			}
		}
		return s, nil
	}
}
