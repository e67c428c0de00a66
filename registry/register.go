package registry

import (
	"cmp"
	"encoding/binary"
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
	raw := strings.TrimSpace(r.Serial) // Ident clears it on error
	bad := func(err error) *policy.RowError {
		e := err.(*policy.Error).Row(n, raw)
		return &e
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
				return bad(policy.Errorf(policy.EInvalid, "accessories", "accessory %s is listed twice", a.SKU).
					Keyed("row.accessory_twice", policy.Args{"sku": a.SKU}))
			}
		}
	}
	return nil
}

// registration resolves rows against the models and items of one
// transaction, collecting row errors.
type registration struct {
	policy *policy.Policy
	now    time.Time
	today  policy.Date
	models map[string]*policy.Model // nil value: no such model
	// allModels: models holds every model of the store, so a SKU missing
	// from it has none (a store that read them all up front).
	allModels bool
	// recent holds the models last looked up, so most rows skip hashing
	// their SKU (a file holds runs of few models).
	recent [4]recentModel
	// rowModel[j] is the model of the sorted rows' j-th row, set by plan for build.
	rowModel []*policy.Model
	errs     []policy.RowError
	// collect: a request held in memory whole (not Import, which writes in
	// chunks), whose garbage is collected between its phases when large.
	collect bool
}

func (db *DB) newRegistration() *registration {
	return newRegistration(db.policy, db.now())
}

func newRegistration(p *policy.Policy, now time.Time) *registration {
	return &registration{policy: p, now: now, today: p.Today(now), models: map[string]*policy.Model{}}
}

// check runs checkRow and checkClock.
func (g *registration) check(n int, r *Row) bool {
	if e := checkRow(n, r); e != nil {
		g.errs = append(g.errs, *e)
		return false
	}
	return g.checkClock(n, r)
}

// checkClock runs the checks of a row (already through checkRow) needing the clock.
func (g *registration) checkClock(n int, r *Row) bool {
	if r.ProducedOn.IsZero() {
		return true
	}
	if err := policy.CheckDay("produced_on", r.ProducedOn, g.today, g.policy.TimeZone); err != nil {
		g.refuse(n, r, err.(*policy.Error))
		return false
	}
	return true
}

// refuse records err as row n's error.
func (g *registration) refuse(n int, r *Row, err *policy.Error) {
	g.errs = append(g.errs, err.Row(n, r.Serial))
}

type recentModel struct {
	sku string
	m   *policy.Model
}

// modelLookup finds a model the registration has not seen yet (found is
// false when there is none): the store's, read inside its transaction.
type modelLookup func(sku string) (m policy.Model, found bool, err error)

func (g *registration) model(lookup modelLookup, sku string) (*policy.Model, error) {
	for _, r := range g.recent {
		if r.m != nil && r.sku == sku {
			return r.m, nil
		}
	}
	m, ok := g.models[sku]
	if !ok && !g.allModels {
		mv, found, err := lookup(sku)
		if err != nil {
			return nil, err
		}
		if found {
			m = &mv
		}
		g.models[sku] = m
	}
	if m != nil {
		copy(g.recent[1:], g.recent[:])
		g.recent[0] = recentModel{sku, m}
	}
	return m, nil
}

// Outcomes of resolving a row.
const (
	rowNew = iota
	rowUnchanged
	rowBad
)

