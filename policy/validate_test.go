package policy

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var now = ts("2025-06-10 12:00")

func TestValidate(t *testing.T) {
	spare := Item{Serial: "S2", SKU: "M1", Kind: KindProduct, WarrantyMonths: 12, Batch: "B2"}
	other := Item{Serial: "X9", SKU: "M9", Kind: KindProduct, WarrantyMonths: 12, Batch: "B9"}
	already := spare
	already.Replaces = "S0"
	replacing := func(r *Item, h ...Event) Check { return Check{Now: now, Replacement: r, ReplacementHistory: seq(h...)} }
	live := seq(dispatched("2025-03-01"), received("2025-03-03"))
	open := concat(live, []Event{intake("2025-06-01 10:00")})
	diagnosedOpen := concat(open, []Event{diagnosed("2025-06-01 11:00", QualityProblem, "")})
	quotedOpen := concat(open, []Event{quoted("2025-06-01 12:00")})
	pausedOpen := concat(open, []Event{paused("2025-06-01 12:00")})
	retired := concat(open, []Event{replacedBy("2025-06-02 10:00", "S2")})
	refunded := concat(open, []Event{returnedAt("2025-06-02 10:00")})
	produced := product()
	produced.ProducedOn = day("2025-02-01")
	exchange := product()
	exchange.Serial, exchange.Replaces, exchange.ExchangedOn = "S2", "S1", day("2025-05-01")
	long := func(n int) string { return strings.Repeat("x", n) }
	ok := Check{Now: now}

	for _, tc := range []struct {
		name    string
		item    Item
		history []Event
		ev      Event
		c       Check
		code    string // "" = valid
		field   string
	}{
		// Valid events.
		{"dispatch of a registered item", product(), nil, dispatched("2025-03-01"), ok, "", ""},
		{"dispatch without an order number", product(), nil, Event{Type: EvDispatched, On: day("2025-03-01")}, ok, "", ""},
		{"receipt without a dispatch on record", product(), nil, received("2025-03-03"), ok, "", ""},
		{"receipt on the day of dispatch", product(), seq(dispatched("2025-03-03")), received("2025-03-03"), ok, "", ""},
		{"receipt today", product(), nil, received("2025-06-10"), ok, "", ""},
		{"resale after the receipt", product(), live, transferred("2025-04-01"), ok, "", ""},
		{"intake with no case open", product(), live, intake("2025-06-01 10:00"), ok, "", ""},
		{"intake before any receipt (paid repair)", product(), nil, intake("2025-06-01 10:00"), ok, "", ""},
		{"diagnosis in the open case", product(), open, diagnosed("2025-06-01 11:00", QualityProblem, "battery"), ok, "", ""},
		{"quotation in the open case", product(), open, quoted("2025-06-01 11:00"), ok, "", ""},
		{"payment after a quotation", product(), quotedOpen, paid("2025-06-01 13:00"), ok, "", ""},
		{"refusal after a quotation", product(), quotedOpen, declined("2025-06-01 13:00"), ok, "", ""},
		{"free repair with parts", product(), diagnosedOpen, repaired("2025-06-01 13:00", false, "battery", "主板"), ok, "", ""},
		{"pause of a running case", product(), open, paused("2025-06-01 12:00"), ok, "", ""},
		{"resume of a paused case", product(), pausedOpen, resumed("2025-06-01 13:00"), ok, "", ""},
		{"shipping while paused", product(), pausedOpen, shipped("2025-06-01 13:00"), ok, "", ""},
		{"shipping closes the case", product(), diagnosedOpen, shipped("2025-06-02 10:00"), ok, "", ""},
		{"replacement by a unit from stock", product(), diagnosedOpen, replacedBy("2025-06-02 10:00", "S2"), replacing(&spare), "", ""},
		{"refund", product(), diagnosedOpen, returnedAt("2025-06-02 10:00"), ok, "", ""},
		{"accessory exchange over the counter", product(), live, accReplaced("2025-06-01 10:00", "CHG-1", "CB2501"), ok, "", ""},
		{"accessory exchange in a case", product(), open, accReplaced("2025-06-01 11:00", "CHG-1", "CB2501"), ok, "", ""},
		{"an instant up to 5 minutes ahead is accepted", product(), open, diagnosed("2025-06-10 12:04", QualityProblem, ""), ok, "", ""},
		{"correction of a receipt date", product(), live, corrected(2, Event{On: day("2025-03-04")}), ok, "", ""},
		{"correction on a retired serial", product(), retired, corrected(3, Event{Center: "Wuhan"}), ok, "", ""},

		// Field rules.
		{"unknown type", product(), nil, Event{Type: "lost", On: day("2025-03-01")}, ok, EInvalid, "type"},
		{"no type", product(), nil, Event{On: day("2025-03-01")}, ok, EInvalid, "type"},
		{"dispatch needs on", product(), nil, Event{Type: EvDispatched, Order: "O1"}, ok, EInvalid, "on"},
		{"dispatch with a bad order number", product(), nil, Event{Type: EvDispatched, On: day("2025-03-01"), Order: "O 1"}, ok, EInvalid, "order"},
		{"receipt needs on", product(), nil, Event{Type: EvReceived, Evidence: Courier}, ok, EInvalid, "on"},
		{"receipt needs evidence", product(), nil, Event{Type: EvReceived, On: day("2025-03-03")}, ok, EInvalid, "evidence"},
		{"receipt with unknown evidence", product(), nil, Event{Type: EvReceived, On: day("2025-03-03"), Evidence: "rumour"}, ok, EInvalid, "evidence"},
		{"resale needs on", product(), live, Event{Type: EvTransferred}, ok, EInvalid, "on"},
		{"a field of another type is refused", product(), nil, Event{Type: EvReceived, On: day("2025-03-03"), Evidence: Courier, Center: "X"}, ok, EInvalid, "center"},
		{"a dated type takes no instant", product(), nil, Event{Type: EvReceived, On: day("2025-03-03"), Evidence: Courier, At: now}, ok, EInvalid, "at"},
		{"paid flag only on repairs", product(), open, Event{Type: EvShipped, At: ts("2025-06-01 12:00"), Paid: true}, ok, EInvalid, "paid"},
		{"fields only on corrections", product(), nil, Event{Type: EvDispatched, On: day("2025-03-01"), Fields: []string{"on"}}, ok, EInvalid, "fields"},
		{"corrects only on corrections", product(), nil, Event{Type: EvDispatched, On: day("2025-03-01"), Corrects: 1}, ok, EInvalid, "corrects"},
		{"intake needs at", product(), live, Event{Type: EvIntake, Center: "Shenzhen"}, ok, EInvalid, "at"},
		{"intake needs a centre", product(), live, Event{Type: EvIntake, At: ts("2025-06-01 10:00"), Center: "  "}, ok, EInvalid, "center"},
		{"centre at most 100 characters", product(), live, Event{Type: EvIntake, At: ts("2025-06-01 10:00"), Center: long(101)}, ok, EInvalid, "center"},
		{"complaint at most 2000 characters", product(), live, Event{Type: EvIntake, At: ts("2025-06-01 10:00"), Center: "C", Complaint: long(2001)}, ok, EInvalid, "complaint"},
		{"contact at most 200 characters", product(), live, Event{Type: EvIntake, At: ts("2025-06-01 10:00"), Center: "C", Contact: long(201)}, ok, EInvalid, "contact"},
		{"note at most 2000 characters", product(), nil, Event{Type: EvDispatched, On: day("2025-03-01"), Note: long(2001)}, ok, EInvalid, "note"},
		{"note without control characters", product(), nil, Event{Type: EvDispatched, On: day("2025-03-01"), Note: "a\x00b"}, ok, EInvalid, "note"},
		{"diagnosis needs a finding", product(), open, Event{Type: EvDiagnosed, At: ts("2025-06-01 11:00")}, ok, EInvalid, "finding"},
		{"unknown finding", product(), open, diagnosed("2025-06-01 11:00", "dusty", ""), ok, EInvalid, "finding"},
		{"part name at most 64 characters", product(), open, diagnosed("2025-06-01 11:00", QualityProblem, long(65)), ok, EInvalid, "part"},
		{"part name without punctuation", product(), open, diagnosed("2025-06-01 11:00", QualityProblem, "bat;tery"), ok, EInvalid, "part"},
		{"parts listed twice", product(), diagnosedOpen, repaired("2025-06-01 13:00", false, "fan", " fan"), ok, EInvalid, "parts"},
		{"empty part name", product(), diagnosedOpen, repaired("2025-06-01 13:00", false, "fan", ""), ok, EInvalid, "parts"},
		{"quotation needs an amount", product(), open, Event{Type: EvQuoted, At: ts("2025-06-01 11:00")}, ok, EInvalid, "amount"},
		{"negative amount", product(), open, Event{Type: EvQuoted, At: ts("2025-06-01 11:00"), Amount: "-5"}, ok, EInvalid, "amount"},
		{"zero amount", product(), open, Event{Type: EvQuoted, At: ts("2025-06-01 11:00"), Amount: "0.00"}, ok, EInvalid, "amount"},
		{"three decimals", product(), open, Event{Type: EvQuoted, At: ts("2025-06-01 11:00"), Amount: "1.234"}, ok, EInvalid, "amount"},
		{"amount in words", product(), open, Event{Type: EvQuoted, At: ts("2025-06-01 11:00"), Amount: "ten"}, ok, EInvalid, "amount"},
		{"amount with an exponent", product(), open, Event{Type: EvQuoted, At: ts("2025-06-01 11:00"), Amount: "1e3"}, ok, EInvalid, "amount"},
		{"currency of two letters", product(), open, Event{Type: EvQuoted, At: ts("2025-06-01 11:00"), Amount: "10", Currency: "CN"}, ok, EInvalid, "currency"},
		{"currency with a digit", product(), open, Event{Type: EvQuoted, At: ts("2025-06-01 11:00"), Amount: "10", Currency: "CN1"}, ok, EInvalid, "currency"},
		{"currency without an amount", product(), quotedOpen, Event{Type: EvDeclined, At: ts("2025-06-01 13:00"), Currency: "CNY"}, ok, EInvalid, "currency"},
		{"payment needs an amount", product(), quotedOpen, Event{Type: EvPaid, At: ts("2025-06-01 13:00")}, ok, EInvalid, "amount"},
		{"tracking at most 64 characters", product(), open, Event{Type: EvShipped, At: ts("2025-06-01 13:00"), Tracking: long(65)}, ok, EInvalid, "tracking"},
		{"pause reason at most 2000 characters", product(), open, Event{Type: EvPaused, At: ts("2025-06-01 13:00"), Reason: long(2001)}, ok, EInvalid, "reason"},
		{"replacement needs a new serial", product(), open, Event{Type: EvReplaced, At: ts("2025-06-02 10:00")}, replacing(&spare), EInvalid, "new_serial"},
		{"replacement serial must be an identifier", product(), open, replacedBy("2025-06-02 10:00", "S 2"), replacing(&spare), EInvalid, "new_serial"},
		{"accessory exchange needs the sku", product(), live, Event{Type: EvAccessoryReplaced, At: ts("2025-06-01 10:00"), NewBatch: "CB2501"}, ok, EInvalid, "sku"},
		{"accessory exchange of an accessory not bundled", product(), live, accReplaced("2025-06-01 10:00", "CHG-9", "CB2501"), ok, EInvalid, "sku"},
		{"accessory exchange needs the new batch", product(), live, Event{Type: EvAccessoryReplaced, At: ts("2025-06-01 10:00"), SKU: "CHG-1"}, ok, EInvalid, "new_batch"},
		{"accessory exchange with a bad batch", product(), live, accReplaced("2025-06-01 10:00", "CHG-1", "CB/2501"), ok, EInvalid, "new_batch"},
		{"a date in the future", product(), nil, received("2025-06-11"), ok, EInvalid, "on"},
		{"an instant more than 5 minutes ahead", product(), open, diagnosed("2025-06-10 12:06", QualityProblem, ""), ok, EInvalid, "at"},
		{"today in CST is checked, not in UTC", product(), nil, received("2025-06-11"), Check{Now: ts("2025-06-10T16:30:00Z")}, "", ""},
		{"dispatch before the production date", produced, nil, dispatched("2025-01-31"), ok, EInvalid, "on"},
		{"receipt before the production date", produced, nil, received("2025-01-31"), ok, EInvalid, "on"},

		// History rules.
		{"receipt before a recorded dispatch", product(), seq(dispatched("2025-03-03")), received("2025-03-02"), ok, EInvalid, "on"},
		{"replacement unit received before its exchange", exchange, nil, received("2025-04-30"), ok, EInvalid, "on"},
		{"replacement unit dispatched before its exchange", exchange, nil, dispatched("2025-04-30"), ok, EInvalid, "on"},
		{"resale before the receipt", product(), live, transferred("2025-03-02"), ok, EInvalid, "on"},
		{"second receipt with the same evidence", product(), live, received("2025-04-01"), ok, EConflict, "evidence"},
		{"second dispatch", product(), seq(dispatched("2025-03-01")), dispatched("2025-03-02"), ok, EConflict, "on"},
		{"dispatch after the receipt", product(), seq(received("2025-03-03")), dispatched("2025-03-04"), ok, EConflict, "on"},
		{"anything on a replaced serial", product(), retired, transferred("2025-06-03"), ok, EConflict, ""},
		{"intake on a refunded serial", product(), refunded, intake("2025-06-03 10:00"), ok, EConflict, ""},
		{"diagnosis with no open case", product(), live, diagnosed("2025-06-01 11:00", QualityProblem, ""), ok, EConflict, ""},
		{"shipping with no open case", product(), concat(live, freeCase("2025-06-01", "2025-06-02")), shipped("2025-06-03 10:00"), ok, EConflict, ""},
		{"replacement with no open case", product(), live, replacedBy("2025-06-02 10:00", "S2"), replacing(&spare), EConflict, ""},
		{"intake while a case is open", product(), open, intake("2025-06-02 10:00"), ok, EConflict, ""},
		{"pause of a paused case", product(), pausedOpen, paused("2025-06-01 13:00"), ok, EConflict, ""},
		{"resume of a running case", product(), open, resumed("2025-06-01 13:00"), ok, EConflict, ""},
		{"payment without a quotation", product(), open, paid("2025-06-01 13:00"), ok, EConflict, ""},
		{"refusal without a quotation", product(), open, declined("2025-06-01 13:00"), ok, EConflict, ""},
		{"second payment", product(), concat(quotedOpen, []Event{paid("2025-06-01 13:00")}), paid("2025-06-01 14:00"), ok, EConflict, ""},
		{"new quotation after payment", product(), concat(quotedOpen, []Event{paid("2025-06-01 13:00")}), quoted("2025-06-01 14:00"), ok, EConflict, ""},
		{"a step dated before the previous one of the case", product(), diagnosedOpen, shipped("2025-06-01 10:30"), ok, EInvalid, "at"},
		{"an accessory exchange dated before the case's last step", product(), diagnosedOpen, accReplaced("2025-06-01 10:30", "CHG-1", "CB2501"), ok, EInvalid, "at"},
		{"replacement serial not registered", product(), open, replacedBy("2025-06-02 10:00", "S2"), replacing(nil), EInvalid, "new_serial"},
		{"replacement of another SKU", product(), open, replacedBy("2025-06-02 10:00", "X9"), replacing(&other), EConflict, "new_serial"},
		{"replacement already received", product(), open, replacedBy("2025-06-02 10:00", "S2"), replacing(&spare, received("2025-05-01")), EConflict, "new_serial"},
		{"replacement already dispatched", product(), open, replacedBy("2025-06-02 10:00", "S2"), replacing(&spare, dispatched("2025-05-01")), EConflict, "new_serial"},
		{"replacement already retired", product(), open, replacedBy("2025-06-02 10:00", "S2"), replacing(&spare, intake("2025-05-01 10:00"), returnedAt("2025-05-01 11:00")), EConflict, "new_serial"},
		{"replacement by itself", product(), open, replacedBy("2025-06-02 10:00", "S1"), replacing(func() *Item { i := product(); return &i }()), EConflict, "new_serial"},
		{"replacement that already replaces another unit", product(), open, replacedBy("2025-06-02 10:00", "S2"), replacing(&already), EConflict, "new_serial"},

		// Corrections.
		{"correction needs the seq", product(), live, Event{Type: EvCorrected, Reason: "typo", On: day("2025-03-04")}, ok, EInvalid, "seq"},
		{"correction of a missing event", product(), live, corrected(9, Event{On: day("2025-03-04")}), ok, EInvalid, "seq"},
		{"correction of a correction", product(), concat(live, []Event{corrected(2, Event{On: day("2025-03-04")})}), corrected(3, Event{On: day("2025-03-05")}), ok, EInvalid, "seq"},
		{"correction needs a reason", product(), live, Event{Type: EvCorrected, Corrects: 2, On: day("2025-03-04")}, ok, EInvalid, "reason"},
		{"correction with nothing to replace", product(), live, corrected(2, Event{}), ok, EInvalid, "seq"},
		{"correction with a field of another type", product(), live, corrected(2, Event{Center: "Wuhan"}), ok, EInvalid, "center"},
		{"correction of a replacement's serial", product(), retired, corrected(4, Event{NewSerial: "S3"}), ok, EInvalid, "new_serial"},
		{"correction listing an unknown field", product(), live, corrected(2, Event{Fields: []string{"colour"}}), ok, EInvalid, "fields"},
		{"correction giving a field it does not list", product(), live, corrected(2, Event{Fields: []string{"on"}, On: day("2025-03-04"), Evidence: Invoice}), ok, EInvalid, "evidence"},
		{"correction to a bad value", product(), live, corrected(2, Event{Evidence: "rumour"}), ok, EInvalid, "evidence"},
		{"correction clearing a required field", product(), live, corrected(2, Event{Fields: []string{"evidence"}}), ok, EInvalid, "evidence"},
		{"correction to a date in the future", product(), live, corrected(2, Event{On: day("2025-07-01")}), ok, EInvalid, "on"},
		{"corrected receipt before the dispatch is refused", product(), live, corrected(2, Event{On: day("2025-02-28")}), ok, EInvalid, "on"},
		{"corrected dispatch after the receipt is refused", product(), live, corrected(1, Event{On: day("2025-03-04")}), ok, EInvalid, "on"},
		{"corrected intake after the next step is refused", product(), diagnosedOpen, corrected(3, Event{At: ts("2025-06-01 12:00")}), ok, EInvalid, "at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Default().Validate(tc.item, tc.history, tc.ev, tc.c)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("err = %v, want the event accepted", err)
				}
				return
			}
			wantCode(t, err, tc.code, tc.field)
		})
	}
}

