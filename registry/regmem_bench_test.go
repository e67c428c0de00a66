package registry

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sanbao/sanbao/bench/import/rawload"
	"github.com/sanbao/sanbao/policy"
)

// BenchmarkRegisterCSVMemory: the peak heap in use during one RegisterCSV
// of 100,000 rows (SANBAO_BENCH_ROWS to change), sampled every half
// millisecond, over the heap before it, as a multiple of the CSV's size
// (bench/register measures the server's RSS for the same request).
//
//	go test -run '^$' -bench RegisterCSVMemory -benchtime 3x -memprofile /tmp/reg.mem ./registry/
func BenchmarkRegisterCSVMemory(b *testing.B) {
	n := 100_000
	if s := os.Getenv("SANBAO_BENCH_ROWS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	var csv bytes.Buffer
	if err := rawload.Generate(&csv, n, 7); err != nil {
		b.Fatal(err)
	}
	best := uint64(1 << 62)
	for b.Loop() {
		b.StopTimer()
		db, err := Open(filepath.Join(b.TempDir(), "sanbao.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range rawload.Models {
			if _, _, err := db.PutModel(admin, policy.Model{SKU: m.SKU, Name: m.Name, Kind: policy.Kind(m.Kind)}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		growth := peakHeapGrowth(func() {
			res, err := db.RegisterCSV(admin, bytes.NewReader(csv.Bytes()))
			if err != nil || res.Created != n {
				b.Fatalf("RegisterCSV = %+v, %v", res, err)
			}
		})
		best = min(best, growth)
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(best)/(1<<20), "peak-MiB")
	b.ReportMetric(float64(best)/float64(csv.Len()), "x-body")
}

// peakHeapGrowth runs f and returns the most heap memory in use (objects,
// live or not yet collected) while it ran, over what was in use before.
func peakHeapGrowth(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	var (
		mu   sync.Mutex
		peak = base
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		t := time.NewTicker(500 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				v := read()
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
		}
	}()
	f()
	close(stop)
	<-done
	return peak - base
}
