package registry

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sanbao/sanbao/policy"
	bolt "go.etcd.io/bbolt"
)

// checkRow trims r's fields in place and checks them without the database
// or the clock. n is the 1-based row number. It returns the row's first error.
func checkRow(n int, r *Row) *policy.RowError {
	bad := func(err error) *policy.RowError {
		e := err.(*policy.Error)
		return &policy.RowError{Row: n, Serial: r.Serial, Code: e.Code, Field: e.Field, Message: e.Message}
	}
	var err error
	if r.Serial, err = policy.Ident("serial", r.Serial); err != nil {
		return bad(err)
	}
	if r.SKU, err = policy.Ident("sku", r.SKU); err != nil {
		return bad(err)
	}
	if r.Batch, err = policy.Ident("batch", r.Batch); err != nil {
		return bad(err)
	}
	for i := range r.Accessories {
		a := &r.Accessories[i]
		if a.SKU, err = policy.Ident("accessories.sku", a.SKU); err != nil {
			return bad(err)
		}
		if a.Batch, err = policy.Ident("accessories.batch", a.Batch); err != nil {
			return bad(err)
		}
		for _, b := range r.Accessories[:i] {
			if b.SKU == a.SKU {
				return bad(policy.Errorf(policy.EInvalid, "accessories", "accessory %s is listed twice", a.SKU))
			}
		}
	}
	return nil
}

// registration resolves rows against the models and items of one
// transaction, collecting row errors.
type registration struct {
	db     *DB
	now    time.Time
	today  policy.Date
	models map[string]*policy.Model // nil value: no such model
	errs   []policy.RowError
}

func (db *DB) newRegistration() *registration {
	now := db.now()
	return &registration{db: db, now: now, today: db.policy.Today(now), models: map[string]*policy.Model{}}
}

// check runs checkRow and the checks needing the clock.
func (g *registration) check(n int, r *Row) bool {
	if e := checkRow(n, r); e != nil {
		g.errs = append(g.errs, *e)
		return false
	}
	if !r.ProducedOn.IsZero() && r.ProducedOn.After(g.today) {
		g.fail(n, r, policy.EInvalid, "produced_on", "produced_on %s is in the future", r.ProducedOn)
		return false
	}
	return true
}

