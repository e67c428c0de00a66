package policy

import (
	"strings"
	"testing"
)

// wantCov lists the coverage fields a row checks. Dates: "" = not checked,
// "-" = zero (null). Ints: -1 = not checked.
type wantCov struct {
	status       Status
	state        State
	basis        Basis
	start        string
	returnUntil  string
	replaceUntil string
	until        string
	daysLeft     int
	freeRepairs  int
	repairDays   int
	basisText    string // substring
}

func checkDate(t *testing.T, name string, got Date, want string) {
	t.Helper()
	switch {
	case want == "":
	case want == "-" && !got.IsZero():
		t.Errorf("%s = %s, want null", name, got)
	case want != "-" && got != day(want):
		t.Errorf("%s = %s, want %s", name, got, want)
	}
}

func checkCov(t *testing.T, cv Coverage, w wantCov) {
	t.Helper()
	if w.status != "" && cv.Status != w.status {
		t.Errorf("status = %s, want %s", cv.Status, w.status)
	}
	if w.state != "" && cv.State != w.state {
		t.Errorf("state = %s, want %s", cv.State, w.state)
	}
	if w.basis != "" && cv.Basis != w.basis {
		t.Errorf("basis = %q, want %q", cv.Basis, w.basis)
	}
	checkDate(t, "start", cv.Start, w.start)
	checkDate(t, "return_until", cv.ReturnUntil, w.returnUntil)
	checkDate(t, "replace_until", cv.ReplaceUntil, w.replaceUntil)
	checkDate(t, "warranty_until", cv.WarrantyUntil, w.until)
	if w.daysLeft >= 0 && cv.DaysLeft != w.daysLeft {
		t.Errorf("days_left = %d, want %d", cv.DaysLeft, w.daysLeft)
	}
	if w.freeRepairs >= 0 && cv.FreeRepairs != w.freeRepairs {
		t.Errorf("free_repairs = %d, want %d", cv.FreeRepairs, w.freeRepairs)
	}
	if w.repairDays >= 0 && cv.RepairDays != w.repairDays {
		t.Errorf("repair_days = %d, want %d", cv.RepairDays, w.repairDays)
	}
	if !strings.Contains(cv.BasisText, w.basisText) {
		t.Errorf("basis text = %q, want it to contain %q", cv.BasisText, w.basisText)
	}
}

// covCase is an item viewed on a date under the default policy and what
// the view must show.
type covCase struct {
	name    string
	item    Item
	history []Event
	on      string
	want    wantCov
}

