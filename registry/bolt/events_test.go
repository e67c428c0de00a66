package bolt

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

var desk = registry.Actor{KeyID: "deskkey00001", Name: "desk 1"}

func dispatch(on, order string) policy.Event {
	return policy.Event{Type: policy.EvDispatched, On: date(on), Order: order}
}

func receive(on string) policy.Event {
	return policy.Event{Type: policy.EvReceived, On: date(on), Evidence: policy.Courier}
}

func at(db *testDB, ago time.Duration) time.Time { return db.clock.Now().Add(-ago) }

func mustAppend(t testing.TB, db *testDB, serial string, ev policy.Event) registry.Appended {
	t.Helper()
	out, err := db.Append(registry.Write{Actor: desk}, serial, ev)
	if err != nil {
		t.Fatalf("Append(%s, %s): %v", serial, ev.Type, err)
	}
	return out.Appended[0]
}

// stored reads the raw item record, derived fields included.
func stored(t testing.TB, db *testDB, serial string) itemRec {
	t.Helper()
	var r itemRec
	must(t, db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		r, err = getItem(tx, serial)
		return err
	}))
	return r
}

func TestAppendRecordsWhoAndWhen(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1")
	ap := mustAppend(t, db, " S1\n", dispatch("2026-11-19", " O1 "))
	if ap.Serial != "S1" || ap.Event.Seq != 1 || ap.Event.By != "desk 1" || ap.Event.KeyID != desk.KeyID ||
		!ap.Event.RecordedAt.Equal(db.clock.Now()) || ap.Event.Order != "O1" {
		t.Fatalf("appended %+v", ap)
	}
	if len(ap.Record.History) != 1 || ap.Record.Item.Serial != "S1" {
		t.Fatalf("record after the event: %+v", ap.Record)
	}
	ap2 := mustAppend(t, db, "S1", receive("2026-11-20"))
	if ap2.Event.Seq != 2 || len(ap2.Record.History) != 2 {
		t.Fatalf("second event %+v", ap2)
	}
	rec, err := db.Get("S1")
	must(t, err)
	if len(rec.History) != 2 || rec.History[0].Type != policy.EvDispatched || rec.History[1].Seq != 2 {
		t.Fatalf("history %+v", rec.History)
	}
	r := stored(t, db, "S1")
	if r.State != policy.InUse || r.Order != "O1" || r.DispatchedOn != date("2026-11-19") || r.ReceivedOn != date("2026-11-20") || r.Evidence != policy.Courier || r.Seq != 2 {
		t.Fatalf("derived fields %+v", r)
	}
	entries, _, _ := db.Audit("", 0)
	last := entries[len(entries)-1]
	if last.Action != "event.received" || last.Target != "S1" || last.KeyID != desk.KeyID || last.Name != "desk 1" {
		t.Fatalf("audit %+v", last)
	}
}

func TestAppendManyIsAllOrNothing(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1", "S2", "S3")
	_, err := db.AppendMany(registry.Write{Actor: desk}, []registry.EventRow{
		{Serial: "S1", Event: dispatch("2026-11-18", "O1")},
		{Serial: "NOPE", Event: dispatch("2026-11-18", "O1")},
		{Serial: "S2", Event: receive("2026-11-18")},
		{Serial: "S2", Event: receive("2026-11-19")},
		{Serial: "S3", Event: policy.Event{Type: policy.EvDispatched}},
	})
	wantCode(t, err, policy.EInvalid, "nothing was written")
	var got []string
	for _, r := range rowErrors(t, err) {
		got = append(got, fmt.Sprintf("%d %s %s %s", r.Row, r.Serial, r.Code, r.Field))
	}
	want := []string{"2 NOPE not_found serial", "4 S2 conflict evidence", "5 S3 invalid_field on"}
	if !slices.Equal(got, want) {
		t.Fatalf("row errors %q; want %q", got, want)
	}
	for _, s := range []string{"S1", "S2", "S3"} {
		if rec, _ := db.Get(s); len(rec.History) != 0 {
			t.Fatalf("%s has events from a refused request", s)
		}
	}
	out, err := db.AppendMany(registry.Write{Actor: desk}, []registry.EventRow{
		{Serial: "S1", Event: dispatch("2026-11-18", "O1")},
		{Serial: "S1", Event: receive("2026-11-19")}, // sees the row before it
		{Serial: "S2", Event: dispatch("2026-11-18", "O1")},
	})
	must(t, err)
	if len(out.Appended) != 3 || out.Appended[1].Event.Seq != 2 || len(out.Appended[1].Record.History) != 2 {
		t.Fatalf("appended %+v", out.Appended)
	}
	_, err = db.AppendMany(registry.Write{Actor: desk}, nil)
	wantCode(t, err, policy.EInvalid, "no events")
}

