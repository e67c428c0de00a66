package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
	"go.etcd.io/bbolt"
)

// seedVerify registers S1, S2 of M1 in batch B1 and receives S1 on
// 2026-11-05, through the store's own writes.
func seedVerify(t *testing.T, db string) {
	t.Helper()
	s, err := openStore(db, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := registry.Actor{Name: "test"}
	if _, _, err := s.PutModel(a, policy.Model{SKU: "M1", Name: "IMASK", Kind: policy.KindProduct}); err != nil {
		t.Fatal(err)
	}
	rows := []registry.Row{{Serial: "S1", SKU: "M1", Batch: "B1"}, {Serial: "S2", SKU: "M1", Batch: "B1"}}
	if _, err := s.Register(a, rows); err != nil {
		t.Fatal(err)
	}
	on, _ := policy.ParseDate("2026-11-05")
	if _, err := s.Append(registry.Write{Actor: a}, "S1", policy.Event{Type: policy.EvReceived, On: on, Evidence: policy.Courier}); err != nil {
		t.Fatal(err)
	}
}

// verifyFixes runs verify three times on a store whose counters were
// broken: a dry run names the counters without fixing them, a run fixes
// them and says so, a third finds nothing.
func verifyFixes(t *testing.T, db string, want ...string) {
	t.Helper()
	out := mustRun(t, "verify", "--db", db, "--dry-run")
	for _, w := range want {
		if !strings.Contains(out, "differs "+w) {
			t.Errorf("dry run output lacks %q:\n%s", "differs "+w, out)
		}
	}
	out = mustRun(t, "verify", "--db", db, "--dry-run")
	if !strings.Contains(out, "differs ") {
		t.Errorf("the dry run fixed something: second dry run says\n%s", out)
	}
	out, errOut, err := run(t, nil, "verify", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(out, "fixed "+w) {
			t.Errorf("verify output lacks %q:\n%s", "fixed "+w, out)
		}
	}
	if !strings.Contains(errOut, "fixed ") {
		t.Errorf("no summary on stderr: %q", errOut)
	}
	out, errOut, err = run(t, nil, "verify", "--db", db)
	if err != nil || out != "" || !strings.Contains(errOut, "match a full recount") {
		t.Errorf("after the fix verify says %q %q %v", out, errOut, err)
	}
	s, err := openStore(db, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.QualityReport(registry.ReportQuery{By: "batch"})
	if err != nil || len(rows) != 1 || rows[0].Key != "B1" || rows[0].Units != 2 || rows[0].Received != 1 {
		t.Errorf("report after the fix: %+v %v", rows, err)
	}
}

func TestVerifyFixesTheCountersOfAFile(t *testing.T) {
	db := tempDB(t)
	seedVerify(t, db)
	// Break the counters behind the store's back: B1's received month
	// cell goes, a made-up one appears.
	bdb, err := bbolt.Open(db, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("quality"))
		if err := b.Delete([]byte("M1\x00B1\x002026-11")); err != nil {
			return err
		}
		v := make([]byte, 56)
		v[7] = 3 // 3 units
		return b.Put([]byte("M1\x00B9\x002026-01"), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	bdb.Close()
	verifyFixes(t, db, "quality M1/B1/2026-11", "quality M1/B9/2026-01")
}

func TestVerifyFixesTheCountersOfPostgreSQL(t *testing.T) {
	dsn := postgresDSN(t)
	seedVerify(t, dsn)
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE report_quality SET units = units + 5 WHERE batch = 'B1' AND month = '2026-11';
		DELETE FROM report_expiry WHERE serial = 'S1'`); err != nil {
		t.Fatal(err)
	}
	verifyFixes(t, dsn, "quality M1/B1/2026-11", "expiry S1")
}
