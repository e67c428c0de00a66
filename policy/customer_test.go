package policy

import (
	"strconv"
	"strings"
	"testing"
)

func resellerDispatch(on string) Event {
	return Event{Type: EvDispatched, On: day(on), Order: "R1", Channel: Reseller}
}

func receivedBy(on string, e Evidence) Event {
	return Event{Type: EvReceived, On: day(on), Evidence: e}
}

// options writes Options as "return until 2026-11-08 (7 left), ...", "" for none.
func options(os []Option) string {
	s := make([]string, len(os))
	for i, o := range os {
		s[i] = string(o.Remedy) + " until " + o.Until.String() + " (" + strconv.Itoa(o.DaysLeft) + " left)"
	}
	return strings.Join(s, ", ")
}

// policy.md "No receipt on record" and "Dispatched start": a direct
// dispatch dates everything, windows included, until a receipt is recorded.
func TestCoverageWithoutReceipt(t *testing.T) {
	produced := product()
	produced.ProducedOn = day("2026-10-01") // estimated start 2026-10-01 + 90 days = 2026-12-30
	produced.Accessories = nil
	for _, tc := range []covCase{
		{"direct dispatch, day 0: dated from the dispatch", product(), seq(dispatched("2026-11-01")), "2026-11-01",
			wantCov{Active, Dispatched, BasisDispatched, "2026-11-01", "2026-11-08", "2026-11-16", "2027-11-01", 365, 0, 0, "dispatched directly to the customer on 2026-11-01"}},
		{"direct dispatch: last day of the 12 months", product(), seq(dispatched("2026-11-01")), "2027-11-01",
			wantCov{Active, Dispatched, BasisDispatched, "2026-11-01", "2026-11-08", "2026-11-16", "2027-11-01", 0, -1, -1, ""}},
		{"direct dispatch: expired the day after 12 months", product(), seq(dispatched("2026-11-01")), "2027-11-02",
			wantCov{Expired, Dispatched, BasisDispatched, "2026-11-01", "", "", "2027-11-01", 0, -1, -1, ""}},
		{"an explicit direct channel is the default's reading", product(), seq(Event{Type: EvDispatched, On: day("2026-11-01"), Channel: Direct}), "2026-11-05",
			wantCov{Active, Dispatched, BasisDispatched, "2026-11-01", "2026-11-08", "2026-11-16", "2027-11-01", 361, -1, -1, ""}},
		{"direct dispatch beats the production date", produced, seq(dispatched("2026-11-01")), "2026-11-05",
			wantCov{Active, Dispatched, BasisDispatched, "2026-11-01", "2026-11-08", "2026-11-16", "2027-11-01", 361, -1, -1, ""}},
		{"a receipt replaces the dispatch dates", product(), seq(dispatched("2026-11-01"), received("2026-11-04")), "2026-11-05",
			wantCov{Active, InUse, "courier", "2026-11-04", "2026-11-11", "2026-11-19", "2027-11-04", 364, -1, -1, "receipt confirmed by courier"}},
		{"a receipt dated after the evaluation date does not exist yet: dispatch basis", product(), seq(dispatched("2026-11-01"), received("2026-11-04")), "2026-11-03",
			wantCov{Active, Dispatched, BasisDispatched, "2026-11-01", "2026-11-08", "2026-11-16", "2027-11-01", 363, -1, -1, ""}},
		{"a dispatch dated after the evaluation date does not exist yet", product(), seq(dispatched("2026-11-01")), "2026-10-31",
			wantCov{NotStarted, Registered, "", "-", "-", "-", "-", 0, -1, -1, ""}},
		{"reseller dispatch with a production date: estimated, active before its start", produced, seq(resellerDispatch("2026-11-01")), "2026-11-05",
			wantCov{Active, Dispatched, BasisEstimated, "2026-12-30", "-", "-", "2027-12-30", 420, -1, -1, "estimated: production date 2026-10-01 + 90 days"}},
		{"reseller dispatch without a production date: not started", product(), seq(resellerDispatch("2026-11-01")), "2026-11-05",
			wantCov{NotStarted, Dispatched, "", "-", "-", "-", "-", 0, -1, -1, ""}},
		{"production date only: estimated, active before its start", produced, nil, "2026-10-02",
			wantCov{Active, Registered, BasisEstimated, "2026-12-30", "-", "-", "2027-12-30", 454, -1, -1, ""}},
		{"nothing known: not started, no days left", product(), nil, "2026-11-05",
			wantCov{NotStarted, Registered, "", "-", "-", "-", "-", 0, -1, -1, "no receipt and no production date on record"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkCov(t, Default().Coverage(tc.item, tc.history, day(tc.on)), tc.want)
		})
	}
}

