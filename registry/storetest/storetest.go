// Package storetest is the conformance suite every registry.Store passes:
// the behaviour the server relies on, the same on the bbolt file and on
// PostgreSQL. A store's test calls Run and RunConcurrency with a Harness
// that opens fresh, empty stores.
package storetest

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// Harness opens the stores of the suite.
type Harness struct {
	// Open opens a new, empty store with o (Now is the test's clock). The
	// harness closes it when the test ends.
	Open func(t *testing.T, o registry.Options) registry.Store
	// Reopen closes s and opens the same data again with o.
	Reopen func(t *testing.T, s registry.Store, o registry.Options) registry.Store
}

// Clock is a settable test clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at 2026-11-20 10:00 UTC (18:00 in Beijing).
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var (
	admin = registry.Actor{KeyID: "adminkey0001", Name: "admin"}
	desk  = registry.Actor{KeyID: "deskkey00001", Name: "desk 1"}
)

// env is one subtest's store and clock.
type env struct {
	t     *testing.T
	h     Harness
	s     registry.Store
	clock *Clock
	o     registry.Options
}

func open(t *testing.T, h Harness, mod ...func(*registry.Options)) *env {
	t.Helper()
	c := NewClock()
	o := registry.Options{Now: c.Now}
	for _, m := range mod {
		m(&o)
	}
	return &env{t: t, h: h, s: h.Open(t, o), clock: c, o: o}
}

func (e *env) reopen() {
	e.t.Helper()
	e.s = e.h.Reopen(e.t, e.s, e.o)
}

func (e *env) seedModels() {
	e.t.Helper()
	for _, m := range []policy.Model{
		{SKU: "P1", Name: "Mask One", Kind: policy.KindProduct},
		{SKU: "P24", Name: "Mask Pro", Kind: policy.KindProduct, WarrantyMonths: 24},
		{SKU: "CHG", Name: "Charger", Kind: policy.KindAccessory},
		{SKU: "ADP", Name: "Adapter", Kind: policy.KindAdapter, WarrantyMonths: 6},
	} {
		if _, _, err := e.s.PutModel(admin, m); err != nil {
			e.t.Fatalf("PutModel(%s): %v", m.SKU, err)
		}
	}
}

func (e *env) register(sku, batch string, serials ...string) {
	e.t.Helper()
	rows := make([]registry.Row, len(serials))
	for i, s := range serials {
		rows[i] = registry.Row{Serial: s, SKU: sku, Batch: batch, ProducedOn: date("2026-10-01")}
	}
	if _, err := e.s.Register(admin, rows); err != nil {
		e.t.Fatalf("Register: %v", err)
	}
}

func (e *env) append(serial string, ev policy.Event) registry.Appended {
	e.t.Helper()
	out, err := e.s.Append(registry.Write{Actor: desk}, serial, ev)
	if err != nil {
		e.t.Fatalf("Append(%s, %s): %v", serial, ev.Type, err)
	}
	return out.Appended[0]
}

func (e *env) get(serial string) registry.Record {
	e.t.Helper()
	rec, err := e.s.Get(serial)
	if err != nil {
		e.t.Fatalf("Get(%s): %v", serial, err)
	}
	return rec
}

func (e *env) ago(d time.Duration) time.Time { return e.clock.Now().Add(-d) }

func (e *env) auditAll() []registry.AuditEntry {
	e.t.Helper()
	var all []registry.AuditEntry
	after := ""
	for {
		page, next, err := e.s.Audit(after, 3)
		if err != nil {
			e.t.Fatalf("Audit(%q): %v", after, err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		after = next
	}
}

func date(s string) policy.Date {
	d, err := policy.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func dispatch(on, order string) policy.Event {
	return policy.Event{Type: policy.EvDispatched, On: date(on), Order: order}
}

func receive(on string) policy.Event {
	return policy.Event{Type: policy.EvReceived, On: date(on), Evidence: policy.Courier}
}

// wantCode fails unless err carries code and mentions each of words.
func wantCode(t testing.TB, err error, code string, words ...string) {
	t.Helper()
	if got := policy.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q); want code %q", err, got, code)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not mention %q", err, w)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func rowErrors(t testing.TB, err error) []policy.RowError {
	t.Helper()
	var pe *policy.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *policy.Error", err)
	}
	return pe.Rows
}

// answer is what a server would store under an Idempotency-Key.
func answer(o registry.Outcome) ([]byte, error) { return json.Marshal(o.Appended) }

// Run runs the behaviour tests, each on a fresh store, in parallel.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"RegistrationIsAllOrNothing", testRegistrationIsAllOrNothing},
		{"RegistrationCopiesTermsAndAccessories", testRegistrationCopiesTerms},
		{"AppendRecordsWhoAndWhenAndDerives", testAppendRecordsWhoAndWhen},
		{"AppendRefusalsWriteNothing", testAppendRefusals},
		{"AppendManyIsAllOrNothing", testAppendManyIsAllOrNothing},
		{"CorrectionsAndOrderReceipts", testReceiveOrder},
		{"ServiceQueueReplacementAndAccessories", testServiceQueue},
		{"IdempotencyKeysAnswerOnce", testIdempotency},
		{"IdempotencyKeysAreTheCallers", testKeysAreTheCallers},
		{"KeysAuthenticateAndRevoke", testKeys},
		{"AuditCursorYieldsEachEntryOnce", testAudit},
		{"BatchPages", testBatchPages},
		{"ModelsCreateUpdateAndKeepTime", testModels},
		{"ScanCountsSurviveReopen", testScans},
		{"ItemViewIsTheItemItsModelAndItsNotices", testItemView},
		{"SecretIsKeptAndOverridden", testSecret},
		{"OrderListsItsSerials", testOrder},
		{"CSVAndCallerFoundBadRowsReportedTogether", testBadRows},
		{"CheckPassword", testCheckPassword},
		{"AModelKeepsEveryGTINItHasHad", testAModelKeepsEveryGTINItHasHad},
		{"CustomerConfirmsReceipt", testConfirmReceipt},
		{"UpdateUser", testUpdateUser},
		{"SessionsOutliveARestart", testSessionsOutliveARestart},
		{"SessionsPerOwnerAreCappedAtTwenty", testSessionsPerOwnerAreCappedAtTwenty},
		{"SessionsEndWithTheirOwner", testSessionsEndWithTheirOwner},
		{"MistakesAreDeletedWhileUnused", testDeletes},
		{"WebhookURLsAndEventsAreChecked", testCreateSubscriptionChecksURLAndEvents},
		{"WebhookSecretIsReturnedOnce", testSubscriptionSecretIsReturnedOnceAndNeverListed},
		{"EveryEventWriteQueuesItsDeliveries", testEveryEventWritePathQueuesOneDeliveryPerMatchingSubscription},
		{"ARefusedWriteQueuesNoDelivery", testARefusedWriteQueuesNothing},
		{"AClaimedDeliveryCarriesTheItemAsOfItsEvent", testAClaimedDeliveryCarriesTheItemAsItStoodAfterTheEvent},
		{"DeliveriesAreLeasedUntilRecorded", testClaimLeasesDeliveriesUntilTheAttemptIsRecorded},
		{"DeadDeliveriesAreRetried", testADeadDeliveryCanBeRetriedAndNothingElse},
		{"DeliveriesAreListedNewestFirst", testDeliveriesAreListedNewestFirstByPage},
		{"DeletingAWebhookDropsItsDeliveries", testDeletingASubscriptionDropsItsPendingDeliveries},
		{"NoticesAreSetChangedListedAndCleared", testNotices},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, h)
		})
	}
}

