package policy

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var cst = Default().Location()

// day parses YYYY-MM-DD or panics; "" is the zero Date.
func day(s string) Date {
	if s == "" {
		return Date{}
	}
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// ts parses "YYYY-MM-DD HH:MM" in CST, or an RFC 3339 instant.
func ts(s string) time.Time {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", s, cst)
	if err != nil {
		panic(err)
	}
	return t
}

func product() Item {
	return Item{Serial: "S1", SKU: "M1", Kind: KindProduct, WarrantyMonths: 12, Batch: "B1",
		Accessories: []Accessory{
			{SKU: "CHG-1", Batch: "CB2411", Name: "Charger", Kind: KindAdapter, WarrantyMonths: 12},
			{SKU: "CBL-2", Batch: "CC2411", Name: "Cable", Kind: KindAccessory, WarrantyMonths: 6},
		}}
}

func standalone(kind Kind) Item {
	return Item{Serial: "A1", SKU: "CHG-1", Kind: kind, WarrantyMonths: 12, Batch: "CB2411"}
}

// seq numbers events 1..n in order (keeping any Seq already set).
func seq(evs ...Event) []Event {
	out := slices.Clone(evs)
	for i := range out {
		if out[i].Seq == 0 {
			out[i].Seq = uint64(i + 1)
		}
	}
	return out
}

func dispatched(on string) Event { return Event{Type: EvDispatched, On: day(on), Order: "O1"} }
func received(on string) Event   { return Event{Type: EvReceived, On: day(on), Evidence: Courier} }
func transferred(on string) Event {
	return Event{Type: EvTransferred, On: day(on), Note: "sold on"}
}
func intake(at string) Event { return Event{Type: EvIntake, At: ts(at), Center: "Shenzhen"} }
func diagnosed(at string, f Finding, part string) Event {
	return Event{Type: EvDiagnosed, At: ts(at), Finding: f, Part: part}
}
func repaired(at string, paid bool, parts ...string) Event {
	return Event{Type: EvRepaired, At: ts(at), Paid: paid, Parts: parts}
}
func shipped(at string) Event { return Event{Type: EvShipped, At: ts(at), Tracking: "SF1"} }
func quoted(at string) Event {
	return Event{Type: EvQuoted, At: ts(at), Amount: "120.50", Currency: "CNY"}
}
func paid(at string) Event     { return Event{Type: EvPaid, At: ts(at), Amount: "120.50", Currency: "CNY"} }
func declined(at string) Event { return Event{Type: EvDeclined, At: ts(at)} }
func paused(at string) Event {
	return Event{Type: EvPaused, At: ts(at), Reason: "waiting on the customer"}
}
func resumed(at string) Event { return Event{Type: EvResumed, At: ts(at)} }
func replacedBy(at, serial string) Event {
	return Event{Type: EvReplaced, At: ts(at), NewSerial: serial}
}
func returnedAt(at string) Event { return Event{Type: EvReturned, At: ts(at), Amount: "999"} }
func accReplaced(at, sku, batch string) Event {
	return Event{Type: EvAccessoryReplaced, At: ts(at), SKU: sku, NewBatch: batch}
}
func corrected(target uint64, ev Event) Event {
	ev.Type, ev.Corrects = EvCorrected, target
	if ev.Reason == "" {
		ev.Reason = "typo"
	}
	return ev
}

// freeCase is a whole free quality repair: intake, diagnosis, repair, shipping.
func freeCase(in, out string, parts ...string) []Event {
	return []Event{intake(in + " 10:00"), diagnosed(in+" 11:00", QualityProblem, ""), repaired(out+" 09:00", false, parts...), shipped(out + " 10:00")}
}

func concat(parts ...[]Event) []Event { return seq(slices.Concat(parts...)...) }

func remedies(rs []Remedy) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// wantCode checks that err is an *Error with code and field.
func wantCode(t *testing.T, err error, code, field string) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("err = %v (%T), want *Error %s field %q", err, err, code, field)
	}
	if e.Code != code || e.Field != field {
		t.Fatalf("err = %s field %q (%q), want %s field %q", e.Code, e.Field, e.Message, code, field)
	}
	if e.Message == "" {
		t.Fatalf("err %s has no message", code)
	}
}
