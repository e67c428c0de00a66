package bolt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

func TestPutModel(t *testing.T) {
	db := MustOpen(t)
	m, created, err := db.PutModel(admin, policy.Model{SKU: " P1 ", Name: "Mask", Kind: policy.KindProduct, GTIN: "6901234567892"})
	must(t, err)
	if !created || m.SKU != "P1" || m.GTIN != "06901234567892" || m.UpdatedAt.IsZero() {
		t.Fatalf("PutModel = %+v, created %v; want P1 created, GTIN-14, UpdatedAt set", m, created)
	}
	db.clock.Advance(60e9)
	same, created, err := db.PutModel(admin, policy.Model{SKU: "P1", Name: "Mask", Kind: policy.KindProduct, GTIN: "6901234567892"})
	must(t, err)
	if created || !same.UpdatedAt.Equal(m.UpdatedAt) {
		t.Fatalf("identical PutModel: created %v, UpdatedAt %v; want not created, unchanged %v", created, same.UpdatedAt, m.UpdatedAt)
	}
	upd, created, err := db.PutModel(admin, policy.Model{SKU: "P1", Name: "Mask 2", Kind: policy.KindProduct})
	must(t, err)
	if created || upd.Name != "Mask 2" || !upd.UpdatedAt.After(m.UpdatedAt) {
		t.Fatalf("update: %+v created %v", upd, created)
	}
	got, err := db.Model("P1")
	must(t, err)
	if got.Name != "Mask 2" || got.GTIN != "" {
		t.Fatalf("Model(P1) = %+v", got)
	}
	_, err = db.Model("NOPE")
	wantCode(t, err, policy.ENotFound, "NOPE")
	_, err = db.Model("bad sku!")
	wantCode(t, err, policy.EInvalid, "sku")

	for _, bad := range []policy.Model{
		{SKU: "", Name: "x", Kind: policy.KindProduct},
		{SKU: "X", Name: "x", Kind: "gadget"},
		{SKU: "X", Name: "x", Kind: policy.KindProduct, GTIN: "6901234567890"},
		{SKU: "X", Name: "x", Kind: policy.KindProduct, WarrantyMonths: 121},
	} {
		if _, _, err := db.PutModel(admin, bad); policy.ErrorCode(err) != policy.EInvalid {
			t.Errorf("PutModel(%+v) = %v; want invalid_field", bad, err)
		}
	}
	ms, err := db.Models()
	must(t, err)
	if len(ms) != 1 {
		t.Fatalf("Models() = %d models; want 1", len(ms))
	}
	s, _ := db.Stats()
	if s.Models != 1 {
		t.Fatalf("Stats.Models = %d; want 1", s.Models)
	}
	entries, _, err := db.Audit("", 0)
	must(t, err)
	if len(entries) != 2 || entries[0].Action != "model.create" || entries[1].Action != "model.update" || entries[0].Target != "P1" || entries[0].KeyID != admin.KeyID {
		t.Fatalf("audit = %+v; want model.create then model.update of P1 (the identical put writes nothing)", entries)
	}
}

