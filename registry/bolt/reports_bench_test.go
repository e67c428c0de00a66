package bolt

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// The report benchmarks (issue 19):
//
//	go test -run '^$' -bench QualityReport -benchtime 100x ./registry/
//	go test -run '^$' -bench AppendCounters -count 5 ./registry/
//	go test -run '^$' -bench AppendCountersInterleaved -benchtime 200x -count 3 ./registry/
//
// BenchmarkQualityReport reads a file of 1,000,000 items and 100,000
// quality-diagnosed cases, built once (it takes minutes) and kept as
// $TMPDIR/sanbao-bench-quality-v3.db for later runs; delete it to rebuild.

const (
	qualityItems = 1_000_000
	qualityCases = 100_000
)

var (
	qualityOnce sync.Once
	qualityPath string
	qualityErr  error
)

// qualityFixture is the path of the benchmark's file, built on first use:
// 4 product models, 1,000 batches of 1,000 units each received over three
// months, every 10th unit with a quality-problem case (intake and
// diagnosis).
func qualityFixture(b *testing.B) string {
	qualityOnce.Do(func() {
		qualityPath = filepath.Join(os.TempDir(), fmt.Sprintf("sanbao-bench-quality-v%d.db", schemaVersion()))
		if _, err := os.Stat(qualityPath); err == nil {
			return
		}
		start := time.Now()
		tmp := qualityPath + ".building"
		os.Remove(tmp)
		clk := newClock()
		db, err := Open(tmp, Options{Options: registry.Options{Now: clk.Now}})
		if err != nil {
			qualityErr = err
			return
		}
		defer func() {
			if err := db.Close(); qualityErr == nil {
				qualityErr = err
			}
			if qualityErr == nil {
				qualityErr = os.Rename(tmp, qualityPath)
				b.Logf("built %s (%d items, %d cases) in %s", qualityPath, qualityItems, qualityCases, time.Since(start).Round(time.Second))
			}
		}()
		for i := 1; i <= 4; i++ {
			if _, _, err := db.PutModel(admin, policy.Model{SKU: "P" + strconv.Itoa(i), Name: "Mask", Kind: policy.KindProduct}); err != nil {
				qualityErr = err
				return
			}
		}
		const chunk = 50_000
		for start := 0; start < qualityItems; start += chunk {
			rows := make([]registry.Row, chunk)
			recv := make([]registry.EventRow, chunk)
			var cases []registry.EventRow
			for j := range rows {
				i := start + j
				s := fmt.Sprintf("Q%07d", i)
				batch := i / 1000
				rows[j] = registry.Row{Serial: s, SKU: "P" + strconv.Itoa(1+batch%4), Batch: fmt.Sprintf("QB%04d", batch), ProducedOn: date("2025-01-01")}
				on := date("2025-06-01").AddDays(batch%300 + j%90)
				recv[j] = registry.EventRow{Serial: s, Event: policy.Event{Type: policy.EvReceived, On: on, Evidence: policy.Courier}}
				if i%(qualityItems/qualityCases) == 0 {
					at := clk.Now().Add(-time.Duration(1+i%2000) * time.Hour)
					cases = append(cases, registry.EventRow{Serial: s, Event: policy.Event{Type: policy.EvIntake, At: at, Center: "SH"}},
						registry.EventRow{Serial: s, Event: policy.Event{Type: policy.EvDiagnosed, At: at.Add(time.Minute), Finding: policy.QualityProblem, Part: "valve"}})
				}
			}
			if _, err := db.Register(admin, rows); err != nil {
				qualityErr = err
				return
			}
			if _, err := db.AppendMany(registry.Write{Actor: admin}, recv); err != nil {
				qualityErr = err
				return
			}
			if _, err := db.AppendMany(registry.Write{Actor: admin}, cases); err != nil {
				qualityErr = err
				return
			}
		}
	})
	if qualityErr != nil {
		b.Fatal(qualityErr)
	}
	return qualityPath
}

