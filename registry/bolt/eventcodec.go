package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// eventV2 is the binary event (appendEvent). Events written before it are
// jsonV1 (version byte + JSON) and stay readable: decodeEvent reads both.
// Every item view decodes the whole history, where JSON cost microseconds
// per event.
const eventV2 = 2

// Fields of an event, numbered by their bit in the record's field mask and
// written in this order when present. The numbers are part of the format:
// a new field takes the next one.
const (
	evSeq = iota
	evType
	evOn
	evAt
	evOrder
	evEvidence
	evNote
	evCenter
	evComplaint
	evContact
	evFinding
	evPart
	evAmount
	evCurrency
	evPaid
	evParts
	evNewSerial
	evTracking
	evReason
	evSKU
	evNewBatch
	evCorrects
	evFields
	evBy
	evKeyID
	evRecordedAt
	evChannel
	evFieldCount
)

// appendEvent encodes ev: eventV2, a uvarint mask of the fields that are
// not zero, then each of them in field order: strings and lists as
// uvarint-length text, numbers as uvarints, a date as appendDate, an instant
// as varint Unix seconds, uvarint nanoseconds and the varint zone offset in
// seconds (so it reads back as JSON gave it back). Paid is its bit alone.
func appendEvent(b []byte, ev *policy.Event) []byte {
	var mask uint64
	for f := range evFieldCount {
		if !eventFieldZero(ev, f) {
			mask |= 1 << f
		}
	}
	b = append(b, eventV2)
	b = binary.AppendUvarint(b, mask)
	for f := range evFieldCount {
		if mask&(1<<f) == 0 {
			continue
		}
		switch f {
		case evSeq:
			b = binary.AppendUvarint(b, ev.Seq)
		case evOn:
			b = appendDate(b, ev.On)
		case evAt:
			b = appendInstant(b, ev.At)
		case evPaid:
		case evParts:
			b = appendStrs(b, ev.Parts)
		case evCorrects:
			b = binary.AppendUvarint(b, ev.Corrects)
		case evFields:
			b = appendStrs(b, ev.Fields)
		case evRecordedAt:
			b = appendInstant(b, ev.RecordedAt)
		default:
			b = appendStr(b, *eventString(ev, f))
		}
	}
	return b
}

func eventFieldZero(ev *policy.Event, f int) bool {
	switch f {
	case evSeq:
		return ev.Seq == 0
	case evOn:
		return ev.On.IsZero()
	case evAt:
		return ev.At.IsZero()
	case evPaid:
		return !ev.Paid
	case evParts:
		return len(ev.Parts) == 0
	case evCorrects:
		return ev.Corrects == 0
	case evFields:
		return len(ev.Fields) == 0
	case evRecordedAt:
		return ev.RecordedAt.IsZero()
	}
	return *eventString(ev, f) == ""
}

// eventString is ev's text field f.
func eventString(ev *policy.Event, f int) *string {
	switch f {
	case evType:
		return (*string)(&ev.Type)
	case evOrder:
		return &ev.Order
	case evEvidence:
		return (*string)(&ev.Evidence)
	case evNote:
		return &ev.Note
	case evCenter:
		return &ev.Center
	case evComplaint:
		return &ev.Complaint
	case evContact:
		return &ev.Contact
	case evFinding:
		return (*string)(&ev.Finding)
	case evPart:
		return &ev.Part
	case evAmount:
		return &ev.Amount
	case evCurrency:
		return &ev.Currency
	case evNewSerial:
		return &ev.NewSerial
	case evTracking:
		return &ev.Tracking
	case evReason:
		return &ev.Reason
	case evSKU:
		return &ev.SKU
	case evNewBatch:
		return &ev.NewBatch
	case evBy:
		return &ev.By
	case evKeyID:
		return &ev.KeyID
	case evChannel:
		return (*string)(&ev.Channel)
	}
	panic(fmt.Sprintf("registry: event field %d is not text", f))
}

// decodeEvent reads a stored event of either version. Its strings share
// one copy of v, so the result outlives the transaction.
func decodeEvent(serial string, v []byte) (policy.Event, error) {
	var ev policy.Event
	if len(v) == 0 || v[0] != eventV2 {
		err := decodeJSON("event of "+serial, v, &ev)
		return ev, err
	}
	d := decoder{b: v[1:], whole: string(v)}
	mask := d.uvarint()
	if mask>>evFieldCount != 0 && d.err == nil {
		d.err = fmt.Errorf("unknown fields %#x", mask>>evFieldCount<<evFieldCount)
	}
	for f := range evFieldCount {
		if mask&(1<<f) == 0 || d.err != nil {
			continue
		}
		switch f {
		case evSeq:
			ev.Seq = d.uvarint()
		case evOn:
			ev.On = d.date()
		case evAt:
			ev.At = d.instant()
		case evPaid:
			ev.Paid = true
		case evParts:
			ev.Parts = d.strs()
		case evCorrects:
			ev.Corrects = d.uvarint()
		case evFields:
			ev.Fields = d.strs()
		case evRecordedAt:
			ev.RecordedAt = d.instant()
		default:
			*eventString(&ev, f) = d.str()
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return policy.Event{}, fmt.Errorf("event of %s: damaged record: %w", serial, d.err)
	}
	return ev, nil
}

func appendStrs(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendStr(b, s)
	}
	return b
}

func (d *decoder) strs() []string {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) { // every string takes a byte at least
		d.err = errShort
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.str()
	}
	return ss
}

// appendInstant keeps t whole: seconds, nanoseconds and zone offset.
func appendInstant(b []byte, t time.Time) []byte {
	_, offset := t.Zone()
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	return binary.AppendVarint(b, int64(offset))
}

// instant reads appendInstant's encoding into the location time.Parse
// gives RFC 3339 text with that offset (what the JSON records read back
// as): UTC for offset 0, Local when Local has the offset at that instant,
// else an unnamed fixed zone.
func (d *decoder) instant() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	offset := d.varint()
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= 1e9 {
		d.err = errors.New("nanoseconds out of range")
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	if offset == 0 {
		return t.UTC()
	}
	if _, local := t.Zone(); int64(local) == offset {
		return t
	}
	return t.In(time.FixedZone("", int(offset)))
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}
