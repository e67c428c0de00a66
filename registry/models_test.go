package registry

import (
	"testing"

	"github.com/sanbao/sanbao/policy"
	bolt "go.etcd.io/bbolt"
)

func TestAModelKeepsEveryGTINItHasHad(t *testing.T) {
	db := MustOpen(t)
	_, _, err := db.PutModel(admin, policy.Model{SKU: "P1", Name: "口罩", NameEN: "Mask", Kind: policy.KindProduct, GTIN: "6901234567892"})
	must(t, err)
	_, _, err = db.PutModel(admin, policy.Model{SKU: "P1", Name: "口罩", Kind: policy.KindProduct, GTIN: "4006381333931"})
	must(t, err)
	for _, gtin := range []string{"06901234567892", "04006381333931"} {
		sku, err := db.ModelByGTIN(gtin)
		must(t, err)
		if sku != "P1" {
			t.Errorf("ModelByGTIN(%s) = %q, want P1 (an earlier GTIN stays the model's)", gtin, sku)
		}
	}
	_, err = db.ModelByGTIN("09521234543213")
	wantCode(t, err, policy.ENotFound, "09521234543213")
	for _, gtin := range []string{"6901234567892", "4006381333931"} {
		_, _, err := db.PutModel(admin, policy.Model{SKU: "P2", Name: "x", Kind: policy.KindProduct, GTIN: gtin})
		wantCode(t, err, policy.EConflict, "P1")
	}
	if _, err := db.Model("P2"); policy.ErrorCode(err) != policy.ENotFound {
		t.Errorf("a refused model was written: %v", err)
	}
	m, err := db.Model("P1")
	must(t, err)
	if m.NameEN != "" {
		t.Errorf("name_en %q, want it gone after a PUT without it", m.NameEN)
	}
}

// A file written before the GTIN index has none: reads fall back on the
// models, and the first model write builds it from their GTINs.
func TestTheGTINIndexIsBuiltForAnOlderFile(t *testing.T) {
	db := MustOpen(t)
	_, _, err := db.PutModel(admin, policy.Model{SKU: "P1", Name: "x", Kind: policy.KindProduct, GTIN: "6901234567892"})
	must(t, err)
	must(t, db.bolt.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketGTINs) }))
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