func TestReceiveOrder(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1", "S2", "S3", "S4")
	register(t, db, "CHG", "C1", "C1")
	_, err := db.AppendMany(registry.Write{Actor: desk}, []registry.EventRow{
		{Serial: "S1", Event: dispatch("2026-11-15", "O1")},
		{Serial: "C1", Event: dispatch("2026-11-15", "O1")},
		{Serial: "S2", Event: dispatch("2026-11-15", "O2")},
		{Serial: "S3", Event: dispatch("2026-11-15", "O3")},
	})
	must(t, err)
	// A corrected dispatch moves the serial to the corrected order.
	mustAppend(t, db, "S3", policy.Event{Type: policy.EvCorrected, Corrects: 1, Order: "O1", Reason: "wrong order typed"})

	out, err := db.ReceiveOrder(registry.Write{Actor: desk}, "O1", date("2026-11-18"), policy.Courier)
	must(t, err)
	var serials []string
	for _, ap := range out.Appended {
		serials = append(serials, ap.Serial)
		if ap.Event.Type != policy.EvReceived || ap.Event.On != date("2026-11-18") || ap.Event.Evidence != policy.Courier {
			t.Fatalf("event %+v", ap.Event)
		}
	}
	if !slices.Equal(serials, []string{"C1", "S1", "S3"}) {
		t.Fatalf("received %v; want C1 S1 S3 (S3's dispatch was corrected to O1)", serials)
	}
	if rec, _ := db.Get("S2"); len(rec.History) != 1 {
		t.Fatal("S2 of another order was received")
	}
	_, err = db.ReceiveOrder(registry.Write{Actor: desk}, "O1", date("2026-11-18"), policy.Courier)
	wantCode(t, err, policy.EConflict, "already has a receipt")

	// Only the serials without a receipt get one.
	mustAppend(t, db, "S4", dispatch("2026-11-19", "O1"))
	out, err = db.ReceiveOrder(registry.Write{Actor: desk}, "O1", date("2026-11-20"), policy.Invoice)
	must(t, err)
	if len(out.Appended) != 1 || out.Appended[0].Serial != "S4" {
		t.Fatalf("second receipt of O1: %+v", out.Appended)
	}
	// A courier confirmation supersedes the weaker invoice of S4 only; the
	// invoice stays in the history.
	out, err = db.ReceiveOrder(registry.Write{Actor: desk}, "O1", date("2026-11-19"), policy.Courier)
	must(t, err)
	if len(out.Appended) != 1 || out.Appended[0].Serial != "S4" {
		t.Fatalf("courier receipt over an invoice: %+v", out.Appended)
	}
	if rec, _ := db.Get("S4"); len(rec.History) != 3 || rec.History[1].Evidence != policy.Invoice {
		t.Fatalf("S4 history %+v", rec.History)
	}
	if cv := db.Policy().Coverage(out.Appended[0].Record.Item, out.Appended[0].Record.History, date("2026-11-20")); cv.ReceivedOn != date("2026-11-19") || cv.Evidence != policy.Courier {
		t.Fatalf("S4 counts the receipt of %s by %s, want 2026-11-19 by courier", cv.ReceivedOn, cv.Evidence)
	}
	_, err = db.ReceiveOrder(registry.Write{Actor: desk}, "O1", date("2026-11-20"), policy.Invoice)
	wantCode(t, err, policy.EConflict, "already has a receipt")
	_, err = db.ReceiveOrder(registry.Write{Actor: desk}, "O9", date("2026-11-18"), policy.Courier)
	wantCode(t, err, policy.ENotFound, "O9")
	_, err = db.ReceiveOrder(registry.Write{Actor: desk}, "O 9", date("2026-11-18"), policy.Courier)
	wantCode(t, err, policy.EInvalid, "order")
	_, err = db.ReceiveOrder(registry.Write{Actor: desk}, "O2", policy.Date{}, policy.Courier)
	wantCode(t, err, policy.EInvalid, "on")
	_, err = db.ReceiveOrder(registry.Write{Actor: desk}, "O2", date("2026-11-18"), "pigeon")
	wantCode(t, err, policy.EInvalid, "evidence")
	// A receipt before the dispatch is refused for the whole order.
	_, err = db.ReceiveOrder(registry.Write{Actor: desk}, "O2", date("2026-11-10"), policy.Courier)
	wantCode(t, err, policy.EInvalid)
	if r := rowErrors(t, err); len(r) != 1 || r[0].Serial != "S2" || r[0].Field != "on" {
		t.Fatalf("rows %+v", r)
	}
}

