package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// The report counters of the bbolt file (schema 3, built by the migration
// buildReports). Keys:
//
//	quality:  sku 0x00 batch 0x00 month           -> 7 big-endian int64 (policy.QualityCounts)
//	findings: kind sku 0x00 month 0x00 name       -> big-endian int64
//	expiry:   sku 0x00 YYYYMMDD serial            -> batch        (one entry under the item's SKU)
//	          0x00 YYYYMMDD serial                -> sku 0x00 batch (and one for every SKU)
var (
	bucketQuality  = []byte("quality")
	bucketFindings = []byte("findings")
	bucketExpiry   = []byte("expiry")
)

// reportCounters switches the counters off for BenchmarkAppendCounters'
// baseline; always true otherwise.
var reportCounters = true

// retally keeps the counters in step with an item whose tally goes from
// old to t, in the write's transaction.
func retally(tx *bbolt.Tx, it policy.Item, old, t policy.Tally) error {
	if !reportCounters {
		return nil
	}
	d := t.Diff(old)
	for _, e := range d.Quality {
		if err := addQuality(tx, e.Cell, e.Counts); err != nil {
			return err
		}
	}
	for _, e := range d.Findings {
		if err := addFinding(tx, e.Cell, e.N); err != nil {
			return err
		}
	}
	if old.Expires != t.Expires {
		if err := setExpiry(tx, registry.ExpiryEntry{SKU: it.SKU, Batch: it.Batch, Until: old.Expires}, it.Serial, t.Expires); err != nil {
			return err
		}
	}
	return nil
}

func qualityKey(c policy.QualityCell) []byte {
	return compositeKey(c.SKU, compositeKey(c.Batch, []byte(c.Month)))
}

func findingKey(c policy.FindingCell) []byte {
	return append([]byte{byte(c.Kind)}, compositeKey(c.SKU, compositeKey(c.Month, []byte(c.Name)))...)
}

func decodeCounts(v []byte) policy.QualityCounts {
	var n [7]int64
	for i := range n {
		if len(v) >= 8*(i+1) {
			n[i] = int64(binary.BigEndian.Uint64(v[8*i:]))
		}
	}
	return policy.QualityCounts{Units: n[0], Received: n[1], Cases: n[2], FreeRepairs: n[3], Replacements: n[4], Returns: n[5], EarlyFailures: n[6]}
}

func encodeCounts(c policy.QualityCounts) []byte {
	v := make([]byte, 0, 56)
	for _, n := range []int64{c.Units, c.Received, c.Cases, c.FreeRepairs, c.Replacements, c.Returns, c.EarlyFailures} {
		v = binary.BigEndian.AppendUint64(v, uint64(n))
	}
	return v
}

func addQuality(tx *bbolt.Tx, cell policy.QualityCell, n policy.QualityCounts) error {
	b, err := tx.CreateBucketIfNotExists(bucketQuality)
	if err != nil {
		return err
	}
	k := qualityKey(cell)
	c := decodeCounts(b.Get(k))
	c.Add(n, 1)
	if c.IsZero() {
		return b.Delete(k)
	}
	return b.Put(k, encodeCounts(c))
}

func addFinding(tx *bbolt.Tx, cell policy.FindingCell, n int64) error {
	b, err := tx.CreateBucketIfNotExists(bucketFindings)
	if err != nil {
		return err
	}
	k := findingKey(cell)
	var c int64
	if v := b.Get(k); len(v) == 8 {
		c = int64(binary.BigEndian.Uint64(v))
	}
	if c += n; c == 0 {
		return b.Delete(k)
	}
	return b.Put(k, be64(uint64(c)))
}

func expiryKeys(sku, serial string, d policy.Date) (bySKU, all []byte) {
	tail := fmt.Appendf(nil, "%04d%02d%02d%s", d.Year, int(d.Month), d.Day, serial)
	return compositeKey(sku, tail), compositeKey("", tail)
}

// setExpiry moves serial's entry in the expiring index from old.Until to
// d (zero Dates: no entry).
func setExpiry(tx *bbolt.Tx, it registry.ExpiryEntry, serial string, d policy.Date) error {
	old := it.Until
	b, err := tx.CreateBucketIfNotExists(bucketExpiry)
	if err != nil {
		return err
	}
	if !old.IsZero() {
		k1, k2 := expiryKeys(it.SKU, serial, old)
		if err := b.Delete(k1); err != nil {
			return err
		}
		if err := b.Delete(k2); err != nil {
			return err
		}
	}
	if d.IsZero() {
		return nil
	}
	k1, k2 := expiryKeys(it.SKU, serial, d)
	if err := b.Put(k1, []byte(it.Batch)); err != nil {
		return err
	}
	return b.Put(k2, compositeKey(it.SKU, []byte(it.Batch)))
}

