package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
)

// withAccessoryModels creates db holding product M1, adapter CHG-1 and
// accessory CBL-2 (6 months), and closes it again.
func withAccessoryModels(t *testing.T, db string) {
	t.Helper()
	reg, err := bolt.Open(db, bolt.Options{Timeout: lockTimeout})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []policy.Model{
		{SKU: "M1", Name: "IMASK Pro", Kind: policy.KindProduct},
		{SKU: "CHG-1", Name: "Charger 20W", Kind: policy.KindAdapter},
		{SKU: "CBL-2", Name: "USB-C cable", Kind: policy.KindAccessory, WarrantyMonths: 6},
	} {
		if _, _, err := reg.PutModel(registry.Actor{Name: "test"}, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestImportAccessoriesColumn registers bundled accessories offline from
// the CSV accessories column (SKU:BATCH;SKU:BATCH), refuses a whole file
// for one product SKU listed as an accessory, and serves what it wrote.
func TestImportAccessoriesColumn(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "sanbao.db")
	withAccessoryModels(t, db)

	// One bad row among good ones: nothing is written, the row is named
	// with its field on stderr.
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("serial,sku,batch,produced_on,accessories\n"+
		"Q1,M1,B9,2026-10-01,CHG-1:CB-NEW\n"+
		"Q2,M1,B9,2026-10-01,CHG-1:CB-NEW;M1:CB-BAD\n"+
		"Q3,M1,B9,2026-10-01,CHG-1:CB-NEW\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := run(t, nil, "import", "--db", db, bad)
	if err == nil {
		t.Fatal("an import listing a product as an accessory succeeded")
	}
	if out != "" {
		t.Errorf("stdout %q after a refused import", out)
	}
	for _, want := range []string{`row 2 serial "Q2"`, "accessories.sku", "accessory or adapter"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "row 1 ") || strings.Contains(errOut, "row 3 ") {
		t.Errorf("stderr names good rows:\n%s", errOut)
	}

	good := filepath.Join(dir, "good.csv")
	if err := os.WriteFile(good, []byte("\ufeffserial,sku,batch,produced_on,accessories\r\n"+
		"P1,M1,B1,2026-10-01,CHG-1:CB2411;CBL-2:CC2411\r\n"+
		"P2,M1,B1,2026-10-01,CHG-1:CB2411\r\n"+
		"P3,M1,B1,2026-10-01,\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "import", "--db", db, good); out != "created 3, unchanged 0\n" {
		t.Errorf("import: %q", out)
	}
	// The same file from stdin: nothing new.
	m := newMain(nil)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	m.Stdin = bytes.NewReader(data)
	var stdout, stderr bytes.Buffer
	if err := m.Run(context.Background(), []string{"import", "--db", db, "-"}, &stdout, &stderr); err != nil || stdout.String() != "created 0, unchanged 3\n" {
		t.Errorf("import again: %v %q\n%s", err, stdout.String(), stderr.String())
	}

	// The file as written, read offline (and closed before serve opens it).
	reg, err := bolt.Open(db, bolt.Options{Timeout: lockTimeout, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Q1", "Q2", "Q3"} {
		if _, err := reg.Get(s); policy.ErrorCode(err) != policy.ENotFound {
			t.Errorf("%s from the refused import: %v", s, err)
		}
	}
	for _, b := range []string{"B9", "CB-NEW", "CB-BAD"} {
		if _, err := reg.Batch(b, "", 0); policy.ErrorCode(err) != policy.ENotFound {
			t.Errorf("batch %s from the refused import: %v", b, err)
		}
	}
	rec, err := reg.Get("P1")
	if err != nil {
		t.Fatal(err)
	}
	want := []policy.Accessory{
		{SKU: "CHG-1", Batch: "CB2411", Name: "Charger 20W", Kind: policy.KindAdapter, WarrantyMonths: 12},
		{SKU: "CBL-2", Batch: "CC2411", Name: "USB-C cable", Kind: policy.KindAccessory, WarrantyMonths: 6},
	}
	if !slices.Equal(rec.Item.Accessories, want) {
		t.Errorf("P1 accessories %+v, want %+v", rec.Item.Accessories, want)
	}
	if rec, err := reg.Get("P3"); err != nil || len(rec.Item.Accessories) != 0 {
		t.Errorf("P3 carries nothing: %+v %v", rec.Item.Accessories, err)
	}
	if p, err := reg.Batch("CB2411", "", 0); err != nil || p.Count != 0 || p.Carriers != 2 || !slices.Equal(p.CarriedBy, []string{"P1", "P2"}) {
		t.Errorf("batch CB2411: %+v %v, want carried by P1 and P2", p, err)
	}
	if p, err := reg.Batch("B1", "", 0); err != nil || p.Count != 3 || p.Carriers != 0 {
		t.Errorf("batch B1: %+v %v, want 3 members", p, err)
	}
	if err := reg.Check(); err != nil {
		t.Error(err)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}

	key := newKey(t, db, "service")
	srv := startServe(t, nil, "--addr", "127.0.0.1:0", "--db", db)
	status, body := call(t, http.MethodGet, srv.URL+"/api/v1/items/P1", key, nil)
	if status != http.StatusOK {
		t.Fatalf("GET P1: %d %s", status, body)
	}
	var item struct {
		Accessories []struct {
			SKU, Name, Kind, Batch string
			Replacements           int
		} `json:"accessories"`
	}
	if err := json.Unmarshal(body, &item); err != nil {
		t.Fatal(err)
	}
	if len(item.Accessories) != 2 || item.Accessories[0].Batch != "CB2411" || item.Accessories[1].Batch != "CC2411" || item.Accessories[1].Kind != "accessory" {
		t.Errorf("P1 as served: %s", body)
	}
}