// The 7-day return and 15-day replacement apply on the dispatch-based
// windows exactly as on receipt-based ones.
func TestEntitlementsOnTheDispatchBasis(t *testing.T) {
	direct := seq(dispatched("2025-03-03"))
	produced := product()
	produced.ProducedOn = day("2025-01-01") // estimated start 2025-04-01
	nf := func(on string) Claim { return Claim{On: day(on), Finding: NoFault, Intact: true, Complete: true} }
	qp := func(on string) Claim { return Claim{On: day(on), Finding: QualityProblem} }
	for _, tc := range []entCase{
		{"dispatch + 7, no fault, intact and complete: return", product(), direct, nf("2025-03-10"),
			wantEnt{"return", false, true, "day 7 of 7 after the direct dispatch on 2025-03-03, intact and complete: return allowed"}},
		{"dispatch + 8, no fault: nothing", product(), direct, nf("2025-03-11"), wantEnt{"", false, true, "no fault found"}},
		{"dispatch day itself: return", product(), direct, nf("2025-03-03"), wantEnt{"return", false, true, "day 0 of 7"}},
		{"dispatch + 15, quality problem: replace or repair", product(), direct, qp("2025-03-18"),
			wantEnt{"replace,repair", false, true, "day 15 of 15 after the direct dispatch on 2025-03-03, quality problem: replacement or free repair"}},
		{"dispatch + 16, quality problem: repair", product(), direct, qp("2025-03-19"),
			wantEnt{"repair", false, true, "quality problem within the warranty (until 2026-03-03): free repair"}},
		{"dispatch + 12 months: repair", product(), direct, qp("2026-03-03"), wantEnt{"repair", false, true, ""}},
		{"dispatch + 12 months + 1 day: paid repair", product(), direct, qp("2026-03-04"),
			wantEnt{"", true, false, "warranty ended on 2026-03-03"}},
		{"a claim before a later receipt is judged on the dispatch basis", product(), seq(dispatched("2025-03-03"), received("2025-03-20")), nf("2025-03-10"),
			wantEnt{"return", false, true, "after the direct dispatch on 2025-03-03"}},
		{"a claim after the later receipt is judged on the receipt", product(), seq(dispatched("2025-03-03"), received("2025-03-20")), nf("2025-03-27"),
			wantEnt{"return", false, true, "day 7 of 7 after receipt on 2025-03-20"}},
		{"reseller dispatch: estimated, no return", produced, seq(resellerDispatch("2025-02-01")), nf("2025-02-05"),
			wantEnt{"", false, true, "start estimated from the production date 2025-01-01 + 90 days"}},
		{"reseller dispatch: a quality problem before the estimated start gets free repair", produced, seq(resellerDispatch("2025-02-01")), qp("2025-02-05"),
			wantEnt{"repair", false, true, "quality problem within the warranty (until 2026-04-01): free repair"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkEnt(t, tc) })
	}
}

