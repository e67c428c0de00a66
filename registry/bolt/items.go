package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// Flags of a batch index entry (batch 0x00 serial): the serial is
// registered in the batch, or carries a bundled accessory of it, or both.
const (
	flagMember  byte = 1
	flagCarrier byte = 2
)

// Get returns an item's record: its terms, its full history (oldest first,
// corrected events included) and its scan counts (buffered views included).
// Errors: EInvalid for a malformed serial; ENotFound.
func (db *DB) Get(serial string) (registry.Record, error) {
	return db.getRecord(serial, nil)
}

// ItemView is Get, Model of the item's SKU and the notices of its batches
// (BatchNotices of registry.NoticeBatches) in one read transaction, for the
// public page, which needs all three on every view. Errors: as Get's
// (EInvalid for a malformed serial; ENotFound); a model's or a notice's
// damaged record.
func (db *DB) ItemView(serial string) (registry.ItemView, error) {
	var v registry.ItemView
	rec, err := db.getRecord(serial, func(tx *bbolt.Tx, rec *registry.Record) (err error) {
		if v.Model, v.HasModel, err = db.cachedModel(tx, rec.Item.SKU); err != nil {
			return err
		}
		v.Notices, err = appendNotices(tx, nil, registry.NoticeBatches(*rec))
		return err
	})
	if err != nil {
		return registry.ItemView{}, err
	}
	v.Record = rec
	return v, nil
}

// getRecord reads serial's Record in one read transaction, its buffered
// scans included, and runs also (when not nil) in the same transaction with
// the record as stored (no buffered scans yet).
func (db *DB) getRecord(serial string, also func(tx *bbolt.Tx, rec *registry.Record) error) (registry.Record, error) {
	serial, err := policy.Ident("serial", serial)
	if err != nil {
		return registry.Record{}, err
	}
	var rec registry.Record
	var viewTx uint64
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		viewTx = uint64(tx.ID())
		r, err := getItem(tx, serial)
		if err != nil {
			return err
		}
		if rec, err = record(tx, r); err != nil {
			return err
		}
		if also != nil {
			return also(tx, &rec)
		}
		return nil
	})
	if err != nil {
		return registry.Record{}, err
	}
	rec.Scans = db.scans.Merge(serial, rec.Scans, viewTx)
	return rec, nil
}

// record assembles an item's Record (stored scan counts only) inside tx.
func record(tx *bbolt.Tx, r itemRec) (registry.Record, error) {
	hist, err := history(tx, r.Serial, r.Seq)
	if err != nil {
		return registry.Record{}, err
	}
	sc, err := storedScans(tx, &r)
	if err != nil {
		return registry.Record{}, err
	}
	return registry.Record{Item: r.Item, History: hist, Scans: sc}, nil
}

func getItem(tx *bbolt.Tx, serial string) (itemRec, error) {
	v := tx.Bucket(bucketItems).Get([]byte(serial))
	if v == nil {
		return itemRec{}, policy.Errorf(policy.ENotFound, "serial", "serial %s is not registered", serial).
			Keyed("serial.not_registered", policy.Args{"serial": serial})
	}
	return decodeItem(serial, v)
}

func putItem(tx *bbolt.Tx, r *itemRec) error {
	return tx.Bucket(bucketItems).Put([]byte(r.Serial), r.append(nil))
}

// history reads an item's events in seq order. seq is the item's last:
// its count of events, none when 0 (appendTx, the one writer of events,
// keeps it in the same transaction), so most items of a large registry,
// never dispatched, cost no read here. Room is made for one more event,
// which an append adds.
func history(tx *bbolt.Tx, serial string, seq uint64) ([]policy.Event, error) {
	if seq == 0 {
		return nil, nil
	}
	hist := make([]policy.Event, 0, min(seq, maxHistoryHint)+1)
	p := prefix(serial)
	c := tx.Bucket(bucketEvents).Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		ev, err := decodeEvent(serial, v)
		if err != nil {
			return nil, err
		}
		hist = append(hist, ev)
	}
	return hist, nil
}

// maxHistoryHint bounds the room history makes up front, whatever a
// damaged seq says.
const maxHistoryHint = 1024

