package bolt

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sanbao/sanbao/bench/import/rawload"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// Benchmarks compare rates measured in one run (the machine is shared):
//
//	go test -run '^$' -bench . -benchtime 3s ./registry/
//	go test -run '^$' -bench Import -benchtime 1x ./registry/   (1,000,000 rows; SANBAO_BENCH_ROWS to change)

// benchDB opens a registry in b.TempDir() with n registered serials
// "G0000000".. each with one dispatch.
func benchDB(b testing.TB, n int, opts ...func(*Options)) (*testDB, []string) {
	b.Helper()
	db := MustOpen(b, opts...)
	seedModels(b, db)
	serials := make([]string, n)
	rows := make([]registry.Row, n)
	evs := make([]registry.EventRow, n)
	for i := range rows {
		serials[i] = fmt.Sprintf("G%07d", i)
		rows[i] = registry.Row{Serial: serials[i], SKU: "P1", Batch: fmt.Sprintf("B%03d", i/1000), ProducedOn: date("2026-10-01")}
		evs[i] = registry.EventRow{Serial: serials[i], Event: dispatch("2026-11-01", fmt.Sprintf("O%05d", i/10))}
	}
	for start := 0; start < n; start += 100_000 {
		end := min(start+100_000, n)
		if _, err := db.Register(admin, rows[start:end]); err != nil {
			b.Fatal(err)
		}
		if _, err := db.AppendMany(registry.Write{Actor: admin}, evs[start:end]); err != nil {
			b.Fatal(err)
		}
	}
	return db, serials
}

