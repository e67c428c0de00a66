package postgres

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// getSQL is Get's one statement (one snapshot): the item's terms, its
// history and its stored scan counts (kept on the item's row since schema
// 0006, so a lookup scans one index of items, not a second of scans). Only what a Record holds: the
// derived columns (state, dispatch, case…) are the writers' and the
// listings' business, and 14 columns instead of 23 keep pgconn within its
// preallocated 16 field descriptions, so a lookup allocates less and
// PostgreSQL sends less. The serial is the argument (the primary key
// matches it exactly), so it is not read back.
//
// The history is an array of the events in seq order, not json_agg:
// PostgreSQL sets up a subquery's plan on every execution even when the
// CASE skips it (an item without events), and an aggregate over a bitmap
// scan and a sort cost a lookup about a quarter of PostgreSQL's time; an
// ARRAY over an index scan of events_pkey, both of its columns bounded
// (seq <= i.seq holds for every event of the snapshot), costs a fraction.
const getSQL = `SELECT i.sku, i.kind, i.warranty_months, i.batch, i.produced_on, i.accessories, i.registered_at,
	i.replaces, i.exchanged_on, i.exchanges,
	CASE WHEN i.seq = 0 THEN NULL ELSE
		ARRAY(SELECT e.event FROM events e WHERE e.serial = i.serial AND e.seq <= i.seq ORDER BY e.seq) END,
	i.scan_count, i.scan_first, i.scan_last
	FROM items i WHERE i.serial = $1`

// getColumns is how many columns getSQL returns.
const getColumns = 14

// binaryResults has PostgreSQL send every column of getSQL in its binary
// form, which decodeRecord reads without pgx's per-column scan plans.
// Held as an interface so that passing it allocates nothing.
var binaryResults any = pgx.QueryResultFormats{pgx.BinaryFormatCode}

// decodeRecord reads a row of getSQL (binary format) into a Record.
func decodeRecord(serial string, v [][]byte) (registry.Record, error) {
	if len(v) != getColumns {
		return registry.Record{}, fmt.Errorf("record of %s: %d columns, want %d", serial, len(v), getColumns)
	}
	var d binDecoder
	it := policy.Item{Serial: serial}
	it.SKU = d.text(v[0])
	it.Kind = policy.Kind(d.text(v[1]))
	it.WarrantyMonths = int(d.int4(v[2]))
	it.Batch = d.text(v[3])
	it.ProducedOn = d.date(v[4])
	acc := d.jsonb(v[5])
	it.RegisteredAt = d.timestamptz(v[6])
	it.Replaces = d.text(v[7])
	it.ExchangedOn = d.date(v[8])
	it.Exchanges = int(d.int4(v[9]))
	hist := v[10] // jsonb[], NULL when the item has no event
	var scans registry.Scans
	if n := d.int8(v[11]); n > 0 { // 0: never viewed, as an item without a row in the old scans table
		scans = registry.Scans{Count: uint64(n), First: d.timestamptz(v[12]), Last: d.timestamptz(v[13])}
	}
	if d.err != nil {
		return registry.Record{}, fmt.Errorf("record of %s: %w", serial, d.err)
	}
	// The JSON is decoded into variables of its own so that only they,
	// and only when there is something to decode, go to the heap, not the
	// whole record.
	if len(acc) > 0 {
		var a []policy.Accessory
		if err := json.Unmarshal(acc, &a); err != nil {
			return registry.Record{}, fmt.Errorf("accessories of %s: %w", serial, err)
		}
		it.Accessories = a
	}
	rec := registry.Record{Item: it, Scans: scans}
	if hist != nil { // most items of a large registry have no event
		h, err := decodeEvents(hist)
		if err != nil {
			return registry.Record{}, fmt.Errorf("history of %s: %w", serial, err)
		}
		if len(h) > 0 {
			rec.History = h
		}
	}
	return rec, nil
}

// decodeEvents reads a one-dimensional jsonb[] in binary form: the
// number of dimensions, a has-NULLs flag, the element type, then per
// dimension its length and lower bound, then each element as a length and
// a binary jsonb.
func decodeEvents(b []byte) ([]policy.Event, error) {
	bad := func(what string) ([]policy.Event, error) {
		return nil, fmt.Errorf("malformed jsonb[] (%s, %d bytes)", what, len(b))
	}
	if len(b) < 12 {
		return bad("header")
	}
	ndim := binary.BigEndian.Uint32(b)
	if ndim == 0 {
		return nil, nil
	}
	if ndim != 1 || len(b) < 20 {
		return bad("dimensions")
	}
	n := int(int32(binary.BigEndian.Uint32(b[12:])))
	if n < 0 || n > len(b) {
		return bad("length")
	}
	b = b[20:]
	hist := make([]policy.Event, n)
	var d binDecoder
	for i := range hist {
		if len(b) < 4 {
			return bad("element")
		}
		size := int(int32(binary.BigEndian.Uint32(b)))
		if size < 0 || size > len(b)-4 {
			return bad("element length")
		}
		ev := d.jsonb(b[4 : 4+size])
		if d.err != nil {
			return nil, d.err
		}
		if err := json.Unmarshal(ev, &hist[i]); err != nil {
			return nil, err
		}
		b = b[4+size:]
	}
	return hist, nil
}

// binDecoder reads PostgreSQL's binary forms, NULL (nil) as the zero
// value, and keeps the first malformed value's error.
type binDecoder struct{ err error }

// pgEpoch is day 0 and instant 0 of PostgreSQL's binary dates and times.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const pgEpochUnix = 946684800 // pgEpoch in Unix seconds

func (d *binDecoder) fail(what string, b []byte) {
	if d.err == nil {
		d.err = fmt.Errorf("malformed %s value (%d bytes)", what, len(b))
	}
}

func (d *binDecoder) text(b []byte) string { return string(b) }

func (d *binDecoder) int4(b []byte) int32 {
	if b == nil {
		return 0
	}
	if len(b) != 4 {
		d.fail("int4", b)
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

func (d *binDecoder) int8(b []byte) int64 {
	if b == nil {
		return 0
	}
	if len(b) != 8 {
		d.fail("int8", b)
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

func (d *binDecoder) date(b []byte) policy.Date {
	if b == nil {
		return policy.Date{}
	}
	days := d.int4(b)
	if days == math.MaxInt32 || days == math.MinInt32 { // ±infinity: never written
		d.fail("date", b)
		return policy.Date{}
	}
	t := pgEpoch.AddDate(0, 0, int(days))
	return policy.Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}
}

func (d *binDecoder) timestamptz(b []byte) time.Time {
	if b == nil {
		return time.Time{}
	}
	us := d.int8(b)
	if us == math.MaxInt64 || us == math.MinInt64 { // ±infinity: never written
		d.fail("timestamptz", b)
		return time.Time{}
	}
	sec, frac := us/1e6, us%1e6
	if frac < 0 {
		sec, frac = sec-1, frac+1e6
	}
	return time.Unix(pgEpochUnix+sec, frac*1e3).UTC()
}

// jsonb returns the JSON text of a binary jsonb (a version byte, 1, then
// the text), nil for NULL.
func (d *binDecoder) jsonb(b []byte) []byte {
	if b == nil {
		return nil
	}
	if len(b) == 0 || b[0] != 1 {
		d.fail("jsonb", b)
		return nil
	}
	return b[1:]
}