// addCounters adds many items' counters at once (a registration, an
// import chunk).
func addCounters(tx *bbolt.Tx, c registry.Counters) error {
	if !reportCounters {
		return nil
	}
	for cell, n := range c.Quality {
		if err := addQuality(tx, cell, n); err != nil {
			return err
		}
	}
	for cell, n := range c.Findings {
		if err := addFinding(tx, cell, n); err != nil {
			return err
		}
	}
	if len(c.Expiry) == 0 {
		return nil
	}
	// In key order: bbolt inserts into a node by moving its tail, and a
	// hundred thousand new keys in map order would move it each time.
	type kv struct{ k, v []byte }
	entries := make([]kv, 0, 2*len(c.Expiry))
	for serial, e := range c.Expiry {
		k1, k2 := expiryKeys(e.SKU, serial, e.Until)
		entries = append(entries, kv{k1, []byte(e.Batch)}, kv{k2, compositeKey(e.SKU, []byte(e.Batch))})
	}
	slices.SortFunc(entries, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	b, err := tx.CreateBucketIfNotExists(bucketExpiry)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := b.Put(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

// modelExists refuses an unknown SKU of a report query.
func modelExists(tx *bbolt.Tx, sku string) error {
	if sku == "" {
		return nil
	}
	if tx.Bucket(bucketModels).Get([]byte(sku)) == nil {
		return policy.Errorf(policy.ENotFound, "sku", "no model %s", sku)
	}
	return nil
}

// QualityReport reads the quality counters of q's SKU (all when none)
// and months. Errors: EInvalid naming by, sku, from or to; ENotFound for
// an unknown SKU.
func (db *DB) QualityReport(q registry.ReportQuery) ([]registry.QualityRow, error) {
	q, err := registry.ReportArgs(q, true)
	if err != nil {
		return nil, err
	}
	var cells []policy.QualityEntry
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		if err := modelExists(tx, q.SKU); err != nil {
			return err
		}
		b := tx.Bucket(bucketQuality)
		if b == nil {
			return nil
		}
		var p []byte
		if q.SKU != "" {
			p = prefix(q.SKU)
		}
		c := b.Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			sku, rest, _ := bytes.Cut(k, []byte{0})
			batch, month, _ := bytes.Cut(rest, []byte{0})
			if !q.InMonths(string(month)) {
				continue
			}
			cells = append(cells, policy.QualityEntry{Cell: policy.QualityCell{SKU: string(sku), Batch: string(batch), Month: string(month)}, Counts: decodeCounts(v)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return registry.QualityRows(q.By, cells), nil
}

// FindingsReport counts the findings and parts of q's SKU (all when none)
// in cases opened in q's months, most frequent first. Errors: EInvalid
// naming sku, from or to; ENotFound for an unknown SKU.
func (db *DB) FindingsReport(q registry.ReportQuery) (registry.FindingsReport, error) {
	q, err := registry.ReportArgs(q, false)
	if err != nil {
		return registry.FindingsReport{}, err
	}
	var cells []policy.FindingEntry
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		if err := modelExists(tx, q.SKU); err != nil {
			return err
		}
		b := tx.Bucket(bucketFindings)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			cell := decodeFindingKey(k)
			if (q.SKU == "" || cell.SKU == q.SKU) && q.InMonths(cell.Month) && len(v) == 8 {
				cells = append(cells, policy.FindingEntry{Cell: cell, N: int64(binary.BigEndian.Uint64(v))})
			}
			return nil
		})
	})
	if err != nil {
		return registry.FindingsReport{}, err
	}
	return registry.FindingsOf(cells), nil
}

func decodeFindingKey(k []byte) policy.FindingCell {
	if len(k) == 0 {
		return policy.FindingCell{}
	}
	sku, rest, _ := bytes.Cut(k[1:], []byte{0})
	month, name, _ := bytes.Cut(rest, []byte{0})
	return policy.FindingCell{Kind: policy.FindingKind(k[0]), SKU: string(sku), Month: string(month), Name: string(name)}
}

// Expiring lists the serials whose warranty ends today or within `within`
// days, by end date then serial, after the cursor after. Errors: EInvalid
// naming within, after or limit; ENotFound for an unknown SKU.
func (db *DB) Expiring(within int, sku, after string, limit int) (registry.ExpiringPage, error) {
	fromDate, fromSerial, n, err := registry.ExpiringArgs(within, after, limit)
	if err != nil {
		return registry.ExpiringPage{}, err
	}
	if sku != "" {
		if sku, err = policy.Ident("sku", sku); err != nil {
			return registry.ExpiringPage{}, err
		}
	}
	today := db.policy.Today(db.now())
	end := today.AddDays(within)
	page := registry.ExpiringPage{Items: []registry.ExpiringItem{}}
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		if err := modelExists(tx, sku); err != nil {
			return err
		}
		b := tx.Bucket(bucketExpiry)
		if b == nil {
			return nil
		}
		p := prefix(sku)
		start := append(bytes.Clone(p), fmt.Sprintf("%04d%02d%02d", today.Year, int(today.Month), today.Day)...)
		if !fromDate.IsZero() {
			start = append(bytes.Clone(p), fmt.Sprintf("%04d%02d%02d%s\x00", fromDate.Year, int(fromDate.Month), fromDate.Day, fromSerial)...)
		}
		last := fmt.Sprintf("%04d%02d%02d", end.Year, int(end.Month), end.Day)
		c := b.Cursor()
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			rest := k[len(p):]
			if len(rest) < 8 || string(rest[:8]) > last {
				break
			}
			d, err := policy.ParseDate(fmt.Sprintf("%s-%s-%s", rest[:4], rest[4:6], rest[6:8]))
			if err != nil {
				return fmt.Errorf("expiry index: %w", err)
			}
			it := registry.ExpiringItem{Serial: string(rest[8:]), SKU: sku, Batch: string(v), WarrantyUntil: d, DaysLeft: today.DaysUntil(d)}
			if sku == "" {
				s, batch, _ := bytes.Cut(v, []byte{0})
				it.SKU, it.Batch = string(s), string(batch)
			}
			if len(page.Items) == n {
				page.Next = registry.ExpiringCursor(page.Items[n-1])
				break
			}
			page.Items = append(page.Items, it)
		}
		return nil
	})
	return page, err
}

