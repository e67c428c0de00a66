//go:build unix

package labels

import (
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"
)

// Figures: go test -run '^$' -bench . -benchtime 3s -cpu 1 ./labels/
//
// The machine is shared, so besides wall time each benchmark reports
// labels per CPU-second of this process (GC included): the per-core rate,
// whatever else is running.

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rate runs f b.N times (via b.Loop) and reports labels per wall second
// and per CPU second, n labels per call.
func rate(b *testing.B, n int, f func(i int)) {
	b.ReportAllocs()
	start := cpuTime()
	i := 0
	for b.Loop() {
		f(i)
		i++
	}
	cpu := cpuTime() - start
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "labels/s")
	if cpu > 0 {
		b.ReportMetric(float64(n*b.N)/cpu.Seconds(), "labels/cpu-s")
	}
}

func benchCerts(n int) []Certificate {
	cs := make([]Certificate, n)
	for i := range cs {
		cs[i] = cert(fmt.Sprintf("SN%010d", i), "6901234567892")
	}
	return cs
}

func BenchmarkPNG(b *testing.B) {
	for _, bc := range []struct {
		size Size
		dpi  int
	}{{Size50x30, DPI203}, {Size50x30, DPI300}, {Size100x150, DPI300}} {
		b.Run(fmt.Sprintf("%s-%d", bc.size, bc.dpi), func(b *testing.B) {
			cs := benchCerts(1000)
			rate(b, 1, func(i int) {
				if err := PNG(io.Discard, cs[i%len(cs)], bc.size, bc.dpi); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkZPL(b *testing.B) {
	cs := benchCerts(1000)
	z, err := NewZPLBatch(io.Discard, Size50x30, DPI203)
	if err != nil {
		b.Fatal(err)
	}
	rate(b, 1, func(i int) {
		if err := z.Add(cs[i%len(cs)]); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkSheet1000 is one 1,000-label PDF (48 A4 pages) per op.
func BenchmarkSheet1000(b *testing.B) {
	cs := benchCerts(1000)
	rate(b, len(cs), func(int) {
		s := NewSheet(io.Discard)
		for _, c := range cs {
			if err := s.Add(c); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	})
}