func TestServiceCasesReplacementAndAccessoryExchange(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	_, err := db.Register(admin, []registry.Row{
		{Serial: "S1", SKU: "P1", Batch: "B1", Accessories: []registry.Bundle{{SKU: "CHG", Batch: "CB1"}}},
		{Serial: "S9", SKU: "P1", Batch: "B9"},
	})
	must(t, err)
	mustAppend(t, db, "S1", receive("2026-11-10"))
	intake := mustAppend(t, db, "S1", policy.Event{Type: policy.EvIntake, At: at(db, 5*time.Hour), Center: "Shenzhen"})
	cases, err := db.OpenCases()
	must(t, err)
	if len(cases) != 1 || cases[0].Item.Serial != "S1" || len(cases[0].History) != 2 {
		t.Fatalf("open cases %+v", cases)
	}
	if s, _ := db.Stats(); s.OpenCases != 1 {
		t.Fatalf("Stats.OpenCases = %d", s.OpenCases)
	}
	if r := stored(t, db, "S1"); r.OpenCase != intake.Event.Seq || r.State != policy.InService {
		t.Fatalf("derived %+v", r)
	}

	mustAppend(t, db, "S1", policy.Event{Type: policy.EvAccessoryReplaced, At: at(db, 4*time.Hour), SKU: "CHG", NewBatch: "CB2"})
	p, err := db.Batch("CB2", "", 0)
	must(t, err)
	if !slices.Equal(p.CarriedBy, []string{"S1"}) || p.Carriers != 1 {
		t.Fatalf("new accessory batch %+v", p)
	}
	if p, _ := db.Batch("CB1", "", 0); !slices.Equal(p.CarriedBy, []string{"S1"}) {
		t.Fatalf("the old accessory batch must still find S1 (recalls): %+v", p)
	}

	mustAppend(t, db, "S1", policy.Event{Type: policy.EvDiagnosed, At: at(db, 3*time.Hour), Finding: policy.QualityProblem})
	ap := mustAppend(t, db, "S1", policy.Event{Type: policy.EvReplaced, At: at(db, 2*time.Hour), NewSerial: "S9"})
	if ap.Record.Item.Serial != "S1" {
		t.Fatalf("record %+v", ap.Record.Item)
	}
	s9, err := db.Get("S9")
	must(t, err)
	if s9.Item.Replaces != "S1" || s9.Item.ExchangedOn != date("2026-11-20") || s9.Item.Exchanges != 1 {
		t.Fatalf("replacement item %+v", s9.Item)
	}
	if r := stored(t, db, "S1"); r.SupersededBy != "S9" || r.State != policy.Replaced || r.OpenCase != 0 {
		t.Fatalf("old item derived %+v", r)
	}
	if cases, _ := db.OpenCases(); len(cases) != 0 {
		t.Fatalf("open cases after replacement: %+v", cases)
	}
	if s, _ := db.Stats(); s.OpenCases != 0 {
		t.Fatalf("Stats.OpenCases = %d", s.OpenCases)
	}
	_, err = db.Append(registry.Write{Actor: desk}, "S1", receive("2026-11-20"))
	wantCode(t, err, policy.EConflict, "retired")
}

// answer is what a server would store: the JSON of the outcome.
func answer(o registry.Outcome) ([]byte, error) { return json.Marshal(o.Appended) }