// recount sums every item's tally. An item that cannot be read (a
// damaged record, which Get reports) counts for nothing and is returned
// as a fix that could not be made: one bad record must not stop a
// migration or a verify.
func (db *DB) recount(tx *bbolt.Tx) (registry.Counters, []registry.CounterFix, error) {
	out := registry.NewCounters()
	var damaged []registry.CounterFix
	err := tx.Bucket(bucketItems).ForEach(func(k, v []byte) error {
		r, err := decodeItem(string(k), v)
		var hist []policy.Event
		if err == nil {
			hist, err = history(tx, r.Serial, r.Seq)
		}
		if err != nil {
			damaged = append(damaged, registry.CounterFix{Counter: "unreadable item", Key: string(k), Stored: err.Error(), Recounted: "not counted"})
			return nil
		}
		out.Add(r.Item, db.policy.Tally(r.Item, hist))
		return nil
	})
	return out, damaged, err
}

// storedCounters reads the counters as the file holds them.
func storedCounters(tx *bbolt.Tx) (registry.Counters, error) {
	out := registry.NewCounters()
	if b := tx.Bucket(bucketQuality); b != nil {
		if err := b.ForEach(func(k, v []byte) error {
			sku, rest, _ := bytes.Cut(k, []byte{0})
			batch, month, _ := bytes.Cut(rest, []byte{0})
			out.Quality[policy.QualityCell{SKU: string(sku), Batch: string(batch), Month: string(month)}] = decodeCounts(v)
			return nil
		}); err != nil {
			return out, err
		}
	}
	if b := tx.Bucket(bucketFindings); b != nil {
		if err := b.ForEach(func(k, v []byte) error {
			if len(v) == 8 {
				out.Findings[decodeFindingKey(k)] = int64(binary.BigEndian.Uint64(v))
			}
			return nil
		}); err != nil {
			return out, err
		}
	}
	if b := tx.Bucket(bucketExpiry); b != nil {
		c := b.Cursor()
		p := prefix("")
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			rest := k[1:]
			if len(rest) < 8 {
				continue
			}
			d, err := policy.ParseDate(fmt.Sprintf("%s-%s-%s", rest[:4], rest[4:6], rest[6:8]))
			if err != nil {
				return out, fmt.Errorf("expiry index: %w", err)
			}
			sku, batch, _ := bytes.Cut(v, []byte{0})
			out.Expiry[string(rest[8:])] = registry.ExpiryEntry{SKU: string(sku), Batch: string(batch), Until: d}
		}
	}
	return out, nil
}

// VerifyCounters recounts the report counters from every item and
// returns those that differ; with fix it rebuilds the counter buckets from
// the recount in the same transaction. Errors: EUnavailable; internal.
func (db *DB) VerifyCounters(fix bool) ([]registry.CounterFix, error) {
	var fixes []registry.CounterFix
	run := db.bolt.View
	if fix {
		run = db.update
	}
	err := run(func(tx *bbolt.Tx) error {
		recount, damaged, err := db.recount(tx)
		if err != nil {
			return err
		}
		stored, err := storedCounters(tx)
		if err != nil {
			return err
		}
		fixes = registry.Compare(stored, recount)
		if len(fixes) == 0 || !fix {
			fixes = append(damaged, fixes...)
			return nil
		}
		fixes = append(damaged, fixes...)
		return rebuildCounters(tx, recount)
	})
	return fixes, err
}

// rebuildCounters replaces the counter buckets with c.
func rebuildCounters(tx *bbolt.Tx, c registry.Counters) error {
	for _, name := range [][]byte{bucketQuality, bucketFindings, bucketExpiry} {
		if tx.Bucket(name) != nil {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return addCounters(tx, c)
}

// buildReports is the migration from schema 2 to 3: the report counters
// built from every item on file.
func buildReports(tx *bbolt.Tx, p *policy.Policy) error {
	db := &DB{policy: p}
	c, _, err := db.recount(tx)
	if err != nil {
		return err
	}
	return rebuildCounters(tx, c)
}
