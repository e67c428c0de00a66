package registry

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sanbao/sanbao/policy"
	bolt "go.etcd.io/bbolt"
)

// csvDecoder reads the registration CSV: a header naming the columns
// serial, sku, batch and optionally produced_on and accessories (any order,
// any case; other columns ignored), UTF-8 with or without a BOM.
type csvDecoder struct {
	r                                      *csv.Reader
	serial, sku, batch, produced, acc, max int
	rows                                   int
	// dates remembers parsed production dates: a file holds few distinct
	// ones, and parsing is a good part of reading a row.
	dates map[string]policy.Date
	// names holds one copy of each SKU and batch read (see intern).
	names map[string]string
	// lines[n-1] is the file line where data row n starts (the header is
	// line 1): quoted fields may span lines and blank lines are skipped.
	lines []int32
	text  textArena // the serials read
}

// Bounds of csvDecoder.dates and csvDecoder.names.
const (
	maxDates = 1 << 12
	maxNames = 1 << 16
)

func newCSVDecoder(r io.Reader) (*csvDecoder, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	d := &csvDecoder{r: csv.NewReader(br), serial: -1, sku: -1, batch: -1, produced: -1, acc: -1,
		dates: map[string]policy.Date{}, names: map[string]string{}}
	d.r.FieldsPerRecord = -1
	d.r.ReuseRecord = true
	header, err := d.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, policy.Errorf(policy.EBadRequest, "csv", "the CSV is empty: its first line must be the header serial,sku,batch[,produced_on][,accessories]").
			Keyed("csv.empty", nil)
	}
	if hpe := (*csv.ParseError)(nil); errors.As(err, &hpe) {
		return nil, policy.Errorf(policy.EBadRequest, "csv", "the CSV header cannot be read: %v", err).Keyed("csv.header_unreadable", nil)
	}
	if err != nil {
		return nil, err // a failed read, such as a body over its limit (413), not a malformed header
	}
	for i, name := range header {
		var col *int
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "serial":
			col = &d.serial
		case "sku":
			col = &d.sku
		case "batch":
			col = &d.batch
		case "produced_on":
			col = &d.produced
		case "accessories":
			col = &d.acc
		default:
			continue // unknown columns are the sender's business
		}
		if *col >= 0 {
			return nil, policy.Errorf(policy.EBadRequest, "csv", "the CSV header names column %q twice", strings.TrimSpace(name)).
				Keyed("csv.column_twice", policy.Args{"column": strings.TrimSpace(name)})
		}
		*col = i
	}
	var missing []string
	for _, c := range []struct {
		name string
		col  int
	}{{"serial", d.serial}, {"sku", d.sku}, {"batch", d.batch}} {
		if c.col < 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return nil, policy.Errorf(policy.EBadRequest, "csv", "the CSV header must name the columns serial, sku and batch (missing: %s)", strings.Join(missing, ", ")).
			Keyed("csv.missing_columns", policy.Args{"missing": strings.Join(missing, ", ")})
	}
	d.max = max(d.serial, d.sku, d.batch, d.produced, d.acc)
	return d, nil
}

// next returns the next data row and its 1-based number, with a row error
// for a malformed row; io.EOF at the end. The row is trimmed and checked
// with checkRow.
func (d *csvDecoder) next() (Row, int, *policy.RowError, error) {
	var rec csvLine
	if err := d.read(&rec); err != nil {
		return Row{}, 0, nil, err
	}
	r, n, e := d.row(&rec)
	return r, n, e, nil
}

// csvLine is a data line as read, before any check: the fields the decoder
// uses (pieces of the line, which csv.Reader allocates afresh for each
// record) and how many fields the line has.
type csvLine struct {
	serial, sku, batch, produced, acc string
	fields                            int
	line                              int             // the file line where it starts
	err                               *csv.ParseError // a malformed line
}