func (g *registration) fail(n int, r *Row, code, field, format string, args ...any) {
	g.errs = append(g.errs, policy.RowError{Row: n, Serial: r.Serial, Code: code, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (g *registration) model(tx *bolt.Tx, sku string) (*policy.Model, error) {
	m, ok := g.models[sku]
	if ok {
		return m, nil
	}
	mv, found, err := getModel(tx, sku)
	if err != nil {
		return nil, err
	}
	if found {
		m = &mv
	}
	g.models[sku] = m
	return m, nil
}

// Outcomes of resolving a row.
const (
	rowNew = iota
	rowUnchanged
	rowBad
)

// resolve builds the item of row n (already checked by checkRow) and says
// whether it is new, identical to the registered one, or bad (recorded).
func (g *registration) resolve(tx *bolt.Tx, items *bolt.Bucket, n int, r *Row) (itemRec, int, error) {
	m, err := g.model(tx, r.SKU)
	if err != nil {
		return itemRec{}, rowBad, err
	}
	if m == nil {
		g.fail(n, r, policy.EInvalid, "sku", "no model %s: create the model first", r.SKU)
		return itemRec{}, rowBad, nil
	}
	rec := itemRec{Item: policy.Item{Serial: r.Serial, SKU: r.SKU, Kind: m.Kind, WarrantyMonths: g.months(m),
		Batch: r.Batch, ProducedOn: r.ProducedOn, RegisteredAt: g.now.UTC()}, State: policy.Registered}
	if len(r.Accessories) > 0 {
		if m.Kind != policy.KindProduct {
			g.fail(n, r, policy.EInvalid, "accessories", "only a product carries bundled accessories; %s is a %s model", m.SKU, m.Kind)
			return itemRec{}, rowBad, nil
		}
		rec.Accessories = make([]policy.Accessory, len(r.Accessories))
		for i, b := range r.Accessories {
			am, err := g.model(tx, b.SKU)
			if err != nil {
				return itemRec{}, rowBad, err
			}
			if am == nil {
				g.fail(n, r, policy.EInvalid, "accessories.sku", "no model %s (bundled accessory): create the model first", b.SKU)
				return itemRec{}, rowBad, nil
			}
			if !am.Kind.Bundleable() {
				g.fail(n, r, policy.EInvalid, "accessories.sku", "bundled %s is a %s model; bundled accessories must be accessory or adapter models", b.SKU, am.Kind)
				return itemRec{}, rowBad, nil
			}
			rec.Accessories[i] = policy.Accessory{SKU: b.SKU, Batch: b.Batch, Name: am.Name, Kind: am.Kind, WarrantyMonths: g.months(am)}
		}
	}
	if v := items.Get([]byte(r.Serial)); v != nil {
		old, err := decodeItem(r.Serial, v)
		if err != nil {
			return itemRec{}, rowBad, err
		}
		if sameRegistration(old.Item, r) {
			return old, rowUnchanged, nil
		}
		g.fail(n, r, policy.EConflict, "serial", "serial %s is already registered with other data (sku %s, batch %s%s)",
			r.Serial, old.SKU, old.Batch, describeDiff(old.Item, r))
		return itemRec{}, rowBad, nil
	}
	return rec, rowNew, nil
}

func (g *registration) months(m *policy.Model) int {
	if m.WarrantyMonths > 0 {
		return m.WarrantyMonths
	}
	return g.db.policy.Months(m.Kind)
}

// sameRegistration reports whether row r registers exactly what it is on record.
func sameRegistration(it policy.Item, r *Row) bool {
	if it.SKU != r.SKU || it.Batch != r.Batch || it.ProducedOn != r.ProducedOn || len(it.Accessories) != len(r.Accessories) {
		return false
	}
	for i, a := range it.Accessories {
		if a.SKU != r.Accessories[i].SKU || a.Batch != r.Accessories[i].Batch {
			return false
		}
	}
	return true
}

func describeDiff(it policy.Item, r *Row) string {
	var d []string
	if it.ProducedOn != r.ProducedOn {
		d = append(d, "produced_on "+orNone(it.ProducedOn.String()))
	}
	if !slices.EqualFunc(it.Accessories, r.Accessories, func(a policy.Accessory, b Bundle) bool { return a.SKU == b.SKU && a.Batch == b.Batch }) {
		var acc []string
		for _, a := range it.Accessories {
			acc = append(acc, a.SKU+":"+a.Batch)
		}
		d = append(d, "accessories "+orNone(strings.Join(acc, ";")))
	}
	if len(d) == 0 {
		return ""
	}
	return ", " + strings.Join(d, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// sortedOrder returns the indexes of rows in serial order and records a row
// error for each repeated serial (the first occurrence stays valid).
func sortedOrder(rows []Row, ok func(i int) bool, errs *[]policy.RowError) []int32 {
	order := make([]int32, 0, len(rows))
	for i := range rows {
		if ok(i) {
			order = append(order, int32(i))
		}
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := strings.Compare(rows[a].Serial, rows[b].Serial); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	out := order[:0]
	var first int32
	for j, i := range order {
		if j > 0 && rows[i].Serial == rows[first].Serial {
			*errs = append(*errs, policy.RowError{Row: int(i) + 1, Serial: rows[i].Serial, Code: policy.EInvalid, Field: "serial",
				Message: fmt.Sprintf("serial %s is also on row %d of this request", rows[i].Serial, first+1)})
			continue
		}
		first = i
		out = append(out, i)
	}
	return out
}

func rowsError(errs []policy.RowError) error {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Row < errs[j].Row })
	return policy.RowsError(errs)
}

// writeItems stores new items (in serial order) with their batch index
// entries, batch counts and the item counter.
func writeItems(tx *bolt.Tx, recs []itemRec, fill float64) error {
	items := tx.Bucket(bucketItems)
	items.FillPercent = fill
	var mem arena
	type entry struct {
		key  []byte
		flag byte
	}
	entries := make([]entry, 0, len(recs))
	for i := range recs {
		r := &recs[i]
		if err := items.Put([]byte(r.Serial), mem.item(r)); err != nil {
			return err
		}
		entries = append(entries, entry{compositeKey(r.Batch, []byte(r.Serial)), flagMember})
		for _, a := range r.Accessories {
			entries = append(entries, entry{compositeKey(a.Batch, []byte(r.Serial)), flagCarrier})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(string(a.key), string(b.key)) })
	batches := tx.Bucket(bucketBatches)
	batches.FillPercent = fill
	type counts struct{ members, carriers int }
	delta := map[string]*counts{}
	for _, e := range entries {
		var old byte
		if v := batches.Get(e.key); len(v) > 0 {
			old = v[0]
		}
		if old&e.flag != 0 {
			continue
		}
		if err := batches.Put(e.key, []byte{old | e.flag}); err != nil {
			return err
		}
		batch := string(e.key[:strings.IndexByte(string(e.key), 0)])
		c := delta[batch]
		if c == nil {
			c = &counts{}
			delta[batch] = c
		}
		if e.flag == flagMember {
			c.members++
		} else {
			c.carriers++
		}
	}
	for batch, c := range delta {
		if err := addBatchCount(tx, batch, c.members, c.carriers); err != nil {
			return err
		}
	}
	return addCounter(tx, countItems, len(recs))
}

// batchSummary names the batches of recs with their counts, for the audit log.
func batchSummary(recs []itemRec) string {
	n := map[string]int{}
	for _, r := range recs {
		n[r.Batch]++
	}
	names := make([]string, 0, len(n))
	for b := range n {
		names = append(names, b)
	}
	slices.Sort(names)
	var s strings.Builder
	for i, b := range names {
		if i == 10 {
			fmt.Fprintf(&s, " and %d more", len(names)-10)
			break
		}
		if i > 0 {
			s.WriteString(", ")
		}
		fmt.Fprintf(&s, "%s (%d)", b, n[b])
	}
	return s.String()
}

// Register registers rows in one transaction: all or nothing. Rows are
// trimmed and checked (identifiers, production date not in the future,
// models existing, bundled accessories of accessory or adapter models),
// written in serial order, with each model's kind and warranty months
// (the model's, else the policy's for the kind) and each bundled accessory's
// name, kind and months copied onto the item. A row identical to what is on
// record counts as Unchanged and writes nothing.
//
// Errors: EInvalid with Rows (1-based row numbers, at most
// policy.MaxRowErrors, BadRows the total): field rules, a serial repeated in
// the request, a missing model, and code EConflict for a serial registered
// with other data; EInvalid "no rows" for an empty request; EUnavailable
// when the database cannot be written.
func (db *DB) Register(a Actor, rows []Row) (RegisterResult, error) {
	if len(rows) == 0 {
		return RegisterResult{}, policy.Errorf(policy.EInvalid, "items", "no rows to register")
	}
	rows = slices.Clone(rows)
	g := db.newRegistration()
	checked := make([]bool, len(rows))
	for i := range rows {
		rows[i].Accessories = slices.Clone(rows[i].Accessories)
		checked[i] = g.check(i+1, &rows[i])
	}
	order := sortedOrder(rows, func(i int) bool { return checked[i] }, &g.errs)
	var res RegisterResult
	var fresh []itemRec
	err := db.update(func(tx *bolt.Tx) error {
		items := tx.Bucket(bucketItems)
		for _, i := range order {
			rec, kind, err := g.resolve(tx, items, int(i)+1, &rows[i])
			if err != nil {
				return err
			}
			switch kind {
			case rowNew:
				fresh = append(fresh, rec)
			case rowUnchanged:
				res.Unchanged++
			}
		}
		if len(g.errs) > 0 {
			return rowsError(g.errs)
		}
		res.Created = len(fresh)
		if len(fresh) == 0 {
			return nil
		}
		if err := writeItems(tx, fresh, bolt.DefaultFillPercent); err != nil {
			return err
		}
		return db.audit(tx, a, "items.register", batchSummary(fresh),
			fmt.Sprintf("created %d, unchanged %d; serials %s … %s", res.Created, res.Unchanged, fresh[0].Serial, fresh[len(fresh)-1].Serial), g.now)
	})
	if err != nil {
		return RegisterResult{}, err
	}
	return res, nil
}
