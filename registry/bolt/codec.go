package bolt

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// Value versions. A reader refuses a version it does not know instead of
// misreading it.
const (
	itemV1  = 1 // binary, see itemRec.append
	jsonV1  = 1 // version byte + JSON (models, keys, audit; events before eventV2)
	scansV1 = 1
	idemV1  = 1
)

// itemRec is the stored item: the terms fixed at registration plus fields
// derived from the history (kept for indexing; the history is the truth).
// Items are encoded in binary: registration writes millions of them.
type itemRec struct {
	policy.Item
	State        policy.State
	DispatchedOn policy.Date
	Order        string
	ReceivedOn   policy.Date
	Evidence     policy.Evidence
	SupersededBy string
	Seq          uint64 // seq of the last event
	OpenCase     uint64 // id of the open service case, 0 when none
	// Scanned is set once the scans bucket holds counts for the item, so
	// that a lookup of an item never viewed (most of a big registry) skips
	// that bucket.
	Scanned bool
}

// Sections of an item record present after the registration terms, so a
// freshly registered item (the bulk of a big file) stays small.
const (
	itemHasExchange = 1 << iota // Replaces, ExchangedOn, Exchanges
	itemHasDerived              // fields derived from a history
	itemScanned                 // no fields: Scanned
)

// Words that fill most enumerated fields, stored as one byte (their index
// + 1); anything else is stored as 0xff and the string, so a new kind or
// state never needs a new record version.
var enumWords = []string{
	string(policy.KindProduct), string(policy.KindAccessory), string(policy.KindAdapter),
	string(policy.Registered), string(policy.Dispatched), string(policy.InUse), string(policy.InService),
	string(policy.Replaced), string(policy.Returned),
	string(policy.Courier), string(policy.Invoice), string(policy.Customer),
}

const enumOther = 0xff

// append encodes r (its serial is the key):
//
//	version, sections (itemScanned has no fields),
//	sku, kind, months, batch, produced_on, [accessory: sku, batch, name, kind, months]..., registered_at,
//	[replaces, exchanged_on, exchanges]                                   if itemHasExchange
//	[state, dispatched_on, order, received_on, evidence, superseded_by, seq, open_case] if itemHasDerived
func (r *itemRec) append(b []byte) []byte {
	var sections byte
	if r.Replaces != "" || !r.ExchangedOn.IsZero() || r.Exchanges != 0 {
		sections |= itemHasExchange
	}
	if (r.State != "" && r.State != policy.Registered) || !r.DispatchedOn.IsZero() || r.Order != "" || !r.ReceivedOn.IsZero() ||
		r.Evidence != "" || r.SupersededBy != "" || r.Seq != 0 || r.OpenCase != 0 {
		sections |= itemHasDerived
	}
	if r.Scanned {
		sections |= itemScanned
	}
	b = append(b, itemV1, sections)
	b = appendStr(b, r.SKU)
	b = appendEnum(b, string(r.Kind))
	b = binary.AppendUvarint(b, uint64(r.WarrantyMonths))
	b = appendStr(b, r.Batch)
	b = appendDate(b, r.ProducedOn)
	b = binary.AppendUvarint(b, uint64(len(r.Accessories)))
	for _, a := range r.Accessories {
		b = appendStr(b, a.SKU)
		b = appendStr(b, a.Batch)
		b = appendStr(b, a.Name)
		b = appendEnum(b, string(a.Kind))
		b = binary.AppendUvarint(b, uint64(a.WarrantyMonths))
	}
	b = appendTime(b, r.RegisteredAt)
	if sections&itemHasExchange != 0 {
		b = appendStr(b, r.Replaces)
		b = appendDate(b, r.ExchangedOn)
		b = binary.AppendUvarint(b, uint64(r.Exchanges))
	}
	if sections&itemHasDerived != 0 {
		b = appendEnum(b, string(r.State))
		b = appendDate(b, r.DispatchedOn)
		b = appendStr(b, r.Order)
		b = appendDate(b, r.ReceivedOn)
		b = appendEnum(b, string(r.Evidence))
		b = appendStr(b, r.SupersededBy)
		b = binary.AppendUvarint(b, r.Seq)
		b = binary.AppendUvarint(b, r.OpenCase)
	}
	return b
}