// Batch returns one page of batch: the serials registered in it and the
// products carrying a bundled accessory of it, in one serial order, starting
// after the serial `after` ("" = from the start). limit 0 means DefaultLimit;
// above MaxLimit it is MaxLimit. Count and Carriers are the batch's totals;
// Next is the cursor of the following page, "" on the last.
// Errors: EInvalid for a malformed batch, after or a negative limit;
// ENotFound when the batch has neither members nor carriers.
func (db *DB) Batch(batch, after string, limit int) (registry.BatchPage, error) {
	batch, err := policy.Ident("batch", batch)
	if err != nil {
		return registry.BatchPage{}, err
	}
	if after != "" {
		if after, err = policy.Ident("after", after); err != nil {
			return registry.BatchPage{}, err
		}
	}
	limit, err = registry.PageLimit(limit)
	if err != nil {
		return registry.BatchPage{}, err
	}
	page := registry.BatchPage{Batch: batch, Serials: []string{}, CarriedBy: []string{}}
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		members, carriers := batchCount(tx, batch)
		if members == 0 && carriers == 0 {
			return policy.Errorf(policy.ENotFound, "batch", "batch %s has no registered serials and no bundled accessories", batch).
				Keyed("batch.empty", policy.Args{"batch": batch})
		}
		page.Count, page.Carriers = members, carriers
		p := prefix(batch)
		start := p
		if after != "" {
			start = append(compositeKey(batch, []byte(after)), 0) // the first key after `after`
		}
		c := tx.Bucket(bucketBatches).Cursor()
		n, last := 0, ""
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			serial := string(k[len(p):])
			if n == limit {
				page.Next = last
				break
			}
			n++
			if len(v) > 0 && v[0]&flagMember != 0 {
				page.Serials = append(page.Serials, serial)
			}
			if len(v) > 0 && v[0]&flagCarrier != 0 {
				page.CarriedBy = append(page.CarriedBy, serial)
			}
			last = serial
		}
		return nil
	})
	return page, err
}

// Batches lists every batch with its member and carrier counts, in batch
// order. It reads the counts bucket only, never the index. Errors: only
// internal ones (I/O, a damaged record).
func (db *DB) Batches() ([]registry.BatchCount, error) {
	out := []registry.BatchCount{}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketBatchCounts).ForEach(func(k, v []byte) error {
			m, c, err := decodeBatchCount(v)
			if err != nil {
				return fmt.Errorf("count of batch %s: %w", k, err)
			}
			if m > 0 || c > 0 {
				out = append(out, registry.BatchCount{Batch: string(k), Count: m, Carriers: c})
			}
			return nil
		})
	})
	return out, err
}

func batchCount(tx *bbolt.Tx, batch string) (members, carriers int) {
	m, c, _ := decodeBatchCount(tx.Bucket(bucketBatchCounts).Get([]byte(batch)))
	return m, c
}

func decodeBatchCount(v []byte) (members, carriers int, err error) {
	if v == nil {
		return 0, 0, nil
	}
	d := decoder{b: v}
	members, carriers = int(d.uvarint()), int(d.uvarint())
	return members, carriers, d.err
}

// indexBatch adds flag for serial under batch, keeping the batch's counts.
func indexBatch(tx *bbolt.Tx, batch, serial string, flag byte) error {
	b := tx.Bucket(bucketBatches)
	b.FillPercent = 0.9
	k := compositeKey(batch, []byte(serial))
	var old byte
	if v := b.Get(k); len(v) > 0 {
		old = v[0]
	}
	if old&flag == flag {
		return nil
	}
	if err := b.Put(k, []byte{old | flag}); err != nil {
		return err
	}
	dm, dc := 0, 0
	if flag&flagMember != 0 && old&flagMember == 0 {
		dm = 1
	}
	if flag&flagCarrier != 0 && old&flagCarrier == 0 {
		dc = 1
	}
	return addBatchCount(tx, batch, dm, dc)
}

func addBatchCount(tx *bbolt.Tx, batch string, members, carriers int) error {
	b := tx.Bucket(bucketBatchCounts)
	m, c, err := decodeBatchCount(b.Get([]byte(batch)))
	if err != nil {
		return err
	}
	v := binary.AppendUvarint(nil, uint64(m+members))
	return b.Put([]byte(batch), binary.AppendUvarint(v, uint64(c+carriers)))
}

// OpenCases returns the records of the items with an open service case, in
// serial order, read from the open-case index. Errors: only internal ones.
func (db *DB) OpenCases() ([]registry.Record, error) {
	out := []registry.Record{}
	var viewTx uint64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		viewTx = uint64(tx.ID())
		return tx.Bucket(bucketCases).ForEach(func(k, _ []byte) error {
			r, err := getItem(tx, string(k))
			if err != nil {
				return fmt.Errorf("open-case index: %w", err)
			}
			rec, err := record(tx, r)
			if err != nil {
				return err
			}
			out = append(out, rec)
			return nil
		})
	})
	for i := range out {
		out[i].Scans = db.scans.Merge(out[i].Item.Serial, out[i].Scans, viewTx)
	}
	return out, err
}

// Stats returns counters kept up to date by every write (no scan).
// Errors: only internal ones.
func (db *DB) Stats() (registry.Stats, error) {
	var s registry.Stats
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCounts)
		s = registry.Stats{Items: int(counter(b, countItems)), Models: int(counter(b, countModels)), OpenCases: int(counter(b, countCases))}
		return nil
	})
	return s, err
}

func counter(b *bbolt.Bucket, name []byte) uint64 {
	if v := b.Get(name); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func addCounter(tx *bbolt.Tx, name []byte, delta int) error {
	if delta == 0 {
		return nil
	}
	b := tx.Bucket(bucketCounts)
	return b.Put(name, be64(uint64(int64(counter(b, name))+int64(delta))))
}
