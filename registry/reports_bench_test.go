package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// The report benchmarks (issue 19):
//
//	go test -run '^$' -bench QualityReport -benchtime 100x ./registry/
//	go test -run '^$' -bench AppendCounters -count 5 ./registry/
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
		db, err := Open(tmp, Options{Now: clk.Now})
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
			rows := make([]Row, chunk)
			recv := make([]EventRow, chunk)
			var cases []EventRow
			for j := range rows {
				i := start + j
				s := fmt.Sprintf("Q%07d", i)
				batch := i / 1000
				rows[j] = Row{Serial: s, SKU: "P" + strconv.Itoa(1+batch%4), Batch: fmt.Sprintf("QB%04d", batch), ProducedOn: date("2025-01-01")}
				on := date("2025-06-01").AddDays(batch%300 + j%90)
				recv[j] = EventRow{s, policy.Event{Type: policy.EvReceived, On: on, Evidence: policy.Courier}}
				if i%(qualityItems/qualityCases) == 0 {
					at := clk.Now().Add(-time.Duration(1+i%2000) * time.Hour)
					cases = append(cases, EventRow{s, policy.Event{Type: policy.EvIntake, At: at, Center: "SH"}},
						EventRow{s, policy.Event{Type: policy.EvDiagnosed, At: at.Add(time.Minute), Finding: policy.QualityProblem, Part: "valve"}})
				}
			}
			if _, err := db.Register(admin, rows); err != nil {
				qualityErr = err
				return
			}
			if _, err := db.AppendMany(Write{Actor: admin}, recv); err != nil {
				qualityErr = err
				return
			}
			if _, err := db.AppendMany(Write{Actor: admin}, cases); err != nil {
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
	db, err := Open(path, Options{ReadOnly: true, Now: newClock().Now})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, q := range []ReportQuery{{By: ByBatch}, {By: ByMonth}, {By: ByModel}, {By: ByBatch, SKU: "P2", From: "2026-01", To: "2026-06"}} {
		name := q.By
		if q.SKU != "" {
			name += "-sku-months"
		}
		b.Run(name, func(b *testing.B) {
			var rows []QualityRow
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
						if _, err := db.Append(Write{Actor: desk}, serials[i%len(serials)], ev); err != nil {
							b.Fatal(err)
						}
						i++
						continue
					}
					rows := make([]EventRow, 1000)
					for j := range rows {
						rows[j] = EventRow{serials[(i+j)%len(serials)], ev}
					}
					i += len(rows)
					if _, err := db.AppendMany(Write{Actor: desk}, rows); err != nil {
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