func TestOptions(t *testing.T) {
	direct := seq(dispatched("2026-11-01"))
	produced := product()
	produced.ProducedOn = day("2026-10-01") // estimated start 2026-12-30, warranty until 2027-12-30
	accProduced := standalone(KindAdapter)
	accProduced.ProducedOn = day("2026-10-01")
	exchange := product()
	exchange.Serial, exchange.Replaces, exchange.ExchangedOn = "S2", "S1", day("2026-11-20")
	for _, tc := range []struct {
		name    string
		item    Item
		history []Event
		on      string
		want    string
	}{
		{"direct dispatch, day 0: all three", product(), direct, "2026-11-01",
			"return until 2026-11-08 (7 left), replace until 2026-11-16 (15 left), repair until 2027-11-01 (365 left)"},
		{"dispatch + 7: the return's last day", product(), direct, "2026-11-08",
			"return until 2026-11-08 (0 left), replace until 2026-11-16 (8 left), repair until 2027-11-01 (358 left)"},
		{"dispatch + 8: no return", product(), direct, "2026-11-09",
			"replace until 2026-11-16 (7 left), repair until 2027-11-01 (357 left)"},
		{"dispatch + 15: the replacement's last day", product(), direct, "2026-11-16",
			"replace until 2026-11-16 (0 left), repair until 2027-11-01 (350 left)"},
		{"dispatch + 16: repair only", product(), direct, "2026-11-17", "repair until 2027-11-01 (349 left)"},
		{"last day of the 12 months", product(), direct, "2027-11-01", "repair until 2027-11-01 (0 left)"},
		{"the day after: nothing", product(), direct, "2027-11-02", ""},
		{"a receipt moves the windows", product(), seq(dispatched("2026-11-01"), receivedBy("2026-11-03", Customer)), "2026-11-09",
			"return until 2026-11-10 (1 left), replace until 2026-11-18 (9 left), repair until 2027-11-03 (359 left)"},
		{"estimated start after the date: repair only", produced, seq(resellerDispatch("2026-11-01")), "2026-11-05",
			"repair until 2027-12-30 (420 left)"},
		{"estimated adapter: replacement within its warranty", accProduced, nil, "2026-11-05",
			"replace until 2027-12-30 (420 left)"},
		{"adapter received: return for 7 days, replacement within its warranty", standalone(KindAdapter), seq(received("2026-11-01")), "2026-11-02",
			"return until 2026-11-08 (6 left), replace until 2027-11-01 (364 left)"},
		{"replacement unit: no windows, repair", exchange, nil, "2026-11-21", "repair until 2027-11-20 (364 left)"},
		{"nothing known: nothing", product(), nil, "2026-11-05", ""},
		{"void: nothing", product(), concat(direct, []Event{intake("2026-11-03 10:00"), diagnosed("2026-11-03 11:00", Tampered, "")}), "2026-11-04", ""},
		{"retired: nothing", product(), concat(direct, []Event{intake("2026-11-03 10:00"), diagnosed("2026-11-03 11:00", QualityProblem, ""), replacedBy("2026-11-03 12:00", "S2")}), "2026-11-04", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Default().Options(tc.item, tc.history, day(tc.on))
			if got == nil {
				t.Fatal("Options = nil, want a list")
			}
			if s := options(got); s != tc.want {
				t.Errorf("Options = %q\nwant      %q", s, tc.want)
			}
		})
	}
}

func TestConfirmRange(t *testing.T) {
	produced := product()
	produced.ProducedOn = day("2026-11-10")
	exchange := product()
	exchange.Serial, exchange.Replaces, exchange.ExchangedOn = "S2", "S1", day("2026-11-02")
	const today = "2026-11-20" // today − 15 = 2026-11-05
	for _, tc := range []struct {
		name     string
		item     Item
		history  []Event
		from, to string
		refused  Refusal
	}{
		{"direct dispatch 19 days ago: today − 15 to dispatch + 15", product(), seq(dispatched("2026-11-01")), "2026-11-05", "2026-11-16", ""},
		{"direct dispatch 10 days ago: dispatch to today", product(), seq(dispatched("2026-11-10")), "2026-11-10", "2026-11-20", ""},
		{"direct dispatch 30 days ago: one day left", product(), seq(dispatched("2026-10-21")), "2026-11-05", "2026-11-05", ""},
		{"direct dispatch 31 days ago: no date left", product(), seq(dispatched("2026-10-20")), "", "", RefusedNoDate},
		{"reseller dispatch long ago: no upper bound from it", product(), seq(resellerDispatch("2026-09-01")), "2026-11-05", "2026-11-20", ""},
		{"reseller dispatch 5 days ago: from the dispatch", product(), seq(resellerDispatch("2026-11-15")), "2026-11-15", "2026-11-20", ""},
		{"no dispatch: from the production date", produced, nil, "2026-11-10", "2026-11-20", ""},
		{"nothing known: the last 15 days", product(), nil, "2026-11-05", "2026-11-20", ""},
		{"a dispatch dated after today does not count", product(), seq(dispatched("2026-11-21")), "2026-11-05", "2026-11-20", ""},
		{"a courier receipt on record", product(), seq(dispatched("2026-11-10"), received("2026-11-12")), "", "", RefusedReceived},
		{"already confirmed by the customer", product(), seq(dispatched("2026-11-10"), receivedBy("2026-11-12", Customer)), "", "", RefusedReceived},
		{"a service case was opened and closed", product(),
			concat(seq(dispatched("2026-11-10")), []Event{intake("2026-11-12 10:00"), diagnosed("2026-11-12 11:00", NoFault, ""), shipped("2026-11-12 12:00")}), "", "", RefusedCase},
		{"a service case is open", product(), concat(seq(dispatched("2026-11-10")), []Event{intake("2026-11-12 10:00")}), "", "", RefusedCase},
		{"void", product(), concat(seq(dispatched("2026-11-10")), []Event{intake("2026-11-12 10:00"), diagnosed("2026-11-12 11:00", UnauthorizedRepair, "")}), "", "", RefusedVoid},
		{"retired", product(), concat(seq(dispatched("2026-11-10")), []Event{intake("2026-11-12 10:00"), returnedAt("2026-11-12 11:00")}), "", "", RefusedRetired},
		{"a replacement unit", exchange, nil, "", "", RefusedReplacement},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default().ConfirmRange(tc.item, tc.history, day(today))
			want := Confirmation{From: day(tc.from), To: day(tc.to), Refused: tc.refused}
			if c != want {
				t.Errorf("ConfirmRange = %+v, want %+v", c, want)
			}
		})
	}
}

