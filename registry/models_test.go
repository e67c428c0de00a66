package registry

import (
	"testing"

	"github.com/sanbao/sanbao/policy"
	bolt "go.etcd.io/bbolt"
)

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