// resolve checks row n (already through check) against the models and the
// item on record (old, nil when none), and says whether the row is new,
// identical to the registered item, or bad (the error is recorded); for a
// row not bad, it returns the row's model.
func (g *registration) resolve(lookup modelLookup, n int, r *Row, old *policy.Item) (int, *policy.Model, error) {
	m, err := g.model(lookup, r.SKU)
	if err != nil {
		return rowBad, nil, err
	}
	if m == nil {
		g.refuse(n, r, policy.Errorf(policy.EInvalid, "sku", "no model %s: create the model first", r.SKU).
			Keyed("row.no_model", policy.Args{"sku": r.SKU}))
		return rowBad, nil, nil
	}
	if len(r.Accessories) > 0 && m.Kind != policy.KindProduct {
		g.refuse(n, r, policy.Errorf(policy.EInvalid, "accessories", "only a product carries bundled accessories; %s is %s model", m.SKU, policy.WithArticle(string(m.Kind))).
			Keyed("row.not_product", policy.Args{"sku": m.SKU, "kind": m.Kind}))
		return rowBad, nil, nil
	}
	for _, b := range r.Accessories {
		am, err := g.model(lookup, b.SKU)
		if err != nil {
			return rowBad, nil, err
		}
		if am == nil {
			g.refuse(n, r, policy.Errorf(policy.EInvalid, "accessories.sku", "no model %s (bundled accessory): create the model first", b.SKU).
				Keyed("row.no_bundled_model", policy.Args{"sku": b.SKU}))
			return rowBad, nil, nil
		}
		if !am.Kind.Bundleable() {
			g.refuse(n, r, policy.Errorf(policy.EInvalid, "accessories.sku", "bundled %s is %s model; bundled accessories must be accessory or adapter models", b.SKU, policy.WithArticle(string(am.Kind))).
				Keyed("row.bundled_kind", policy.Args{"sku": b.SKU, "kind": am.Kind}))
			return rowBad, nil, nil
		}
	}
	if old == nil {
		return rowNew, m, nil
	}
	if sameRegistration(*old, r) {
		return rowUnchanged, m, nil
	}
	g.refuse(n, r, policy.Errorf(policy.EConflict, "serial", "serial %s is already registered with other data (sku %s, batch %s%s)",
		r.Serial, old.SKU, old.Batch, describeDiff(*old, r)).
		Keyed("row.registered_other", policy.Args{"serial": r.Serial, "sku": old.SKU, "batch": old.Batch}))
	return rowBad, nil, nil
}

// plan resolves the sorted rows of g against tx and returns the positions
// in s.rows of the new ones and the count of identical ones; bad rows go
// to g.errs.
func plan(tx *bolt.Tx, g *registration, s *sortedRows) (fresh []int32, unchanged int, err error) {
	probe := newProber(tx.Bucket(bucketItems))
	models := func(sku string) (policy.Model, bool, error) { return getModel(tx, sku) }
	return g.planWith(models, s, func(r *Row) (*policy.Item, error) {
		v := probe.get(r.Serial)
		if v == nil {
			return nil, nil
		}
		old, err := decodeItem(r.Serial, v)
		return &old.Item, err
	})
}

// planWith is plan with models finding the models g has not seen and
// stored(r) giving the item on record for a row (nil when none), asked in
// serial order.
func (g *registration) planWith(models modelLookup, s *sortedRows, stored func(r *Row) (*policy.Item, error)) (fresh []int32, unchanged int, err error) {
	fresh = make([]int32, 0, len(s.rows))
	g.rowModel = make([]*policy.Model, len(s.rows))
	for j := range s.rows {
		r := &s.rows[j]
		old, err := stored(r)
		if err != nil {
			return nil, 0, err
		}
		kind, m, err := g.resolve(models, int(s.nums[j]), r, old)
		if err != nil {
			return nil, 0, err
		}
		g.rowModel[j] = m
		switch kind {
		case rowNew:
			fresh = append(fresh, int32(j))
		case rowUnchanged:
			unchanged++
		}
	}
	return fresh, unchanged, nil
}

