package registry

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sanbao/sanbao/policy"
)

// CSVDecoder reads the registration CSV: a header naming the columns
// serial, sku, batch and optionally produced_on and accessories (any order,
// any case; other columns ignored), UTF-8 with or without a BOM.
type CSVDecoder struct {
	r                                      *csv.Reader
	serial, sku, batch, produced, acc, max int
	Rows                                   int
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

// Bounds of CSVDecoder.dates and CSVDecoder.names.
const (
	maxDates = 1 << 12
	maxNames = 1 << 16
)

// NewCSVDecoder reads the header of the registration CSV r. CSVDecoder is
// exported for registry/bolt, whose RegisterCSV and Import read a CSV as
// NewCSVRegistration does. Errors: EBadRequest for an empty CSV or a bad
// header; the reader's.
func NewCSVDecoder(r io.Reader) (*CSVDecoder, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	d := &CSVDecoder{r: csv.NewReader(br), serial: -1, sku: -1, batch: -1, produced: -1, acc: -1,
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
func (d *CSVDecoder) next() (Row, int, *policy.RowError, error) {
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
func (d *CSVDecoder) read(rec *csvLine) error {
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
func (d *CSVDecoder) readAhead(out chan<- lineBlock, free <-chan []csvLine, stop <-chan struct{}) {
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
func (d *CSVDecoder) row(line *csvLine) (Row, int, *policy.RowError) {
	d.Rows++
	n := d.Rows
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
func (d *CSVDecoder) intern(s string) string {
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
	d, err := NewCSVDecoder(r)
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
// serial; the others' errors are in g.Errs, to be reported with the errors
// found against the database. read(n) is called after row n. More than
// limit rows (limit > 0) is an ETooLarge, found before the rest is read.
// Errors: ETooLarge; EInvalid for a CSV without rows; the reader's.
func (g *Registrar) ReadCSV(d *CSVDecoder, limit int, read func(n int)) (SortedRows, error) {
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
			return SortedRows{}, b.err
		}
		for i := range b.lines {
			row, n, rerr := d.row(&b.lines[i])
			if limit > 0 && n > limit {
				return SortedRows{}, TooManyRows()
			}
			ok := rerr == nil
			if !ok {
				g.Errs = append(g.Errs, *rerr)
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
		return SortedRows{}, policy.Errorf(policy.EInvalid, "csv", "the CSV has a header but no rows").Keyed("csv.no_rows", nil)
	}
	d.text = textArena{} // the rows hold the serials; sortRows copies them in order
	if g.Collect && rows.n >= CollectBefore {
		// What reading left behind goes before the sort doubles the rows.
		CollectGarbage()
	}
	s := sortRows(rows.n, rows.at, func(i int) bool { return checked[i] }, &g.Errs)
	if g.Collect && rows.n >= CollectBefore {
		// The rows as read go before the plan and the writes add theirs.
		CollectGarbage()
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

// WithLines fills in the file line of each row of err (a rows error), from
// the rows' numbers.
func (d *CSVDecoder) WithLines(err error) error {
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