func TestIdempotencyKeys(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1")
	w := registry.Write{Actor: desk, IdempotencyKey: "retry-1", RequestHash: sha256.Sum256([]byte("POST /x {repaired}")), Answer: answer}
	ev := policy.Event{Type: policy.EvTransferred, On: date("2026-11-19")}
	first, err := db.Append(w, "S1", ev)
	must(t, err)
	if first.Replay != nil || len(first.Appended) != 1 {
		t.Fatalf("first write %+v", first)
	}
	want, _ := answer(first)
	for i := range 2 {
		again, err := db.Append(w, "S1", ev)
		must(t, err)
		if string(again.Replay) != string(want) || again.Appended != nil {
			t.Fatalf("retry %d = %+v; want the stored answer and nothing appended", i, again)
		}
		if i == 0 {
			db = db.reopen(t) // keys survive a restart
		}
	}
	if rec, _ := db.Get("S1"); len(rec.History) != 1 {
		t.Fatalf("history after retries: %d events; want 1", len(rec.History))
	}
	other := w
	other.RequestHash = sha256.Sum256([]byte("another body"))
	_, err = db.Append(other, "S1", ev)
	wantCode(t, err, policy.EConflict, "Idempotency-Key reused with a different request")
	// The key is shared by all event writes.
	_, err = db.AppendMany(other, []registry.EventRow{{Serial: "S1", Event: ev}})
	wantCode(t, err, policy.EConflict, "Idempotency-Key")

	// A refused write stores no key: the corrected retry runs.
	w2 := registry.Write{Actor: desk, IdempotencyKey: "retry-2", RequestHash: [32]byte{2}, Answer: answer}
	_, err = db.Append(w2, "S1", policy.Event{Type: policy.EvShipped, At: at(db, time.Minute)})
	wantCode(t, err, policy.EConflict)
	w2.RequestHash = [32]byte{3}
	if _, err := db.Append(w2, "S1", ev); err != nil {
		t.Fatalf("a key whose first use failed must be usable: %v", err)
	}

	// Keys are kept 24 hours, then pruned by later keyed writes.
	db.clock.Advance(registry.IdempotencyTTL + time.Hour)
	_, err = db.Append(registry.Write{Actor: desk, IdempotencyKey: "later", RequestHash: [32]byte{9}, Answer: answer}, "S1", ev)
	must(t, err)
	n := 0
	must(t, db.bolt.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketIdempotency).Stats().KeyN
		if m := tx.Bucket(bucketIdemTime).Stats().KeyN; m != n {
			return fmt.Errorf("idempotency buckets out of step: %d keys, %d times", n, m)
		}
		return nil
	}))
	if n != 1 {
		t.Fatalf("%d keys kept; want only the fresh one", n)
	}
	again, err := db.Append(w, "S1", ev)
	must(t, err)
	if again.Replay != nil {
		t.Fatal("an expired key replayed")
	}

	for _, bad := range []string{"has space", string(make([]byte, 300))} {
		_, err := db.Append(registry.Write{Actor: desk, IdempotencyKey: bad, Answer: answer}, "S1", ev)
		wantCode(t, err, policy.EInvalid, "Idempotency-Key")
	}
	if _, err := db.Append(registry.Write{Actor: desk, IdempotencyKey: "k"}, "S1", ev); err == nil {
		t.Fatal("a key without Answer must be refused")
	}
}

func TestScansAreBufferedAndFlushed(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1", "S2")
	t0 := db.clock.Now()
	db.Scan("S1", t0.Add(time.Minute))
	db.Scan("S1", t0)
	db.Scan("NOPE", t0) // never registered: dropped at flush
	rec, _ := db.Get("S1")
	if rec.Scans.Count != 2 || !rec.Scans.First.Equal(t0) || !rec.Scans.Last.Equal(t0.Add(time.Minute)) {
		t.Fatalf("buffered scans %+v", rec.Scans)
	}
	if st, _ := storedScansOf(db, "S1"); st.Count != 0 {
		t.Fatal("a view was written to disk at once")
	}
	must(t, db.scans.Flush())
	if st, _ := storedScansOf(db, "S1"); st.Count != 2 {
		t.Fatalf("stored after flush %+v", st)
	}
	db.Scan("S1", t0.Add(2*time.Minute))
	rec, _ = db.Get("S1")
	if rec.Scans.Count != 3 || !rec.Scans.First.Equal(t0) {
		t.Fatalf("stored + buffered %+v", rec.Scans)
	}
	db = db.reopen(t) // Close flushes
	rec, _ = db.Get("S1")
	if rec.Scans.Count != 3 || !rec.Scans.Last.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("after restart %+v", rec.Scans)
	}
	if st, _ := storedScansOf(db, "NOPE"); st.Count != 0 {
		t.Fatal("scans of an unknown serial were stored")
	}
}

// storedScansOf reads serial's counts from the scans bucket itself,
// whatever its item's Scanned says.
func storedScansOf(db *testDB, serial string) (registry.Scans, error) {
	var s registry.Scans
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		s, err = decodeScans(tx.Bucket(bucketScans).Get([]byte(serial)))
		return err
	})
	return s, err
}

// scannedFlag reads the Scanned flag of serial's stored item.
func scannedFlag(t *testing.T, db *testDB, serial string) bool {
	t.Helper()
	var r itemRec
	must(t, db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		r, err = getItem(tx, serial)
		return err
	}))
	return r.Scanned
}

