package bolt

import (
	"bytes"
	"testing"

	"github.com/sanbao/sanbao/policy"
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

// ItemAndModel reads what Get and Model read, in one transaction: the
// item's record with buffered scans, and its model or none.
func TestItemAndModelIsGetAndModel(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1")
	db.Scan("S1", db.now())
	rec, m, found, err := db.ItemAndModel("S1")
	must(t, err)
	want, err := db.Get("S1")
	must(t, err)
	wantModel, err := db.Model("P1")
	must(t, err)
	if !found || m != wantModel || rec.Item.Serial != want.Item.Serial || rec.Scans != want.Scans || rec.Scans.Count != 1 {
		t.Errorf("ItemAndModel = %+v %+v %v; Get, Model = %+v %+v", rec, m, found, want, wantModel)
	}
	must(t, db.bolt.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketModels).Delete([]byte("P1")) }))
	if _, _, found, err := db.ItemAndModel("S1"); err != nil || found {
		t.Errorf("model deleted: found %v, %v", found, err)
	}
	_, _, _, err = db.ItemAndModel("NOPE")
	wantCode(t, err, policy.ENotFound, "NOPE")
}
