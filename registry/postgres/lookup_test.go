package postgres

import (
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// TestGetReadsDatesAndInstantsBefore2000: PostgreSQL's binary dates and
// instants count from 2000-01-01 00:00 UTC, so earlier instants are
// negative; Get reads a registration instant (to the microsecond) and
// stored scan times on either side of it as they were written, and the
// production date (accepted from 2000-01-01) at and after it.
func TestGetReadsDatesAndInstantsBefore2000(t *testing.T) {
	for _, tc := range []struct {
		name     string
		produced policy.Date
		now      time.Time
	}{
		{"before", policy.Date{Year: 2000, Month: time.January, Day: 1}, time.Date(1999, 12, 31, 23, 59, 59, 999_999_000, time.UTC)},
		{"on", policy.Date{Year: 2000, Month: time.January, Day: 2}, time.Date(2000, 1, 2, 0, 0, 0, 1_000, time.UTC)},
		{"after", policy.Date{Year: 2026, Month: time.November, Day: 30}, time.Date(2026, 12, 5, 7, 8, 9, 123_456_000, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := schemaDSN(t)
			s, err := Open(dsn, Options{Now: func() time.Time { return tc.now }})
			if err != nil {
				t.Fatal(err)
			}
			actor := registry.Actor{Name: "test"}
			if _, _, err := s.PutModel(actor, policy.Model{SKU: "P1", Name: "Mask", Kind: policy.KindProduct}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Register(actor, []registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1", ProducedOn: tc.produced}}); err != nil {
				t.Fatal(err)
			}
			s.Scan("S1", tc.now)
			s.Scan("S1", tc.now.Add(time.Second))
			if err := s.Close(); err != nil { // flushes the scans to the table
				t.Fatal(err)
			}
			s, err = Open(dsn, Options{Now: func() time.Time { return tc.now }})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rec, err := s.Get("S1")
			if err != nil {
				t.Fatal(err)
			}
			it := rec.Item
			if it.Serial != "S1" || it.SKU != "P1" || it.Kind != policy.KindProduct || it.Batch != "B1" || it.ProducedOn != tc.produced ||
				!it.RegisteredAt.Equal(tc.now) || it.RegisteredAt.Location() != time.UTC || it.Accessories != nil || rec.History != nil {
				t.Fatalf("item %+v history %v; want S1, P1, product, B1, produced %v, registered %v (UTC), no accessories, no history", it, rec.History, tc.produced, tc.now)
			}
			if rec.Scans.Count != 2 || !rec.Scans.First.Equal(tc.now) || !rec.Scans.Last.Equal(tc.now.Add(time.Second)) {
				t.Fatalf("scans %+v; want 2 from %v to %v", rec.Scans, tc.now, tc.now.Add(time.Second))
			}
		})
	}
}
