package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
			s, err := Open(dsn, Options{Options: registry.Options{Now: func() time.Time { return tc.now }}})
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
			s, err = Open(dsn, Options{Options: registry.Options{Now: func() time.Time { return tc.now }}})
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

// TestItemScansMigrationKeepsStoredViews: schema 0006 moves the scans
// table onto the items' rows; a database written before it keeps every
// stored view count and instant (read by Get and by the scans view that
// reporting tools query), an item never viewed stays without views, and
// views counted after the migration add to the migrated ones.
func TestItemScansMigrationKeepsStoredViews(t *testing.T) {
	dsn := schemaDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	names, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	before := 0 // the schema just before 0006_item_scans.sql
	for _, n := range names {
		if n.Name() == "0006_item_scans.sql" {
			break
		}
		sql, err := migrationFiles.ReadFile("migrations/" + n.Name())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(sql)); err != nil {
			t.Fatalf("%s: %v", n.Name(), err)
		}
		before++
	}
	first := time.Date(2026, 11, 30, 8, 0, 0, 123_000, time.UTC)
	last := time.Date(2026, 12, 4, 18, 30, 0, 0, time.UTC)
	for _, q := range []string{
		`CREATE TABLE schema_version (version integer NOT NULL)`,
		fmt.Sprintf(`INSERT INTO schema_version VALUES (%d)`, before),
		`INSERT INTO items (serial, sku, kind, warranty_months, batch, registered_at) VALUES
			('S1', 'P1', 'product', 24, 'B1', '2026-11-01 00:00Z'), ('S2', 'P1', 'product', 24, 'B1', '2026-11-01 00:00Z')`,
		`INSERT INTO scans (serial, count, first_at, last_at) VALUES ('S1', 7, '2026-11-30 08:00:00.000123Z', '2026-12-04 18:30Z')`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	s, err := Open(dsn, Options{Options: registry.Options{Now: func() time.Time { return at }}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		serial string
		want   registry.Scans
	}{
		{"S1", registry.Scans{Count: 7, First: first, Last: last}},
		{"S2", registry.Scans{}},
	} {
		rec, err := s.Get(tc.serial)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Scans != tc.want {
			t.Errorf("%s after the migration: scans %+v, want %+v", tc.serial, rec.Scans, tc.want)
		}
	}
	var n int64
	var f, l time.Time
	if err := conn.QueryRow(ctx, `SELECT count, first_at, last_at FROM scans WHERE serial = 'S1'`).Scan(&n, &f, &l); err != nil || n != 7 || !f.Equal(first) || !l.Equal(last) {
		t.Errorf("scans view for S1: %d %v %v (%v), want 7 %v %v", n, f, l, err, first, last)
	}
	var rows int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM scans`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("scans view holds %d rows (%v), want 1 (S2 was never viewed)", rows, err)
	}
	s.Scan("S1", at)
	s.Scan("S2", at)
	if err := s.Close(); err != nil { // flushes the views
		t.Fatal(err)
	}
	s, err = Open(dsn, Options{Options: registry.Options{Now: func() time.Time { return at }}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		serial string
		want   registry.Scans
	}{
		{"S1", registry.Scans{Count: 8, First: first, Last: at}},
		{"S2", registry.Scans{Count: 1, First: at, Last: at}},
	} {
		rec, err := s.Get(tc.serial)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Scans != tc.want {
			t.Errorf("%s after a view: scans %+v, want %+v", tc.serial, rec.Scans, tc.want)
		}
	}
}

// TestViewFlushesAndAppendsOnTheSameItems: a flush of buffered views
// updates the items' rows that appends lock (schema 0006); 40 flushes
// racing 8 writers on the same 4 items lose neither an event nor a view,
// and none of them fails (a deadlock beyond the retries would).
func TestViewFlushesAndAppendsOnTheSameItems(t *testing.T) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	s, err := Open(schemaDSN(t), Options{Options: registry.Options{Now: func() time.Time { return now }}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	actor := registry.Actor{KeyID: "deskkey00001", Name: "desk 1"}
	if _, _, err := s.PutModel(actor, policy.Model{SKU: "P1", Name: "Mask", Kind: policy.KindProduct}); err != nil {
		t.Fatal(err)
	}
	serials := []string{"S1", "S2", "S3", "S4"}
	var rows []registry.Row
	for _, sn := range serials {
		rows = append(rows, registry.Row{Serial: sn, SKU: "P1", Batch: "B1"})
	}
	if _, err := s.Register(actor, rows); err != nil {
		t.Fatal(err)
	}
	const writers, each, views = 8, 6, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers*each+views)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				ev := policy.Event{Type: policy.EvTransferred, On: policy.Date{Year: 2026, Month: time.November, Day: 19}, Note: fmt.Sprint(w, "-", i)}
				if _, err := s.Append(registry.Write{Actor: actor}, serials[(w+i)%len(serials)], ev); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Go(func() {
		for range views {
			for _, sn := range serials {
				s.Scan(sn, now)
			}
			if err := s.scans.Flush(); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, sn := range serials {
		rec, err := s.Get(sn)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.History) != writers*each/len(serials) || rec.Scans.Count != views {
			t.Errorf("%s: %d events and %d views, want %d and %d", sn, len(rec.History), rec.Scans.Count, writers*each/len(serials), views)
		}
	}
}