// BenchmarkGet: random lookups of items with a one-event history, one reader.
func BenchmarkGet(b *testing.B) {
	db, serials := benchDB(b, 200_000)
	r := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for b.Loop() {
		if _, err := db.Get(serials[r.IntN(len(serials))]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkAppend: single appends from 1 and from 32 writers, each op one
// durable event. SANBAO_BENCH_BATCH="size,delay" overrides the group-commit
// tuning (e.g. "1000,10ms" for bbolt's defaults).
func BenchmarkAppend(b *testing.B) {
	opt := func(o *Options) {}
	if s := os.Getenv("SANBAO_BENCH_BATCH"); s != "" {
		var size int
		var delay string
		fmt.Sscanf(s, "%d,%s", &size, &delay)
		d, err := time.ParseDuration(delay)
		if err != nil {
			b.Fatal(err)
		}
		opt = func(o *Options) { o.MaxBatchSize, o.MaxBatchDelay = size, d }
	}
	for _, writers := range []int{1, 4, 32} {
		b.Run("writers="+strconv.Itoa(writers), func(b *testing.B) {
			db, serials := benchDB(b, 32*64, opt)
			ev := policy.Event{Type: policy.EvTransferred, On: date("2026-11-10")}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; next.Add(1) <= int64(b.N); i++ {
						serial := serials[(w*64+i%64)%len(serials)]
						if _, err := db.Append(registry.Write{Actor: desk}, serial, ev); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}

// BenchmarkImport imports unsorted rows and, in the same run, loads the
// same rows raw (parse, sort, put serial -> row) into bbolt, and reports
// both times, their ratio and the file sizes. With -benchtime Nx it
// alternates N times and reports the fastest of each (the least disturbed
// by other work on a shared machine).
func BenchmarkImport(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("SANBAO_BENCH_ROWS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	var csv bytes.Buffer
	if err := rawload.Generate(&csv, n, 7); err != nil {
		b.Fatal(err)
	}
	rawBest, importBest := time.Duration(1<<62), time.Duration(1<<62)
	rawCPU, importCPU := time.Duration(1<<62), time.Duration(1<<62)
	var size, rawSize int64
	for b.Loop() {
		dir := b.TempDir()
		raw := filepath.Join(dir, "raw.db")
		runtime.GC()
		cpu := cpuTime()
		start := time.Now()
		if _, err := rawload.Load(raw, bytes.NewReader(csv.Bytes()), 250_000, 0.9); err != nil {
			b.Fatal(err)
		}
		rawTime := time.Since(start)
		rawCPU = min(rawCPU, cpuTime()-cpu)

		db, err := Open(filepath.Join(dir, "sanbao.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		putRawloadModels(b, db)
		runtime.GC()
		cpu = cpuTime()
		start = time.Now()
		var progress io.Writer
		if os.Getenv("SANBAO_BENCH_PROGRESS") != "" {
			progress = os.Stderr
		}
		res, err := db.Import(admin, bytes.NewReader(csv.Bytes()), progress)
		if err != nil || res.Created != n {
			b.Fatalf("Import = %+v, %v", res, err)
		}
		importTime := time.Since(start)
		importCPU = min(importCPU, cpuTime()-cpu)
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		rawBest, importBest = min(rawBest, rawTime), min(importBest, importTime)
		size, rawSize = fileSize(b, filepath.Join(dir, "sanbao.db")), fileSize(b, raw)
	}
	b.ReportMetric(rawBest.Seconds(), "raw-s")
	b.ReportMetric(importBest.Seconds(), "import-s")
	b.ReportMetric(importBest.Seconds()/rawBest.Seconds(), "ratio")
	b.ReportMetric(float64(n)/importBest.Seconds(), "rows/s")
	b.ReportMetric(importCPU.Seconds()/rawCPU.Seconds(), "cpu-ratio")
	b.ReportMetric(float64(size)/(1<<20), "MiB")
	b.ReportMetric(float64(rawSize)/(1<<20), "raw-MiB")
}

// cpuTime is the CPU time (user + system) this process has used: on a
// shared machine it is steadier than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fileSize(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// BenchmarkBatchCarriersPage: a page of the products carrying a bundled
// accessory of one batch (10,000 carriers among 200,000 items).
func BenchmarkBatchCarriersPage(b *testing.B) {
	db := MustOpen(b)
	seedModels(b, db)
	rows := make([]registry.Row, 200_000)
	for i := range rows {
		rows[i] = registry.Row{Serial: fmt.Sprintf("C%07d", i), SKU: "P1", Batch: fmt.Sprintf("B%02d", i%50)}
		if i%20 == 0 {
			rows[i].Accessories = []registry.Bundle{{SKU: "CHG", Batch: "CB1"}}
		}
	}
	if _, err := db.Register(admin, rows); err != nil {
		b.Fatal(err)
	}
	after := ""
	for b.Loop() {
		p, err := db.Batch("CB1", after, registry.MaxLimit)
		if err != nil || len(p.CarriedBy) == 0 || p.Carriers != 10_000 {
			b.Fatalf("page %d carriers of %d, %v", len(p.CarriedBy), p.Carriers, err)
		}
		after = p.Next // walks the 10 pages round and round
	}
}

// BenchmarkAuthenticate: one service key among a few, checked per request.
func BenchmarkAuthenticate(b *testing.B) {
	db := MustOpen(b)
	var token string
	for i, role := range []registry.Role{registry.RoleAdmin, registry.RoleWarehouse, registry.RoleService, registry.RoleService} {
		_, t, err := db.CreateKey(admin, fmt.Sprintf("key %d", i), role)
		if err != nil {
			b.Fatal(err)
		}
		token = t
	}
	b.ReportAllocs()
	for b.Loop() {
		if k, err := db.Authenticate(token); err != nil || k.Role != registry.RoleService {
			b.Fatal(k, err)
		}
	}
}

// BenchmarkGetHistory: lookups of items with a service history of 9 events
// (dispatch, receipt, a closed repair, an open case), one reader.
func BenchmarkGetHistory(b *testing.B) {
	db, serials := benchDB(b, 1000)
	at := func(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }
	for _, s := range serials {
		for _, ev := range []policy.Event{
			receive("2026-11-03"),
			{Type: policy.EvIntake, At: at(5, 9), Center: "SH-01", Complaint: "no power", Contact: "138 0000 0000"},
			{Type: policy.EvDiagnosed, At: at(5, 10), Finding: policy.QualityProblem, Part: "battery"},
			{Type: policy.EvRepaired, At: at(5, 12), Parts: []string{"battery"}},
			{Type: policy.EvShipped, At: at(5, 15), Tracking: "SF123456789"},
			{Type: policy.EvIntake, At: at(18, 9), Center: "SH-02", Complaint: "fan noise"},
			{Type: policy.EvDiagnosed, At: at(18, 10), Finding: policy.QualityProblem, Part: "fan", Note: "bearing worn"},
			{Type: policy.EvPaused, At: at(18, 11), Reason: "waiting for the customer"},
		} {
			if _, err := db.Append(registry.Write{Actor: desk}, s, ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		rec, err := db.Get(serials[r.IntN(len(serials))])
		if err != nil || len(rec.History) != 9 {
			b.Fatal(len(rec.History), err)
		}
	}
}
