package bolt

import (
	"reflect"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"go.etcd.io/bbolt"
)

func TestEventRoundTripsEveryField(t *testing.T) {
	var ev policy.Event
	seed := 0
	fill(reflect.ValueOf(&ev).Elem(), &seed)
	b := appendEvent(nil, &ev)
	got, err := decodeEvent("S1", b)
	must(t, err)
	if !reflect.DeepEqual(got, ev) {
		t.Fatalf("round trip lost a field:\n got %+v\nwant %+v", got, ev)
	}
	for n := range len(b) - 1 { // every truncation is an error, never a panic
		if _, err := decodeEvent("S1", b[:n+1]); err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n+1, len(b))
		}
	}
	for name, bad := range map[string][]byte{
		"unknown version": {99, 1, 2},
		"unknown field":   {eventV2, 0x80, 0x80, 0x80, 0x40}, // bit 27
		"trailing bytes":  append(appendEvent(nil, &policy.Event{Seq: 1}), 0),
		"nanoseconds":     {eventV2, 1 << evAt, 2, 0xff, 0xff, 0xff, 0xff, 0x0f, 0},
	} {
		if _, err := decodeEvent("S1", bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The binary events read back exactly as the JSON ones did, instants in
// any zone included (the zone decides how a caller would print them).
func TestEventReadsBackAsItsJSONDid(t *testing.T) {
	cst := policy.Default().Location()
	nepal := time.FixedZone("NPT", 5*3600+45*60)
	at := time.Date(2026, 11, 5, 9, 30, 15, 123456789, cst)
	for name, ev := range map[string]policy.Event{
		"dated":      {Seq: 1, Type: policy.EvDispatched, On: date("2026-11-01"), Order: "O1", By: "dock", KeyID: "k1", RecordedAt: at.UTC()},
		"china":      {Seq: 2, Type: policy.EvIntake, At: at, Center: "SH-01", Complaint: "no power\n\"loud\" <fan> & ☃"},
		"odd offset": {Seq: 3, Type: policy.EvDiagnosed, At: at.In(nepal), Finding: policy.QualityProblem, Part: "fan"},
		"local":      {Seq: 4, Type: policy.EvShipped, At: at.Local(), Tracking: "SF1"},
		"before 1970": {Seq: 5, Type: policy.EvPaused, At: time.Date(1960, 1, 2, 3, 4, 5, 6, cst),
			RecordedAt: time.Date(1960, 1, 2, 3, 4, 5, 6, time.UTC)},
		"repair not paid": {Seq: 6, Type: policy.EvRepaired, At: at, Parts: []string{"battery", "fan"}},
		"correction": {Seq: 7, Type: policy.EvCorrected, Corrects: 6, Paid: true, Fields: []string{"paid"},
			Reason: "entered wrong", Amount: "120.50", Currency: "CNY"},
		"empty": {},
	} {
		j, err := encodeJSON(ev)
		must(t, err)
		var want policy.Event
		must(t, decodeJSON("event", j, &want))
		got, err := decodeEvent("S1", appendEvent(nil, &ev))
		must(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: binary reads back as\n %#v\nJSON as\n %#v", name, got, want)
		}
	}
}

// Histories written before the binary events keep reading, and new events
// append after them.
func TestJSONEventsOfOlderFilesStillRead(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1")
	mustAppend(t, db, "S1", dispatch("2026-11-19", "O1"))
	var old policy.Event
	must(t, db.bolt.Update(func(tx *bbolt.Tx) error { // rewrite event 1 as an older build stored it
		b := tx.Bucket(bucketEvents)
		var err error
		if old, err = decodeEvent("S1", b.Get(eventKey("S1", 1))); err != nil {
			return err
		}
		v, err := encodeJSON(old)
		if err != nil {
			return err
		}
		return b.Put(eventKey("S1", 1), v)
	}))
	mustAppend(t, db, "S1", receive("2026-11-20"))
	rec, err := db.Get("S1")
	must(t, err)
	if len(rec.History) != 2 || !reflect.DeepEqual(rec.History[0], old) || rec.History[1].Seq != 2 ||
		rec.History[1].Evidence != policy.Courier || rec.History[1].By != desk.Name {
		t.Fatalf("history %+v", rec.History)
	}
	raw := map[string]byte{}
	must(t, db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
			raw[string(k)] = v[0]
			return nil
		})
	}))
	if raw[string(eventKey("S1", 1))] != jsonV1 || raw[string(eventKey("S1", 2))] != eventV2 {
		t.Fatalf("versions on disk: %v", raw)
	}
}