// The bounds of policy.md "Customer confirmation", each side of each one.
func TestCheckConfirmation(t *testing.T) {
	p := Default()
	produced := product()
	produced.ProducedOn = day("2026-11-10")
	early := seq(dispatched("2026-11-01"))
	late := seq(dispatched("2026-11-10"))
	const today = "2026-11-20"
	for _, tc := range []struct {
		name    string
		item    Item
		history []Event
		on      string
		code    string
		message string
	}{
		{"today − 15", product(), early, "2026-11-05", "", ""},
		{"today − 16", product(), early, "2026-11-04", EInvalid, "on 2026-11-04 is outside the dates a receipt may be confirmed for: from 2026-11-05 to 2026-11-16"},
		{"dispatch + 15", product(), early, "2026-11-16", "", ""},
		{"dispatch + 16", product(), early, "2026-11-17", EInvalid, "from 2026-11-05 to 2026-11-16"},
		{"the dispatch day", product(), late, "2026-11-10", "", ""},
		{"before the dispatch", product(), late, "2026-11-09", EInvalid, "from 2026-11-10 to 2026-11-20"},
		{"today", product(), late, "2026-11-20", "", ""},
		{"in the future", product(), late, "2026-11-21", EInvalid, "from 2026-11-10 to 2026-11-20"},
		{"the production day", produced, nil, "2026-11-10", "", ""},
		{"before production", produced, nil, "2026-11-09", EInvalid, "from 2026-11-10 to 2026-11-20"},
		{"no date given", product(), late, "", EInvalid, "required: from 2026-11-10 to 2026-11-20"},
		{"a second confirmation", product(), seq(dispatched("2026-11-10"), receivedBy("2026-11-12", Customer)), "2026-11-12", EConflict, "confirms receipt once"},
		{"a service case was opened", product(), concat(late, []Event{intake("2026-11-12 10:00")}), "2026-11-12", EConflict, "service case"},
		{"too late", product(), seq(dispatched("2026-10-01")), "2026-11-12", EConflict, "no date can be confirmed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.CheckConfirmation(tc.item, tc.history, day(tc.on), day(today))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("err = %v, want the date accepted", err)
				}
				return
			}
			field := "on"
			if tc.code == EConflict {
				field = ""
			}
			wantCode(t, err, tc.code, field)
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("err = %v, want it to say %q", err, tc.message)
			}
		})
	}
}

// Validate with Check.Customer: the public page's write applies the
// confirmation's bounds inside the same check as every other rule.
func TestValidateCustomerConfirmation(t *testing.T) {
	p := Default()
	c := Check{Now: ts("2026-11-20 12:00"), Customer: true}
	h := seq(dispatched("2026-11-01"))
	for _, tc := range []struct {
		name        string
		history     []Event
		ev          Event
		code, field string
	}{
		{"within the range", h, receivedBy("2026-11-16", Customer), "", ""},
		{"after dispatch + 15", h, receivedBy("2026-11-17", Customer), EInvalid, "on"},
		{"more than 15 days back", h, receivedBy("2026-11-04", Customer), EInvalid, "on"},
		{"courier evidence is not the customer's", h, receivedBy("2026-11-10", Courier), EInvalid, "evidence"},
		{"not a receipt", h, transferred("2026-11-10"), EInvalid, "evidence"},
		{"over a courier receipt", seq(dispatched("2026-11-01"), received("2026-11-03")), receivedBy("2026-11-10", Customer), EConflict, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Validate(product(), tc.history, tc.ev, c)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("err = %v, want it accepted", err)
				}
				return
			}
			wantCode(t, err, tc.code, tc.field)
		})
	}
}

