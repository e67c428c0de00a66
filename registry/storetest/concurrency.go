package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// RunConcurrency runs the tests of writers racing: kept apart from Run, as
// a store may be slow under contention.
func RunConcurrency(t *testing.T, h Harness) {
	t.Run("AppendersOnOneItemAndOnMany", func(t *testing.T) { testAppenders(t, h) })
	t.Run("DuplicateRegistrationsRacing", func(t *testing.T) { testRegistrationsRacing(t, h) })
	t.Run("SameIdempotencyKeyRacing", func(t *testing.T) { testKeyRacing(t, h) })
}

const writers = 32

// testAppenders: 32 writers append to their own item and to one shared
// item; every acknowledged event is there once, seqs without a gap.
func testAppenders(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	const each, shared = 5, 3
	var serials []string
	for i := range writers {
		serials = append(serials, fmt.Sprintf("W%02d", i))
	}
	e.register("P1", "B1", append(serials, "SHARED")...)
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*2)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				ev := policy.Event{Type: policy.EvTransferred, On: date("2026-11-19"), Note: fmt.Sprint(w, "-", i)}
				if _, err := e.s.Append(registry.Write{Actor: desk}, serials[w], ev); err != nil {
					errs <- err
				}
				if i < shared {
					if _, err := e.s.Append(registry.Write{Actor: desk}, "SHARED", ev); err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, s := range serials {
		if n := len(e.get(s).History); n != each {
			t.Fatalf("%s has %d events; want %d", s, n, each)
		}
	}
	hist := e.get("SHARED").History
	if len(hist) != writers*shared {
		t.Fatalf("SHARED has %d events; want %d", len(hist), writers*shared)
	}
	notes := map[string]bool{}
	for i, ev := range hist {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("SHARED seq %d at position %d", ev.Seq, i)
		}
		if notes[ev.Note] {
			t.Fatalf("event %q written twice", ev.Note)
		}
		notes[ev.Note] = true
	}
	if n := len(e.auditAll()); n != 4+1+writers*(each+shared) {
		t.Fatalf("%d audit entries; want %d", n, 4+1+writers*(each+shared))
	}
}

// testRegistrationsRacing: 32 writers register the same serials at once:
// one creates each, the others find them unchanged; and 32 register one
// serial with two kinds of data: one kind wins, every writer of the other
// gets a conflict, nothing is written twice.
func testRegistrationsRacing(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	same := []registry.Row{{Serial: "R1", SKU: "P1", Batch: "B1"}, {Serial: "R2", SKU: "P1", Batch: "B1"}}
	skus := []string{"P1", "P24"}
	var mu sync.Mutex
	created, unchanged := 0, 0
	won := map[string]int{}       // SKU -> writers whose R3 was written or found unchanged
	conflicts := map[string]int{} // SKU -> writers refused with a conflict on R3
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for w := range writers {
		wg.Go(func() {
			res, err := e.s.Register(admin, same)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs <- fmt.Errorf("writer %d: %v", w, err)
				return
			}
			created += res.Created
			unchanged += res.Unchanged
		})
		wg.Go(func() {
			sku := skus[w%2]
			_, err := e.s.Register(admin, []registry.Row{{Serial: "R3", SKU: sku, Batch: "B3"}})
			mu.Lock()
			defer mu.Unlock()
			var pe *policy.Error
			switch {
			case err == nil:
				won[sku]++
			case errors.As(err, &pe) && len(pe.Rows) == 1 && pe.Rows[0].Code == policy.EConflict:
				conflicts[sku]++
			default:
				errs <- fmt.Errorf("R3 writer %d: %v", w, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if created != 2 || unchanged != 2*writers-2 {
		t.Fatalf("created %d, unchanged %d; want 2, %d", created, unchanged, 2*writers-2)
	}
	winner := e.get("R3").Item.SKU
	loser := skus[0]
	if winner == loser {
		loser = skus[1]
	}
	if won[winner] != writers/2 || conflicts[winner] != 0 || won[loser] != 0 || conflicts[loser] != writers/2 {
		t.Fatalf("R3 is %s; writers that succeeded %v, refused %v", winner, won, conflicts)
	}
	if st, _ := e.s.Stats(); st.Items != 3 {
		t.Fatalf("stats count %d items; want 3", st.Items)
	}
	if p, _ := e.s.Batch("B1", "", 0); p.Count != 2 {
		t.Fatalf("batch B1 counts %d members; want 2", p.Count)
	}
	if p, _ := e.s.Batch("B3", "", 0); p.Count != 1 {
		t.Fatalf("batch B3 counts %d members; want 1", p.Count)
	}
}

// testKeyRacing: 32 writers send the same request with one
// Idempotency-Key at once: one event is written, every answer is the same.
func testKeyRacing(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1")
	w := registry.Write{Actor: desk, IdempotencyKey: "race-1", RequestHash: sha256.Sum256([]byte("POST /x")), Answer: answer}
	ev := policy.Event{Type: policy.EvTransferred, On: date("2026-11-19")}
	answers := make([]string, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			out, err := e.s.Append(w, "S1", ev)
			if err != nil {
				errs <- err
				return
			}
			if out.Replay != nil {
				answers[i] = string(out.Replay)
			} else {
				b, _ := answer(out)
				answers[i] = string(b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range answers {
		if answers[i] != answers[0] {
			t.Fatalf("answer %d differs: %s vs %s", i, answers[i], answers[0])
		}
	}
	if n := len(e.get("S1").History); n != 1 {
		t.Fatalf("%d events written under one key; want 1", n)
	}
}
