package bolt

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

func (db *DB) newRegistration() *registry.Registrar {
	return registry.NewRegistrar(db.policy, db.now())
}

// plan resolves the sorted rows of g against tx and returns the positions
// in s.Rows of the new ones and the count of identical ones; bad rows go
// to g.Errs.
func plan(tx *bbolt.Tx, g *registry.Registrar, s *registry.SortedRows) (fresh []int32, unchanged int, err error) {
	probe := newProber(tx.Bucket(bucketItems))
	models := func(sku string) (policy.Model, bool, error) { return getModel(tx, sku) }
	return g.PlanWith(models, s, func(r *registry.Row) (*policy.Item, error) {
		v := probe.get(r.Serial)
		if v == nil {
			return nil, nil
		}
		old, err := decodeItem(r.Serial, v)
		return &old.Item, err
	})
}

// buildRec fills rec with the item as build does, in the state a new item
// is stored in (registered, nothing derived yet).
func buildRec(g *registry.Registrar, s *registry.SortedRows, j int, rec *itemRec) {
	acc := rec.Accessories
	*rec = itemRec{Item: policy.Item{Accessories: acc}, State: policy.Registered}
	g.Build(s, j, &rec.Item)
}

// prober finds stored items for serials asked in ascending order. It walks
// one cursor forward a few steps before seeking again, so checking a run of
// new serials past the last stored one costs one seek, not one per serial.
// The bucket must not change while it is used.
type prober struct {
	c       *bbolt.Cursor
	k, v    []byte
	started bool
}

func newProber(b *bbolt.Bucket) *prober { return &prober{c: b.Cursor()} }

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
	batches     []batchIndex      // in batch order
	counters    registry.Counters // the report counters the items add
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
	p := &prepared{n: n, items: records{at: make([]recordAt, 0, n)}, counters: registry.NewCounters()}
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
// returning (see registry.CollectGarbage): each key Put may grow a bbolt node's
// list of keys, whose old copy is garbage.
func (p *prepared) write(tx *bbolt.Tx, fill, indexFill float64, collect bool) error {
	puts := 0
	put := func(b *bbolt.Bucket, k, v []byte) error {
		if puts++; collect && puts%collectEvery == 0 {
			registry.CollectGarbage()
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
	p.counters = registry.Counters{}
	if err := addCounter(tx, countItems, p.n); err != nil {
		return err
	}
	if collect {
		registry.CollectGarbage()
	}
	return nil
}

// summary names the batches written with their new members, for the audit log.
func (p *prepared) summary() string {
	return registry.BatchSummary(len(p.batches), func(i int) (string, int) { return p.batches[i].batch, p.batches[i].members })
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
func (db *DB) Register(a registry.Actor, rows []registry.Row, bad ...policy.RowError) (registry.RegisterResult, error) {
	if len(rows) == 0 {
		return registry.RegisterResult{}, policy.Errorf(policy.EInvalid, "items", "no rows to register").Keyed("rows.none", nil)
	}
	r, err := registry.NewRegistration(db.policy, db.now(), rows, bad...)
	if err != nil {
		return registry.RegisterResult{}, err
	}
	g, rs := r.Parts()
	return db.commit(g, a, rs)
}

// commit plans the sorted rows of g against the database and, when no row
// of the request is bad (g.Errs holds those found before), writes the new
// ones in one transaction. Errors: as Register.
func (db *DB) commit(g *registry.Registrar, a registry.Actor, s *registry.SortedRows) (registry.RegisterResult, error) {
	var res registry.RegisterResult
	err := db.update(func(tx *bbolt.Tx) error {
		fresh, unchanged, err := plan(tx, g, s)
		if err != nil {
			return err
		}
		res.Unchanged = unchanged
		if len(g.Errs) > 0 {
			return registry.RowsError(g.Errs)
		}
		res.Created = len(fresh)
		if len(fresh) == 0 {
			return nil
		}
		p := prepare(g.Policy, len(fresh), func(j int, rec *itemRec) { buildRec(g, s, int(fresh[j]), rec) })
		// The rows are encoded: their memory can go before bbolt's nodes
		// and pages for them are made, which then reuse it rather than
		// grow the heap past it (see registry.CollectGarbage).
		*s, g.RowModel, fresh = registry.SortedRows{}, nil, nil
		large := res.Created >= registry.CollectBefore
		if large {
			registry.CollectGarbage()
		}
		// Pages as full as Import's: new serials mostly come in runs past
		// the ones stored, and half-empty pages would be half the memory
		// of the commit spent on nothing.
		if err := p.write(tx, importFill, importIndexFill, large); err != nil {
			return err
		}
		return db.audit(tx, a, "items.register", p.summary(),
			fmt.Sprintf("created %d, unchanged %d; serials %s … %s", res.Created, res.Unchanged, p.first, p.last), g.Now)
	})
	if err != nil {
		return registry.RegisterResult{}, err
	}
	return res, nil
}
