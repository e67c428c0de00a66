package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
)

// TestReliabilityCI runs the CI form of every campaign against the real
// binary (built without -race) and fails on any finding: a 5xx where none
// is allowed, a lost acknowledged write, a failed consistency check, a hang
// or resource growth. Campaigns needing mounts skip (with the reason) where
// mounting is not permitted. SANBAO_HARNESS_SEED repeats a run's random
// choices (every run logs its seed).
func TestReliabilityCI(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the reliability harness builds and drives the real binary for about two minutes")
	}
	cfg := CIForm()
	if s := os.Getenv("SANBAO_HARNESS_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SANBAO_HARNESS_SEED=%q: %v", s, err)
		}
		cfg.Seed = seed
	}
	cfg.Work = t.TempDir()
	cfg.Log = &testLog{t: t}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close) // before TempDir's removal: kills servers, unmounts
	t.Logf("seed %d (repeat with SANBAO_HARNESS_SEED=%d)", cfg.Seed, cfg.Seed)
	load := loadAverage()
	t.Cleanup(func() { t.Logf("load average at start: %s, at end: %s", load, loadAverage()) })
	for _, c := range campaigns {
		t.Run(c.name, func(t *testing.T) {
			h.log = &testLog{t: t}
			for _, r := range c.run(h) {
				t.Logf("%s (%.1fs)", r.Name, r.Elapsed.Seconds())
				for _, f := range r.Figures() {
					t.Logf("  %s", f)
				}
				for _, f := range r.Failures() {
					t.Errorf("%s: %s", r.Name, f)
				}
				if r.Skipped != "" && !r.Failed() {
					t.Logf("SKIPPED %s: %s", r.Name, r.Skipped)
				}
			}
		})
	}
}

// testLog sends progress lines to t.Log.
type testLog struct {
	mu sync.Mutex
	t  *testing.T
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// stubLookup answers from a fixed map, for checking verify itself.
func stubLookup(m map[string]stored) lookupFunc {
	return func(s string) (stored, error) { return m[s], nil }
}

// TestVerifyReportsEveryBrokenPromise checks the harness's own judge: a
// verifier that misses a lost write would let every campaign pass.
func TestVerifyReportsEveryBrokenPromise(t *testing.T) {
	reg := func(acked bool, serials ...string) *write {
		w := &write{kind: kindRegister, serials: serials, sku: "M1", batch: "B1", acked: acked}
		return w
	}
	ev := func(acked bool, kind string, serials []string, notes []string, seqs ...uint64) *write {
		return &write{kind: kind, serials: serials, notes: notes, acked: acked, seqs: seqs}
	}
	item := func(notes map[string][]uint64) stored {
		return stored{found: true, sku: "M1", batch: "B1", notes: notes}
	}
	tests := []struct {
		name     string
		writes   []*write
		db       map[string]stored
		problems int
	}{
		{"everything acknowledged is there", []*write{reg(true, "A"), ev(true, kindEvent, []string{"A"}, []string{"n1"}, 1)},
			map[string]stored{"A": item(map[string][]uint64{"n1": {1}})}, 0},
		{"a lost registration is reported", []*write{reg(true, "A", "B")},
			map[string]stored{"A": item(nil)}, 1},
		{"a registration stored with other data is reported", []*write{reg(true, "A")},
			map[string]stored{"A": {found: true, sku: "M2", batch: "B1"}}, 1},
		{"a lost event is reported", []*write{ev(true, kindEvent, []string{"A"}, []string{"n1"}, 1)},
			map[string]stored{"A": item(map[string][]uint64{})}, 1},
		{"an event at another seq is reported", []*write{ev(true, kindEvent, []string{"A"}, []string{"n1"}, 1)},
			map[string]stored{"A": item(map[string][]uint64{"n1": {2}})}, 1},
		{"an event stored twice is reported even unacknowledged", []*write{ev(false, kindEvent, []string{"A"}, []string{"n1"})},
			map[string]stored{"A": item(map[string][]uint64{"n1": {1, 2}})}, 1},
		{"an unanswered write may be absent", []*write{reg(false, "A"), ev(false, kindEvents, []string{"B", "C"}, []string{"n1", "n2"})},
			map[string]stored{"B": item(nil), "C": item(nil)}, 0},
		{"a half-written unanswered registration is reported", []*write{reg(false, "A", "B")},
			map[string]stored{"A": item(nil)}, 1},
		{"a half-written unanswered event batch is reported", []*write{ev(false, kindEvents, []string{"B", "C"}, []string{"n1", "n2"})},
			map[string]stored{"B": item(map[string][]uint64{"n1": {1}}), "C": item(nil)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := verify(tt.writes, stubLookup(tt.db), 2)
			if len(problems) != tt.problems {
				t.Errorf("got %d problems, want %d: %s", len(problems), tt.problems, fmt.Sprint(problems))
			}
		})
	}
}

// TestRevertMetaGoesBackOneTransaction checks the harness's stand-in for
// `bbolt surgery revert-meta-page` on a real file: after it, the file is
// consistent and holds the state before the last transaction.
func TestRevertMetaGoesBackOneTransaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"first", "second"} {
		if _, _, err := db.CreateKey(registry.Actor{Name: "test"}, name, registry.RoleAdmin); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	older, newer, err := revertMeta(path)
	if err != nil {
		t.Fatal(err)
	}
	if newer != older+1 {
		t.Errorf("reverted txid %d to %d, want one transaction back", newer, older)
	}
	d, err := openOffline(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Check(); err != nil {
		t.Errorf("check after the revert: %v", err)
	}
	keys, err := d.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Name != "first" {
		t.Errorf("keys after the revert: %+v, want only the first", keys)
	}
}

// TestPhaseWindowAimsInsideThePhase checks how the import kills are aimed.
func TestPhaseWindowAimsInsideThePhase(t *testing.T) {
	run := []progressLine{
		{100 * time.Millisecond, "read and sorted 600000 rows (0.1s)"},
		{300 * time.Millisecond, "checked: 600000 new, 0 already registered (0.3s)"},
		{1000 * time.Millisecond, "wrote 250000 of 600000 rows, 250000 rows/s (1.0s)"},
		{1600 * time.Millisecond, "wrote 500000 of 600000 rows, 312500 rows/s (1.6s)"},
		{1800 * time.Millisecond, "wrote 600000 of 600000 rows, 333333 rows/s (1.8s)"},
		{1800 * time.Millisecond, "imported: 600000 created, 0 unchanged (1.8s)"},
	}
	oneChunk := []progressLine{run[0], run[1], {900 * time.Millisecond, "wrote 100000 of 100000 rows"}, {900 * time.Millisecond, "imported: 100000 created"}}
	tests := []struct {
		name         string
		run          []progressLine
		after, until string
		want         time.Duration
		ok           bool
	}{
		{"reading lasts until checked", run, "", "checked:", 300 * time.Millisecond, true},
		{"the first chunk lasts from checked to the first wrote", run, "checked:", "", 700 * time.Millisecond, true},
		{"the second chunk lasts from the first wrote to the second", run, "wrote ", "", 600 * time.Millisecond, true},
		{"one chunk has no second", oneChunk, "wrote ", "", 0, false},
		{"a phase whose line never came is not there", run, "merged:", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := phaseWindow(tt.run, tt.after, tt.until)
			if got != tt.want || ok != tt.ok {
				t.Errorf("phaseWindow = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
