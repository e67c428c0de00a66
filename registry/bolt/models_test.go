package bolt

import (
	"bytes"
	"slices"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// A file written before the GTIN index has none: reads fall back on the
// models, and the first model write builds it from their GTINs.
func TestTheGTINIndexIsBuiltForAnOlderFile(t *testing.T) {
	db := MustOpen(t)
	_, _, err := db.PutModel(admin, policy.Model{SKU: "P1", Name: "x", Kind: policy.KindProduct, GTIN: "6901234567892"})
	must(t, err)
	must(t, db.bolt.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket(bucketGTINs) }))
	sku, err := db.ModelByGTIN("06901234567892")
	must(t, err)
	if sku != "P1" {
		t.Fatalf("without the index: %q, want P1", sku)
	}
	_, _, err = db.PutModel(admin, policy.Model{SKU: "P2", Name: "y", Kind: policy.KindProduct, GTIN: "6901234567892"})
	wantCode(t, err, policy.EConflict, "P1")
	_, _, err = db.PutModel(admin, policy.Model{SKU: "P2", Name: "y", Kind: policy.KindProduct, GTIN: "4006381333931"})
	must(t, err)
	for gtin, want := range map[string]string{"06901234567892": "P1", "04006381333931": "P2"} {
		if sku, err := db.ModelByGTIN(gtin); err != nil || sku != want {
			t.Errorf("ModelByGTIN(%s) = %q, %v; want %s", gtin, sku, err, want)
		}
	}
}

// A model read once is remembered decoded, and read afresh once it changes:
// by this process's write, or behind its back (another process's write to
// the file, here a raw bbolt put of the model's earlier bytes).
func TestAModelReadIsAlwaysTheStoredOne(t *testing.T) {
	db := MustOpen(t)
	_, _, err := db.PutModel(admin, policy.Model{SKU: "P1", Name: "first", Kind: policy.KindProduct})
	must(t, err)
	var firstBytes []byte
	must(t, db.bolt.View(func(tx *bbolt.Tx) error {
		firstBytes = bytes.Clone(tx.Bucket(bucketModels).Get([]byte("P1")))
		return nil
	}))
	for range 2 {
		if m, err := db.Model("P1"); err != nil || m.Name != "first" {
			t.Fatalf("Model(P1) = %+v, %v; want first", m, err)
		}
	}
	_, _, err = db.PutModel(admin, policy.Model{SKU: "P1", Name: "second", NameEN: "Second", Kind: policy.KindProduct})
	must(t, err)
	if m, err := db.Model("P1"); err != nil || m.Name != "second" || m.NameEN != "Second" {
		t.Fatalf("after a write: %+v, %v; want second/Second", m, err)
	}
	must(t, db.bolt.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketModels).Put([]byte("P1"), firstBytes) }))
	if m, err := db.Model("P1"); err != nil || m.Name != "first" || m.NameEN != "" {
		t.Fatalf("after a raw write: %+v, %v; want first", m, err)
	}
	must(t, db.bolt.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketModels).Delete([]byte("P1")) }))
	_, err = db.Model("P1")
	wantCode(t, err, policy.ENotFound, "P1")
}

// ItemView reads what Get, Model and BatchNotices of the item's batches
// read, in one transaction: the item's record with buffered scans, its
// model or none, and its batches' notices.
func TestItemViewIsGetModelAndBatchNotices(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	_, err := db.Register(admin, []registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1", ProducedOn: date("2026-10-01"),
		Accessories: []registry.Bundle{{SKU: "CHG", Batch: "CB1"}}}})
	must(t, err)
	for _, n := range []registry.Notice{
		{Batch: "B1", Severity: registry.SeverityRecall, Text: "召回", Since: date("2026-11-18")},
		{Batch: "CB1", Severity: registry.SeverityAdvisory, Text: "充电器", Since: date("2026-11-19")},
	} {
		_, _, err := db.PutNotice(admin, n)
		must(t, err)
	}
	db.Scan("S1", db.now())
	v, err := db.ItemView("S1")
	must(t, err)
	want, err := db.Get("S1")
	must(t, err)
	wantModel, err := db.Model("P1")
	must(t, err)
	wantNotices, err := db.BatchNotices([]string{"B1", "CB1"})
	must(t, err)
	if !v.HasModel || v.Model != wantModel || v.Item.Serial != want.Item.Serial || v.Scans != want.Scans || v.Scans.Count != 1 {
		t.Errorf("ItemView = %+v; Get, Model = %+v %+v", v, want, wantModel)
	}
	if len(wantNotices) != 2 || !slices.Equal(v.Notices, wantNotices) {
		t.Errorf("ItemView notices = %+v; BatchNotices = %+v, want B1's and CB1's", v.Notices, wantNotices)
	}
	must(t, db.bolt.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketModels).Delete([]byte("P1")) }))
	if v, err := db.ItemView("S1"); err != nil || v.HasModel || v.Model != (policy.Model{}) || len(v.Notices) != 2 {
		t.Errorf("model deleted: %+v, %v; want no model, the notices still", v, err)
	}
	_, err = db.ItemView("NOPE")
	wantCode(t, err, policy.ENotFound, "NOPE")
}
