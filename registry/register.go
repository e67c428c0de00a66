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

// Registrar resolves rows against the models and items of one
// transaction, collecting row errors. Registration uses it; it is exported
// (with its methods and SortedRows) for the bbolt store (registry/bolt),
// which checks, plans and builds rows inside its own transaction with the
// same rules rather than a copy of them.
type Registrar struct {
	Policy *policy.Policy // the kinds' warranty months, the date checks' time zone
	Now    time.Time      // the registration's instant (RegisteredAt)
	today  policy.Date
	models map[string]*policy.Model // nil value: no such model
	// allModels: models holds every model of the store, so a SKU missing
	// from it has none (a store that read them all up front).
	allModels bool
	// recent holds the models last looked up, so most rows skip hashing
	// their SKU (a file holds runs of few models).
	recent [4]recentModel
	// RowModel[j] is the model of the sorted rows' j-th row, set by
	// PlanWith for Build.
	RowModel []*policy.Model
	// Errs are the row errors found so far.
	Errs []policy.RowError
	// Collect: a request held in memory whole (not Import, which writes in
	// chunks), whose garbage is collected between its phases when large.
	Collect bool
}

// NewRegistrar is a Registrar under p, registering at now.
func NewRegistrar(p *policy.Policy, now time.Time) *Registrar {
	return &Registrar{Policy: p, Now: now, today: p.Today(now), models: map[string]*policy.Model{}}
}

// check runs checkRow and checkClock.
func (g *Registrar) check(n int, r *Row) bool {
	if e := checkRow(n, r); e != nil {
		g.Errs = append(g.Errs, *e)
		return false
	}
	return g.checkClock(n, r)
}

// checkClock runs the checks of a row (already through checkRow) needing the clock.
func (g *Registrar) checkClock(n int, r *Row) bool {
	if r.ProducedOn.IsZero() {
		return true
	}
	if err := policy.CheckDay("produced_on", r.ProducedOn, g.today, g.Policy.TimeZone); err != nil {
		g.refuse(n, r, err.(*policy.Error))
		return false
	}
	return true
}

// refuse records err as row n's error.
func (g *Registrar) refuse(n int, r *Row, err *policy.Error) {
	g.Errs = append(g.Errs, err.Row(n, r.Serial))
}

type recentModel struct {
	sku string
	m   *policy.Model
}

// ModelLookup finds a model the registration has not seen yet (found is
// false when there is none): the store's, read inside its transaction.
type ModelLookup func(sku string) (m policy.Model, found bool, err error)

func (g *Registrar) model(lookup ModelLookup, sku string) (*policy.Model, error) {
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
func (g *Registrar) resolve(lookup ModelLookup, n int, r *Row, old *policy.Item) (int, *policy.Model, error) {
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
	if SameRegistration(*old, r) {
		return rowUnchanged, m, nil
	}
	g.refuse(n, r, policy.Errorf(policy.EConflict, "serial", "serial %s is already registered with other data (sku %s, batch %s%s)",
		r.Serial, old.SKU, old.Batch, describeDiff(*old, r)).
		Keyed("row.registered_other", policy.Args{"serial": r.Serial, "sku": old.SKU, "batch": old.Batch}))
	return rowBad, nil, nil
}

// PlanWith resolves the sorted rows s and returns the positions in s.Rows
// of the new ones and the count of identical ones; bad rows go to g.Errs.
// models finds the models g has not seen; stored(r) gives the item on
// record for a row (nil when none), asked in serial order.
func (g *Registrar) PlanWith(models ModelLookup, s *SortedRows, stored func(r *Row) (*policy.Item, error)) (fresh []int32, unchanged int, err error) {
	fresh = make([]int32, 0, len(s.Rows))
	g.RowModel = make([]*policy.Model, len(s.Rows))
	for j := range s.Rows {
		r := &s.Rows[j]
		old, err := stored(r)
		if err != nil {
			return nil, 0, err
		}
		kind, m, err := g.resolve(models, int(s.nums[j]), r, old)
		if err != nil {
			return nil, 0, err
		}
		g.RowModel[j] = m
		switch kind {
		case rowNew:
			fresh = append(fresh, int32(j))
		case rowUnchanged:
			unchanged++
		}
	}
	return fresh, unchanged, nil
}

// Build fills it with the item the sorted rows' j-th row registers (plan
// said it is new): the model's kind and months, each bundled accessory's
// name, kind and months. it's accessory slice is reused: it is encoded
// before the next build.
func (g *Registrar) Build(s *SortedRows, j int, it *policy.Item) {
	r, m := &s.Rows[j], g.RowModel[j]
	acc := it.Accessories[:0]
	*it = policy.Item{Serial: r.Serial, SKU: r.SKU, Kind: m.Kind, WarrantyMonths: g.months(m),
		Batch: r.Batch, ProducedOn: r.ProducedOn, RegisteredAt: Instant(g.Now)}
	for _, b := range r.Accessories {
		am := g.models[b.SKU]
		acc = append(acc, policy.Accessory{SKU: b.SKU, Batch: b.Batch, Name: am.Name, Kind: am.Kind, WarrantyMonths: g.months(am)})
	}
	it.Accessories = acc
}

func (g *Registrar) months(m *policy.Model) int {
	if m.WarrantyMonths > 0 {
		return m.WarrantyMonths
	}
	return g.Policy.Months(m.Kind)
}

// SameRegistration reports whether row r registers exactly what it is on
// record (exported for registry/bolt's import, which checks again before
// each chunk).
func SameRegistration(it policy.Item, r *Row) bool {
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

// SortedRows are the rows of a request that passed their checks, in serial
// order, repeated serials dropped. Every pass after the sort (plan, build,
// recheck) walks them in this order, so they are gathered into it once
// rather than reached through an index into the request's order, which
// costs a cache miss per row and per pass on a million rows.
type SortedRows struct {
	Rows []Row
	nums []int32 // nums[j] is the 1-based row number of Rows[j] in the request
}

// sortRows returns the rows at(0) … at(n-1) for which ok holds in serial
// order and records a row error for each repeated serial (the first
// occurrence stays valid).
func sortRows(n int, at func(i int) *Row, ok func(i int) bool, errs *[]policy.RowError) SortedRows {
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
	s := SortedRows{Rows: make([]Row, len(kept)), nums: make([]int32, len(kept))}
	prefix := first[:max(common, 0)]
	inHalves(len(kept), func(from, to int) {
		var text textArena
		var b [16]byte
		for j, k := range kept[from:to] {
			row := &s.Rows[from+j]
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

// BatchSummary names n batches (batch(i), in batch order) with their new
// members, the first ten only: the target of a registration's audit entry
// (exported for registry/bolt, whose entries must read the same).
func BatchSummary(n int, batch func(i int) (string, int)) string {
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