// BenchmarkQualityReport: the quality report by batch, by month and of
// one model over 1,000,000 items and 100,000 cases (target: ≤ 50 ms).
func BenchmarkQualityReport(b *testing.B) {
	path := qualityFixture(b)
	db, err := Open(path, Options{Options: registry.Options{Now: newClock().Now}, ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, q := range []registry.ReportQuery{{By: registry.ByBatch}, {By: registry.ByMonth}, {By: registry.ByModel}, {By: registry.ByBatch, SKU: "P2", From: "2026-01", To: "2026-06"}} {
		name := q.By
		if q.SKU != "" {
			name += "-sku-months"
		}
		b.Run(name, func(b *testing.B) {
			var rows []registry.QualityRow
			for b.Loop() {
				if rows, err = db.QualityReport(q); err != nil {
					b.Fatal(err)
				}
			}
			var units, cases int64
			for _, r := range rows {
				units, cases = units+r.Units, cases+r.Cases
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/report")
			if q.SKU == "" && (units != qualityItems || cases != qualityCases) {
				b.Fatalf("report counts %d units and %d quality cases, want %d and %d", units, cases, qualityItems, qualityCases)
			}
		})
	}
}

// BenchmarkAppendCounters: event appends with the report counters kept
// and without (reportCounters off), in the same run: one durable append
// per op (single), and 1,000 appends per transaction (many, where the
// counters' CPU cost is not hidden by the commit's fsync). Target: with
// ≥ 0.9× the rate without.
func BenchmarkAppendCounters(b *testing.B) {
	for _, mode := range []string{"single", "many"} {
		for _, on := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/counters=%v", mode, on), func(b *testing.B) {
				reportCounters = on
				defer func() { reportCounters = true }()
				db, serials := benchDB(b, 20_000)
				ev := policy.Event{Type: policy.EvTransferred, On: date("2026-11-10")}
				i := 0
				b.ResetTimer()
				for b.Loop() {
					if mode == "single" {
						if _, err := db.Append(registry.Write{Actor: desk}, serials[i%len(serials)], ev); err != nil {
							b.Fatal(err)
						}
						i++
						continue
					}
					rows := make([]registry.EventRow, 1000)
					for j := range rows {
						rows[j] = registry.EventRow{Serial: serials[(i+j)%len(serials)], Event: ev}
					}
					i += len(rows)
					if _, err := db.AppendMany(registry.Write{Actor: desk}, rows); err != nil {
						b.Fatal(err)
					}
				}
				per := 1
				if mode == "many" {
					per = 1000
				}
				b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkAppendCountersInterleaved alternates, op by op on one file, a
// write with the counters and one without (the machine is shared: runs
// minutes apart see different neighbours), and reports the rate with
// counters as a fraction of the rate without, by wall clock and by CPU
// time: single (one durable append each) and many (1,000 appends in one
// transaction). The events are service cases, each serial in turn: intake,
// diagnosis (quality problem), shipping — every one changes the counters
// (cases, findings, the warranty end).
func BenchmarkAppendCountersInterleaved(b *testing.B) {
	for _, mode := range []string{"single", "many"} {
		b.Run(mode, func(b *testing.B) {
			defer func() { reportCounters = true }()
			db, serials := benchDB(b, 20_000)
			steps := map[string]int{}
			start := db.clock.Now().Add(-9 * 24 * time.Hour)
			next := func(serial string) policy.Event {
				k := steps[serial]
				steps[serial] = k + 1
				at := start.Add(time.Duration(k) * time.Minute)
				switch k % 3 {
				case 0:
					return policy.Event{Type: policy.EvIntake, At: at, Center: "SH"}
				case 1:
					return policy.Event{Type: policy.EvDiagnosed, At: at, Finding: policy.QualityProblem, Part: "valve"}
				}
				return policy.Event{Type: policy.EvShipped, At: at, Tracking: "SF"}
			}
			n := 1
			if mode == "many" {
				n = 1000
			}
			i := 0
			write := func() {
				if n == 1 {
					s := serials[i%len(serials)]
					if _, err := db.Append(registry.Write{Actor: desk}, s, next(s)); err != nil {
						b.Fatal(err)
					}
					i++
					return
				}
				rows := make([]registry.EventRow, n)
				for j := range rows {
					s := serials[(i+j)%len(serials)]
					rows[j] = registry.EventRow{Serial: s, Event: next(s)}
				}
				i += n
				if _, err := db.AppendMany(registry.Write{Actor: desk}, rows); err != nil {
					b.Fatal(err)
				}
			}
			var wall, cpu [2]time.Duration // [0] with counters, [1] without
			for k := 0; b.Loop(); k++ {
				for _, on := range []bool{k%2 == 0, k%2 != 0} {
					reportCounters = on
					w, c := time.Now(), cpuTime()
					write()
					idx := 1
					if on {
						idx = 0
					}
					wall[idx] += time.Since(w)
					cpu[idx] += cpuTime() - c
				}
			}
			b.ReportMetric(float64(wall[1])/float64(wall[0]), "wall-ratio")
			b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "cpu-ratio")
			b.ReportMetric(float64(cpu[0].Microseconds())/float64(b.N*n), "cpu-µs/event-on")
			b.ReportMetric(float64(cpu[1].Microseconds())/float64(b.N*n), "cpu-µs/event-off")
		})
	}
}