func TestCoverage(t *testing.T) {
	rest := Default()
	rest.RestDays = []DateRange{{From: day("2026-10-01"), To: day("2026-10-07"), Name: "National Day"}}
	chained := Default()
	chained.RestDays = []DateRange{{From: day("2026-10-01"), To: day("2026-10-03")}, {From: day("2026-10-04"), To: day("2026-10-05")}}
	estimated := product()
	estimated.ProducedOn = day("2025-01-01")
	exchange := product()
	exchange.Serial, exchange.Replaces, exchange.ExchangedOn = "S2", "S1", day("2026-11-20")
	legacy := product()
	legacy.WarrantyMonths = 0 // registered before months were copied: the policy's period

	for _, tc := range []struct {
		name    string
		p       *Policy
		item    Item
		history []Event
		on      string
		want    wantCov
	}{
		{"contract example: received 2026-11-05 by courier, seen on 2026-11-27", nil, product(),
			seq(dispatched("2026-11-01"), received("2026-11-05")), "2026-11-27",
			wantCov{Active, InUse, "courier", "2026-11-05", "2026-11-12", "2026-11-20", "2027-11-05", 343, 0, 0, "receipt confirmed by courier"}},
		{"registered only: not started, no dates", nil, product(), nil, "2026-11-27",
			wantCov{NotStarted, Registered, "", "-", "-", "-", "-", 0, 0, 0, "no receipt and no production date on record"}},
		{"dispatched directly without receipt or production date: dated from the dispatch", nil, product(),
			seq(dispatched("2026-11-01")), "2026-11-27",
			wantCov{Active, Dispatched, BasisDispatched, "2026-11-01", "2026-11-08", "2026-11-16", "2027-11-01", 339, -1, -1, "dispatched directly to the customer on 2026-11-01"}},
		{"12 months from a leap day end on 28 February", nil, product(),
			seq(received("2024-02-29")), "2025-02-28",
			wantCov{Active, InUse, "courier", "2024-02-29", "2024-03-07", "2024-03-15", "2025-02-28", 0, 0, 0, ""}},
		{"12 months from a leap day: 1 March is expired", nil, product(),
			seq(received("2024-02-29")), "2025-03-01",
			wantCov{Expired, InUse, "courier", "", "", "", "2025-02-28", 0, -1, -1, ""}},
		{"12 months from 31 January end on 31 January", nil, product(),
			seq(received("2026-01-31")), "2027-01-31",
			wantCov{Active, "", "", "", "", "", "2027-01-31", 0, -1, -1, ""}},
		{"windows across a month end: 7 days after 28 February", nil, product(),
			seq(received("2025-02-28")), "2025-03-01",
			wantCov{Active, "", "", "", "2025-03-07", "2025-03-15", "2026-02-28", -1, -1, -1, ""}},
		{"6-month model period copied at registration", nil, func() Item { i := product(); i.WarrantyMonths = 6; return i }(),
			seq(received("2025-08-31")), "2025-09-01",
			wantCov{Active, "", "", "", "", "", "2026-02-28", -1, -1, -1, ""}},
		{"no months on the item: the policy's period for the kind", nil, legacy,
			seq(received("2025-03-03")), "2025-03-04",
			wantCov{Active, "", "", "", "", "", "2026-03-03", -1, -1, -1, ""}},
		{"receipt dated after the evaluation date does not count yet", nil, product(),
			seq(received("2025-03-03")), "2025-03-02",
			wantCov{NotStarted, Registered, "", "-", "-", "-", "-", 0, -1, -1, ""}},
		{"resale changes nothing", nil, product(),
			seq(received("2025-03-03"), transferred("2025-03-05")), "2025-03-06",
			wantCov{Active, InUse, "courier", "2025-03-03", "2025-03-10", "2025-03-18", "2026-03-03", -1, -1, -1, "receipt confirmed by courier"}},
		{"invoice evidence", nil, product(),
			seq(Event{Type: EvReceived, On: day("2025-03-03"), Evidence: Invoice}), "2025-03-06",
			wantCov{Active, InUse, "invoice", "", "", "", "", -1, -1, -1, "receipt confirmed by invoice"}},
		{"no receipt, production date known: estimated start, no windows", nil, estimated, nil, "2025-04-05",
			wantCov{Active, Registered, BasisEstimated, "2025-04-01", "-", "-", "2026-04-01", 361, 0, 0, "estimated: production date 2025-01-01 + 90 days, no receipt on record"}},
		{"estimated start after the evaluation date: active, days left to the warranty end", nil, estimated, nil, "2025-03-01",
			wantCov{Active, Registered, BasisEstimated, "2025-04-01", "-", "-", "2026-04-01", 396, -1, -1, "estimated"}},
		{"estimated warranty expires", nil, estimated, nil, "2026-04-02",
			wantCov{Expired, "", BasisEstimated, "", "", "", "2026-04-01", 0, -1, -1, ""}},
		{"a receipt replaces the estimate", nil, estimated, seq(received("2025-06-01")), "2025-06-02",
			wantCov{Active, InUse, "courier", "2025-06-01", "2025-06-08", "2025-06-16", "2026-06-01", -1, -1, -1, ""}},
		{"replacement unit before its receipt: start at the exchange, no windows", nil, exchange, nil, "2026-11-21",
			wantCov{Active, InUse, BasisExchange, "2026-11-20", "-", "-", "2027-11-20", 364, 0, 0, "exchange for S1 on 2026-11-20"}},
		{"replacement unit before the exchange: not started", nil, exchange, nil, "2026-11-19",
			wantCov{NotStarted, Registered, "", "-", "-", "-", "-", 0, -1, -1, "replacement for S1"}},
		{"replacement unit received: fresh 12 months from its receipt, still no windows", nil, exchange,
			seq(dispatched("2026-11-21"), received("2026-11-23")), "2026-11-24",
			wantCov{Active, InUse, "courier", "2026-11-23", "-", "-", "2027-11-23", -1, 0, -1, "replacement for S1, no new 7- or 15-day windows"}},
		{"repair days of a free repair extend the warranty", nil, product(),
			concat(seq(received("2025-03-03")), freeCase("2025-06-01", "2025-06-04")), "2025-07-01",
			wantCov{Active, InUse, "", "", "2025-03-10", "2025-03-18", "2026-03-06", -1, 1, 3, ""}},
		{"repair days do not extend the 7- and 15-day windows", nil, product(),
			concat(seq(received("2025-03-03")), freeCase("2025-03-05", "2025-03-09")), "2025-03-10",
			wantCov{Active, "", "", "", "2025-03-10", "2025-03-18", "2026-03-07", -1, 1, 4, ""}},
		{"paid repairs do not extend the warranty", nil, product(),
			concat(seq(received("2025-03-03")), []Event{intake("2025-06-01 10:00"), diagnosed("2025-06-01 11:00", HumanDamage, ""),
				quoted("2025-06-01 12:00"), paid("2025-06-02 09:00"), repaired("2025-06-03 09:00", true, "screen"), shipped("2025-06-04 10:00")}), "2025-07-01",
			wantCov{Active, "", "", "", "", "", "2026-03-03", -1, 0, 0, ""}},
		{"an open free-repair case counts its days up to the evaluation date", nil, product(),
			concat(seq(received("2025-03-03")), []Event{intake("2026-03-01 10:00"), diagnosed("2026-03-01 11:00", QualityProblem, "")}), "2026-03-04",
			wantCov{Active, InService, "", "", "", "", "2026-03-06", 2, 0, 3, ""}},
		{"an open case found no fault adds no days", nil, product(),
			concat(seq(received("2025-03-03")), []Event{intake("2026-03-01 10:00"), diagnosed("2026-03-01 11:00", NoFault, "")}), "2026-03-04",
			wantCov{Expired, InService, "", "", "", "", "2026-03-03", 0, 0, 0, ""}},
		{"a free repair begun after the warranty ended adds no days", nil, product(),
			concat(seq(received("2025-03-03")), freeCase("2026-03-10", "2026-03-20", "battery")), "2026-03-21",
			wantCov{Expired, InUse, "", "", "", "", "2026-03-03", 0, 1, 0, ""}},
		{"a last day inside a rest period moves to the day after it", rest, product(),
			seq(received("2025-10-03")), "2026-10-08",
			wantCov{Active, "", "", "", "", "", "2026-10-08", 0, -1, -1, ""}},
		{"rest days move the 7-day window too", rest, product(),
			seq(received("2026-09-24")), "2026-09-25",
			wantCov{Active, "", "", "", "2026-10-08", "2026-10-09", "", -1, -1, -1, ""}},
		{"a rest period after another moves the day again", chained, product(),
			seq(received("2025-10-02")), "2025-10-03",
			wantCov{Active, "", "", "", "", "", "2026-10-06", -1, -1, -1, ""}},
		{"rest-day shift is applied after the repair days", rest, product(),
			concat(seq(received("2025-09-28")), freeCase("2026-01-05", "2026-01-08")), "2026-02-01",
			wantCov{Active, "", "", "", "", "", "2026-10-08", -1, 1, 3, ""}},
		{"tampering voids from the day of the diagnosis", nil, product(),
			concat(seq(received("2025-03-03")), []Event{intake("2025-03-05 10:00"), diagnosed("2025-03-06 10:00", Tampered, "")}), "2025-03-06",
			wantCov{Void, InService, "", "", "", "", "2026-03-03", 0, -1, -1, ""}},
		{"before the tampering diagnosis the warranty was active", nil, product(),
			concat(seq(received("2025-03-03")), []Event{intake("2025-03-05 10:00"), diagnosed("2025-03-06 10:00", Tampered, "")}), "2025-03-05",
			wantCov{Active, InService, "", "", "", "", "", 363, -1, -1, ""}},
		{"void for good: shipped back and a year on", nil, product(),
			concat(seq(received("2025-03-03")), []Event{intake("2025-03-05 10:00"), diagnosed("2025-03-06 10:00", UnauthorizedRepair, ""), shipped("2025-03-07 10:00")}), "2025-09-01",
			wantCov{Void, InUse, "", "", "", "", "", 0, -1, -1, ""}},
		{"replaced unit is retired", nil, product(),
			concat(seq(received("2025-03-03")), []Event{intake("2025-03-10 10:00"), diagnosed("2025-03-10 11:00", QualityProblem, ""), replacedBy("2025-03-11 10:00", "S2")}), "2025-03-12",
			wantCov{Retired, Replaced, "", "", "", "", "", 0, -1, -1, ""}},
		{"returned unit is retired", nil, product(),
			concat(seq(received("2025-03-03")), []Event{intake("2025-03-05 10:00"), diagnosed("2025-03-05 11:00", NoFault, ""), returnedAt("2025-03-06 10:00")}), "2025-03-06",
			wantCov{Retired, Returned, "", "", "", "", "", 0, -1, -1, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			if p == nil {
				p = Default()
			}
			checkCov(t, p.Coverage(tc.item, tc.history, day(tc.on)), tc.want)
		})
	}
}