// read reads the next data line into rec; io.EOF at the end.
func (d *csvDecoder) read(rec *csvLine) error {
	fields, err := d.r.Read()
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		*rec = csvLine{err: pe, line: pe.StartLine}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the CSV: %w", err)
	}
	field := func(i int) string {
		if i < 0 || i >= len(fields) {
			return ""
		}
		return fields[i]
	}
	line, _ := d.r.FieldPos(0)
	*rec = csvLine{serial: field(d.serial), sku: field(d.sku), batch: field(d.batch), produced: field(d.produced), acc: field(d.acc),
		fields: len(fields), line: line}
	return nil
}

// lineBlock is a run of lines read ahead; err (never io.EOF) ends the
// input.
type lineBlock struct {
	lines []csvLine
	err   error
}

// readAhead reads the data lines into blocks sent on out, reusing the
// blocks received on free, until the end of the input, an error (in the
// last block) or stop, and then closes out.
func (d *csvDecoder) readAhead(out chan<- lineBlock, free <-chan []csvLine, stop <-chan struct{}) {
	defer close(out)
	for {
		var lines []csvLine
		select {
		case lines = <-free:
		default:
			lines = make([]csvLine, 0, 1024)
		}
		var err error
		for lines = lines[:0]; len(lines) < cap(lines); {
			var rec csvLine
			if err = d.read(&rec); err != nil {
				break
			}
			lines = append(lines, rec)
		}
		end := err != nil
		if errors.Is(err, io.EOF) {
			err = nil
		}
		select {
		case out <- lineBlock{lines, err}:
		case <-stop:
			return
		}
		if end {
			return
		}
	}
}

// row numbers line and makes it a trimmed, checked row, with the row's
// first error.
func (d *csvDecoder) row(line *csvLine) (Row, int, *policy.RowError) {
	d.rows++
	n := d.rows
	d.lines = append(d.lines, int32(line.line))
	if pe := line.err; pe != nil {
		e := policy.Errorf(policy.EInvalid, "csv", "line %d: %v", pe.Line, pe.Err).Keyed("csv.malformed_line", policy.Args{"line": pe.Line}).Row(n, "")
		return Row{}, n, &e
	}
	// The serial is copied out of the line, which csv.Reader allocates
	// whole for each record: the line can then go as soon as the row is
	// made, not when the rows are sorted.
	r := Row{Serial: d.text.join(line.serial, nil), SKU: d.intern(line.sku), Batch: d.intern(line.batch)}
	if line.fields <= max(d.serial, d.sku, d.batch) {
		e := policy.Errorf(policy.EInvalid, "csv", "the row has %d fields; the header names %d", line.fields, d.max+1).
			Keyed("csv.field_count", policy.Args{"fields": line.fields, "want": d.max + 1}).Row(n, strings.TrimSpace(r.Serial))
		return r, n, &e
	}
	if s := strings.TrimSpace(line.produced); s != "" {
		day, ok := d.dates[s]
		if !ok {
			var err error
			if day, err = policy.ParseDate(s); err != nil {
				e := policy.BadDate("produced_on", err).Row(n, strings.TrimSpace(r.Serial))
				return r, n, &e
			}
			if len(d.dates) < maxDates {
				d.dates[strings.Clone(s)] = day // not a piece of the whole line
			}
		}
		r.ProducedOn = day
	}
	if s := strings.TrimSpace(line.acc); s != "" {
		for part := range strings.SplitSeq(s, ";") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			sku, batch, ok := strings.Cut(part, ":")
			if !ok {
				e := policy.Errorf(policy.EInvalid, "accessories", "accessories must read SKU:BATCH;SKU:BATCH, not %q", part).
					Keyed("csv.accessories_form", policy.Args{"value": part}).Row(n, strings.TrimSpace(r.Serial))
				return r, n, &e
			}
			r.Accessories = append(r.Accessories, Bundle{SKU: d.intern(sku), Batch: d.intern(batch)})
		}
	}
	return r, n, checkRow(n, &r)
}