// Receipt evidence by weight: courier > invoice > customer. A stronger
// receipt supersedes; an equal or weaker one is refused.
func TestReceiptSuperseding(t *testing.T) {
	p := Default()
	now := Check{Now: ts("2026-11-20 12:00")}
	for _, tc := range []struct {
		on   Evidence
		next Evidence
		ok   bool
	}{
		{Customer, Invoice, true},
		{Customer, Courier, true},
		{Invoice, Courier, true},
		{Customer, Customer, false},
		{Invoice, Invoice, false},
		{Courier, Courier, false},
		{Invoice, Customer, false},
		{Courier, Invoice, false},
		{Courier, Customer, false},
	} {
		h := seq(dispatched("2026-11-01"), receivedBy("2026-11-05", tc.on))
		_, err := p.Validate(product(), h, receivedBy("2026-11-03", tc.next), now)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s over %s: err = %v, want it to supersede", tc.next, tc.on, err)
		case !tc.ok:
			wantCode(t, err, EConflict, "evidence")
			if !strings.Contains(err.Error(), "only stronger evidence does (courier > invoice > customer)") {
				t.Errorf("%s over %s: err = %v, want the rule named", tc.next, tc.on, err)
			}
		}
	}
	// A superseded receipt stays in the history; the stronger date counts,
	// earlier or later, from its own date on.
	for _, tc := range []struct {
		name     string
		history  []Event
		on       string
		start    string
		evidence Evidence
	}{
		{"an earlier courier date over a customer's", seq(receivedBy("2026-11-05", Customer), receivedBy("2026-11-03", Courier)), "2026-11-06", "2026-11-03", Courier},
		{"a later invoice date over a customer's", seq(receivedBy("2026-11-03", Customer), receivedBy("2026-11-06", Invoice)), "2026-11-07", "2026-11-06", Invoice},
		{"before the stronger receipt's date the weaker counts", seq(receivedBy("2026-11-03", Customer), receivedBy("2026-11-06", Invoice)), "2026-11-05", "2026-11-03", Customer},
		{"courier over invoice over customer", seq(receivedBy("2026-11-03", Customer), receivedBy("2026-11-04", Invoice), receivedBy("2026-11-02", Courier)), "2026-11-07", "2026-11-02", Courier},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cv := p.Coverage(product(), tc.history, day(tc.on))
			if cv.Start != day(tc.start) || cv.ReceivedOn != day(tc.start) || cv.Evidence != tc.evidence || cv.Basis != Basis(tc.evidence) {
				t.Errorf("start %s received %s evidence %s basis %s, want %s by %s", cv.Start, cv.ReceivedOn, cv.Evidence, cv.Basis, tc.start, tc.evidence)
			}
		})
	}
}

func TestDispatchChannel(t *testing.T) {
	p := Default()
	for _, tc := range []struct {
		name        string
		ev          Event
		code, field string
		channel     Channel
	}{
		{"absent: direct by default, stored as given", dispatched("2026-11-01"), "", "", ""},
		{"direct", Event{Type: EvDispatched, On: day("2026-11-01"), Channel: Direct}, "", "", Direct},
		{"reseller, trimmed", Event{Type: EvDispatched, On: day("2026-11-01"), Channel: " reseller "}, "", "", Reseller},
		{"unknown channel", Event{Type: EvDispatched, On: day("2026-11-01"), Channel: "wholesale"}, EInvalid, "channel", ""},
		{"channel is not a field of a receipt", Event{Type: EvReceived, On: day("2026-11-01"), Evidence: Courier, Channel: Direct}, EInvalid, "channel", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := p.Validate(product(), nil, tc.ev, Check{Now: ts("2026-11-20 12:00")})
			if tc.code != "" {
				wantCode(t, err, tc.code, tc.field)
				if !strings.Contains(err.Error(), "channel") {
					t.Errorf("err = %v, want it to name channel", err)
				}
				return
			}
			if err != nil || ev.Channel != tc.channel {
				t.Errorf("channel = %q, err = %v; want %q", ev.Channel, err, tc.channel)
			}
		})
	}
	// A correction may turn a direct dispatch into a reseller's.
	h := seq(dispatched("2026-11-01"))
	fix := corrected(1, Event{Channel: Reseller})
	if _, err := p.Validate(product(), h, fix, Check{Now: ts("2026-11-20 12:00")}); err != nil {
		t.Fatalf("correction of the channel: %v", err)
	}
	if cv := p.Coverage(product(), append(h, fix), day("2026-11-05")); cv.Status != NotStarted || cv.Basis != "" {
		t.Errorf("after the correction: status %s basis %q, want not_started and no basis", cv.Status, cv.Basis)
	}
}