func TestValidateNormalises(t *testing.T) {
	p := Default()
	h := seq(received("2025-03-03"), intake("2025-06-01 10:00"))
	ev, err := p.Validate(product(), h, Event{Type: EvQuoted, At: ts("2025-06-01 11:00"), Amount: " 007.50 ", Note: "  ok \n"}, Check{Now: now})
	if err != nil || ev.Amount != "7.50" || ev.Currency != "CNY" || ev.Note != "ok" {
		t.Errorf("quoted = %+v, %v", ev, err)
	}
	ev, err = p.Validate(product(), h, Event{Type: EvQuoted, At: ts("2025-06-01 11:00"), Amount: "0.5", Currency: " usd"}, Check{Now: now})
	if err != nil || ev.Amount != "0.5" || ev.Currency != "USD" {
		t.Errorf("quoted = %+v, %v", ev, err)
	}
	ev, err = p.Validate(product(), h, Event{Type: EvRepaired, At: ts("2025-06-01 11:00"), Parts: []string{" battery ", "fan\n"}}, Check{Now: now})
	if err != nil || !reflect.DeepEqual(ev.Parts, []string{"battery", "fan"}) {
		t.Errorf("repaired = %+v, %v", ev, err)
	}
	ev, err = p.Validate(product(), nil, Event{Type: EvDispatched, On: day("2025-03-01"), Order: " O-1\r\n"}, Check{Now: now})
	if err != nil || ev.Order != "O-1" {
		t.Errorf("dispatched = %+v, %v", ev, err)
	}
	ev, err = p.Validate(product(), h, corrected(2, Event{Fields: []string{"center", "center"}, Center: " Wuhan "}), Check{Now: now})
	if err != nil || ev.Center != "Wuhan" || !reflect.DeepEqual(ev.Fields, []string{"center"}) {
		t.Errorf("corrected = %+v, %v", ev, err)
	}
	// A zero Now skips the future checks rather than refusing everything.
	if _, err := p.Validate(product(), nil, received("2999-01-01"), Check{}); err != nil {
		t.Errorf("zero Now: %v", err)
	}
}

