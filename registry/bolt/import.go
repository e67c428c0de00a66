package bolt

import (
	"fmt"
	"io"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// RegisterCSV registers the rows of a registration CSV (see ParseCSV) in
// one transaction, all or nothing, as Register does, reading the stream as
// it comes rather than a decoded copy of it: the bad rows of every kind
// (malformed lines and fields, missing models, conflicts with what is on
// record) are reported together, each with its file line.
//
// Errors: ETooLarge beyond MaxRegisterRows rows; EBadRequest for an empty
// CSV or a bad header; EInvalid with Rows (Row, Line, the serial as sent),
// code EConflict for a serial registered with other data; EUnavailable
// when the database cannot be written.
func (db *DB) RegisterCSV(a registry.Actor, r io.Reader) (registry.RegisterResult, error) {
	d, err := registry.NewCSVDecoder(r)
	if err != nil {
		return registry.RegisterResult{}, err
	}
	g := db.newRegistration()
	g.Collect = true
	s, err := g.ReadCSV(d, registry.MaxRegisterRows, func(int) {})
	if err != nil {
		return registry.RegisterResult{}, err
	}
	res, err := db.commit(g, a, &s)
	return res, d.WithLines(err)
}

// importChunk is the rows written per transaction by Import; see
// BenchmarkImport.
const importChunk = 250_000

// importFill packs pages fuller than bbolt's 0.5: an import writes keys in
// ascending order, so half-empty pages would only waste space. Items keep
// a tenth free for the fields their history adds; the batch index only
// gains keys, so its pages are packed full.
const (
	importFill      = 0.9
	importIndexFill = 1.0
)

// Import registers the rows of a CSV stream (see ParseCSV), for the offline
// `sanbao import`. The whole input is read and checked against the
// database before anything is written: any bad row, and nothing is written.
// The rows are then sorted by serial and written in transactions of
// 250,000 rows (importChunk), each complete (items, batch index, counts, an audit
// entry). A run that is interrupted leaves a consistent file holding the
// first rows in serial order; running the same import again completes it,
// counting the rows already written as Unchanged. progress (may be nil)
// gets one line per phase and chunk with rows and rows/s.
//
// Errors: as Register (EInvalid with Rows, code EConflict for a serial
// registered with other data; EBadRequest for a bad header); EUnavailable
// when the database cannot be written (the chunks committed before stay).
func (db *DB) Import(a registry.Actor, r io.Reader, progress io.Writer) (registry.RegisterResult, error) {
	if db.readOnly {
		return registry.RegisterResult{}, errReadOnly
	}
	if progress == nil {
		progress = io.Discard
	}
	start := time.Now()
	report := func(format string, args ...any) {
		fmt.Fprintf(progress, "%s (%.1fs)\n", fmt.Sprintf(format, args...), time.Since(start).Seconds())
	}
	d, err := registry.NewCSVDecoder(r)
	if err != nil {
		return registry.RegisterResult{}, err
	}
	g := db.newRegistration()
	s, err := g.ReadCSV(d, 0, func(n int) {
		if n%500_000 == 0 {
			report("read %d rows", n)
		}
	})
	if err != nil {
		return registry.RegisterResult{}, err
	}
	report("read and sorted %d rows", d.Rows)
	stop := make(chan struct{})
	defer close(stop)

	var res registry.RegisterResult
	var fresh []int32
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		fresh, res.Unchanged, err = plan(tx, g, &s)
		return err
	})
	if err != nil {
		return registry.RegisterResult{}, err
	}
	if len(g.Errs) > 0 {
		return registry.RegisterResult{}, d.WithLines(registry.RowsError(g.Errs))
	}
	report("checked: %d new, %d already registered", len(fresh), res.Unchanged)

	// Chunks are prepared (built, encoded, index entries grouped) on another
	// goroutine, one ahead of the transaction writing the previous one.
	total := res.Unchanged + len(fresh)
	type job struct {
		rows []int32
		p    *prepared
	}
	build := func(idx []int32) *prepared {
		return prepare(g.Policy, len(idx), func(j int, rec *itemRec) { buildRec(g, &s, int(idx[j]), rec) })
	}
	jobs := make(chan job, 1)
	go func() {
		defer close(jobs)
		for start := 0; start < len(fresh); start += importChunk {
			idx := fresh[start:min(start+importChunk, len(fresh))]
			select {
			case jobs <- job{idx, build(idx)}:
			case <-stop:
				return
			}
		}
	}()
	for j := range jobs {
		var created, unchanged int
		err := db.update(func(tx *bbolt.Tx) error {
			// Registered since the check, by another writer of this process?
			left, changed, err := recheck(tx, s.Rows, j.rows)
			if err != nil {
				return err
			}
			p := j.p
			if changed {
				p = build(left)
			}
			created, unchanged = p.n, len(j.rows)-p.n
			if created == 0 {
				return nil
			}
			if err := p.write(tx, importFill, importIndexFill, false); err != nil {
				return err
			}
			return db.audit(tx, a, "items.import", p.summary(), fmt.Sprintf("created %d; serials %s … %s", p.n, p.first, p.last), g.Now)
		})
		if err != nil {
			return res, err
		}
		res.Created += created
		res.Unchanged += unchanged
		done := res.Created + res.Unchanged
		report("wrote %d of %d rows, %.0f rows/s", done, total, float64(done)/time.Since(start).Seconds())
	}
	report("imported: %d created, %d unchanged", res.Created, res.Unchanged)
	return res, nil
}

// recheck looks for chunk's serials registered since Import checked them
// (by another writer of this process) and returns the rows still to write;
// changed is false when there are none, so the chunk as prepared stands. A
// serial registered with other data is an EConflict.
func recheck(tx *bbolt.Tx, rows []registry.Row, chunk []int32) (left []int32, changed bool, err error) {
	p := newProber(tx.Bucket(bucketItems))
	for j, i := range chunk {
		v := p.get(rows[i].Serial)
		if v == nil {
			if changed {
				left = append(left, i)
			}
			continue
		}
		old, err := decodeItem(rows[i].Serial, v)
		if err != nil {
			return nil, false, err
		}
		if !registry.SameRegistration(old.Item, &rows[i]) {
			return nil, false, policy.Errorf(policy.EConflict, "serial", "serial %s was registered with other data while the import ran", rows[i].Serial).
				Keyed("serial.changed_during_import", policy.Args{"serial": rows[i].Serial})
		}
		if !changed {
			left, changed = append([]int32(nil), chunk[:j]...), true
		}
	}
	return left, changed, nil
}