func TestRegisterCopiesTermsOntoItems(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	res, err := db.Register(admin, []registry.Row{
		{Serial: " S2\n", SKU: "P24", Batch: "B1", Accessories: []registry.Bundle{{SKU: "CHG", Batch: "CB1"}, {SKU: "ADP", Batch: "AB1"}}},
		{Serial: "S1", SKU: "P1", Batch: "B1", ProducedOn: date("2026-10-01")},
		{Serial: "C1", SKU: "CHG", Batch: "CB9"},
	})
	must(t, err)
	if res != (registry.RegisterResult{Created: 3}) {
		t.Fatalf("Register = %+v; want 3 created", res)
	}
	rec, err := db.Get("S2")
	must(t, err)
	want := policy.Item{Serial: "S2", SKU: "P24", Kind: policy.KindProduct, WarrantyMonths: 24, Batch: "B1",
		Accessories: []policy.Accessory{
			{SKU: "CHG", Batch: "CB1", Name: "Charger", Kind: policy.KindAccessory, WarrantyMonths: 12},
			{SKU: "ADP", Batch: "AB1", Name: "Adapter", Kind: policy.KindAdapter, WarrantyMonths: 6}},
		RegisteredAt: db.clock.Now()}
	if fmt.Sprintf("%+v", rec.Item) != fmt.Sprintf("%+v", want) {
		t.Fatalf("item S2 =\n%+v\nwant\n%+v", rec.Item, want)
	}
	s1, _ := db.Get("S1")
	if s1.Item.WarrantyMonths != 12 || s1.Item.ProducedOn != date("2026-10-01") || len(s1.History) != 0 {
		t.Fatalf("S1 = %+v; want the policy's 12 months and the production date", s1)
	}
	c1, _ := db.Get("C1")
	if c1.Item.Kind != policy.KindAccessory {
		t.Fatalf("C1 kind %q; an accessory with its own serial is an item of kind accessory", c1.Item.Kind)
	}
	// Editing the model later never changes what was sold.
	_, _, err = db.PutModel(admin, policy.Model{SKU: "P24", Name: "Mask Pro", Kind: policy.KindProduct, WarrantyMonths: 36})
	must(t, err)
	if again, _ := db.Get("S2"); again.Item.WarrantyMonths != 24 {
		t.Fatalf("months after a model edit: %d; want 24", again.Item.WarrantyMonths)
	}
	if s, _ := db.Stats(); s.Items != 3 {
		t.Fatalf("Stats.Items = %d; want 3", s.Items)
	}
}

