package policy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The field table, the JSON names and copyFields must agree: a field missing
// from one of them would make corrections silently drop it.
func TestFieldTableMatchesEventJSON(t *testing.T) {
	full := Event{Type: EvRepaired, On: day("2025-03-03"), At: ts("2025-03-03 10:00"), Order: "O", Evidence: Courier, Note: "n",
		Center: "c", Complaint: "x", Contact: "p", Finding: NoFault, Part: "fan", Amount: "1", Currency: "CNY", Paid: true,
		Parts: []string{"fan"}, NewSerial: "S", Tracking: "T", Reason: "r", SKU: "K", NewBatch: "B", Channel: Reseller}
	if got, want := given(&full), field(1<<fieldCount-1); got != want {
		t.Fatalf("given = %b, want every field %b", got, want)
	}
	raw, _ := json.Marshal(full)
	var asMap map[string]any
	_ = json.Unmarshal(raw, &asMap)
	for i, name := range fieldNames {
		if _, ok := asMap[name]; !ok {
			t.Errorf("field %q is not an Event JSON name", name)
		}
		if fieldByName(name) != 1<<i || field(1<<i).first() != name {
			t.Errorf("field %q has no bit %d", name, i)
		}
		var dst Event
		copyFields(&dst, &full, 1<<i)
		got, _ := json.Marshal(dst)
		var m map[string]any
		_ = json.Unmarshal(got, &m)
		if _, ok := m[name]; !ok || len(m) != 3 { // seq and type are always there
			t.Errorf("copyFields of %q copied %v", name, m)
		}
	}
	if fieldByName("seq") != 0 || field(0).first() != "" {
		t.Error("seq is not a content field")
	}
	for _, typ := range EventTypes {
		if _, ok := eventFields[typ]; !ok && typ != EvCorrected {
			t.Errorf("no field rules for %s", typ)
		}
	}
}

func TestLoadNamesTheExpectedType(t *testing.T) {
	for _, tc := range []struct{ json, field, want string }{
		{`{"contact": "x"}`, "contact", "an object"},
		{`{"rest_days": {}}`, "rest_days", "a list"},
		{`{"time_zone": 8}`, "time_zone", "a string"},
		{`{"service_hours": true}`, "service_hours", "a whole number"},
		{`"imask"`, "", "a JSON object"},
	} {
		_, err := Load(strings.NewReader(tc.json))
		wantCode(t, err, EInvalid, tc.field)
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.json, err, tc.want)
		}
	}
}

func TestRestDaysExtendTheWindowsInTheReasons(t *testing.T) {
	p := Default()
	p.RestDays = []DateRange{{From: day("2026-10-01"), To: day("2026-10-07")}}
	e, err := p.Entitlements(product(), seq(received("2026-09-24")), Claim{On: day("2026-10-08"), Finding: QualityProblem, Intact: true, Complete: true})
	if err != nil || remedies(e.Remedies) != "return,replace,repair" {
		t.Fatalf("%v %v", e.Remedies, err)
	}
	want := "day 14 of 7 after receipt on 2026-09-24 (window extended past rest days to 2026-10-08), intact and complete: return allowed"
	if e.Reasons[0] != want {
		t.Errorf("reason = %q, want %q", e.Reasons[0], want)
	}
}

func TestASecondClockPauseBeganBeforePayment(t *testing.T) {
	h := concat(seq(received("2023-03-03")), []Event{intake("2025-06-01 10:00"), quoted("2025-06-01 12:00"),
		paused("2025-06-03 08:00"), paid("2025-06-03 09:00"), resumed("2025-06-03 10:00")})
	c := Default().OpenCase(product(), h, ts("2025-06-03 11:00"))
	if c == nil || !c.DueAt.Equal(ts("2025-06-04 10:00")) {
		t.Errorf("case = %+v, want due 24 hours after payment plus the hour paused after it", c)
	}
}