func TestValidateMessagesNameTheRule(t *testing.T) {
	p := Default()
	for _, tc := range []struct {
		history []Event
		ev      Event
		want    string
	}{
		{seq(received("2025-03-03")), received("2025-04-01"), "second receipt"},
		{seq(dispatched("2025-03-03")), received("2025-03-02"), "before the dispatch on 2025-03-03"},
		{seq(received("2025-03-03")), diagnosed("2025-06-01 11:00", QualityProblem, ""), "no open service case"},
		{seq(received("2025-03-03"), intake("2025-06-01 10:00"), replacedBy("2025-06-01 11:00", "S2")), transferred("2025-06-02"), "retired (replaced by S2)"},
		{seq(dispatched("2025-03-01"), received("2025-03-03")), corrected(2, Event{On: day("2025-02-28")}), "the correction of event 2 would break the history"},
	} {
		_, err := p.Validate(product(), tc.history, tc.ev, Check{Now: now})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to say %q", tc.ev.Type, err, tc.want)
		}
	}
}

func TestCheckModel(t *testing.T) {
	p := Default()
	m, err := p.CheckModel(Model{SKU: " M1\n", Name: " Mask Pro ", Kind: " product", GTIN: "6901234567892"})
	if err != nil || m.SKU != "M1" || m.Name != "Mask Pro" || m.Kind != KindProduct || m.GTIN != "06901234567892" {
		t.Errorf("model = %+v, %v", m, err)
	}
	if m, err := p.CheckModel(Model{SKU: "C1", Name: "Cable", Kind: KindAccessory, GTIN: "  ", WarrantyMonths: 120}); err != nil || m.GTIN != "" {
		t.Errorf("model = %+v, %v", m, err)
	}
	for _, tc := range []struct {
		name  string
		m     Model
		field string
	}{
		{"sku required", Model{Name: "x", Kind: KindProduct}, "sku"},
		{"sku is an identifier", Model{SKU: "M 1", Name: "x", Kind: KindProduct}, "sku"},
		{"name required", Model{SKU: "M1", Kind: KindProduct}, "name"},
		{"name at most 200 characters", Model{SKU: "M1", Name: strings.Repeat("n", 201), Kind: KindProduct}, "name"},
		{"kind required", Model{SKU: "M1", Name: "x"}, "kind"},
		{"kind must be known", Model{SKU: "M1", Name: "x", Kind: "gadget"}, "kind"},
		{"gtin check digit", Model{SKU: "M1", Name: "x", Kind: KindProduct, GTIN: "6901234567893"}, "gtin"},
		{"negative months", Model{SKU: "M1", Name: "x", Kind: KindProduct, WarrantyMonths: -1}, "warranty_months"},
		{"months over 120", Model{SKU: "M1", Name: "x", Kind: KindProduct, WarrantyMonths: 121}, "warranty_months"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.CheckModel(tc.m)
			wantCode(t, err, EInvalid, tc.field)
		})
	}
}