func TestRegisterRowErrors(t *testing.T) {
	ok := registry.Row{Serial: "S1", SKU: "P1", Batch: "B1"}
	tests := []struct {
		name          string
		rows          []registry.Row
		row           int
		code, field   string
		messageWords  []string
		registerFirst []registry.Row
	}{
		{"serial with a space is rejected", []registry.Row{ok, {Serial: "S 2", SKU: "P1", Batch: "B1"}}, 2, policy.EInvalid, "serial", []string{"0-9 A-Z"}, nil},
		{"serial over 32 characters is rejected", []registry.Row{{Serial: strings.Repeat("A", 33), SKU: "P1", Batch: "B1"}}, 1, policy.EInvalid, "serial", []string{"33"}, nil},
		{"empty batch is rejected", []registry.Row{{Serial: "S1", SKU: "P1"}}, 1, policy.EInvalid, "batch", []string{"required"}, nil},
		{"unknown model is rejected", []registry.Row{{Serial: "S1", SKU: "NOPE", Batch: "B1"}}, 1, policy.EInvalid, "sku", []string{"NOPE"}, nil},
		{"future production date is rejected", []registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1", ProducedOn: date("2027-01-01")}}, 1, policy.EInvalid, "produced_on", []string{"future"}, nil},
		{"serial repeated in the request is rejected", []registry.Row{ok, {Serial: "S2", SKU: "P1", Batch: "B1"}, ok}, 3, policy.EInvalid, "serial", []string{"row 1"}, nil},
		{"serial registered with other data is a conflict", []registry.Row{{Serial: "S1", SKU: "P1", Batch: "B2"}}, 1, policy.EConflict, "serial", []string{"batch B1"}, []registry.Row{ok}},
		{"serials are unique across kinds", []registry.Row{{Serial: "S1", SKU: "CHG", Batch: "B1"}}, 1, policy.EConflict, "serial", []string{"sku P1"}, []registry.Row{ok}},
		{"bundled product model is rejected", []registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1", Accessories: []registry.Bundle{{SKU: "P24", Batch: "X"}}}}, 1, policy.EInvalid, "accessories.sku", []string{"accessory or adapter"}, nil},
		{"bundled unknown model is rejected", []registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1", Accessories: []registry.Bundle{{SKU: "ZZ", Batch: "X"}}}}, 1, policy.EInvalid, "accessories.sku", []string{"ZZ"}, nil},
		{"bundled batch must be an identifier", []registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1", Accessories: []registry.Bundle{{SKU: "CHG", Batch: "C/1"}}}}, 1, policy.EInvalid, "accessories.batch", nil, nil},
		{"an accessory listed twice is rejected", []registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1", Accessories: []registry.Bundle{{SKU: "CHG", Batch: "C1"}, {SKU: "CHG", Batch: "C2"}}}}, 1, policy.EInvalid, "accessories", []string{"twice"}, nil},
		{"only products carry bundles", []registry.Row{{Serial: "S1", SKU: "CHG", Batch: "B1", Accessories: []registry.Bundle{{SKU: "ADP", Batch: "A1"}}}}, 1, policy.EInvalid, "accessories", []string{"only a product"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := MustOpen(t)
			seedModels(t, db)
			if tt.registerFirst != nil {
				_, err := db.Register(admin, tt.registerFirst)
				must(t, err)
			}
			before, _ := db.Stats()
			_, err := db.Register(admin, tt.rows)
			wantCode(t, err, policy.EInvalid, "nothing was written")
			rows := rowErrors(t, err)
			if len(rows) != 1 {
				t.Fatalf("rows = %+v; want one", rows)
			}
			r := rows[0]
			if r.Row != tt.row || r.Code != tt.code || r.Field != tt.field {
				t.Fatalf("row error %+v; want row %d code %s field %s", r, tt.row, tt.code, tt.field)
			}
			for _, w := range tt.messageWords {
				if !strings.Contains(r.Message, w) {
					t.Fatalf("message %q does not mention %q", r.Message, w)
				}
			}
			if after, _ := db.Stats(); after != before {
				t.Fatalf("stats %+v -> %+v: a rejected request wrote something", before, after)
			}
		})
	}
}

func TestRegisterIsIdempotentForIdenticalRows(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	rows := []registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1", Accessories: []registry.Bundle{{SKU: "CHG", Batch: "C1"}}}, {Serial: "S2", SKU: "P1", Batch: "B1"}}
	_, err := db.Register(admin, rows)
	must(t, err)
	res, err := db.Register(admin, append(rows, registry.Row{Serial: "S3", SKU: "P1", Batch: "B1"}))
	must(t, err)
	if res != (registry.RegisterResult{Created: 1, Unchanged: 2}) {
		t.Fatalf("re-registration = %+v; want 1 created, 2 unchanged", res)
	}
	if bs, _ := db.Batches(); !slices.Equal(bs, []registry.BatchCount{{Batch: "B1", Count: 3}, {Batch: "C1", Carriers: 1}}) {
		t.Fatalf("Batches() = %+v; counts must not grow on re-registration", bs)
	}
	_, err = db.Register(admin, []registry.Row{})
	wantCode(t, err, policy.EInvalid, "no rows")
}

func TestRegisterReportsAtMostMaxRowErrors(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	rows := make([]registry.Row, policy.MaxRowErrors+500)
	for i := range rows {
		rows[i] = registry.Row{Serial: fmt.Sprintf("S%05d", i), SKU: "NOPE", Batch: "B1"}
	}
	rows = append(rows, registry.Row{Serial: "GOOD", SKU: "P1", Batch: "B1"})
	_, err := db.Register(admin, rows)
	var pe *policy.Error
	wantCode(t, err, policy.EInvalid)
	pe = err.(*policy.Error)
	if len(pe.Rows) != policy.MaxRowErrors || pe.BadRows != policy.MaxRowErrors+500 || pe.Rows[0].Row != 1 || pe.Rows[999].Row != 1000 {
		t.Fatalf("rows %d (first %d, last %d), bad_rows %d; want the first %d of %d in row order",
			len(pe.Rows), pe.Rows[0].Row, pe.Rows[len(pe.Rows)-1].Row, pe.BadRows, policy.MaxRowErrors, policy.MaxRowErrors+500)
	}
	if _, err := db.Get("GOOD"); policy.ErrorCode(err) != policy.ENotFound {
		t.Fatal("a good row was written from a rejected request")
	}
}

func TestRegisterLargeRequest(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	rows := make([]registry.Row, n)
	for i := range rows {
		rows[i] = registry.Row{Serial: fmt.Sprintf("L%07d", (i*7919)%n), SKU: "P1", Batch: fmt.Sprintf("B%d", i%3)}
	}
	res, err := db.Register(admin, rows)
	must(t, err)
	if res.Created != n {
		t.Fatalf("created %d; want %d", res.Created, n)
	}
	if s, _ := db.Stats(); s.Items != n {
		t.Fatalf("Stats.Items = %d", s.Items)
	}
}

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []registry.Row
		code string
		rows []int // rows with errors
	}{
		{"header and rows", "serial,sku,batch\nS1,P1,B1\nS2,P1,B1\n",
			[]registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1"}, {Serial: "S2", SKU: "P1", Batch: "B1"}}, "", nil},
		{"BOM, any column order and case, unknown columns ignored", "\ufeffBatch, SKU ,colour,Serial,produced_on\r\nB1,P1,red, S1 ,2026-10-01\r\n",
			[]registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1", ProducedOn: date("2026-10-01")}}, "", nil},
		{"accessories column", "serial,sku,batch,accessories\nS1,P1,B1,CHG:CB1; ADP:AB1\nS2,P1,B1,\n",
			[]registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1", Accessories: []registry.Bundle{{SKU: "CHG", Batch: "CB1"}, {SKU: "ADP", Batch: "AB1"}}}, {Serial: "S2", SKU: "P1", Batch: "B1"}}, "", nil},
		{"missing column is a bad request", "serial,sku\nS1,P1\n", nil, policy.EBadRequest, nil},
		{"empty input is a bad request", "", nil, policy.EBadRequest, nil},
		{"bad rows are numbered from the first data row", "serial,sku,batch,produced_on,accessories\nS1,P1,B1,,\nS 2,P1,B1,,\nS3,P1,B1,2026-02-30,\nS4,P1,B1,,CHG\nS5,P1\n",
			nil, policy.EInvalid, []int{2, 3, 4, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := registry.ParseCSV(strings.NewReader(tt.in))
			if tt.code != "" {
				wantCode(t, err, tt.code)
				if tt.rows != nil {
					var nums []int
					for _, r := range rowErrors(t, err) {
						nums = append(nums, r.Row)
					}
					if !slices.Equal(nums, tt.rows) {
						t.Fatalf("error rows %v; want %v", nums, tt.rows)
					}
				}
				return
			}
			must(t, err)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("ParseCSV =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestImport(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	csv := "serial,sku,batch,accessories\nS3,P1,B1,CHG:C1\nS1,P1,B1,\nS2,P24,B2,\n"
	var progress strings.Builder
	res, err := db.Import(admin, strings.NewReader(csv), &progress)
	must(t, err)
	if res != (registry.RegisterResult{Created: 3}) {
		t.Fatalf("Import = %+v", res)
	}
	if !strings.Contains(progress.String(), "imported: 3 created") || !strings.Contains(progress.String(), "rows/s") {
		t.Fatalf("progress:\n%s", progress.String())
	}
	// Rerunning the same file completes an interrupted run and changes nothing else.
	res, err = db.Import(admin, strings.NewReader(csv+"S4,P1,B1,\n"), nil)
	must(t, err)
	if res != (registry.RegisterResult{Created: 1, Unchanged: 3}) {
		t.Fatalf("rerun = %+v; want 1 created, 3 unchanged", res)
	}
	// Any bad row: nothing written.
	_, err = db.Import(admin, strings.NewReader("serial,sku,batch\nS5,P1,B1\nS1,P1,B9\nS6,NOPE,B1\n"), nil)
	wantCode(t, err, policy.EInvalid)
	rows := rowErrors(t, err)
	if len(rows) != 2 || rows[0].Row != 2 || rows[0].Code != policy.EConflict || rows[1].Row != 3 {
		t.Fatalf("row errors %+v", rows)
	}
	if _, err := db.Get("S5"); policy.ErrorCode(err) != policy.ENotFound {
		t.Fatal("S5 written by a rejected import")
	}
	_, err = db.Import(admin, strings.NewReader("serial,sku,batch\n"), nil)
	wantCode(t, err, policy.EInvalid, "no rows")
	if bs, _ := db.Batches(); !slices.Equal(bs, []registry.BatchCount{{Batch: "B1", Count: 3}, {Batch: "B2", Count: 1}, {Batch: "C1", Carriers: 1}}) {
		t.Fatalf("Batches() = %+v", bs)
	}
}

func TestBatchPages(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	var rows []registry.Row
	for i := range 25 {
		r := registry.Row{Serial: fmt.Sprintf("S%02d", i), SKU: "P1", Batch: "B1"}
		if i%5 == 0 {
			r.Accessories = []registry.Bundle{{SKU: "CHG", Batch: "B1"}} // carrier of its own batch too
		}
		if i%2 == 0 {
			r.Accessories = append(r.Accessories, registry.Bundle{SKU: "ADP", Batch: "AB"})
		}
		rows = append(rows, r)
	}
	_, err := db.Register(admin, rows)
	must(t, err)

	p, err := db.Batch("B1", "", 10)
	must(t, err)
	if p.Count != 25 || p.Carriers != 5 || len(p.Serials) != 10 || p.Serials[0] != "S00" || p.Next != "S09" ||
		!slices.Equal(p.CarriedBy, []string{"S00", "S05"}) {
		t.Fatalf("first page %+v", p)
	}
	p, err = db.Batch("B1", p.Next, 10)
	must(t, err)
	if p.Serials[0] != "S10" || p.Next != "S19" || !slices.Equal(p.CarriedBy, []string{"S10", "S15"}) {
		t.Fatalf("second page %+v", p)
	}
	p, err = db.Batch("B1", p.Next, 10)
	must(t, err)
	if len(p.Serials) != 5 || p.Next != "" {
		t.Fatalf("last page %+v; want 5 serials and no next", p)
	}
	p, err = db.Batch("AB", "", 0)
	must(t, err)
	if p.Count != 0 || p.Carriers != 13 || len(p.Serials) != 0 || len(p.CarriedBy) != 13 {
		t.Fatalf("carriers-only batch %+v", p)
	}
	p, err = db.Batch("B1", "", 5000)
	must(t, err)
	if len(p.Serials) != 25 {
		t.Fatalf("limit above the maximum is clamped, not refused: %+v", p)
	}
	_, err = db.Batch("NOPE", "", 10)
	wantCode(t, err, policy.ENotFound, "NOPE")
	_, err = db.Batch("B 1", "", 10)
	wantCode(t, err, policy.EInvalid, "batch")
	_, err = db.Batch("B1", "", -1)
	wantCode(t, err, policy.EInvalid, "limit")
	_, err = db.Batch("B1", "S/1", 10)
	wantCode(t, err, policy.EInvalid, "after")
	bs, _ := db.Batches()
	if !slices.Equal(bs, []registry.BatchCount{{Batch: "AB", Carriers: 13}, {Batch: "B1", Count: 25, Carriers: 5}}) {
		t.Fatalf("Batches() = %+v", bs)
	}
}

func TestProberFindsStoredSerialsInAscendingOrder(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	var stored []string
	for i := 0; i < 200; i += 3 { // every third serial, so asks fall between, on and past stored keys
		stored = append(stored, fmt.Sprintf("P%04d", i))
	}
	register(t, db, "P1", "B1", stored...)
	must(t, db.bolt.View(func(tx *bbolt.Tx) error {
		for _, step := range []int{1, 2, 40} { // short walks and long jumps (a seek)
			p := newProber(tx.Bucket(bucketItems))
			for i := 0; i < 260; i += step {
				s := fmt.Sprintf("P%04d", i)
				want := i%3 == 0 && i < 200
				if got := p.get(s) != nil; got != want {
					t.Fatalf("step %d: get(%s) found %v; want %v", step, s, got, want)
				}
			}
		}
		return nil
	}))
}

func TestImportRecheckFindsSerialsRegisteredMeanwhile(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	rows := []registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1"}, {Serial: "S2", SKU: "P1", Batch: "B1"}, {Serial: "S3", SKU: "P1", Batch: "B1"}}
	chunk := []int32{0, 1, 2}
	check := func() ([]int32, bool, error) {
		var left []int32
		var changed bool
		err := db.bolt.View(func(tx *bbolt.Tx) error {
			var err error
			left, changed, err = recheck(tx, rows, chunk)
			return err
		})
		return left, changed, err
	}
	if left, changed, err := check(); err != nil || changed || left != nil {
		t.Fatalf("nothing registered: %v %v %v", left, changed, err)
	}
	register(t, db, "P1", "B1", "S2") // identical data, but produced on another date
	_, _, err := check()
	wantCode(t, err, policy.EConflict, "S2", "while the import ran")
	rows[1].ProducedOn = date("2026-10-01")
	left, changed, err := check()
	if err != nil || !changed || !slices.Equal(left, []int32{0, 2}) {
		t.Fatalf("recheck = %v %v %v; want rows 0 and 2 left", left, changed, err)
	}
}

func TestRegisterIndexesEveryBatchOnce(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	// Batches interleaved in serial order; products carrying accessories of
	// their own batch, of another, and two of one batch.
	rows := []registry.Row{
		{Serial: "S5", SKU: "P1", Batch: "B2"},
		{Serial: "S1", SKU: "P1", Batch: "B1", Accessories: []registry.Bundle{{SKU: "CHG", Batch: "B1"}}},
		{Serial: "S2", SKU: "P24", Batch: "B2", Accessories: []registry.Bundle{{SKU: "CHG", Batch: "C1"}, {SKU: "ADP", Batch: "C1"}}},
		{Serial: "S3", SKU: "P1", Batch: "B1"},
		{Serial: "S4", SKU: "P1", Batch: "B10", Accessories: []registry.Bundle{{SKU: "CHG", Batch: "B1"}, {SKU: "ADP", Batch: "B2"}}},
		{Serial: "S0", SKU: "CHG", Batch: "B1"},
	}
	_, err := db.Register(admin, rows)
	must(t, err)
	want := []string{"B1 S0 1", "B1 S1 3", "B1 S3 1", "B1 S4 2", "B10 S4 1", "B2 S2 1", "B2 S4 2", "B2 S5 1", "C1 S2 2"}
	var got []string
	must(t, db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketBatches).ForEach(func(k, v []byte) error {
			batch, serial, _ := bytes.Cut(k, []byte{0})
			got = append(got, fmt.Sprintf("%s %s %d", batch, serial, v[0]))
			return nil
		})
	}))
	if !slices.Equal(got, want) {
		t.Fatalf("batch index %q; want %q", got, want)
	}
	wantCounts := []registry.BatchCount{{Batch: "B1", Count: 3, Carriers: 2}, {Batch: "B10", Count: 1}, {Batch: "B2", Count: 2, Carriers: 1}, {Batch: "C1", Carriers: 1}}
	if bs, _ := db.Batches(); !slices.Equal(bs, wantCounts) {
		t.Fatalf("Batches() = %+v; want %+v", bs, wantCounts)
	}
}

func TestImportReadsAheadInBlocksAndStopsOnAReadError(t *testing.T) {
	var csv strings.Builder
	csv.WriteString("serial,sku,batch,produced_on\n")
	for i := range 5000 { // several blocks of lines read ahead
		fmt.Fprintf(&csv, "R%05d,P1,B%d,2026-10-0%d\n", 4999-i, i%3, 1+i%9)
	}
	tests := []struct {
		name    string
		in      io.Reader
		errRows []int  // rows reported, when the import is refused for its rows
		errWord string // in the error, when reading failed
	}{
		{"bad rows in later blocks are numbered from the first data row",
			strings.NewReader(strings.Replace(strings.Replace(csv.String(), "R02999,P1", "R 2999,P1", 1), "R00010,P1,B0", "R00010,P1,", 1)),
			[]int{2001, 4990}, ""},
		{"a read error after some blocks refuses the whole file",
			io.MultiReader(strings.NewReader(csv.String()), iotest.ErrReader(errors.New("disk gone"))), nil, "disk gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := MustOpen(t)
			seedModels(t, db)
			_, err := db.Import(admin, tt.in, nil)
			if tt.errWord != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errWord) {
					t.Fatalf("Import = %v; want an error naming %q", err, tt.errWord)
				}
			} else {
				var nums []int
				for _, r := range rowErrors(t, err) {
					nums = append(nums, r.Row)
				}
				if !slices.Equal(nums, tt.errRows) {
					t.Fatalf("error rows %v; want %v", nums, tt.errRows)
				}
			}
			if s, _ := db.Stats(); s.Items != 0 {
				t.Fatalf("%d items written by a refused import", s.Items)
			}
		})
	}
	db := MustOpen(t)
	seedModels(t, db)
	res, err := db.Import(admin, strings.NewReader(csv.String()), nil)
	must(t, err)
	if it, _ := db.Get("R00000"); res.Created != 5000 || it.Item.ProducedOn != date("2026-10-05") || it.Item.Batch != "B1" {
		t.Fatalf("Import = %+v; R00000 = %+v", res, it.Item)
	}
}