func TestReplacementBasisTextsAndStates(t *testing.T) {
	p := Default()
	item := product()
	item.Serial, item.Replaces, item.ExchangedOn = "S2", "S1", day("2025-05-01")
	h := seq(Event{Type: EvReceived, On: day("2025-05-03"), Evidence: Invoice})
	if cv := p.Coverage(item, h, day("2025-05-04")); cv.BasisText != "receipt confirmed by invoice; replacement for S1, no new 7- or 15-day windows" {
		t.Errorf("basis text = %q", cv.BasisText)
	}
	h = seq(Event{Type: EvReceived, On: day("2025-05-03")})
	if cv := p.Coverage(product(), h, day("2025-05-04")); cv.BasisText != "receipt on record" || cv.Status != Active {
		t.Errorf("receipt without evidence: %+v", cv)
	}
	if cv := p.Coverage(product(), seq(dispatched("2025-05-01"), Event{Type: EvReceived, On: day("2025-05-03"), Evidence: Customer}), day("2025-05-04")); cv.BasisText != "receipt confirmed by customer" || cv.DispatchedOn != day("2025-05-01") || cv.Order != "O1" || cv.ReceivedOn != day("2025-05-03") || cv.Evidence != Customer {
		t.Errorf("customer receipt: %+v", cv)
	}
	// A replacement unit dispatched to the customer after the exchange is on its way.
	if cv := p.Coverage(item, seq(dispatched("2025-05-02")), day("2025-05-02")); cv.State != Dispatched || cv.Basis != BasisExchange {
		t.Errorf("dispatched replacement: %+v", cv)
	}
	// A retired serial names its successor.
	h = seq(received("2025-03-03"), intake("2025-03-10 10:00"), replacedBy("2025-03-10 12:00", "S2"))
	if cv := p.Coverage(product(), h, day("2025-03-11")); cv.SupersededBy != "S2" || cv.DaysLeft != 0 {
		t.Errorf("replaced: %+v", cv)
	}
}

// The lead's Date and Error helpers, exercised where the rules rely on them.
func TestDateJSON(t *testing.T) {
	var v struct {
		A Date `json:"a"`
		B Date `json:"b"`
		C Date `json:"c"`
	}
	if err := json.Unmarshal([]byte(`{"a": "2024-02-29", "b": null, "c": ""}`), &v); err != nil || v.A != day("2024-02-29") || !v.B.IsZero() || !v.C.IsZero() {
		t.Fatalf("%+v %v", v, err)
	}
	out, _ := json.Marshal(v)
	if string(out) != `{"a":"2024-02-29","b":null,"c":null}` {
		t.Errorf("marshal = %s", out)
	}
	for _, bad := range []string{`{"a": "2025-02-29"}`, `{"a": 20250101}`, `{"a": "1/2/2025"}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if s := (Date{Year: 12345, Month: 1, Day: 2}).String(); s != "12345-01-02" {
		t.Errorf("String of a 5-digit year = %s", s)
	}
}

func TestErrorHelpers(t *testing.T) {
	if ErrorCode(nil) != "" || ErrorCode(errors.New("disk")) != EInternal || ErrorCode(Errorf(EConflict, "", "x")) != EConflict {
		t.Error("ErrorCode")
	}
	if RowsError(nil) != nil {
		t.Error("RowsError of no rows")
	}
	rows := make([]RowError, MaxRowErrors+5)
	var e *Error
	if !errors.As(RowsError(rows), &e) || e.Code != EInvalid || e.BadRows != MaxRowErrors+5 || len(e.Rows) != MaxRowErrors {
		t.Errorf("RowsError = %+v", e)
	}
	if got := Errorf(EInvalid, "on", "bad %s", "date").Error(); got != "invalid_field: on: bad date" {
		t.Errorf("Error() = %q", got)
	}
}

func TestDefaultZone(t *testing.T) {
	p := Default()
	if p.Location().String() != "Asia/Shanghai" || p.Today(time.Date(2025, 3, 3, 17, 30, 0, 0, time.UTC)) != day("2025-03-04") {
		t.Errorf("zone %s", p.Location())
	}
	if reflect.DeepEqual(p.RestDays, []DateRange{}) {
		t.Error("default rest days should be nil")
	}
}