// TestOnlyScannedItemsReadTheScansBucket: the first flushed count of an
// item marks it, so lookups of the others skip the bucket; a file of
// schema 1, whose items carry no mark, is migrated to mark those with
// stored counts, which lookups then still show.
func TestOnlyScannedItemsReadTheScansBucket(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1", "S2", "S3")
	// S3's record is damaged: its counts are kept, unmarked, and neither a
	// flush nor the migration stops at it.
	must(t, db.bolt.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketItems).Put([]byte("S3"), []byte{itemV1, 0}) }))
	t0 := db.clock.Now()
	db.Scan("S3", t0)
	db.Scan("S1", t0)
	if scannedFlag(t, db, "S1") {
		t.Fatal("marked before its count was flushed")
	}
	must(t, db.scans.Flush())
	if !scannedFlag(t, db, "S1") || scannedFlag(t, db, "S2") {
		t.Fatalf("after flush S1 marked %v, S2 marked %v; want true, false", scannedFlag(t, db, "S1"), scannedFlag(t, db, "S2"))
	}
	if st, _ := storedScansOf(db, "S3"); st.Count != 1 {
		t.Fatalf("the damaged item's stored counts %+v; want 1", st)
	}
	db.Scan("S1", t0.Add(time.Minute))
	db.Scan("S3", t0.Add(time.Minute))
	must(t, db.scans.Flush()) // a second flush of a marked item
	if rec, _ := db.Get("S1"); rec.Scans.Count != 2 {
		t.Fatalf("S1 scans %+v; want 2", rec.Scans)
	}

	// A schema-1 file: counts stored, no marks.
	must(t, db.bolt.Update(func(tx *bbolt.Tx) error {
		r, err := getItem(tx, "S1")
		if err != nil {
			return err
		}
		r.Scanned = false
		return putItem(tx, &r)
	}))
	if rec, _ := db.Get("S1"); rec.Scans.Count != 0 {
		t.Fatalf("an unmarked item showed stored counts %+v: the mark is not what lookups go by", rec.Scans)
	}
	path := db.Path()
	must(t, db.DB.Close())
	setSchema(t, path, 1)
	m, err := Open(path, Options{Options: registry.Options{Now: db.clock.Now}})
	must(t, err)
	defer m.Close()
	rec, err := m.Get("S1")
	must(t, err)
	if rec.Scans.Count != 2 || !rec.Scans.First.Equal(t0) {
		t.Fatalf("after migration S1 scans %+v; want 2 from %v", rec.Scans, t0)
	}
	if rec, _ := m.Get("S2"); rec.Scans.Count != 0 {
		t.Fatalf("after migration S2 scans %+v; want none", rec.Scans)
	}
	if _, err := m.Get("S3"); err == nil || !strings.Contains(err.Error(), "damaged record") {
		t.Fatalf("after migration the damaged S3: %v; want its damaged-record error", err)
	}
	must(t, m.Check())
}

// TestConcurrentWritersAndReaders runs single appends from 32 goroutines
// (grouped commits), some refused, with readers and scans alongside.
func TestConcurrentWritersAndReaders(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	const writers, each, shared = 32, 10, 3
	var serials []string
	for i := range writers {
		serials = append(serials, fmt.Sprintf("W%02d", i))
	}
	register(t, db, "P1", "B1", append(serials, "SHARED")...)
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*2)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ev := policy.Event{Type: policy.EvTransferred, On: date("2026-11-19"), Note: fmt.Sprint(i)}
				if _, err := db.Append(registry.Write{Actor: desk}, serials[w], ev); err != nil {
					errs <- err
				}
				if i < shared {
					if _, err := db.Append(registry.Write{Actor: desk}, "SHARED", ev); err != nil {
						errs <- err
					}
				}
				// Refused in the middle of a group: must not disturb the others.
				if _, err := db.Append(registry.Write{Actor: desk}, serials[w], policy.Event{Type: policy.EvShipped, At: at(db, time.Minute)}); policy.ErrorCode(err) != policy.EConflict {
					errs <- fmt.Errorf("refused append: %v", err)
				}
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for r := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				rec, err := db.Get(serials[r])
				if err != nil {
					errs <- err
					return
				}
				for i, ev := range rec.History {
					if ev.Seq != uint64(i+1) {
						errs <- fmt.Errorf("reader saw seq %d at %d", ev.Seq, i)
						return
					}
				}
				db.Scan(serials[r], db.clock.Now())
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, s := range serials {
		if rec, _ := db.Get(s); len(rec.History) != each {
			t.Fatalf("%s has %d events; want %d", s, len(rec.History), each)
		}
	}
	rec, _ := db.Get("SHARED")
	if len(rec.History) != writers*shared {
		t.Fatalf("SHARED has %d events; want %d", len(rec.History), writers*shared)
	}
	for i, ev := range rec.History {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("SHARED seq %d at position %d", ev.Seq, i)
		}
	}
}