func testRegistrationIsAllOrNothing(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1")
	_, err := e.s.Register(admin, []registry.Row{
		{Serial: "N1", SKU: "P1", Batch: "B2"},
		{Serial: "N2", SKU: "NOPE", Batch: "B2"},
		{Serial: "N1", SKU: "P1", Batch: "B2"},
		{Serial: "S1", SKU: "P24", Batch: "B1"},
		{Serial: "N 3", SKU: "P1", Batch: "B2"},
	})
	wantCode(t, err, policy.EInvalid)
	rows := rowErrors(t, err)
	type re struct {
		row        int
		code, fld  string
		serialWord string
	}
	var got []re
	for _, r := range rows {
		got = append(got, re{r.Row, r.Code, r.Field, r.Serial})
	}
	want := []re{{2, policy.EInvalid, "sku", "N2"}, {3, policy.EInvalid, "serial", "N1"}, {4, policy.EConflict, "serial", "S1"}, {5, policy.EInvalid, "serial", "N 3"}}
	if !slices.Equal(got, want) {
		t.Fatalf("row errors %+v; want %+v", got, want)
	}
	if _, err := e.s.Get("N1"); policy.ErrorCode(err) != policy.ENotFound {
		t.Fatalf("a refused registration wrote N1: %v", err)
	}
	if st, _ := e.s.Stats(); st.Items != 1 || st.Models != 4 {
		t.Fatalf("stats %+v; want 1 item, 4 models", st)
	}
	res, err := e.s.Register(admin, []registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1", ProducedOn: date("2026-10-01")}, {Serial: "S2", SKU: "P1", Batch: "B1"}})
	must(t, err)
	if res != (registry.RegisterResult{Created: 1, Unchanged: 1}) {
		t.Fatalf("result %+v; want 1 created, 1 unchanged", res)
	}
	_, err = e.s.Register(admin, nil)
	wantCode(t, err, policy.EInvalid, "no rows")
	_, err = e.s.Register(admin, []registry.Row{{Serial: "F1", SKU: "P1", Batch: "B1", ProducedOn: date("2026-11-21")}})
	wantCode(t, err, policy.EInvalid)
	if r := rowErrors(t, err); len(r) != 1 || r[0].Field != "produced_on" {
		t.Fatalf("rows %+v", r)
	}
}

func testRegistrationCopiesTerms(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	_, err := e.s.Register(admin, []registry.Row{
		{Serial: " S1 ", SKU: "P24", Batch: "B1", ProducedOn: date("2026-10-01"), Accessories: []registry.Bundle{{SKU: "CHG", Batch: "CB1"}, {SKU: "ADP", Batch: "AB1"}}},
		{Serial: "C1", SKU: "CHG", Batch: "CB1"},
	})
	must(t, err)
	rec := e.get("S1")
	it := rec.Item
	if it.Serial != "S1" || it.Kind != policy.KindProduct || it.WarrantyMonths != 24 || it.Batch != "B1" || it.ProducedOn != date("2026-10-01") ||
		!it.RegisteredAt.Equal(e.clock.Now()) || len(rec.History) != 0 {
		t.Fatalf("item %+v", it)
	}
	wantAcc := []policy.Accessory{
		{SKU: "CHG", Batch: "CB1", Name: "Charger", Kind: policy.KindAccessory, WarrantyMonths: 12},
		{SKU: "ADP", Batch: "AB1", Name: "Adapter", Kind: policy.KindAdapter, WarrantyMonths: 6},
	}
	if !slices.Equal(it.Accessories, wantAcc) {
		t.Fatalf("accessories %+v; want %+v", it.Accessories, wantAcc)
	}
	if c := e.get("C1").Item; c.Kind != policy.KindAccessory || c.WarrantyMonths != 12 {
		t.Fatalf("accessory item %+v", c)
	}
	p, err := e.s.Batch("CB1", "", 0)
	must(t, err)
	if p.Count != 1 || p.Carriers != 1 || !slices.Equal(p.Serials, []string{"C1"}) || !slices.Equal(p.CarriedBy, []string{"S1"}) {
		t.Fatalf("batch CB1 %+v", p)
	}
	bs, err := e.s.Batches()
	must(t, err)
	want := []registry.BatchCount{{Batch: "AB1", Carriers: 1}, {Batch: "B1", Count: 1}, {Batch: "CB1", Count: 1, Carriers: 1}}
	if !slices.Equal(bs, want) {
		t.Fatalf("batches %+v; want %+v", bs, want)
	}
	_, err = e.s.Register(admin, []registry.Row{{Serial: "X1", SKU: "CHG", Batch: "B1", Accessories: []registry.Bundle{{SKU: "ADP", Batch: "AB1"}}}})
	if r := rowErrors(t, err); len(r) != 1 || r[0].Field != "accessories" {
		t.Fatalf("an accessory carrying an accessory: %+v", r)
	}
	_, err = e.s.Register(admin, []registry.Row{{Serial: "X2", SKU: "P1", Batch: "B1", Accessories: []registry.Bundle{{SKU: "P24", Batch: "AB1"}}}})
	if r := rowErrors(t, err); len(r) != 1 || r[0].Field != "accessories.sku" {
		t.Fatalf("a product bundled as an accessory: %+v", r)
	}
}

func testAppendRecordsWhoAndWhen(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1")
	e.clock.Advance(1500 * time.Nanosecond) // stored to the microsecond
	ap := e.append(" S1\n", dispatch("2026-11-19", " O1 "))
	if ap.Serial != "S1" || ap.Event.Seq != 1 || ap.Event.By != "desk 1" || ap.Event.KeyID != desk.KeyID ||
		!ap.Event.RecordedAt.Equal(time.Date(2026, 11, 20, 10, 0, 0, 1000, time.UTC)) || ap.Event.Order != "O1" {
		t.Fatalf("appended %+v", ap)
	}
	ap2 := e.append("S1", receive("2026-11-20"))
	if ap2.Event.Seq != 2 || len(ap2.Record.History) != 2 {
		t.Fatalf("second event %+v", ap2)
	}
	rec := e.get("S1")
	if len(rec.History) != 2 || rec.History[0].Type != policy.EvDispatched || rec.History[1].Seq != 2 ||
		!rec.History[0].RecordedAt.Equal(ap.Event.RecordedAt) || rec.History[1].Evidence != policy.Courier {
		t.Fatalf("history %+v", rec.History)
	}
	entries := e.auditAll()
	last := entries[len(entries)-1]
	if last.Action != "event.received" || last.Target != "S1" || last.KeyID != desk.KeyID || last.Name != "desk 1" {
		t.Fatalf("audit %+v", last)
	}
}

func testAppendRefusals(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1", "S2")
	e.append("S2", receive("2026-11-10"))
	e.append("S2", policy.Event{Type: policy.EvIntake, At: e.ago(2 * time.Hour), Center: "Shenzhen"})
	tests := []struct {
		name   string
		serial string
		ev     policy.Event
		code   string
		words  []string
	}{
		{"unknown serial is not found", "NOPE", receive("2026-11-10"), policy.ENotFound, []string{"NOPE"}},
		{"malformed serial is invalid", "S 1", receive("2026-11-10"), policy.EInvalid, []string{"serial"}},
		{"unknown type is invalid", "S1", policy.Event{Type: "exploded"}, policy.EInvalid, []string{"type"}},
		{"date in the future is invalid", "S1", receive("2026-11-21"), policy.EInvalid, []string{"future"}},
		{"second receipt is a conflict", "S2", receive("2026-11-12"), policy.EConflict, []string{"already received"}},
		{"service step without a case is a conflict", "S1", policy.Event{Type: policy.EvShipped, At: e.ago(time.Hour)}, policy.EConflict, []string{"no open service case"}},
		{"unregistered replacement is invalid", "S2", policy.Event{Type: policy.EvReplaced, At: e.ago(time.Hour), NewSerial: "S404"}, policy.EInvalid, []string{"new_serial"}},
	}
	before := len(e.auditAll())
	for _, tt := range tests {
		_, err := e.s.Append(registry.Write{Actor: desk}, tt.serial, tt.ev)
		wantCode(t, err, tt.code, tt.words...)
	}
	if after := len(e.auditAll()); after != before {
		t.Fatalf("refused events were audited: %d entries, %d before", after, before)
	}
	if rec := e.get("S1"); len(rec.History) != 0 {
		t.Fatalf("refused events were written: %+v", rec.History)
	}
}

func testAppendManyIsAllOrNothing(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1", "S2")
	_, err := e.s.AppendMany(registry.Write{Actor: desk}, []registry.EventRow{
		{Serial: "S1", Event: dispatch("2026-11-15", "O1")},
		{Serial: "S404", Event: dispatch("2026-11-15", "O1")},
		{Serial: "S2", Event: receive("2026-11-21")},
	})
	wantCode(t, err, policy.EInvalid)
	rows := rowErrors(t, err)
	if len(rows) != 2 || rows[0].Row != 2 || rows[0].Code != policy.ENotFound || rows[1].Row != 3 || rows[1].Field != "on" {
		t.Fatalf("rows %+v", rows)
	}
	if len(e.get("S1").History) != 0 {
		t.Fatal("a refused AppendMany wrote S1's event")
	}
	out, err := e.s.AppendMany(registry.Write{Actor: desk}, []registry.EventRow{
		{Serial: "S1", Event: dispatch("2026-11-15", "O1")},
		{Serial: "S1", Event: receive("2026-11-16")},
		{Serial: "S2", Event: dispatch("2026-11-15", "O1")},
	})
	must(t, err)
	if len(out.Appended) != 3 || out.Appended[1].Event.Seq != 2 || out.Appended[2].Serial != "S2" {
		t.Fatalf("appended %+v", out.Appended)
	}
	_, err = e.s.AppendMany(registry.Write{Actor: desk}, nil)
	wantCode(t, err, policy.EInvalid, "no events")
}

func testReceiveOrder(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1", "S2", "S3", "S4")
	e.register("CHG", "C1", "C1")
	_, err := e.s.AppendMany(registry.Write{Actor: desk}, []registry.EventRow{
		{Serial: "S1", Event: dispatch("2026-11-15", "O1")},
		{Serial: "C1", Event: dispatch("2026-11-15", "O1")},
		{Serial: "S2", Event: dispatch("2026-11-15", "O2")},
		{Serial: "S3", Event: dispatch("2026-11-15", "O3")},
	})
	must(t, err)
	// A corrected dispatch moves the serial to the corrected order.
	e.append("S3", policy.Event{Type: policy.EvCorrected, Corrects: 1, Order: "O1", Reason: "wrong order typed"})
	if h := e.get("S3").History; len(h) != 2 || h[1].Corrects != 1 || h[1].Reason != "wrong order typed" {
		t.Fatalf("correction %+v", h)
	}
	out, err := e.s.ReceiveOrder(registry.Write{Actor: desk}, "O1", date("2026-11-18"), policy.Courier)
	must(t, err)
	var serials []string
	for _, ap := range out.Appended {
		serials = append(serials, ap.Serial)
	}
	if !slices.Equal(serials, []string{"C1", "S1", "S3"}) {
		t.Fatalf("received %v; want C1 S1 S3 (S3's dispatch was corrected to O1)", serials)
	}
	_, err = e.s.ReceiveOrder(registry.Write{Actor: desk}, "O1", date("2026-11-18"), policy.Courier)
	wantCode(t, err, policy.EConflict, "already has a receipt")
	e.append("S4", dispatch("2026-11-19", "O1"))
	out, err = e.s.ReceiveOrder(registry.Write{Actor: desk}, "O1", date("2026-11-20"), policy.Invoice)
	must(t, err)
	if len(out.Appended) != 1 || out.Appended[0].Serial != "S4" {
		t.Fatalf("second receipt of O1: %+v", out.Appended)
	}
	out, err = e.s.ReceiveOrder(registry.Write{Actor: desk}, "O1", date("2026-11-19"), policy.Courier)
	must(t, err)
	if len(out.Appended) != 1 || out.Appended[0].Serial != "S4" {
		t.Fatalf("courier receipt over an invoice: %+v", out.Appended)
	}
	_, err = e.s.ReceiveOrder(registry.Write{Actor: desk}, "O9", date("2026-11-18"), policy.Courier)
	wantCode(t, err, policy.ENotFound, "O9")
	_, err = e.s.ReceiveOrder(registry.Write{Actor: desk}, "O2", policy.Date{}, policy.Courier)
	wantCode(t, err, policy.EInvalid, "on")
	_, err = e.s.ReceiveOrder(registry.Write{Actor: desk}, "O2", date("2026-11-10"), policy.Courier)
	wantCode(t, err, policy.EInvalid)
	if r := rowErrors(t, err); len(r) != 1 || r[0].Serial != "S2" || r[0].Field != "on" {
		t.Fatalf("rows %+v", r)
	}
}

func testServiceQueue(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	_, err := e.s.Register(admin, []registry.Row{
		{Serial: "S1", SKU: "P1", Batch: "B1", Accessories: []registry.Bundle{{SKU: "CHG", Batch: "CB1"}}},
		{Serial: "S9", SKU: "P1", Batch: "B9"},
	})
	must(t, err)
	e.append("S1", receive("2026-11-10"))
	e.append("S1", policy.Event{Type: policy.EvIntake, At: e.ago(5 * time.Hour), Center: "Shenzhen"})
	cases, err := e.s.OpenCases()
	must(t, err)
	if len(cases) != 1 || cases[0].Item.Serial != "S1" || len(cases[0].History) != 2 {
		t.Fatalf("open cases %+v", cases)
	}
	if s, _ := e.s.Stats(); s.OpenCases != 1 {
		t.Fatalf("Stats.OpenCases = %d", s.OpenCases)
	}
	e.append("S1", policy.Event{Type: policy.EvAccessoryReplaced, At: e.ago(4 * time.Hour), SKU: "CHG", NewBatch: "CB2"})
	p, err := e.s.Batch("CB2", "", 0)
	must(t, err)
	if !slices.Equal(p.CarriedBy, []string{"S1"}) || p.Carriers != 1 {
		t.Fatalf("new accessory batch %+v", p)
	}
	if p, _ := e.s.Batch("CB1", "", 0); !slices.Equal(p.CarriedBy, []string{"S1"}) {
		t.Fatalf("the old accessory batch must still find S1 (recalls): %+v", p)
	}
	e.append("S1", policy.Event{Type: policy.EvDiagnosed, At: e.ago(3 * time.Hour), Finding: policy.QualityProblem})
	e.append("S1", policy.Event{Type: policy.EvReplaced, At: e.ago(2 * time.Hour), NewSerial: "S9"})
	s9 := e.get("S9").Item
	if s9.Replaces != "S1" || s9.ExchangedOn != date("2026-11-20") || s9.Exchanges != 1 {
		t.Fatalf("replacement item %+v", s9)
	}
	if cases, _ := e.s.OpenCases(); len(cases) != 0 {
		t.Fatalf("open cases after replacement: %+v", cases)
	}
	if s, _ := e.s.Stats(); s.OpenCases != 0 {
		t.Fatalf("Stats.OpenCases = %d", s.OpenCases)
	}
	_, err = e.s.Append(registry.Write{Actor: desk}, "S1", receive("2026-11-20"))
	wantCode(t, err, policy.EConflict, "retired")
}

func testIdempotency(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1")
	calls := 0
	w := registry.Write{Actor: desk, IdempotencyKey: "retry-1", RequestHash: sha256.Sum256([]byte("POST /x {transferred}")),
		Answer: func(o registry.Outcome) ([]byte, error) { calls++; return answer(o) }}
	ev := policy.Event{Type: policy.EvTransferred, On: date("2026-11-19")}
	first, err := e.s.Append(w, "S1", ev)
	must(t, err)
	if first.Replay != nil || len(first.Appended) != 1 || calls == 0 {
		t.Fatalf("first write %+v (Answer called %d times)", first, calls)
	}
	want, _ := answer(first)
	for range 2 {
		again, err := e.s.Append(w, "S1", ev)
		must(t, err)
		if string(again.Replay) != string(want) || again.Appended != nil {
			t.Fatalf("replay %q; want %q", again.Replay, want)
		}
	}
	if n := len(e.get("S1").History); n != 1 {
		t.Fatalf("%d events after replays; want 1", n)
	}
	other := w
	other.RequestHash = sha256.Sum256([]byte("POST /x {other}"))
	_, err = e.s.Append(other, "S1", ev)
	wantCode(t, err, policy.EConflict, "Idempotency-Key")
	long := w
	long.IdempotencyKey = strings.Repeat("k", 256)
	_, err = e.s.Append(long, "S1", ev)
	wantCode(t, err, policy.EInvalid, "Idempotency-Key")
	// A refused write stores no answer: the key stays free.
	bad := w
	bad.IdempotencyKey = "retry-2"
	_, err = e.s.Append(bad, "S1", policy.Event{Type: policy.EvShipped, At: e.ago(time.Minute)})
	wantCode(t, err, policy.EConflict)
	out, err := e.s.Append(bad, "S1", ev)
	must(t, err)
	if out.Replay != nil || len(out.Appended) != 1 {
		t.Fatalf("the key of a refused write was kept: %+v", out)
	}
	// Keys expire after IdempotencyTTL: the same key then writes again.
	e.clock.Advance(registry.IdempotencyTTL + time.Hour)
	w.IdempotencyKey = "retry-3"
	_, err = e.s.Append(w, "S1", ev)
	must(t, err)
}

func testKeys(t *testing.T, h Harness) {
	e := open(t, h)
	k1, tok1, err := e.s.CreateKey(admin, "  first admin ", registry.RoleAdmin)
	must(t, err)
	if k1.Name != "first admin" || k1.Role != registry.RoleAdmin || !k1.Created.Equal(e.clock.Now()) || !strings.HasPrefix(tok1, k1.ID+".") {
		t.Fatalf("key %+v token %q", k1, tok1)
	}
	e.clock.Advance(time.Second)
	k2, tok2, err := e.s.CreateKey(admin, "scanner", registry.RoleWarehouse)
	must(t, err)
	got, err := e.s.Authenticate(tok2)
	must(t, err)
	if got.ID != k2.ID || got.Role != registry.RoleWarehouse {
		t.Fatalf("Authenticate %+v", got)
	}
	_, err = e.s.Authenticate(k2.ID + ".wrongsecret")
	wantCode(t, err, policy.EUnauthorized, "invalid")
	_, err = e.s.Authenticate("nodot")
	wantCode(t, err, policy.EUnauthorized, "malformed")
	_, _, err = e.s.CreateKey(admin, "", registry.RoleAdmin)
	wantCode(t, err, policy.EInvalid, "name")
	_, _, err = e.s.CreateKey(admin, "x", "root")
	wantCode(t, err, policy.EInvalid, "role")
	wantCode(t, e.s.RevokeKey(admin, k1.ID), policy.EConflict, "last active admin")
	wantCode(t, e.s.RevokeKey(admin, "nokey"), policy.ENotFound)
	must(t, e.s.RevokeKey(admin, k2.ID))
	_, err = e.s.Authenticate(tok2)
	wantCode(t, err, policy.EUnauthorized, "revoked")
	must(t, e.s.RevokeKey(admin, k2.ID)) // again: nothing changes
	e.reopen()
	keys, err := e.s.Keys()
	must(t, err)
	if len(keys) != 2 || keys[0].ID != k1.ID || keys[1].ID != k2.ID || keys[1].Revoked.IsZero() || !keys[0].Revoked.IsZero() {
		t.Fatalf("keys after reopen %+v", keys)
	}
	if _, err := e.s.Authenticate(tok1); err != nil {
		t.Fatalf("the admin key after reopen: %v", err)
	}
	_, err = e.s.Authenticate(tok2)
	wantCode(t, err, policy.EUnauthorized, "revoked")
	if k, err := e.s.KeyByID(k2.ID); err != nil || k.Name != "scanner" {
		t.Fatalf("KeyByID %+v %v", k, err)
	}
	_, err = e.s.KeyByID("nokey")
	wantCode(t, err, policy.ENotFound)
}

func testAudit(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels() // 4 entries
	e.register("P1", "B1", "S1", "S2")
	for i := range 4 {
		e.append("S1", policy.Event{Type: policy.EvTransferred, On: date("2026-11-19"), Note: fmt.Sprint(i)})
	}
	all := e.auditAll()
	var actions []string
	seen := map[string]bool{}
	for _, a := range all {
		actions = append(actions, a.Action)
		if seen[a.ID] {
			t.Fatalf("entry %s listed twice", a.ID)
		}
		seen[a.ID] = true
	}
	want := []string{"model.create", "model.create", "model.create", "model.create", "items.register",
		"event.transferred", "event.transferred", "event.transferred", "event.transferred"}
	if !slices.Equal(actions, want) {
		t.Fatalf("actions %v; want %v", actions, want)
	}
	if r := all[4]; r.Target != "B1 (2)" || r.Detail != "created 2, unchanged 0; serials S1 … S2" || r.Name != "admin" || !r.At.Equal(e.clock.Now()) {
		t.Fatalf("registration entry %+v", r)
	}
	page, next, err := e.s.Audit("", 0)
	must(t, err)
	if len(page) != 9 || next != "" {
		t.Fatalf("default page: %d entries, next %q", len(page), next)
	}
	_, _, err = e.s.Audit("not-a-cursor", 0)
	wantCode(t, err, policy.EInvalid, "after")
	_, _, err = e.s.Audit("", -1)
	wantCode(t, err, policy.EInvalid, "limit")
}

func testBatchPages(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S3", "S1", "S5", "S2", "S4")
	var got []string
	after := ""
	for {
		p, err := e.s.Batch("B1", after, 2)
		must(t, err)
		if p.Count != 5 {
			t.Fatalf("count %d", p.Count)
		}
		got = append(got, p.Serials...)
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if !slices.Equal(got, []string{"S1", "S2", "S3", "S4", "S5"}) {
		t.Fatalf("pages %v", got)
	}
	_, err := e.s.Batch("B404", "", 0)
	wantCode(t, err, policy.ENotFound, "B404")
	_, err = e.s.Batch("B 1", "", 0)
	wantCode(t, err, policy.EInvalid, "batch")
	_, err = e.s.Batch("B1", "", -1)
	wantCode(t, err, policy.EInvalid, "limit")
}

func testModels(t *testing.T, h Harness) {
	e := open(t, h)
	m, created, err := e.s.PutModel(admin, policy.Model{SKU: " P1 ", Name: "Mask", Kind: policy.KindProduct})
	must(t, err)
	if !created || m.SKU != "P1" || !m.UpdatedAt.Equal(e.clock.Now()) {
		t.Fatalf("created %v %+v", created, m)
	}
	e.clock.Advance(time.Hour)
	again, created, err := e.s.PutModel(admin, policy.Model{SKU: "P1", Name: "Mask", Kind: policy.KindProduct})
	must(t, err)
	if created || !again.UpdatedAt.Equal(m.UpdatedAt) {
		t.Fatalf("identical put changed the model: %+v", again)
	}
	upd, created, err := e.s.PutModel(admin, policy.Model{SKU: "P1", Name: "Mask 2", Kind: policy.KindProduct, WarrantyMonths: 18})
	must(t, err)
	if created || !upd.UpdatedAt.Equal(e.clock.Now()) {
		t.Fatalf("update %+v", upd)
	}
	got, err := e.s.Model("P1")
	must(t, err)
	if got != upd {
		t.Fatalf("Model = %+v; want %+v", got, upd)
	}
	_, err = e.s.Model("P2")
	wantCode(t, err, policy.ENotFound)
	_, _, err = e.s.PutModel(admin, policy.Model{SKU: "P3", Kind: "toaster", Name: "x"})
	wantCode(t, err, policy.EInvalid, "kind")
	ms, err := e.s.Models()
	must(t, err)
	if len(ms) != 1 || ms[0] != upd {
		t.Fatalf("models %+v", ms)
	}
	if st, _ := e.s.Stats(); st.Models != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func testScans(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1")
	first := e.clock.Now()
	for range 3 {
		e.s.Scan("S1", e.clock.Now())
		e.clock.Advance(time.Minute)
	}
	e.s.Scan("NOPE", e.clock.Now())
	want := registry.Scans{Count: 3, First: first, Last: first.Add(2 * time.Minute)}
	if got := e.get("S1").Scans; got.Count != want.Count || !got.First.Equal(want.First) || !got.Last.Equal(want.Last) {
		t.Fatalf("scans before a flush %+v; want %+v", got, want)
	}
	e.reopen()
	if got := e.get("S1").Scans; got.Count != want.Count || !got.First.Equal(want.First) || !got.Last.Equal(want.Last) {
		t.Fatalf("scans after reopen %+v; want %+v", got, want)
	}
	if _, err := e.s.Get("NOPE"); policy.ErrorCode(err) != policy.ENotFound {
		t.Fatalf("a view of an unregistered serial registered it: %v", err)
	}
	// The public page reads the item, its scans and its model together.
	v, err := e.s.ItemView("S1")
	if err != nil || !v.HasModel || v.Item.Serial != "S1" || v.Scans.Count != 3 || v.Model.SKU != "P1" || v.Model.Name != "Mask One" || v.Notices != nil {
		t.Fatalf("ItemView(S1) = %+v, %v; want S1 with 3 scans, model P1 Mask One and no notices", v, err)
	}
	if _, err := e.s.ItemView("NOPE"); policy.ErrorCode(err) != policy.ENotFound {
		t.Fatalf("ItemView(NOPE): %v, want not found", err)
	}
	if _, err := e.s.ItemView("S 1"); policy.ErrorCode(err) != policy.EInvalid {
		t.Fatalf("ItemView(S 1): %v, want invalid", err)
	}
}

// testItemView: the public page's read of an item brings its record, its
// model and the notices of the batches that concern it — its own and its
// bundled accessories' — in batch order, and no other batch's.
func testItemView(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	_, err := e.s.Register(admin, []registry.Row{
		{Serial: "S1", SKU: "P1", Batch: "B2", ProducedOn: date("2026-10-01"), Accessories: []registry.Bundle{{SKU: "CHG", Batch: "AB1"}}},
		{Serial: "S2", SKU: "P1", Batch: "B3", ProducedOn: date("2026-10-01")},
		{Serial: "S3", SKU: "P24", Batch: "B4", ProducedOn: date("2026-10-01")},
	})
	must(t, err)
	for _, n := range []registry.Notice{
		{Batch: "B2", Severity: registry.SeverityRecall, Text: "电池可能过热，请停止使用并联系客服。", TextEN: "The battery may overheat.", Since: date("2026-11-18")},
		{Batch: "AB1", Severity: registry.SeverityAdvisory, Text: "请使用新版充电器。", Since: date("2026-11-19")},
		{Batch: "B4", Severity: registry.SeverityRecall, Text: "B4 召回", Since: date("2026-11-17")},
	} {
		_, _, err := e.s.PutNotice(admin, n)
		must(t, err)
	}
	e.s.Scan("S1", e.clock.Now())
	set := e.clock.Now()

	v, err := e.s.ItemView("S1")
	must(t, err)
	if v.Item.Serial != "S1" || v.Item.Batch != "B2" || v.Scans.Count != 1 || !v.HasModel || v.Model.SKU != "P1" || v.Model.Name != "Mask One" {
		t.Fatalf("ItemView(S1) = %+v; want S1 of B2 with 1 scan and model P1 Mask One", v)
	}
	want := []registry.Notice{
		{Batch: "AB1", Severity: "advisory", Text: "请使用新版充电器。", Since: date("2026-11-19"), SetBy: "admin"},
		{Batch: "B2", Severity: "recall", Text: "电池可能过热，请停止使用并联系客服。", TextEN: "The battery may overheat.", Since: date("2026-11-18"), SetBy: "admin"},
	}
	if len(v.Notices) != len(want) {
		t.Fatalf("ItemView(S1).Notices = %+v; want %+v", v.Notices, want)
	}
	for i, n := range v.Notices {
		at := n.SetAt
		n.SetAt = time.Time{}
		if n != want[i] || !at.Equal(set) {
			t.Errorf("ItemView(S1).Notices[%d] = %+v set at %v; want %+v set at %v", i, n, at, want[i], set)
		}
	}

	// An item of a batch without a notice has none, even with other
	// batches' notices on record.
	v, err = e.s.ItemView("S2")
	must(t, err)
	if v.Item.Serial != "S2" || !v.HasModel || v.Notices != nil {
		t.Fatalf("ItemView(S2) = %+v; want S2 with its model and no notices", v)
	}

	// Clearing a notice takes it off the next read.
	must(t, e.s.DeleteNotice(admin, "B2"))
	v, err = e.s.ItemView("S1")
	must(t, err)
	if len(v.Notices) != 1 || v.Notices[0].Batch != "AB1" || v.Notices[0].Text != "请使用新版充电器。" {
		t.Fatalf("ItemView(S1) after clearing B2: notices %+v; want AB1's only", v.Notices)
	}
}

func testSecret(t *testing.T, h Harness) {
	e := open(t, h)
	s1 := e.s.CheckSecrets()
	if len(s1) != 1 || len(s1[0]) != 32 {
		t.Fatalf("secrets %x", s1)
	}
	kept := string(s1[0])
	e.reopen()
	if got := e.s.CheckSecrets(); len(got) != 1 || string(got[0]) != kept {
		t.Fatal("the secret changed on reopen")
	}
	e.o.CheckSecret, e.o.PreviousSecret = []byte("new-secret-of-at-least-some-size"), []byte(kept)
	e.reopen()
	if got := e.s.CheckSecrets(); len(got) != 2 || string(got[0]) != "new-secret-of-at-least-some-size" || string(got[1]) != kept {
		t.Fatalf("secrets with options %q", got)
	}
}

func testOrder(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S2", "S1", "S3")
	_, err := e.s.AppendMany(registry.Write{Actor: desk}, []registry.EventRow{
		{Serial: "S2", Event: dispatch("2026-11-15", "O1")},
		{Serial: "S1", Event: dispatch("2026-11-16", "O1")},
		{Serial: "S1", Event: receive("2026-11-18")},
		{Serial: "S3", Event: dispatch("2026-11-15", "O2")},
	})
	must(t, err)
	lines, err := e.s.Order("O1")
	must(t, err)
	want := []registry.OrderLine{
		{Serial: "S1", SKU: "P1", Kind: policy.KindProduct, State: policy.InUse, DispatchedOn: date("2026-11-16"), ReceivedOn: date("2026-11-18")},
		{Serial: "S2", SKU: "P1", Kind: policy.KindProduct, State: policy.Dispatched, DispatchedOn: date("2026-11-15")},
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("order O1 %+v; want %+v", lines, want)
	}
	_, err = e.s.Order("O9")
	wantCode(t, err, policy.ENotFound, "O9")
	_, err = e.s.Order("O 9")
	wantCode(t, err, policy.EInvalid, "order")
}

func testDeletes(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	_, err := e.s.Register(admin, []registry.Row{
		{Serial: "S1", SKU: "P1", Batch: "B1", Accessories: []registry.Bundle{{SKU: "CHG", Batch: "CB1"}}},
		{Serial: "S2", SKU: "P1", Batch: "B1"},
	})
	must(t, err)
	e.append("S2", dispatch("2026-11-15", "O1"))
	wantCode(t, e.s.DeleteItem(admin, "S1", ""), policy.EInvalid, "reason")
	wantCode(t, e.s.DeleteItem(admin, "S2", "typo"), policy.EConflict, "events")
	wantCode(t, e.s.DeleteItem(admin, "S404", "typo"), policy.ENotFound)
	wantCode(t, e.s.DeleteModel(admin, "CHG"), policy.EConflict, "S1")
	must(t, e.s.DeleteItem(admin, "S1", "registered twice"))
	if _, err := e.s.Get("S1"); policy.ErrorCode(err) != policy.ENotFound {
		t.Fatalf("S1 after its deletion: %v", err)
	}
	if _, err := e.s.Batch("CB1", "", 0); policy.ErrorCode(err) != policy.ENotFound {
		t.Fatalf("batch CB1 after its only carrier went: %v", err)
	}
	if p, _ := e.s.Batch("B1", "", 0); p.Count != 1 || !slices.Equal(p.Serials, []string{"S2"}) {
		t.Fatalf("batch B1 %+v", p)
	}
	must(t, e.s.DeleteModel(admin, "CHG"))
	wantCode(t, e.s.DeleteModel(admin, "CHG"), policy.ENotFound)
	wantCode(t, e.s.DeleteModel(admin, "P1"), policy.EConflict, "S2")
	if st, _ := e.s.Stats(); st.Items != 1 || st.Models != 3 {
		t.Fatalf("stats %+v; want 1 item, 3 models", st)
	}
	all := e.auditAll()
	if l := all[len(all)-1]; l.Action != "model.delete" || l.Target != "CHG" {
		t.Fatalf("last audit entry %+v", l)
	}
	if l := all[len(all)-2]; l.Action != "item.delete" || !strings.Contains(l.Detail, "registered twice") {
		t.Fatalf("item deletion audit entry %+v", l)
	}
}

// testKeysAreTheCallers: the contract's retry guarantee is per client.
// Another key sending the same Idempotency-Key and the same request is a
// new write, never the first caller's answer replayed.
func testKeysAreTheCallers(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1")
	dock := registry.Actor{KeyID: "dockkey00001", Name: "dock 1"}
	root := registry.Actor{KeyID: "rootkey00001", Name: "root"}
	hash := sha256.Sum256([]byte("POST /api/v1/items/S1/events {transferred}"))
	ev := policy.Event{Type: policy.EvTransferred, On: date("2026-11-19")}
	for i, who := range []registry.Actor{dock, root} {
		o, err := e.s.Append(registry.Write{Actor: who, IdempotencyKey: "rep-1", RequestHash: hash, Answer: answer}, "S1", ev)
		must(t, err)
		if o.Replay != nil || len(o.Appended) != 1 {
			t.Fatalf("caller %d (%s): %+v; want a new write, not a replay", i, who.Name, o)
		}
	}
	for _, who := range []registry.Actor{dock, root} {
		o, err := e.s.Append(registry.Write{Actor: who, IdempotencyKey: "rep-1", RequestHash: hash, Answer: answer}, "S1", ev)
		must(t, err)
		if o.Replay == nil {
			t.Fatalf("%s's retry wrote again", who.Name)
		}
	}
	_, err := e.s.Append(registry.Write{Actor: root, IdempotencyKey: "rep-1", RequestHash: [32]byte{7}, Answer: answer}, "S1", ev)
	wantCode(t, err, policy.EConflict, "Idempotency-Key reused with a different request")
	if n := len(e.get("S1").History); n != 2 {
		t.Fatalf("history holds %d events; want 2 (one per caller)", n)
	}
	// Callers without a key (customer confirmations) are scoped by name.
	o, err := e.s.Append(registry.Write{Actor: registry.Actor{Name: "customer"}, IdempotencyKey: "rep-1", RequestHash: hash, Answer: answer}, "S1", ev)
	must(t, err)
	if o.Replay != nil {
		t.Fatal("a keyless caller got a keyed caller's answer")
	}
}

func testBadRows(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	csv := "serial,sku,batch\nC1,P1,B1\nC2,NOPE,B1\nC1,P1,B1\n"
	_, err := e.s.RegisterCSV(admin, strings.NewReader(csv))
	wantCode(t, err, policy.EInvalid)
	rows := rowErrors(t, err)
	if len(rows) != 2 || rows[0].Row != 2 || rows[0].Line != 3 || rows[0].Field != "sku" || rows[1].Row != 3 || rows[1].Line != 4 {
		t.Fatalf("CSV row errors %+v; want rows 2 (line 3, sku) and 3 (line 4, repeated serial)", rows)
	}
	res, err := e.s.RegisterCSV(admin, strings.NewReader("serial,sku,batch\nC1,P1,B1\nC2,P1,B1\n"))
	must(t, err)
	if res.Created != 2 {
		t.Fatalf("CSV result %+v", res)
	}
	_, err = e.s.RegisterCSV(admin, strings.NewReader(""))
	wantCode(t, err, policy.EBadRequest)
	// Rows the caller found bad while decoding are reported with the others.
	decoded := policy.RowError{Row: 1, Serial: "X1", Code: policy.EInvalid, Field: "produced_on", Message: "produced_on is not a date"}
	_, err = e.s.Register(admin, []registry.Row{{Serial: "X1", SKU: "P1", Batch: "B1"}, {Serial: "X2", SKU: "NOPE", Batch: "B1"}}, decoded)
	if rows := rowErrors(t, err); len(rows) != 2 || !reflect.DeepEqual(rows[0], decoded) || rows[1].Row != 2 {
		t.Fatalf("register rows %+v", rows)
	}
	if _, err := e.s.Get("X1"); policy.ErrorCode(err) != policy.ENotFound {
		t.Fatalf("a row found bad by the caller was written: %v", err)
	}
	_, err = e.s.AppendMany(registry.Write{Actor: desk}, []registry.EventRow{
		{Serial: "C1", Event: dispatch("2026-11-15", "O1")},
		{Serial: "C2"},
	}, policy.RowError{Row: 2, Serial: "C2", Code: policy.EInvalid, Field: "type", Message: "type is required"})
	if rows := rowErrors(t, err); len(rows) != 1 || rows[0].Row != 2 || rows[0].Field != "type" {
		t.Fatalf("append rows %+v", rows)
	}
	if n := len(e.get("C1").History); n != 0 {
		t.Fatalf("C1 has %d events after a refused batch", n)
	}
}

func testCheckPassword(t *testing.T, h Harness) {
	e := open(t, h)
	_, err := e.s.CreateUser(admin, registry.User{Username: "li", Name: "李伟", Role: registry.RoleService, Center: "上海"}, "correct horse battery")
	must(t, err)
	u, err := e.s.CheckPassword(" LI ", "correct horse battery")
	must(t, err)
	if u.Username != "li" || u.Role != registry.RoleService || u.Center != "上海" {
		t.Fatalf("CheckPassword = %+v", u)
	}
	for name, c := range map[string][2]string{
		"a wrong password":       {"li", "correct horse battery!"},
		"an unknown user":        {"wang", "correct horse battery"},
		"no username":            {"", "correct horse battery"},
		"an empty password":      {"li", ""},
		"a megabyte of password": {"li", strings.Repeat("x", 1<<20)},
	} {
		_, err := e.s.CheckPassword(c[0], c[1])
		wantCode(t, err, policy.EUnauthorized, "wrong username or password")
		if err.Error() != "unauthorized: wrong username or password" {
			t.Errorf("%s: %q, want the same words for every refusal", name, err)
		}
	}
	disabled := true
	_, err = e.s.UpdateUser(admin, "li", registry.UserPatch{Disabled: &disabled})
	must(t, err)
	_, err = e.s.CheckPassword("li", "correct horse battery")
	wantCode(t, err, policy.EUnauthorized, "wrong username or password")
}

func testUpdateUser(t *testing.T, h Harness) {
	e := open(t, h)
	_, err := e.s.CreateUser(admin, registry.User{Username: "boss", Role: registry.RoleAdmin}, "the first admin")
	must(t, err)
	_, err = e.s.CreateUser(admin, registry.User{Username: "li", Role: registry.RoleService}, "old password")
	must(t, err)
	name, center, role, pw := "李伟", "北京服务网点", registry.RoleWarehouse, "new password!"
	u, err := e.s.UpdateUser(admin, "LI", registry.UserPatch{Name: &name, Center: &center, Role: &role, Password: &pw})
	must(t, err)
	if u.Name != "李伟" || u.Center != "北京服务网点" || u.Role != registry.RoleWarehouse {
		t.Fatalf("UpdateUser = %+v", u)
	}
	_, err = e.s.CheckPassword("li", "old password")
	wantCode(t, err, policy.EUnauthorized)
	_, err = e.s.CheckPassword("li", "new password!")
	must(t, err)

	short, bad := "short", registry.Role("root")
	_, err = e.s.UpdateUser(admin, "li", registry.UserPatch{Password: &short})
	wantCode(t, err, policy.EInvalid, "at least 10")
	_, err = e.s.UpdateUser(admin, "li", registry.UserPatch{Role: &bad})
	wantCode(t, err, policy.EInvalid, "role")
	_, err = e.s.UpdateUser(admin, "nobody", registry.UserPatch{Name: &name})
	wantCode(t, err, policy.ENotFound)

	// The last active admin user stays one.
	off, service := true, registry.RoleService
	_, err = e.s.UpdateUser(admin, "boss", registry.UserPatch{Disabled: &off})
	wantCode(t, err, policy.EConflict, "last active admin")
	_, err = e.s.UpdateUser(admin, "boss", registry.UserPatch{Role: &service})
	wantCode(t, err, policy.EConflict, "last active admin")

	users, err := e.s.Users()
	must(t, err)
	if len(users) != 2 || users[0].Username != "boss" || users[1].Username != "li" {
		t.Fatalf("Users = %+v", users)
	}
	entries, _, err := e.s.Audit("", 0)
	must(t, err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+" "+e.Target)
	}
	if got := strings.Join(actions, ", "); got != "user.create boss, user.create li, user.update li" {
		t.Fatalf("audit: %s", got)
	}
}

func testSessionsOutliveARestart(t *testing.T, h Harness) {
	e := open(t, h)
	s, err := e.s.CreateSession(registry.Session{Username: "li", Expires: e.clock.Now().Add(12 * time.Hour), Center: "上海"})
	must(t, err)
	if len(s.ID) != 43 || len(s.CSRF) != 43 || s.ID == s.CSRF {
		t.Fatalf("CreateSession = %+v", s)
	}
	must(t, e.s.UpdateSession(s.ID, func(x *registry.Session) { x.Flash = "已受理" }))
	e.reopen()
	got, err := e.s.Session(s.ID)
	must(t, err)
	if got.Username != "li" || got.CSRF != s.CSRF || got.Flash != "已受理" || got.Center != "上海" {
		t.Fatalf("registry.Session after reopen = %+v", got)
	}
	e.clock.Advance(12 * time.Hour)
	_, err = e.s.Session(s.ID)
	wantCode(t, err, policy.ENotFound)
}

func testSessionsPerOwnerAreCappedAtTwenty(t *testing.T, h Harness) {
	e := open(t, h)
	var ids []string
	for range 21 {
		s, err := e.s.CreateSession(registry.Session{Username: "li", Expires: e.clock.Now().Add(time.Hour)})
		must(t, err)
		ids = append(ids, s.ID)
		e.clock.Advance(time.Second)
	}
	other, err := e.s.CreateSession(registry.Session{Username: "wang", Expires: e.clock.Now().Add(time.Hour)})
	must(t, err)
	if _, err := e.s.Session(ids[0]); policy.ErrorCode(err) != policy.ENotFound {
		t.Errorf("the oldest of 21 sessions is still live: %v", err)
	}
	for _, id := range append(ids[1:], other.ID) {
		if _, err := e.s.Session(id); err != nil {
			t.Errorf("session %s: %v", id[:6], err)
		}
	}
}

func testSessionsEndWithTheirOwner(t *testing.T, h Harness) {
	e := open(t, h)
	_, err := e.s.CreateUser(admin, registry.User{Username: "li", Role: registry.RoleService}, "old password")
	must(t, err)
	_, err = e.s.CreateUser(admin, registry.User{Username: "wang", Role: registry.RoleService}, "old password")
	must(t, err)
	k, _, err := e.s.CreateKey(admin, "root", registry.RoleAdmin)
	must(t, err)
	_, _, err = e.s.CreateKey(admin, "root 2", registry.RoleAdmin)
	must(t, err)
	open := func(s registry.Session) string {
		s.Expires = e.clock.Now().Add(time.Hour)
		x, err := e.s.CreateSession(s)
		must(t, err)
		return x.ID
	}
	live := func(id string) bool { _, err := e.s.Session(id); return err == nil }
	name, pw, off := "李伟", "new password!", true

	li, wang, key := open(registry.Session{Username: "li"}), open(registry.Session{Username: "wang"}), open(registry.Session{KeyID: k.ID})
	_, err = e.s.UpdateUser(admin, "li", registry.UserPatch{Name: &name})
	must(t, err)
	if !live(li) {
		t.Fatal("a change of name ended the session")
	}
	_, err = e.s.UpdateUser(admin, "li", registry.UserPatch{Password: &pw})
	must(t, err)
	if live(li) || !live(wang) {
		t.Fatalf("after li's new password: li %v, wang %v", live(li), live(wang))
	}
	_, err = e.s.UpdateUser(admin, "wang", registry.UserPatch{Disabled: &off})
	must(t, err)
	if live(wang) {
		t.Fatal("a disabled user's session is live")
	}
	must(t, e.s.RevokeKey(admin, k.ID))
	if live(key) {
		t.Fatal("a revoked key's session is live")
	}
	s := open(registry.Session{Username: "li"})
	must(t, e.s.EndSession(s))
	if live(s) {
		t.Fatal("an ended session is live")
	}
	must(t, e.s.EndSession(s))
	_, err = e.s.CreateSession(registry.Session{Expires: e.clock.Now().Add(time.Hour)})
	wantCode(t, err, policy.EInvalid)
}

func testAModelKeepsEveryGTINItHasHad(t *testing.T, h Harness) {
	e := open(t, h)
	_, _, err := e.s.PutModel(admin, policy.Model{SKU: "P1", Name: "口罩", NameEN: "Mask", Kind: policy.KindProduct, GTIN: "6901234567892"})
	must(t, err)
	_, _, err = e.s.PutModel(admin, policy.Model{SKU: "P1", Name: "口罩", Kind: policy.KindProduct, GTIN: "4006381333931"})
	must(t, err)
	for _, gtin := range []string{"06901234567892", "04006381333931"} {
		sku, err := e.s.ModelByGTIN(gtin)
		must(t, err)
		if sku != "P1" {
			t.Errorf("ModelByGTIN(%s) = %q, want P1 (an earlier GTIN stays the model's)", gtin, sku)
		}
	}
	_, err = e.s.ModelByGTIN("09521234543213")
	wantCode(t, err, policy.ENotFound, "09521234543213")
	for _, gtin := range []string{"6901234567892", "4006381333931"} {
		_, _, err := e.s.PutModel(admin, policy.Model{SKU: "P2", Name: "x", Kind: policy.KindProduct, GTIN: gtin})
		wantCode(t, err, policy.EConflict, "P1")
	}
	if _, err := e.s.Model("P2"); policy.ErrorCode(err) != policy.ENotFound {
		t.Errorf("a refused model was written: %v", err)
	}
	m, err := e.s.Model("P1")
	must(t, err)
	if m.NameEN != "" {
		t.Errorf("name_en %q, want it gone after a PUT without it", m.NameEN)
	}
}

func testConfirmReceipt(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1", "S2")
	e.append("S1", dispatch("2026-11-15", "O1"))
	ap, err := e.s.ConfirmReceipt("203.0.113.0/24", "S1", date("2026-11-18"))
	must(t, err)
	if ap.Event.Type != policy.EvReceived || ap.Event.Evidence != policy.Customer || ap.Event.By != "customer" || ap.Event.On != date("2026-11-18") {
		t.Fatalf("confirmation %+v", ap.Event)
	}
	all := e.auditAll()
	if l := all[len(all)-1]; l.Action != "event.received" || !strings.HasSuffix(l.Detail, "confirmed from the public page by 203.0.113.0/24") {
		t.Fatalf("audit %+v", l)
	}
	_, err = e.s.ConfirmReceipt("203.0.113.0/24", "S1", date("2026-11-18"))
	wantCode(t, err, policy.EConflict)
	_, err = e.s.ConfirmReceipt("203.0.113.0/24", "S404", date("2026-11-18"))
	wantCode(t, err, policy.ENotFound)
	if n := len(e.get("S1").History); n != 2 {
		t.Fatalf("S1 has %d events; want 2", n)
	}
}

// testNotices: a batch notice is set on a batch that has serials or
// bundled accessories, replaced, listed, kept across a reopen and cleared,
// each change audited with who made it; every refusal names its field and
// writes nothing.
func testNotices(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1", "S2")
	_, err := e.s.Register(admin, []registry.Row{{Serial: "S3", SKU: "P1", Batch: "B2", ProducedOn: date("2026-10-01"),
		Accessories: []registry.Bundle{{SKU: "CHG", Batch: "CB1"}}}})
	must(t, err)
	auditBefore := len(e.auditAll())

	recall := registry.Notice{Batch: "B1", Severity: registry.SeverityRecall, Text: " 电池可能过热，请停止使用并联系客服。 ", TextEN: "The battery may overheat.", Since: date("2026-11-18")}
	for _, c := range []struct {
		name  string
		n     registry.Notice
		code  string
		field string
	}{
		{"a batch with no serials", registry.Notice{Batch: "B404", Severity: "recall", Text: "x", Since: date("2026-11-18")}, policy.ENotFound, "B404"},
		{"a malformed batch", registry.Notice{Batch: "B 1", Severity: "recall", Text: "x", Since: date("2026-11-18")}, policy.EInvalid, "batch"},
		{"an unknown severity", registry.Notice{Batch: "B1", Severity: "warning", Text: "x", Since: date("2026-11-18")}, policy.EInvalid, "severity"},
		{"no text", registry.Notice{Batch: "B1", Severity: "recall", Text: "  ", Since: date("2026-11-18")}, policy.EInvalid, "text"},
		{"a bidirectional control in the text", registry.Notice{Batch: "B1", Severity: "recall", Text: "a\u202eb", Since: date("2026-11-18")}, policy.EInvalid, "text"},
		{"an English text over 2000 characters", registry.Notice{Batch: "B1", Severity: "advisory", Text: "x", TextEN: strings.Repeat("y", 2001), Since: date("2026-11-18")}, policy.EInvalid, "text_en"},
		{"no date", registry.Notice{Batch: "B1", Severity: "advisory", Text: "x"}, policy.EInvalid, "since"},
	} {
		_, _, err := e.s.PutNotice(admin, c.n)
		wantCode(t, err, c.code, c.field)
		var pe *policy.Error
		if c.code == policy.EInvalid && (!errors.As(err, &pe) || pe.Field != c.field) {
			t.Errorf("%s: %v does not name the field %q", c.name, err, c.field)
		}
	}
	if ns, err := e.s.Notices(); err != nil || len(ns) != 0 {
		t.Fatalf("after refusals: notices %+v, %v", ns, err)
	}
	if n := len(e.auditAll()); n != auditBefore {
		t.Fatalf("refusals wrote %d audit entries", n-auditBefore)
	}

	got, created, err := e.s.PutNotice(admin, recall)
	must(t, err)
	want := registry.Notice{Batch: "B1", Severity: "recall", Text: "电池可能过热，请停止使用并联系客服。", TextEN: "The battery may overheat.",
		Since: date("2026-11-18"), SetAt: e.clock.Now(), SetBy: "admin"}
	if !created || got != want {
		t.Fatalf("PutNotice = %+v, %v; want %+v, created", got, created, want)
	}
	e.clock.Advance(time.Minute)
	if again, created, err := e.s.PutNotice(desk, recall); err != nil || created || again != want {
		t.Fatalf("the same notice again = %+v, %v, %v; want the one on record, unchanged", again, created, err)
	}
	changed := recall
	changed.Severity, changed.Text, changed.TextEN = registry.SeverityAdvisory, "请使用新版充电器。", ""
	if got, created, err = e.s.PutNotice(desk, changed); err != nil || created || got.Severity != "advisory" || got.SetBy != "desk 1" || !got.SetAt.Equal(e.clock.Now()) {
		t.Fatalf("changed = %+v, %v, %v", got, created, err)
	}
	// A batch known only from a bundled accessory takes a notice too.
	_, created, err = e.s.PutNotice(admin, registry.Notice{Batch: "CB1", Severity: "recall", Text: "充电器召回", Since: date("2026-11-19")})
	must(t, err)
	if !created {
		t.Fatal("CB1: not reported created")
	}

	e.reopen()
	ns, err := e.s.Notices()
	must(t, err)
	if len(ns) != 2 || ns[0].Batch != "B1" || ns[0].Text != "请使用新版充电器。" || ns[0].TextEN != "" || ns[1].Batch != "CB1" {
		t.Fatalf("Notices after reopen = %+v", ns)
	}
	some, err := e.s.BatchNotices([]string{"CB1", "B9", "B1"})
	must(t, err)
	if len(some) != 2 || some[0].Batch != "B1" || some[1].Batch != "CB1" || some[1].Since != date("2026-11-19") {
		t.Fatalf("BatchNotices = %+v", some)
	}
	if none, err := e.s.BatchNotices([]string{"B2"}); err != nil || len(none) != 0 {
		t.Fatalf("BatchNotices(B2) = %+v, %v", none, err)
	}

	must(t, e.s.DeleteNotice(admin, "B1"))
	wantCode(t, e.s.DeleteNotice(admin, "B1"), policy.ENotFound, "B1")
	wantCode(t, e.s.DeleteNotice(admin, "B2"), policy.ENotFound, "B2")
	wantCode(t, e.s.DeleteNotice(admin, "B 1"), policy.EInvalid, "batch")
	if ns, err := e.s.Notices(); err != nil || len(ns) != 1 || ns[0].Batch != "CB1" {
		t.Fatalf("after clearing B1: %+v, %v", ns, err)
	}

	var lines []string
	for _, a := range e.auditAll()[auditBefore:] {
		lines = append(lines, a.Name+" "+a.Action+" "+a.Target+" "+a.Detail)
	}
	wantLines := []string{
		"admin notice.set B1 recall since 2026-11-18: 电池可能过热，请停止使用并联系客服。",
		"desk 1 notice.change B1 advisory since 2026-11-18: 请使用新版充电器。",
		"admin notice.set CB1 recall since 2026-11-19: 充电器召回",
		"admin notice.clear B1 advisory since 2026-11-18: 请使用新版充电器。",
	}
	if !slices.Equal(lines, wantLines) {
		t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
}
