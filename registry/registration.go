package registry

import (
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// Registration is a registration request checked and put in serial order,
// for a store to resolve against what it holds and write: the rules (row
// checks, terms copied from the models, what counts as the same
// registration) stay here, the store does the I/O. (The bbolt file uses
// the same checks and plans inside its transaction itself.)
type Registration struct {
	g *Registrar
	s SortedRows
	d *CSVDecoder // the CSV read, for its line numbers; nil for rows
	// base is how many row errors were found before Plan, which may run
	// more than once (a retried transaction).
	base int
	// fresh are the positions in s.Rows of the rows to create, set by Plan.
	fresh []int32
}

// NewRegistration trims and checks rows (identifiers, the production date
// against now, a serial repeated in the request) and sorts them by serial.
// bad are errors the caller found while decoding rows, as for
// Store.Register. The errors found are returned by Plan, every row's
// together. Errors: ETooLarge beyond MaxRegisterRows rows.
func NewRegistration(p *policy.Policy, now time.Time, rows []Row, bad ...policy.RowError) (*Registration, error) {
	if len(rows) > MaxRegisterRows {
		return nil, TooManyRows()
	}
	if len(rows) >= CollectBefore {
		// What decoding the request left behind (its body, a decoded
		// copy) goes before the rows are sorted into another copy.
		CollectGarbage()
	}
	g := NewRegistrar(p, now)
	g.Errs = append(g.Errs, bad...)
	known := rowNumbers(bad)
	// The caller's rows are not changed, nor copied whole: a row checks on
	// a copy, and only a row its checks changed (trimmed) is kept apart.
	checked := make([]bool, len(rows))
	changed := map[int]*Row{}
	for i := range rows {
		if known[i+1] {
			continue
		}
		r := rows[i]
		r.Accessories = slices.Clone(r.Accessories)
		checked[i] = g.check(i+1, &r)
		if checked[i] && !sameRow(&r, &rows[i]) {
			changed[i] = &r
		}
	}
	at := func(i int) *Row {
		if r, ok := changed[i]; ok {
			return r
		}
		return &rows[i]
	}
	s := sortRows(len(rows), at, func(i int) bool { return checked[i] }, &g.Errs)
	if len(rows) >= CollectBefore {
		CollectGarbage()
	}
	return &Registration{g: g, s: s, base: len(g.Errs)}, nil
}

// Parts are the registration's planner and its sorted rows, for the bbolt
// store (registry/bolt), which plans and writes them inside one transaction
// of its own rather than through Plan.
func (r *Registration) Parts() (*Registrar, *SortedRows) { return r.g, &r.s }

// sameRow reports whether a and b hold the same text.
func sameRow(a, b *Row) bool {
	return a.Serial == b.Serial && a.SKU == b.SKU && a.Batch == b.Batch && a.ProducedOn == b.ProducedOn &&
		slices.Equal(a.Accessories, b.Accessories)
}

// NewCSVRegistration reads a registration CSV (see ParseCSV) as
// NewRegistration takes rows; limit > 0 bounds its rows. Errors: ETooLarge
// beyond limit; EBadRequest for an empty CSV or a bad header; EInvalid for
// a CSV without rows; the reader's.
func NewCSVRegistration(p *policy.Policy, now time.Time, r io.Reader, limit int) (*Registration, error) {
	d, err := NewCSVDecoder(r)
	if err != nil {
		return nil, err
	}
	g := NewRegistrar(p, now)
	g.Collect = true
	s, err := g.ReadCSV(d, limit, func(int) {})
	if err != nil {
		return nil, err
	}
	return &Registration{g: g, s: s, d: d, base: len(g.Errs)}, nil
}

// Serials are the serials of the rows that passed their checks, in serial
// order, each once: the items a store must read (and lock) for Plan.
func (r *Registration) Serials() []string {
	out := make([]string, len(r.s.Rows))
	for j := range r.s.Rows {
		out[j] = r.s.Rows[j].Serial
	}
	return out
}

// Plan resolves the rows against the store's models (every one) and items
// (stored: those on record among Serials) and returns the counts of rows
// to create and of rows identical to what is on record. It may be called
// again (a retried transaction). Errors: EInvalid with Rows, as Register
// (code EConflict for a serial registered with other data; a CSV's rows
// with their lines).
func (r *Registration) Plan(models []policy.Model, stored map[string]policy.Item) (RegisterResult, error) {
	g := r.g
	g.Errs, g.recent = g.Errs[:r.base], [4]recentModel{}
	g.models, g.allModels = map[string]*policy.Model{}, true
	for i := range models {
		g.models[models[i].SKU] = &models[i]
	}
	fresh, unchanged, err := g.PlanWith(nil, &r.s, func(row *Row) (*policy.Item, error) {
		if it, ok := stored[row.Serial]; ok {
			return &it, nil
		}
		return nil, nil
	})
	if err != nil {
		return RegisterResult{}, err
	}
	if len(g.Errs) > 0 {
		err := rowsError(slices.Clone(g.Errs))
		if r.d != nil {
			err = r.d.WithLines(err)
		}
		return RegisterResult{}, err
	}
	r.fresh = fresh
	return RegisterResult{Created: len(fresh), Unchanged: unchanged}, nil
}

// Items yields each item Plan found new, in serial order, with its terms:
// the model's kind and months, each bundled accessory's name, kind and
// months, registered now. The item is reused between steps: each is built
// as it is asked for, so that a store can stream them (see
// postgres.Store's COPY) rather than hold them all.
func (r *Registration) Items() iter.Seq[*policy.Item] {
	return func(yield func(*policy.Item) bool) {
		var it policy.Item
		for _, j := range r.fresh {
			r.g.Build(&r.s, int(j), &it)
			if !yield(&it) {
				return
			}
		}
	}
}

// Audit is the audit line of the registration Plan resolved, written by
// action ("items.register", "items.import").
func (r *Registration) Audit(action string, res RegisterResult) AuditLine {
	members := map[string]int{}
	for _, j := range r.fresh {
		members[r.s.Rows[j].Batch]++
	}
	names := slices.Sorted(maps.Keys(members))
	target := BatchSummary(len(names), func(i int) (string, int) { return names[i], members[names[i]] })
	first, last := "", ""
	if len(r.fresh) > 0 {
		first, last = r.s.Rows[r.fresh[0]].Serial, r.s.Rows[r.fresh[len(r.fresh)-1]].Serial
	}
	detail := fmt.Sprintf("created %d, unchanged %d; serials %s … %s", res.Created, res.Unchanged, first, last)
	if action == ActionImport {
		detail = fmt.Sprintf("created %d; serials %s … %s", res.Created, first, last)
	}
	return AuditLine{action, target, detail}
}

// The audit actions of registrations: Register, and each chunk of Import.
const (
	ActionRegister = "items.register"
	ActionImport   = "items.import"
)
