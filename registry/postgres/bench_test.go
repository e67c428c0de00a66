package postgres

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/storetest"
)

// BenchmarkAppend appends events with 1 and with 32 concurrent writers,
// each on 20 items of its own in turn (so histories stay short alike), on
// one PostgreSQL database; b.N events in all.
// Compare the two events/s figures of one run (target: 32 writers ≥ 2× one):
//
//	go test -run XXX -bench Append -benchtime 3000x -count 2 ./registry/postgres
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 32} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, err := Open(schemaDSN(b), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, _, err := s.PutModel(registry.Actor{Name: "bench"}, policy.Model{SKU: "P1", Name: "Mask", Kind: policy.KindProduct}); err != nil {
				b.Fatal(err)
			}
			const perWriter = 20
			rows := make([]registry.Row, writers*perWriter)
			for i := range rows {
				rows[i] = registry.Row{Serial: fmt.Sprintf("W%02d-%02d", i/perWriter, i%perWriter), SKU: "P1", Batch: "B1"}
			}
			if _, err := s.Register(registry.Actor{Name: "bench"}, rows); err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := range writers {
				wg.Go(func() {
					for i := 0; next.Add(1) <= int64(b.N); i++ {
						ev := policy.Event{Type: policy.EvTransferred, On: policy.Date{Year: 2026, Month: 1, Day: 2}}
						serial := rows[w*perWriter+i%perWriter].Serial
						if _, err := s.Append(registry.Write{Actor: registry.Actor{Name: "bench"}}, serial, ev); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkStore runs the stores' shared benchmarks (storetest.Bench:
// Get, Append, Register) on PostgreSQL; registry/bolt's BenchmarkStore runs
// the same on bbolt.
//
//	go test -run '^$' -bench Store -benchtime 3s ./registry/bolt/ ./registry/postgres/
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B, o registry.Options) registry.Store {
		s, err := Open(schemaDSN(b), Options{Options: registry.Options{Policy: o.Policy, Now: o.Now}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}