func TestEventDateIsTheCSTDate(t *testing.T) {
	p := Default()
	for _, tc := range []struct {
		name string
		ev   Event
		want string
	}{
		{"17:30 UTC on 3 March is 4 March in CST", Event{Type: EvIntake, At: time.Date(2025, 3, 3, 17, 30, 0, 0, time.UTC)}, "2025-03-04"},
		{"15:59 UTC on 3 March is still 3 March in CST", Event{Type: EvIntake, At: time.Date(2025, 3, 3, 15, 59, 0, 0, time.UTC)}, "2025-03-03"},
		{"a dated event keeps its date", Event{Type: EvReceived, On: day("2025-03-03"), At: time.Date(2025, 3, 3, 17, 30, 0, 0, time.UTC)}, "2025-03-03"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.EventDate(tc.ev); got != day(tc.want) {
				t.Errorf("EventDate = %s, want %s", got, tc.want)
			}
		})
	}
	// As of 3 March a service intake at 17:30 UTC that day has not happened yet.
	h := seq(received("2025-03-01"), Event{Type: EvIntake, At: time.Date(2025, 3, 3, 17, 30, 0, 0, time.UTC), Center: "C"})
	if s := p.Coverage(product(), h, day("2025-03-03")).State; s != InUse {
		t.Errorf("state on 3 March = %s, want in_use", s)
	}
	if s := p.Coverage(product(), h, day("2025-03-04")).State; s != InService {
		t.Errorf("state on 4 March = %s, want in_service", s)
	}
	// Repair days count CST dates: in 17:30 UTC 3 March (4 March), out 4 March 20:00 CST: 0 days.
	h = seq(received("2025-03-01"), Event{Type: EvIntake, At: time.Date(2025, 3, 3, 17, 30, 0, 0, time.UTC), Center: "C"},
		diagnosed("2025-03-04 10:00", QualityProblem, ""), repaired("2025-03-04 19:00", false), shipped("2025-03-04 20:00"))
	if cv := p.Coverage(product(), h, day("2025-03-05")); cv.RepairDays != 0 || cv.WarrantyUntil != day("2026-03-01") {
		t.Errorf("repair days = %d, until %s; want 0 and 2026-03-01", cv.RepairDays, cv.WarrantyUntil)
	}
}