// intern returns the decoder's copy of s, so that the rows naming one SKU
// or batch share it: passes over the rows in serial order then read a few
// strings kept in cache, not a piece of each row's line from wherever it
// was allocated.
func (d *csvDecoder) intern(s string) string {
	if c, ok := d.names[s]; ok {
		return c
	}
	if len(d.names) >= maxNames {
		return s
	}
	c := strings.Clone(s)
	d.names[c] = c
	return c
}

// ParseCSV decodes a registration CSV (header serial,sku,batch
// [,produced_on][,accessories], any column order, unknown columns ignored,
// UTF-8 with or without BOM; accessories read "SKU:BATCH;SKU:BATCH") into
// trimmed, checked rows.
// Errors: EBadRequest for an empty CSV or a header without serial, sku and
// batch; EInvalid with Rows (1-based data rows) for malformed rows.
func ParseCSV(r io.Reader) ([]Row, error) {
	d, err := newCSVDecoder(r)
	if err != nil {
		return nil, err
	}
	var rows []Row
	var errs []policy.RowError
	for {
		row, _, rerr, err := d.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if rerr != nil {
			errs = append(errs, *rerr)
		}
		rows = append(rows, row)
	}
	if len(errs) > 0 {
		return nil, rowsError(errs)
	}
	return rows, nil
}

// readCSV reads every data row of d, checks each without the database
// (format, identifiers, dates) and returns the rows that passed, sorted by
// serial; the others' errors are in g.errs, to be reported with the errors
// found against the database. read(n) is called after row n. More than
// limit rows (limit > 0) is an ETooLarge, found before the rest is read.
// Errors: ETooLarge; EInvalid for a CSV without rows; the reader's.
func (g *registration) readCSV(d *csvDecoder, limit int, read func(n int)) (sortedRows, error) {
	var rows rowList
	var checked []bool
	// Lines are read on another goroutine, so that reading the CSV and
	// checking its rows share the two cores.
	blocks, free, stop := make(chan lineBlock, 2), make(chan []csvLine, 4), make(chan struct{})
	defer func() {
		// The reader must be done with r (a request body) before returning.
		close(stop)
		for range blocks {
		}
	}()
	go d.readAhead(blocks, free, stop)
	for b := range blocks {
		if b.err != nil {
			return sortedRows{}, b.err
		}
		for i := range b.lines {
			row, n, rerr := d.row(&b.lines[i])
			if limit > 0 && n > limit {
				return sortedRows{}, TooManyRows()
			}
			ok := rerr == nil
			if !ok {
				g.errs = append(g.errs, *rerr)
			} else {
				ok = g.checkClock(n, &row)
			}
			rows.add(row)
			checked = append(checked, ok)
			read(n)
		}
		select {
		case free <- b.lines:
		default:
		}
	}
	if rows.n == 0 {
		return sortedRows{}, policy.Errorf(policy.EInvalid, "csv", "the CSV has a header but no rows").Keyed("csv.no_rows", nil)
	}
	d.text = textArena{} // the rows hold the serials; sortRows copies them in order
	if g.collect && rows.n >= collectBefore {
		// What reading left behind goes before the sort doubles the rows.
		collectGarbage()
	}
	s := sortRows(rows.n, rows.at, func(i int) bool { return checked[i] }, &g.errs)
	if g.collect && rows.n >= collectBefore {
		// The rows as read go before the plan and the writes add theirs.
		collectGarbage()
	}
	return s, nil
}

// MaxRegisterRows is the most rows one registration request (Register,
// RegisterCSV) holds; the offline Import has no such bound.
const MaxRegisterRows = 200_000

// TooManyRows is the error of a registration request of more than
// MaxRegisterRows rows: ETooLarge, saying the limit first.
func TooManyRows() error {
	return policy.Errorf(policy.ETooLarge, "items", "a registration request holds at most 200,000 rows; split the file (sanbao import has no such limit)").
		Keyed("rows.too_many", policy.Args{"max": 200000})
}