// build fills it with the item the sorted rows' j-th row registers (plan
// said it is new): the model's kind and months, each bundled accessory's
// name, kind and months. it's accessory slice is reused: it is encoded
// before the next build.
func (g *registration) build(s *sortedRows, j int, it *policy.Item) {
	r, m := &s.rows[j], g.rowModel[j]
	acc := it.Accessories[:0]
	*it = policy.Item{Serial: r.Serial, SKU: r.SKU, Kind: m.Kind, WarrantyMonths: g.months(m),
		Batch: r.Batch, ProducedOn: r.ProducedOn, RegisteredAt: Instant(g.now)}
	for _, b := range r.Accessories {
		am := g.models[b.SKU]
		acc = append(acc, policy.Accessory{SKU: b.SKU, Batch: b.Batch, Name: am.Name, Kind: am.Kind, WarrantyMonths: g.months(am)})
	}
	it.Accessories = acc
}

// buildRec fills rec with the item as build does, in the state a new item
// is stored in (registered, nothing derived yet).
func buildRec(g *registration, s *sortedRows, j int, rec *itemRec) {
	acc := rec.Accessories
	*rec = itemRec{Item: policy.Item{Accessories: acc}, State: policy.Registered}
	g.build(s, j, &rec.Item)
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
	return g.policy.Months(m.Kind)
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

// sortedRows are the rows of a request that passed their checks, in serial
// order, repeated serials dropped. Every pass after the sort (plan, build,
// recheck) walks them in this order, so they are gathered into it once
// rather than reached through an index into the request's order, which
// costs a cache miss per row and per pass on a million rows.
type sortedRows struct {
	rows []Row
	nums []int32 // nums[j] is the 1-based row number of rows[j] in the request
}

// sortRows returns the rows at(0) … at(n-1) for which ok holds in serial
// order and records a row error for each repeated serial (the first
// occurrence stays valid).
func sortRows(n int, at func(i int) *Row, ok func(i int) bool, errs *[]policy.RowError) sortedRows {
	// The sorted keys carry 16 bytes of the serial past the prefix all
	// serials share, as two integers: most comparisons then read neither
	// the rows nor the strings (scattered over the heap), and fall back to
	// the whole serials only on a tie.
	common := -1
	var first string
	for i := range n {
		if !ok(i) {
			continue
		}
		s := at(i).Serial
		if common < 0 {
			first, common = s, len(s)
			continue
		}
		common = min(common, len(s))
		for k := 0; k < common; k++ {
			if s[k] != first[k] {
				common = k
				break
			}
		}
	}
	type key struct {
		hi, lo uint64
		i      int32
	}
	keys := make([]key, 0, n)
	for i := range n {
		if ok(i) {
			var b [16]byte
			copy(b[:], at(i).Serial[common:])
			keys = append(keys, key{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), int32(i)})
		}
	}
	keys = sortOnTwoCores(keys, func(a, b key) int {
		if a.hi != b.hi {
			return cmp.Compare(a.hi, b.hi)
		}
		if a.lo != b.lo {
			return cmp.Compare(a.lo, b.lo)
		}
		if c := strings.Compare(at(int(a.i)).Serial, at(int(b.i)).Serial); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	// A serial's rows are next to each other, its first row first.
	kept := keys[:0]
	for _, k := range keys {
		if n := len(kept); n > 0 && k.hi == kept[n-1].hi && k.lo == kept[n-1].lo {
			if serial := at(int(k.i)).Serial; serial == at(int(kept[n-1].i)).Serial {
				*errs = append(*errs, policy.Errorf(policy.EInvalid, "serial", "serial %s is also on row %d of this request", serial, kept[n-1].i+1).
					Keyed("row.duplicate", policy.Args{"serial": serial, "row": int(kept[n-1].i) + 1}).Row(int(k.i)+1, serial))
				continue
			}
		}
		kept = append(kept, k)
	}
	// Gathering reads the rows in a random order, a cache miss per row, so
	// both cores take half. The serials are copied next to each other, so
	// that the passes after read them in order too; most are rebuilt from
	// their keys, sparing a second miss on the text of each row's line.
	s := sortedRows{rows: make([]Row, len(kept)), nums: make([]int32, len(kept))}
	prefix := first[:max(common, 0)]
	inHalves(len(kept), func(from, to int) {
		var text textArena
		var b [16]byte
		for j, k := range kept[from:to] {
			row := &s.rows[from+j]
			*row = *at(int(k.i))
			if tail := len(row.Serial) - len(prefix); tail <= len(b) {
				binary.BigEndian.PutUint64(b[:8], k.hi)
				binary.BigEndian.PutUint64(b[8:], k.lo)
				row.Serial = text.join(prefix, b[:tail])
			} else {
				row.Serial = text.join(row.Serial, nil)
			}
			s.nums[from+j] = k.i + 1
		}
	})
	return s
}

// textArena copies strings next to each other in large blocks. The strings
// stay valid: a strings.Builder never changes bytes it has handed out.
type textArena struct{ b strings.Builder }

// join returns a copy of s followed by t.
func (a *textArena) join(s string, t []byte) string {
	if n := len(s) + len(t); a.b.Cap()-a.b.Len() < n {
		a.b = strings.Builder{}
		a.b.Grow(max(1<<20, n))
	}
	start := a.b.Len()
	a.b.WriteString(s)
	a.b.Write(t)
	return a.b.String()[start:]
}

// inHalves runs f(0, n/2) and f(n/2, n) on two goroutines when n is
// large, else f(0, n).
func inHalves(n int, f func(from, to int)) {
	if n < 1<<16 {
		f(0, n)
		return
	}
	done := make(chan struct{})
	go func() {
		f(0, n/2)
		close(done)
	}()
	f(n/2, n)
	<-done
}

// sortOnTwoCores sorts s by cmp (a strict order), halves in parallel and
// then merged when s is large; it may return a new slice.
func sortOnTwoCores[T any](s []T, cmp func(a, b T) int) []T {
	if len(s) < 1<<16 {
		slices.SortFunc(s, cmp)
		return s
	}
	inHalves(len(s), func(from, to int) { slices.SortFunc(s[from:to], cmp) })
	left, right := s[:len(s)/2], s[len(s)/2:]
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

// rowNumbers is the set of the rows of errs.
func rowNumbers(errs []policy.RowError) map[int]bool {
	set := make(map[int]bool, len(errs))
	for _, e := range errs {
		set[e.Row] = true
	}
	return set
}

func rowsError(errs []policy.RowError) error {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Row < errs[j].Row })
	return policy.RowsError(errs)
}

// prepared is a run of new items encoded for writing: built and indexed
// outside the write transaction (Import prepares the next chunk while the
// current one commits), stored by write. It holds each item once, its key
// and value back to back in large blocks, and the batch index as positions
// of items: bbolt copies every key Put (and keeps the values), so keys
// built and kept here would be held twice.
type prepared struct {
	n           int
	first, last string
	items       records
	batches     []batchIndex // in batch order
	counters    Counters     // the report counters the items add
}

// batchIndex is a batch's new entries in the batches index: keys
// batch ‖ 0x00 ‖ serial of the items at positions items (ascending, so in
// serial order), with their flags.
type batchIndex struct {
	batch             string
	items             []int32
	flags             []byte
	members, carriers int
}

// records holds key-value records back to back in blocks of at least
// recordBlock bytes, found by position: four bytes a record besides its
// bytes, where a list of keys and values would cost 48.
type records struct {
	blocks  [][]byte
	at      []recordAt
	scratch []byte // a value being encoded
}

type recordAt struct{ block, off uint32 }

const recordBlock = 1 << 20

// add appends the record key (a serial), value; value is encoded by enc
// appending to its argument.
func (r *records) add(key string, enc func([]byte) []byte) {
	r.scratch = enc(r.scratch[:0])
	need := binary.MaxVarintLen64 + len(key) + len(r.scratch)
	n := len(r.blocks) - 1
	if n < 0 || cap(r.blocks[n])-len(r.blocks[n]) < need {
		r.blocks = append(r.blocks, make([]byte, 0, max(recordBlock, need)))
		n++
	}
	b := r.blocks[n]
	r.at = append(r.at, recordAt{uint32(n), uint32(len(b))})
	b = binary.AppendUvarint(b, uint64(len(key)))
	r.blocks[n] = append(append(b, key...), r.scratch...)
}

// get returns record i's key and value (memory that stays valid).
func (r *records) get(i int) (key, value []byte) {
	a := r.at[i]
	b := r.blocks[a.block][a.off:]
	if i+1 < len(r.at) && r.at[i+1].block == a.block {
		b = b[:r.at[i+1].off-a.off]
	} else {
		b = b[:len(r.blocks[a.block])-int(a.off)]
	}
	n, w := binary.Uvarint(b)
	return b[w : w+int(n)], b[w+int(n) : len(b) : len(b)]
}

// prepare encodes n new items, produced in serial order by item(i, rec),
// with their batch index entries and the report counters they add.
func prepare(pol *policy.Policy, n int, item func(i int, rec *itemRec)) *prepared {
	var rec itemRec
	var tally policy.Tally
	p := &prepared{n: n, items: records{at: make([]recordAt, 0, n)}, counters: NewCounters()}
	// The index entries are grouped by batch as they come, each group in
	// serial order: sorting the groups by name then gives key order
	// (identifiers hold no 0x00), where sorting a million keys would cost
	// more than writing them.
	groups, cur := map[string]int{}, -1
	index := func(i int, batch string, flag byte) {
		if cur < 0 || p.batches[cur].batch != batch {
			var ok bool
			if cur, ok = groups[batch]; !ok {
				cur = len(p.batches)
				groups[batch] = cur
				p.batches = append(p.batches, batchIndex{batch: batch})
			}
		}
		b := &p.batches[cur]
		// Only the group's last entry can be this item's: a product
		// carrying an accessory of its own batch (or two accessories of one
		// batch) has one key, the flags or'ed.
		if k := len(b.items) - 1; k >= 0 && b.items[k] == int32(i) {
			if b.flags[k]&flag != 0 {
				return
			}
			b.flags[k] |= flag
		} else {
			b.items = append(b.items, int32(i))
			b.flags = append(b.flags, flag)
		}
		if flag == flagMember {
			b.members++
		} else {
			b.carriers++
		}
	}
	for i := range n {
		item(i, &rec)
		p.items.add(rec.Serial, rec.append)
		index(i, rec.Batch, flagMember)
		for _, a := range rec.Accessories {
			index(i, a.Batch, flagCarrier)
		}
		if i == 0 {
			p.first = rec.Serial
		}
		if i == n-1 {
			p.last = rec.Serial
		}
		if reportCounters {
			pol.TallyInto(&tally, rec.Item, nil)
			p.counters.Add(rec.Item, tally)
		}
	}
	slices.SortFunc(p.batches, func(a, b batchIndex) int { return strings.Compare(a.batch, b.batch) })
	return p
}

// flagValues holds the index values: bbolt keeps each value Put until the
// transaction ends, and these are never written to.
var flagValues = [4]byte{0, 1, 2, 3}

// write stores the prepared items (none of them registered yet), their
// batch index entries, the batch counts and the item counter, filling the
// pages it splits to fill (items) and indexFill (the batch index). With
// collect, it collects garbage every collectEvery keys and before
// returning (see collectGarbage): each key Put may grow a bbolt node's
// list of keys, whose old copy is garbage.
func (p *prepared) write(tx *bolt.Tx, fill, indexFill float64, collect bool) error {
	puts := 0
	put := func(b *bolt.Bucket, k, v []byte) error {
		if puts++; collect && puts%collectEvery == 0 {
			collectGarbage()
		}
		return b.Put(k, v)
	}
	items := tx.Bucket(bucketItems)
	items.FillPercent = fill
	for i := range p.n {
		k, v := p.items.get(i)
		if err := put(items, k, v); err != nil {
			return err
		}
	}
	batches := tx.Bucket(bucketBatches)
	batches.FillPercent = indexFill
	var key []byte
	for j := range p.batches {
		b := &p.batches[j]
		for x, i := range b.items {
			serial, _ := p.items.get(int(i))
			key = append(append(append(key[:0], b.batch...), 0), serial...)
			f := b.flags[x]
			if err := put(batches, key, flagValues[f:f+1:f+1]); err != nil {
				return err
			}
		}
		b.items, b.flags = nil, nil
	}
	for _, b := range p.batches {
		if err := addBatchCount(tx, b.batch, b.members, b.carriers); err != nil {
			return err
		}
	}
	if err := addCounters(tx, p.counters); err != nil {
		return err
	}
	p.counters = Counters{}
	if err := addCounter(tx, countItems, p.n); err != nil {
		return err
	}
	if collect {
		collectGarbage()
	}
	return nil
}

// summary names the batches written with their new members, for the audit log.
func (p *prepared) summary() string {
	return batchSummary(len(p.batches), func(i int) (string, int) { return p.batches[i].batch, p.batches[i].members })
}

// batchSummary names n batches (batch(i), in batch order) with their new
// members, the first ten only.
func batchSummary(n int, batch func(i int) (string, int)) string {
	var s strings.Builder
	for i := range n {
		if i == 10 {
			fmt.Fprintf(&s, " and %d more", n-10)
			break
		}
		if i > 0 {
			s.WriteString(", ")
		}
		name, members := batch(i)
		fmt.Fprintf(&s, "%s (%d)", name, members)
	}
	return s.String()
}

// Register registers rows in one transaction: all or nothing. Rows are
// trimmed and checked (identifiers, production date not in the future,
// models existing, bundled accessories of accessory or adapter models),
// written in serial order, with each model's kind and warranty months
// (the model's, else the policy's for the kind) and each bundled accessory's
// name, kind and months copied onto the item. A row identical to what is on
// record counts as Unchanged and writes nothing. bad are errors the caller
// found in rows while decoding them (a malformed date): those rows are not
// checked further, and their errors are reported with the others, so that
// one answer lists every bad row.
//
// Errors: ETooLarge beyond MaxRegisterRows rows; EInvalid with Rows (1-based
// row numbers, at most policy.MaxRowErrors, BadRows the total): field rules,
// a serial repeated in the request, a missing model, and code EConflict for
// a serial registered with other data; EInvalid "no rows" for an empty
// request; EUnavailable when the database cannot be written.
func (db *DB) Register(a Actor, rows []Row, bad ...policy.RowError) (RegisterResult, error) {
	if len(rows) == 0 {
		return RegisterResult{}, policy.Errorf(policy.EInvalid, "items", "no rows to register").Keyed("rows.none", nil)
	}
	r, err := NewRegistration(db.policy, db.now(), rows, bad...)
	if err != nil {
		return RegisterResult{}, err
	}
	return db.commit(r.g, a, &r.s)
}

// commit plans the sorted rows of g against the database and, when no row
// of the request is bad (g.errs holds those found before), writes the new
// ones in one transaction. Errors: as Register.
func (db *DB) commit(g *registration, a Actor, s *sortedRows) (RegisterResult, error) {
	var res RegisterResult
	err := db.update(func(tx *bolt.Tx) error {
		fresh, unchanged, err := plan(tx, g, s)
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
		p := prepare(g.policy, len(fresh), func(j int, rec *itemRec) { buildRec(g, s, int(fresh[j]), rec) })
		// The rows are encoded: their memory can go before bbolt's nodes
		// and pages for them are made, which then reuse it rather than
		// grow the heap past it (see collectGarbage).
		*s, g.rowModel, fresh = sortedRows{}, nil, nil
		large := res.Created >= collectBefore
		if large {
			collectGarbage()
		}
		// Pages as full as Import's: new serials mostly come in runs past
		// the ones stored, and half-empty pages would be half the memory
		// of the commit spent on nothing.
		if err := p.write(tx, importFill, importIndexFill, large); err != nil {
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