// decodeItem reads a stored item; serial is its key. Its strings share one
// copy of v, so the result outlives the transaction.
func decodeItem(serial string, v []byte) (itemRec, error) {
	if len(v) < 2 || v[0] != itemV1 {
		return itemRec{}, fmt.Errorf("item %s: unknown record version", serial)
	}
	sections := v[1]
	d := decoder{b: v[2:], whole: string(v)}
	var r itemRec
	r.Serial = serial
	r.SKU = d.str()
	r.Kind = policy.Kind(d.enum())
	r.WarrantyMonths = int(d.uvarint())
	r.Batch = d.str()
	r.ProducedOn = d.date()
	if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
		r.Accessories = make([]policy.Accessory, n)
		for i := range r.Accessories {
			a := &r.Accessories[i]
			a.SKU = d.str()
			a.Batch = d.str()
			a.Name = d.str()
			a.Kind = policy.Kind(d.enum())
			a.WarrantyMonths = int(d.uvarint())
		}
	} else if n > 0 {
		d.err = errShort
	}
	r.RegisteredAt = d.time()
	if sections&itemHasExchange != 0 {
		r.Replaces = d.str()
		r.ExchangedOn = d.date()
		r.Exchanges = int(d.uvarint())
	}
	r.State = policy.Registered
	r.Scanned = sections&itemScanned != 0
	if sections&itemHasDerived != 0 {
		r.State = policy.State(d.enum())
		r.DispatchedOn = d.date()
		r.Order = d.str()
		r.ReceivedOn = d.date()
		r.Evidence = policy.Evidence(d.enum())
		r.SupersededBy = d.str()
		r.Seq = d.uvarint()
		r.OpenCase = d.uvarint()
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return itemRec{}, fmt.Errorf("item %s: damaged record: %w", serial, d.err)
	}
	return r, nil
}

func appendEnum(b []byte, s string) []byte {
	if s == "" {
		return append(b, 0)
	}
	for i, w := range enumWords {
		if s == w {
			return append(b, byte(i+1))
		}
	}
	return appendStr(append(b, enumOther), s)
}

func (d *decoder) enum() string {
	if d.err != nil {
		return ""
	}
	if len(d.b) == 0 {
		d.err = errShort
		return ""
	}
	c := d.b[0]
	d.b = d.b[1:]
	switch {
	case c == 0:
		return ""
	case c == enumOther:
		return d.str()
	case int(c) <= len(enumWords):
		return enumWords[c-1]
	}
	d.err = fmt.Errorf("unknown word %d", c)
	return ""
}

var errShort = errors.New("record too short")

func errUnknownVersion(what string) error { return fmt.Errorf("%s: unknown record version", what) }

type decoder struct {
	b   []byte
	err error
	// whole, when set, is the record b is the rest of, as one string: str
	// returns pieces of it rather than a copy each (one allocation per
	// record instead of one per field).
	whole string
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errShort
		return ""
	}
	var s string
	if d.whole != "" {
		at := len(d.whole) - len(d.b)
		s = d.whole[at : at+int(n)]
	} else {
		s = string(d.b[:n])
	}
	d.b = d.b[n:]
	return s
}

func (d *decoder) date() policy.Date {
	v := d.uvarint()
	if v == 0 {
		return policy.Date{}
	}
	return policy.Date{Year: int(v / 10000), Month: time.Month(v / 100 % 100), Day: int(v % 100)}
}

func (d *decoder) time() time.Time {
	v := d.varint()
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendDate(b []byte, d policy.Date) []byte {
	if d.IsZero() {
		return append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(d.Year*10000+int(d.Month)*100+d.Day))
}

// appendTime keeps nanoseconds since 1970 (0 = the zero time).
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	return binary.AppendVarint(b, t.UnixNano())
}

// encodeJSON is version byte + JSON, for values written one at a time.
func encodeJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte{jsonV1}, b...), nil
}

// decodeJSON reads a value written by encodeJSON (json.Unmarshal copies).
func decodeJSON(what string, b []byte, v any) error {
	if len(b) == 0 || b[0] != jsonV1 {
		return fmt.Errorf("%s: unknown record version", what)
	}
	if err := json.Unmarshal(b[1:], v); err != nil {
		return fmt.Errorf("%s: damaged record: %w", what, err)
	}
	return nil
}

// compositeKey is a ‖ 0x00 ‖ b; identifiers never contain 0x00, so keys of
// one a sort together and a prefix scan finds them.
func compositeKey(a string, b []byte) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

func prefix(a string) []byte { return compositeKey(a, nil) }

func eventKey(serial string, seq uint64) []byte {
	return compositeKey(serial, binary.BigEndian.AppendUint64(nil, seq))
}