// withLines fills in the file line of each row of err (a rows error), from
// the rows' numbers.
func (d *csvDecoder) withLines(err error) error {
	var pe *policy.Error
	if errors.As(err, &pe) {
		for i := range pe.Rows {
			if n := pe.Rows[i].Row; n >= 1 && n <= len(d.lines) {
				pe.Rows[i].Line = int(d.lines[n-1])
			}
		}
	}
	return err
}

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
func (db *DB) RegisterCSV(a Actor, r io.Reader) (RegisterResult, error) {
	d, err := newCSVDecoder(r)
	if err != nil {
		return RegisterResult{}, err
	}
	g := db.newRegistration()
	g.collect = true
	s, err := g.readCSV(d, MaxRegisterRows, func(int) {})
	if err != nil {
		return RegisterResult{}, err
	}
	res, err := db.commit(g, a, &s)
	return res, d.withLines(err)
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

// rowList holds an import's rows in blocks: a slice of a million rows grown
// by append would be copied again and again.
type rowList struct {
	blocks [][]Row
	n      int
}

const rowBlock = 1 << 14

func (l *rowList) add(r Row) {
	if l.n%rowBlock == 0 {
		l.blocks = append(l.blocks, make([]Row, 0, rowBlock))
	}
	b := &l.blocks[len(l.blocks)-1]
	*b = append(*b, r)
	l.n++
}

func (l *rowList) at(i int) *Row { return &l.blocks[i/rowBlock][i%rowBlock] }

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
func (db *DB) Import(a Actor, r io.Reader, progress io.Writer) (RegisterResult, error) {
	if db.readOnly {
		return RegisterResult{}, errReadOnly
	}
	if progress == nil {
		progress = io.Discard
	}
	start := time.Now()
	report := func(format string, args ...any) {
		fmt.Fprintf(progress, "%s (%.1fs)\n", fmt.Sprintf(format, args...), time.Since(start).Seconds())
	}
	d, err := newCSVDecoder(r)
	if err != nil {
		return RegisterResult{}, err
	}
	g := db.newRegistration()
	s, err := g.readCSV(d, 0, func(n int) {
		if n%500_000 == 0 {
			report("read %d rows", n)
		}
	})
	if err != nil {
		return RegisterResult{}, err
	}
	report("read and sorted %d rows", d.rows)
	stop := make(chan struct{})
	defer close(stop)

	var res RegisterResult
	var fresh []int32
	err = db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		fresh, res.Unchanged, err = plan(tx, g, &s)
		return err
	})
	if err != nil {
		return RegisterResult{}, err
	}
	if len(g.errs) > 0 {
		return RegisterResult{}, d.withLines(rowsError(g.errs))
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
		return prepare(g.policy, len(idx), func(j int, rec *itemRec) { buildRec(g, &s, int(idx[j]), rec) })
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
		err := db.update(func(tx *bolt.Tx) error {
			// Registered since the check, by another writer of this process?
			left, changed, err := recheck(tx, s.rows, j.rows)
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
			return db.audit(tx, a, "items.import", p.summary(), fmt.Sprintf("created %d; serials %s … %s", p.n, p.first, p.last), g.now)
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
func recheck(tx *bolt.Tx, rows []Row, chunk []int32) (left []int32, changed bool, err error) {
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
		if !sameRegistration(old.Item, &rows[i]) {
			return nil, false, policy.Errorf(policy.EConflict, "serial", "serial %s was registered with other data while the import ran", rows[i].Serial).
				Keyed("serial.changed_during_import", policy.Args{"serial": rows[i].Serial})
		}
		if !changed {
			left, changed = append([]int32(nil), chunk[:j]...), true
		}
	}
	return left, changed, nil
}
