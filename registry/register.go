package registry

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
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
	// rowModel[n-1] is the model of row n, set by resolve for build.
	rowModel []*policy.Model
	errs     []policy.RowError
}

func (db *DB) newRegistration(rows int) *registration {
	now := db.now()
	return &registration{db: db, now: now, today: db.policy.Today(now), models: map[string]*policy.Model{},
		rowModel: make([]*policy.Model, rows)}
}

// check runs checkRow and the checks needing the clock.
func (g *registration) check(n int, r *Row) bool {
	if e := checkRow(n, r); e != nil {
		g.errs = append(g.errs, *e)
		return false
	}
	if p, t := r.ProducedOn, g.today; !p.IsZero() && (p.Year > t.Year || p.Year == t.Year && (p.Month > t.Month || p.Month == t.Month && p.Day > t.Day)) {
		g.fail(n, r, policy.EInvalid, "produced_on", "produced_on %s is in the future", r.ProducedOn)
		return false
	}
	return true
}

func (g *registration) fail(n int, r *Row, code, field, format string, args ...any) {
	g.errs = append(g.errs, policy.RowError{Row: n, Serial: r.Serial, Code: code, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (g *registration) model(tx *bolt.Tx, sku string) (*policy.Model, error) {
	if m, ok := g.models[sku]; ok {
		return m, nil
	}
	mv, found, err := getModel(tx, sku)
	if err != nil {
		return nil, err
	}
	var m *policy.Model
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

// resolve checks row n (already through check) against the models and the
// item on record (stored, nil when none), and says whether the row is new,
// identical to the registered item, or bad (the error is recorded).
func (g *registration) resolve(tx *bolt.Tx, n int, r *Row, stored []byte) (int, error) {
	m, err := g.model(tx, r.SKU)
	if err != nil {
		return rowBad, err
	}
	if m == nil {
		g.fail(n, r, policy.EInvalid, "sku", "no model %s: create the model first", r.SKU)
		return rowBad, nil
	}
	if len(r.Accessories) > 0 && m.Kind != policy.KindProduct {
		g.fail(n, r, policy.EInvalid, "accessories", "only a product carries bundled accessories; %s is a %s model", m.SKU, m.Kind)
		return rowBad, nil
	}
	for _, b := range r.Accessories {
		am, err := g.model(tx, b.SKU)
		if err != nil {
			return rowBad, err
		}
		if am == nil {
			g.fail(n, r, policy.EInvalid, "accessories.sku", "no model %s (bundled accessory): create the model first", b.SKU)
			return rowBad, nil
		}
		if !am.Kind.Bundleable() {
			g.fail(n, r, policy.EInvalid, "accessories.sku", "bundled %s is a %s model; bundled accessories must be accessory or adapter models", b.SKU, am.Kind)
			return rowBad, nil
		}
	}
	g.rowModel[n-1] = m
	if stored == nil {
		return rowNew, nil
	}
	old, err := decodeItem(r.Serial, stored)
	if err != nil {
		return rowBad, err
	}
	if sameRegistration(old.Item, r) {
		return rowUnchanged, nil
	}
	g.fail(n, r, policy.EConflict, "serial", "serial %s is already registered with other data (sku %s, batch %s%s)",
		r.Serial, old.SKU, old.Batch, describeDiff(old.Item, r))
	return rowBad, nil
}

// plan resolves rows in order (serial order) against tx and returns the
// new ones and the count of identical ones; bad rows go to g.errs.
func (g *registration) plan(tx *bolt.Tx, rows []Row, order []int32) (fresh []int32, unchanged int, err error) {
	fresh = make([]int32, 0, len(order))
	probe := newProber(tx.Bucket(bucketItems))
	for _, i := range order {
		kind, err := g.resolve(tx, int(i)+1, &rows[i], probe.get(rows[i].Serial))
		if err != nil {
			return nil, 0, err
		}
		switch kind {
		case rowNew:
			fresh = append(fresh, i)
		case rowUnchanged:
			unchanged++
		}
	}
	return fresh, unchanged, nil
}

// build fills rec with the item row n registers (resolve said it is new):
// the model's kind and months, each bundled accessory's name, kind and months.
func (g *registration) build(n int, r *Row, rec *itemRec) {
	m := g.rowModel[n-1]
	*rec = itemRec{Item: policy.Item{Serial: r.Serial, SKU: r.SKU, Kind: m.Kind, WarrantyMonths: g.months(m),
		Batch: r.Batch, ProducedOn: r.ProducedOn, RegisteredAt: g.now.UTC()}, State: policy.Registered}
	if len(r.Accessories) > 0 {
		rec.Accessories = make([]policy.Accessory, len(r.Accessories))
		for i, b := range r.Accessories {
			am := g.models[b.SKU]
			rec.Accessories[i] = policy.Accessory{SKU: b.SKU, Batch: b.Batch, Name: am.Name, Kind: am.Kind, WarrantyMonths: g.months(am)}
		}
	}
}

// prober finds stored items for serials asked in ascending order. It walks
// one cursor forward a few steps before seeking again, so checking a run of
// new serials past the last stored one costs one seek, not one per serial.
// The bucket must not change while it is used.
type prober struct {
	c       *bolt.Cursor
	k, v    []byte
	started bool
}

func newProber(b *bolt.Bucket) *prober { return &prober{c: b.Cursor()} }

// get returns the value stored for serial, nil when there is none.
func (p *prober) get(serial string) []byte {
	if !p.started {
		p.k, p.v = p.c.Seek([]byte(serial))
		p.started = true
	}
	for i := 0; p.k != nil && string(p.k) < serial; i++ {
		if i == 8 {
			p.k, p.v = p.c.Seek([]byte(serial))
			break
		}
		p.k, p.v = p.c.Next()
	}
	if p.k != nil && string(p.k) == serial {
		return p.v
	}
	return nil
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
	// Sorting (serial, index) pairs keeps the compared strings' headers in
	// the sorted slice: a sort through indexes into rows is twice as slow.
	type key struct {
		serial string
		i      int32
	}
	keys := make([]key, 0, len(rows))
	for i := range rows {
		if ok(i) {
			keys = append(keys, key{rows[i].Serial, int32(i)})
		}
	}
	keys = sortOnTwoCores(keys, func(a, b key) int {
		if c := strings.Compare(a.serial, b.serial); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	order := make([]int32, 0, len(keys))
	for j, k := range keys {
		if j > 0 && k.serial == keys[j-1].serial {
			*errs = append(*errs, policy.RowError{Row: int(k.i) + 1, Serial: k.serial, Code: policy.EInvalid, Field: "serial",
				Message: fmt.Sprintf("serial %s is also on row %d of this request", k.serial, order[len(order)-1]+1)})
			continue
		}
		order = append(order, k.i)
	}
	return order
}

// sortOnTwoCores sorts s by cmp (a strict order), halves in parallel and
// then merged when s is large; it may return a new slice.
func sortOnTwoCores[T any](s []T, cmp func(a, b T) int) []T {
	if len(s) < 1<<16 {
		slices.SortFunc(s, cmp)
		return s
	}
	left, right := s[:len(s)/2], s[len(s)/2:]
	done := make(chan struct{})
	go func() {
		slices.SortFunc(left, cmp)
		close(done)
	}()
	slices.SortFunc(right, cmp)
	<-done
	out := make([]T, 0, len(s))
	for len(left) > 0 && len(right) > 0 {
		if cmp(right[0], left[0]) < 0 {
			out, right = append(out, right[0]), right[1:]
		} else {
			out, left = append(out, left[0]), left[1:]
		}
	}
	return append(append(out, left...), right...)
}

func rowsError(errs []policy.RowError) error {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Row < errs[j].Row })
	return policy.RowsError(errs)
}

// prepared is a run of new items encoded for writing: built and sorted
// outside the write transaction (Import prepares the next chunk while the
// current one commits), stored by write.
type prepared struct {
	n           int
	first, last string
	keys, vals  [][]byte     // items, in serial order
	entries     []batchEntry // batch index, in key order, one per key
	batches     map[string]*batchDelta
}

type batchEntry struct {
	batch string
	key   []byte
	flag  byte
}

type batchDelta struct{ members, carriers int }

// prepare encodes n new items, produced in serial order by item(i, rec),
// with their batch index entries. Keys and values live in arenas: bbolt
// keeps them until the transaction ends.
func prepare(n int, item func(i int, rec *itemRec)) *prepared {
	var mem arena
	p := &prepared{n: n, keys: make([][]byte, n), vals: make([][]byte, n),
		entries: make([]batchEntry, 0, n+n/4), batches: map[string]*batchDelta{}}
	var rec itemRec
	for i := range n {
		item(i, &rec)
		p.keys[i], p.vals[i] = mem.bytes(rec.Serial), mem.item(&rec)
		p.entries = append(p.entries, batchEntry{rec.Batch, mem.key(rec.Batch, rec.Serial), flagMember})
		for _, a := range rec.Accessories {
			p.entries = append(p.entries, batchEntry{a.Batch, mem.key(a.Batch, rec.Serial), flagCarrier})
		}
	}
	if n > 0 {
		p.first, p.last = string(p.keys[0]), string(p.keys[n-1])
	}
	slices.SortFunc(p.entries, func(a, b batchEntry) int { return bytes.Compare(a.key, b.key) })
	// The serials are new, so their entries are too; only a product carrying
	// an accessory of its own batch has two (one key: both flags).
	merged := p.entries[:0]
	for _, e := range p.entries {
		if k := len(merged) - 1; k >= 0 && bytes.Equal(merged[k].key, e.key) {
			merged[k].flag |= e.flag
			continue
		}
		merged = append(merged, e)
	}
	p.entries = merged
	var d *batchDelta // of batch db
	db := ""
	for _, e := range p.entries {
		if d == nil || e.batch != db {
			if d = p.batches[e.batch]; d == nil {
				d = &batchDelta{}
				p.batches[e.batch] = d
			}
			db = e.batch
		}
		if e.flag&flagMember != 0 {
			d.members++
		}
		if e.flag&flagCarrier != 0 {
			d.carriers++
		}
	}
	return p
}

// write stores the prepared items (none of them registered yet), their
// batch index entries, the batch counts and the item counter.
func (p *prepared) write(tx *bolt.Tx, fill float64) error {
	items := tx.Bucket(bucketItems)
	items.FillPercent = fill
	for i, k := range p.keys {
		if err := items.Put(k, p.vals[i]); err != nil {
			return err
		}
	}
	batches := tx.Bucket(bucketBatches)
	batches.FillPercent = fill
	for _, e := range p.entries {
		if err := batches.Put(e.key, []byte{e.flag}); err != nil {
			return err
		}
	}
	for batch, d := range p.batches {
		if err := addBatchCount(tx, batch, d.members, d.carriers); err != nil {
			return err
		}
	}
	return addCounter(tx, countItems, p.n)
}

// summary names the batches written with their new members, for the audit log.
func (p *prepared) summary() string {
	names := slices.Sorted(maps.Keys(p.batches))
	var s strings.Builder
	for i, b := range names {
		if i == 10 {
			fmt.Fprintf(&s, " and %d more", len(names)-10)
			break
		}
		if i > 0 {
			s.WriteString(", ")
		}
		fmt.Fprintf(&s, "%s (%d)", b, p.batches[b].members)
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
	g := db.newRegistration(len(rows))
	checked := make([]bool, len(rows))
	for i := range rows {
		rows[i].Accessories = slices.Clone(rows[i].Accessories)
		checked[i] = g.check(i+1, &rows[i])
	}
	order := sortedOrder(rows, func(i int) bool { return checked[i] }, &g.errs)
	var res RegisterResult
	err := db.update(func(tx *bolt.Tx) error {
		fresh, unchanged, err := g.plan(tx, rows, order)
		if err != nil {
			return err
		}
		res.Unchanged = unchanged
		if len(g.errs) > 0 {
			return rowsError(g.errs)
		}
		res.Created = len(fresh)
		if len(fresh) == 0 {
			return nil
		}
		p := prepare(len(fresh), func(j int, rec *itemRec) { g.build(int(fresh[j])+1, &rows[fresh[j]], rec) })
		if err := p.write(tx, bolt.DefaultFillPercent); err != nil {
			return err
		}
		return db.audit(tx, a, "items.register", p.summary(),
			fmt.Sprintf("created %d, unchanged %d; serials %s … %s", res.Created, res.Unchanged, p.first, p.last), g.now)
	})
	if err != nil {
		return RegisterResult{}, err
	}
	return res, nil
}
