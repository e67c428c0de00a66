package bolt

import (
	"testing"

	"github.com/sanbao/sanbao/policy"
)

func TestAuditNamesTheDefaultWarrantyNotZeroMonths(t *testing.T) {
	db := MustOpen(t)
	for _, m := range []policy.Model{
		{SKU: "D1", Name: "IMASK", Kind: policy.KindProduct},
		{SKU: "D2", Name: "IMASK Pro", Kind: policy.KindProduct, WarrantyMonths: 24},
	} {
		if _, _, err := db.PutModel(admin, m); err != nil {
			t.Fatal(err)
		}
	}
	entries, _, err := db.Audit("", 0)
	must(t, err)
	want := []string{`product "IMASK", default warranty (12 months)`, `product "IMASK Pro", 24 months`}
	if len(entries) != 2 || entries[0].Detail != want[0] || entries[1].Detail != want[1] {
		t.Fatalf("audit = %+v; want details %q", entries, want)
	}
}
