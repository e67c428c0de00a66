package policy

import "slices"

// field is a bit set of an event's content fields (not Seq, Type, Corrects,
// By, KeyID, RecordedAt, which the registry or the type itself fixes).
type field uint32

const (
	fOn field = 1 << iota
	fAt
	fOrder
	fEvidence
	fNote
	fCenter
	fComplaint
	fContact
	fFinding
	fPart
	fAmount
	fCurrency
	fPaid
	fParts
	fNewSerial
	fTracking
	fReason
	fSKU
	fNewBatch
	fChannel
	fieldCount = iota
)

// fieldNames are the JSON names, in bit order.
var fieldNames = [fieldCount]string{"on", "at", "order", "evidence", "note", "center", "complaint", "contact",
	"finding", "part", "amount", "currency", "paid", "parts", "new_serial", "tracking", "reason", "sku", "new_batch", "channel"}

// fieldByName returns the bit of a JSON field name, 0 when unknown.
func fieldByName(name string) field {
	if i := slices.Index(fieldNames[:], name); i >= 0 {
		return 1 << i
	}
	return 0
}

// first returns the JSON name of the lowest bit of m.
func (m field) first() string {
	for i := range fieldCount {
		if m&(1<<i) != 0 {
			return fieldNames[i]
		}
	}
	return ""
}

// eventFields says which fields each type accepts and requires. `note` is
// accepted everywhere as a remark.
var eventFields = map[EventType]struct{ allowed, required field }{
	EvDispatched:        {fOn | fOrder | fChannel | fNote, fOn},
	EvReceived:          {fOn | fEvidence | fOrder | fNote, fOn | fEvidence},
	EvTransferred:       {fOn | fNote, fOn},
	EvIntake:            {fAt | fCenter | fComplaint | fContact | fNote, fAt | fCenter},
	EvDiagnosed:         {fAt | fFinding | fPart | fNote, fAt | fFinding},
	EvQuoted:            {fAt | fAmount | fCurrency | fNote, fAt | fAmount},
	EvPaid:              {fAt | fAmount | fCurrency | fNote, fAt | fAmount},
	EvDeclined:          {fAt | fAmount | fCurrency | fNote, fAt},
	EvRepaired:          {fAt | fPaid | fParts | fNote, fAt},
	EvReplaced:          {fAt | fNewSerial | fNote, fAt | fNewSerial},
	EvReturned:          {fAt | fAmount | fCurrency | fNote, fAt},
	EvPaused:            {fAt | fReason | fNote, fAt},
	EvResumed:           {fAt | fReason | fNote, fAt},
	EvShipped:           {fAt | fTracking | fNote, fAt},
	EvAccessoryReplaced: {fAt | fSKU | fNewBatch | fNote, fAt | fSKU | fNewBatch},
}

// correctable are the fields a correction may replace: a replacement's
// new serial is linked to another item and the reason of a correction is its
// own, so neither can be corrected.
const correctable = ^(fNewSerial | fReason)

// given reports the non-zero content fields of ev.
func given(ev *Event) field {
	var m field
	set := func(f field, ok bool) {
		if ok {
			m |= f
		}
	}
	set(fOn, !ev.On.IsZero())
	set(fAt, !ev.At.IsZero())
	set(fOrder, ev.Order != "")
	set(fEvidence, ev.Evidence != "")
	set(fNote, ev.Note != "")
	set(fCenter, ev.Center != "")
	set(fComplaint, ev.Complaint != "")
	set(fContact, ev.Contact != "")
	set(fFinding, ev.Finding != "")
	set(fPart, ev.Part != "")
	set(fAmount, ev.Amount != "")
	set(fCurrency, ev.Currency != "")
	set(fPaid, ev.Paid)
	set(fParts, len(ev.Parts) > 0)
	set(fNewSerial, ev.NewSerial != "")
	set(fTracking, ev.Tracking != "")
	set(fReason, ev.Reason != "")
	set(fSKU, ev.SKU != "")
	set(fNewBatch, ev.NewBatch != "")
	set(fChannel, ev.Channel != "")
	return m
}

// correctionFields is what correction c replaces: the fields it names, or
// else its non-zero content fields other than its own reason. Unknown
// names are ignored here (Validate refuses them).
func correctionFields(c *Event) field {
	if len(c.Fields) == 0 {
		return given(c) &^ fReason
	}
	var m field
	for _, name := range c.Fields {
		m |= fieldByName(name)
	}
	return m
}

// copyFields copies the fields in m from src to dst.
func copyFields(dst, src *Event, m field) {
	if m&fOn != 0 {
		dst.On = src.On
	}
	if m&fAt != 0 {
		dst.At = src.At
	}
	if m&fOrder != 0 {
		dst.Order = src.Order
	}
	if m&fEvidence != 0 {
		dst.Evidence = src.Evidence
	}
	if m&fNote != 0 {
		dst.Note = src.Note
	}
	if m&fCenter != 0 {
		dst.Center = src.Center
	}
	if m&fComplaint != 0 {
		dst.Complaint = src.Complaint
	}
	if m&fContact != 0 {
		dst.Contact = src.Contact
	}
	if m&fFinding != 0 {
		dst.Finding = src.Finding
	}
	if m&fPart != 0 {
		dst.Part = src.Part
	}
	if m&fAmount != 0 {
		dst.Amount = src.Amount
	}
	if m&fCurrency != 0 {
		dst.Currency = src.Currency
	}
	if m&fPaid != 0 {
		dst.Paid = src.Paid
	}
	if m&fParts != 0 {
		dst.Parts = src.Parts
	}
	if m&fNewSerial != 0 {
		dst.NewSerial = src.NewSerial
	}
	if m&fTracking != 0 {
		dst.Tracking = src.Tracking
	}
	if m&fReason != 0 {
		dst.Reason = src.Reason
	}
	if m&fSKU != 0 {
		dst.SKU = src.SKU
	}
	if m&fNewBatch != 0 {
		dst.NewBatch = src.NewBatch
	}
	if m&fChannel != 0 {
		dst.Channel = src.Channel
	}
}

// Effective returns history with corrections applied: a `corrected` event's
// fields (see Event.Fields) replace those of the earlier event whose Seq is
// its Corrects, later corrections winning; corrected events themselves are
// dropped, and so is a correction whose target is missing or is itself a
// correction. Without corrections history itself is returned: callers must
// not modify the result.
func Effective(history []Event) []Event {
	n := 0
	for i := range history {
		if history[i].Type == EvCorrected {
			n++
		}
	}
	if n == 0 {
		return history
	}
	out := make([]Event, 0, len(history)-n)
	for i := range history {
		ev := &history[i]
		if ev.Type != EvCorrected {
			out = append(out, *ev)
			continue
		}
		if t := findSeq(out, ev.Corrects); t >= 0 {
			copyFields(&out[t], ev, correctionFields(ev)&correctable)
		}
	}
	return out
}

// findSeq returns the index of the event with seq in evs, or -1.
func findSeq(evs []Event, seq uint64) int {
	if seq == 0 {
		return -1
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Seq == seq {
			return i
		}
	}
	return -1
}
