package bolt

import (
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// TestMigrationToSchema3BuildsTheReportCounters: a schema-2 file (items
// and events, no counters) opened by this build gets counters equal to a
// recount, and its report reads them.
func TestMigrationToSchema3BuildsTheReportCounters(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	if _, err := db.Register(registry.Actor{Name: "t"}, []registry.Row{
		{Serial: "S1", SKU: "P1", Batch: "B1", Accessories: []registry.Bundle{{SKU: "CHG", Batch: "CB1"}}},
		{Serial: "S2", SKU: "P1", Batch: "B1"},
	}); err != nil {
		t.Fatal(err)
	}
	on, _ := policy.ParseDate("2026-11-05")
	if _, err := db.Append(registry.Write{Actor: registry.Actor{Name: "t"}}, "S1", policy.Event{Type: policy.EvReceived, On: on, Evidence: policy.Courier}); err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	must(t, db.DB.Close())
	// As schema 2 left it: no counter buckets.
	b, err := bbolt.Open(path, 0o600, nil)
	must(t, err)
	must(t, b.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketQuality, bucketFindings, bucketExpiry} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return nil
	}))
	must(t, b.Close())
	setSchema(t, path, 2)

	m, err := Open(path, Options{Options: registry.Options{Now: newClock().Now}})
	must(t, err)
	defer m.Close()
	rows, err := m.QualityReport(registry.ReportQuery{By: registry.ByBatch})
	must(t, err)
	want := []registry.QualityRow{
		{Key: "B1", QualityCounts: policy.QualityCounts{Units: 2, Received: 1}},
		{Key: "CB1", QualityCounts: policy.QualityCounts{Units: 1, Received: 1}},
	}
	if len(rows) != len(want) || rows[0] != want[0] || rows[1] != want[1] {
		t.Fatalf("report after migration %+v, want %+v", rows, want)
	}
	fixes, err := m.VerifyCounters(false)
	must(t, err)
	if len(fixes) != 0 {
		t.Fatalf("counters after migration differ from a recount: %v", fixes)
	}
	p, err := m.Expiring(3660, "", "", 0)
	must(t, err)
	if len(p.Items) != 1 || p.Items[0].Serial != "S1" || p.Items[0].WarrantyUntil.String() != "2027-11-05" {
		t.Fatalf("expiring after migration %+v", p)
	}
}
