package policy

import (
	"strings"
	"testing"
)

type wantEnt struct {
	remedies   string // comma-separated, "" = none
	paidRepair bool
	inWarranty bool
	reason     string // substring of the joined reasons
}

func TestEntitlements(t *testing.T) {
	recv := func(on string, more ...Event) []Event { return seq(append([]Event{received(on)}, more...)...) }
	qp := func(on string) Claim { return Claim{On: day(on), Finding: QualityProblem} }
	nf := func(on string, intact, complete bool) Claim {
		return Claim{On: day(on), Finding: NoFault, Intact: intact, Complete: complete}
	}
	ok := func(on string, f Finding) Claim { return Claim{On: day(on), Finding: f, Intact: true, Complete: true} }
	estimated := product()
	estimated.ProducedOn = day("2025-01-01")
	exchange := product()
	exchange.Serial, exchange.Replaces, exchange.ExchangedOn = "S2", "S1", day("2025-05-01")
	acc := standalone(KindAdapter)
	accRepl := standalone(KindAccessory)
	accRepl.Serial, accRepl.Replaces, accRepl.ExchangedOn, accRepl.Exchanges = "A3", "A2", day("2025-05-01"), 2
	accRepl1 := accRepl
	accRepl1.Exchanges = 0
	twoRepairs := concat(recv("2025-03-03"), freeCase("2025-04-01", "2025-04-02"), freeCase("2025-05-01", "2025-05-02"))
	partFree := concat(recv("2025-03-03"), freeCase("2026-02-01", "2026-02-03", "battery"))
	partPaid := concat(recv("2025-03-03"), []Event{intake("2026-06-01 09:00"), diagnosed("2026-06-01 10:00", HumanDamage, "screen"),
		quoted("2026-06-01 11:00"), paid("2026-06-01 12:00"), repaired("2026-06-01 13:00", true, "screen"), shipped("2026-06-01 14:00")})
	tamperedCase := concat(recv("2025-03-03"), []Event{intake("2025-03-05 10:00"), diagnosed("2025-03-06 10:00", Tampered, ""), shipped("2025-03-06 12:00")})
	openQP := concat(recv("2025-03-03"), []Event{intake("2025-03-05 10:00"), diagnosed("2025-03-05 11:00", QualityProblem, "")})

	for _, tc := range []entCase{
		// The worked examples of policy.md.
		{"example: day 7, no fault, intact and complete: return", product(), recv("2025-03-03"), nf("2025-03-10", true, true),
			wantEnt{"return", false, true, "day 7 of 7 after receipt on 2025-03-03, intact and complete: return allowed"}},
		{"example: day 8, no fault: nothing", product(), recv("2025-03-03"), nf("2025-03-11", true, true),
			wantEnt{"", false, true, "no fault found: nothing to repair"}},
		{"example: day 15, quality problem: replace or repair", product(), recv("2025-03-03"), qp("2025-03-18"),
			wantEnt{"replace,repair", false, true, "day 15 of 15 after receipt on 2025-03-03, quality problem: replacement or free repair"}},
		{"example: day 16, quality problem: repair", product(), recv("2025-03-03"), qp("2025-03-19"),
			wantEnt{"repair", false, true, "quality problem within the warranty (until 2026-03-03): free repair"}},
		{"example: last day of 12 months, quality problem: repair", product(), recv("2025-01-15"), qp("2026-01-15"),
			wantEnt{"repair", false, true, "until 2026-01-15"}},
		{"example: day after 12 months, quality problem: paid repair", product(), recv("2025-01-15"), qp("2026-01-16"),
			wantEnt{"", true, false, "warranty ended on 2026-01-15: no free remedy"}},
		{"example: tamper sticker broken on day 3: paid repair", product(), recv("2025-03-03"), ok("2025-03-06", Tampered),
			wantEnt{"", true, true, "finding tampered is an exclusion and voids the free warranty for good"}},

		// Rule 2: the 7-day return.
		{"return: day 7 with a quality problem, intact and complete: all three", product(), recv("2025-03-03"), ok("2025-03-10", QualityProblem),
			wantEnt{"return,replace,repair", false, true, "return allowed"}},
		{"return: day 8 with a quality problem: no return", product(), recv("2025-03-03"), ok("2025-03-11", QualityProblem),
			wantEnt{"replace,repair", false, true, "day 8 of 15"}},
		{"return: on the day of receipt", product(), recv("2025-03-03"), nf("2025-03-03", true, true),
			wantEnt{"return", false, true, "day 0 of 7"}},
		{"return: not intact", product(), recv("2025-03-03"), nf("2025-03-05", false, true),
			wantEnt{"", false, true, "but not intact: no return"}},
		{"return: not complete", product(), recv("2025-03-03"), nf("2025-03-05", true, false),
			wantEnt{"", false, true, "but not complete: no return"}},
		{"return: neither intact nor complete", product(), recv("2025-03-03"), Claim{On: day("2025-03-05"), Finding: QualityProblem},
			wantEnt{"replace,repair", false, true, "but not intact and complete: no return"}},
		{"resale gives the new owner no new return window", product(), recv("2025-03-03", transferred("2025-03-20")), nf("2025-03-22", true, true),
			wantEnt{"", false, true, "no fault"}},

		// Rule 1: every exclusion overrides everything, the 7-day return included.
		{"exclusion normal_wear on day 1", product(), recv("2025-03-03"), ok("2025-03-04", NormalWear),
			wantEnt{"", true, true, "finding normal_wear is an exclusion: no free remedy, not even the 7-day return"}},
		{"exclusion human_damage on day 1", product(), recv("2025-03-03"), ok("2025-03-04", HumanDamage),
			wantEnt{"", true, true, "human_damage is an exclusion"}},
		{"exclusion improper_use on day 1", product(), recv("2025-03-03"), ok("2025-03-04", ImproperUse),
			wantEnt{"", true, true, "improper_use is an exclusion"}},
		{"exclusion tampered on day 1", product(), recv("2025-03-03"), ok("2025-03-04", Tampered),
			wantEnt{"", true, true, "voids the free warranty"}},
		{"exclusion unauthorized_repair on day 1", product(), recv("2025-03-03"), ok("2025-03-04", UnauthorizedRepair),
			wantEnt{"", true, true, "unauthorized_repair is an exclusion and voids"}},
		{"exclusion force_majeure on day 1", product(), recv("2025-03-03"), ok("2025-03-04", ForceMajeure),
			wantEnt{"", true, true, "force_majeure is an exclusion"}},
		{"exclusion on a bundled accessory", product(), recv("2025-03-03"), Claim{On: day("2025-03-04"), Finding: HumanDamage, Accessory: "CHG-1"},
			wantEnt{"", true, true, "human_damage is an exclusion"}},
		{"exclusion beyond the warranty", product(), recv("2025-03-03"), ok("2027-03-04", HumanDamage),
			wantEnt{"", true, false, "exclusion"}},

		// Void: for good.
		{"void: a quality problem months after tampering gets nothing free", product(), tamperedCase, qp("2025-09-01"),
			wantEnt{"", true, false, "warranty void since 2025-03-06 (finding tampered): no free remedy ever again"}},
		{"void: no fault on a void unit: nothing to repair", product(), tamperedCase, nf("2025-09-01", true, true),
			wantEnt{"", false, false, "nothing to repair"}},
		{"void: a bundled accessory of a void unit gets nothing free", product(), tamperedCase, Claim{On: day("2025-03-10"), Finding: QualityProblem, Accessory: "CHG-1"},
			wantEnt{"", true, false, "void since 2025-03-06"}},
		{"void: the day before the diagnosis still counts as active", product(), tamperedCase, qp("2025-03-05"),
			wantEnt{"replace,repair", false, true, "day 2 of 15"}},

		// Rule 3: two repairs.
		{"two free repairs: replacement or continued repair", product(), twoRepairs, qp("2025-06-01"),
			wantEnt{"replace,repair", false, true, "2 earlier free repairs for quality problems and it still fails: replacement or continued free repair"}},
		{"one free repair is not enough", product(), concat(recv("2025-03-03"), freeCase("2025-04-01", "2025-04-02")), qp("2025-06-01"),
			wantEnt{"repair", false, true, "free repair"}},
		{"paid repairs are not counted", product(), concat(recv("2025-03-03"), freeCase("2025-04-01", "2025-04-02"),
			[]Event{intake("2025-05-01 10:00"), diagnosed("2025-05-01 11:00", QualityProblem, ""), repaired("2025-05-02 09:00", true), shipped("2025-05-02 10:00")}), qp("2025-06-01"),
			wantEnt{"repair", false, true, ""}},
		{"no-fault visits are not counted", product(), concat(recv("2025-03-03"), freeCase("2025-04-01", "2025-04-02"),
			[]Event{intake("2025-05-01 10:00"), diagnosed("2025-05-01 11:00", NoFault, ""), shipped("2025-05-02 10:00")}), qp("2025-06-01"),
			wantEnt{"repair", false, true, ""}},
		{"a case still open is not counted", product(), concat(recv("2025-03-03"), freeCase("2025-04-01", "2025-04-02"),
			[]Event{intake("2025-05-01 10:00"), diagnosed("2025-05-01 11:00", QualityProblem, ""), repaired("2025-05-02 09:00", false)}), qp("2025-05-03"),
			wantEnt{"repair", false, true, ""}},
		{"a repair shipped after the claim date is not counted", product(), twoRepairs, qp("2025-05-01"),
			wantEnt{"repair", false, true, ""}},
		{"repairs before an exchange are not counted for the new unit", exchange, nil, qp("2025-06-01"),
			wantEnt{"repair", false, true, "replacement unit for S1"}},
		{"repairs dated after the claim date do not count", product(), twoRepairs, ok("2025-03-05", QualityProblem),
			wantEnt{"return,replace,repair", false, true, ""}},

		// Estimated start and not started.
		{"estimated start: product gets free repair only", estimated, nil, ok("2025-04-03", QualityProblem),
			wantEnt{"repair", false, true, "start estimated from the production date 2025-01-01 + 90 days (no receipt on record): no 7-day return and no 15-day replacement"}},
		{"estimated start: accessory still gets its free replacement", func() Item { i := acc; i.ProducedOn = day("2025-01-01"); return i }(), nil, ok("2025-04-03", QualityProblem),
			wantEnt{"replace", false, true, "free replacement"}},
		{"estimated start: a claim before the estimated start is within the warranty", estimated, nil, qp("2025-03-01"),
			wantEnt{"repair", false, true, "quality problem within the warranty (until 2026-04-01): free repair"}},
		{"nothing known: beyond the period, paid repair", product(), nil, qp("2025-03-01"),
			wantEnt{"", true, false, "no receipt, no direct dispatch and no production date on record: treated as beyond the warranty period"}},
		{"nothing known, no fault: nothing to repair", product(), nil, nf("2025-03-01", true, true),
			wantEnt{"", false, false, "nothing to repair"}},
		{"a claim before the receipt date does not see the receipt", product(), recv("2025-03-03"), qp("2025-03-02"),
			wantEnt{"", true, false, "no receipt, no direct dispatch and no production date"}},

		// Replacement units.
		{"replacement unit: fresh warranty without a return window", exchange, nil, ok("2025-05-03", QualityProblem),
			wantEnt{"repair", false, true, "no new 7-day return or 15-day replacement"}},
		{"replacement unit: 12 months from the exchange", exchange, nil, qp("2026-05-01"),
			wantEnt{"repair", false, true, ""}},
		{"replacement unit: expired after 12 months from the exchange", exchange, nil, qp("2026-05-02"),
			wantEnt{"", true, false, "warranty ended on 2026-05-01"}},
		{"replacement unit: claim before the exchange", exchange, nil, qp("2025-04-30"),
			wantEnt{"", true, false, "before this replacement unit was exchanged for S1"}},

		// Parts.
		{"part from a free repair covered 90 days after the unit's end", product(), partFree, Claim{On: day("2026-05-04"), Finding: QualityProblem, Part: "battery"},
			wantEnt{"repair", false, false, "part battery fitted on 2026-02-03 (case 2) is covered until 2026-05-04: free repair of that part"}},
		{"part from a free repair: day 91 after it is back", product(), partFree, Claim{On: day("2026-05-05"), Finding: QualityProblem, Part: "battery"},
			wantEnt{"", true, false, "part battery has no coverage on 2026-05-05"}},
		{"part names match exactly", product(), partFree, Claim{On: day("2026-04-01"), Finding: QualityProblem, Part: "Battery"},
			wantEnt{"", true, false, "part Battery has no coverage"}},
		{"another part is not covered", product(), partFree, Claim{On: day("2026-04-01"), Finding: QualityProblem, Part: "screen"},
			wantEnt{"", true, false, "no coverage"}},
		{"part from a paid repair covered 90 days", product(), partPaid, Claim{On: day("2026-08-30"), Finding: QualityProblem, Part: "screen"},
			wantEnt{"repair", false, false, "covered until 2026-08-30"}},
		{"part from a paid repair: not on day 91", product(), partPaid, Claim{On: day("2026-08-31"), Finding: QualityProblem, Part: "screen"},
			wantEnt{"", true, false, ""}},
		{"part covered but an exclusion found", product(), partPaid, Claim{On: day("2026-07-01"), Finding: HumanDamage, Part: "screen"},
			wantEnt{"", true, false, "exclusion"}},
		{"part covered but no fault", product(), partPaid, Claim{On: day("2026-07-01"), Finding: NoFault, Part: "screen"},
			wantEnt{"", false, false, "nothing to repair"}},
		{"part covered but void", product(), concat(partFree, []Event{intake("2026-04-01 10:00"), diagnosed("2026-04-01 11:00", UnauthorizedRepair, "")}),
			Claim{On: day("2026-04-02"), Finding: QualityProblem, Part: "battery"}, wantEnt{"", true, false, "void"}},

		// Rule 4: bundled accessories.
		{"bundled accessory with a quality problem: free replacement", product(), recv("2025-03-03"), Claim{On: day("2025-06-01"), Finding: QualityProblem, Accessory: "CHG-1"},
			wantEnt{"replace", false, true, "bundled adapter CHG-1 (batch CB2411) has a quality problem within its warranty (until 2026-03-03): free replacement"}},
		{"bundled accessory with its own shorter period", product(), recv("2025-03-03"), Claim{On: day("2025-09-04"), Finding: QualityProblem, Accessory: "CBL-2"},
			wantEnt{"", true, false, "warranty ended on 2025-09-03"}},
		{"bundled accessory after one replacement: another replacement only", product(),
			recv("2025-03-03", intake("2025-04-01 10:00"), accReplaced("2025-04-01 11:00", "CHG-1", "CB2501"), shipped("2025-04-01 12:00")),
			Claim{On: day("2025-06-01"), Finding: QualityProblem, Accessory: "CHG-1"},
			wantEnt{"replace", false, true, "batch CB2501"}},
		{"bundled accessory after two replacements for a quality problem: return or another replacement", product(),
			recv("2025-03-03", intake("2025-04-01 10:00"), diagnosed("2025-04-01 10:30", QualityProblem, ""), accReplaced("2025-04-01 11:00", "CHG-1", "CB2501"), shipped("2025-04-01 12:00"),
				intake("2025-05-01 10:00"), diagnosed("2025-05-01 10:30", QualityProblem, ""), accReplaced("2025-05-01 11:00", "CHG-1", "CB2502"), shipped("2025-05-01 12:00")),
			Claim{On: day("2025-06-01"), Finding: QualityProblem, Accessory: "CHG-1"},
			wantEnt{"return,replace", false, true, "2 earlier replacements of CHG-1 for a quality problem still did not work: return (refund) or another replacement"}},
		{"bundled accessory's warranty recalculated from the exchange", product(),
			recv("2025-03-03", accReplaced("2025-04-01 11:00", "CBL-2", "CC2501")),
			Claim{On: day("2025-10-01"), Finding: QualityProblem, Accessory: "CBL-2"},
			wantEnt{"replace", false, true, "until 2025-10-01"}},
		{"bundled accessory: other accessories' exchanges do not count", product(),
			recv("2025-03-03", accReplaced("2025-04-01 11:00", "CBL-2", "CC2501"), accReplaced("2025-05-01 11:00", "CBL-2", "CC2502")),
			Claim{On: day("2025-06-01"), Finding: QualityProblem, Accessory: "CHG-1"},
			wantEnt{"replace", false, true, ""}},
		{"bundled accessory: no fault", product(), recv("2025-03-03"), Claim{On: day("2025-06-01"), Finding: NoFault, Accessory: "CHG-1"},
			wantEnt{"", false, true, "no fault found, nothing to replace"}},
		{"bundled accessory: product not started", product(), nil, Claim{On: day("2025-06-01"), Finding: QualityProblem, Accessory: "CHG-1"},
			wantEnt{"", true, false, "no receipt, no direct dispatch and no production date"}},
		{"stand-alone accessory: free replacement", acc, recv("2025-03-03"), qp("2025-06-01"),
			wantEnt{"replace", false, true, "adapter with a quality problem within its warranty (until 2026-03-03): free replacement"}},
		{"stand-alone accessory: return only within 7 days, intact and complete", acc, recv("2025-03-03"), ok("2025-03-04", QualityProblem),
			wantEnt{"return,replace", false, true, "return allowed"}},
		{"stand-alone accessory after two exchanges in its line: refund or replacement", accRepl, nil, qp("2025-06-01"),
			wantEnt{"return,replace", false, true, "2 earlier replacements in this line"}},
		{"stand-alone accessory after one exchange: replacement only", accRepl1, nil, qp("2025-06-01"),
			wantEnt{"replace", false, true, ""}},

		// Retired serials.
		{"replaced serial: retired, the successor named", product(), recv("2025-03-03", intake("2025-03-10 10:00"), replacedBy("2025-03-10 12:00", "S2")), qp("2025-03-11"),
			wantEnt{"", false, false, "replaced by S2 on 2025-03-10: this serial is retired and belongs to the company; claims go to S2"}},
		{"returned serial: retired, the refund named", product(), recv("2025-03-03", intake("2025-03-05 10:00"), returnedAt("2025-03-05 12:00")), Claim{On: day("2025-03-06")},
			wantEnt{"", false, false, "returned and refunded on 2025-03-05"}},

		// The finding defaults to the open case's diagnosis.
		{"finding from the open case", product(), openQP, Claim{On: day("2025-03-06"), Intact: true, Complete: true},
			wantEnt{"return,replace,repair", false, true, ""}},
		{"the open case's latest diagnosis wins", product(), append(openQP, diagnosed("2025-03-05 12:00", HumanDamage, "")), Claim{On: day("2025-03-06")},
			wantEnt{"", true, true, "human_damage"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkEnt(t, tc) })
	}
}

// entCase is one claim of an entitlements table and what it must answer.
type entCase struct {
	name    string
	item    Item
	history []Event
	claim   Claim
	want    wantEnt
}

// checkEnt checks the answer to tc's claim under the default policy.
func checkEnt(t *testing.T, tc entCase) {
	t.Helper()
	e, err := Default().Entitlements(tc.item, tc.history, tc.claim)
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	reasons := strings.Join(e.Reasons, " | ")
	if got := remedies(e.Remedies); got != tc.want.remedies {
		t.Errorf("remedies = %q, want %q (reasons: %s)", got, tc.want.remedies, reasons)
	}
	if e.PaidRepair != tc.want.paidRepair {
		t.Errorf("paid_repair = %v, want %v (reasons: %s)", e.PaidRepair, tc.want.paidRepair, reasons)
	}
	if e.InWarranty != tc.want.inWarranty {
		t.Errorf("in_warranty = %v, want %v (reasons: %s)", e.InWarranty, tc.want.inWarranty, reasons)
	}
	if !strings.Contains(reasons, tc.want.reason) {
		t.Errorf("reasons = %q, want one containing %q", reasons, tc.want.reason)
	}
	if len(e.Reasons) == 0 || e.Remedies == nil || e.DeadlineHours != 24 || e.On != tc.claim.On {
		t.Errorf("incomplete entitlement: %+v", e)
	}
}

func TestEntitlementsRefusesBadClaims(t *testing.T) {
	history := seq(received("2025-03-03"))
	for _, tc := range []struct {
		name    string
		history []Event
		claim   Claim
		field   string
	}{
		{"claim date is required", history, Claim{Finding: QualityProblem}, "on"},
		{"unknown finding", history, Claim{On: day("2025-03-04"), Finding: "broken"}, "finding"},
		{"no finding and no case: no diagnosis on record", history, Claim{On: day("2025-03-04")}, "finding"},
		{"no finding and an open case not yet diagnosed", seq(received("2025-03-03"), intake("2025-03-04 10:00")), Claim{On: day("2025-03-04")}, "finding"},
		{"the open case's diagnosis dated after the claim does not count", seq(received("2025-03-03"), intake("2025-03-04 10:00"), diagnosed("2025-03-05 10:00", QualityProblem, "")), Claim{On: day("2025-03-04")}, "finding"},
		{"unknown accessory", history, Claim{On: day("2025-03-04"), Finding: QualityProblem, Accessory: "XYZ"}, "accessory"},
		{"part and accessory together", history, Claim{On: day("2025-03-04"), Finding: QualityProblem, Accessory: "CHG-1", Part: "plug"}, "part"},
		{"malformed part", history, Claim{On: day("2025-03-04"), Finding: QualityProblem, Part: "bat<tery>"}, "part"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Default().Entitlements(product(), tc.history, tc.claim)
			wantCode(t, err, EInvalid, tc.field)
		})
	}
	_, err := Default().Entitlements(product(), history, Claim{On: day("2025-03-04")})
	if !strings.Contains(err.Error(), "no diagnosis on record: pass finding") {
		t.Errorf("err = %v", err)
	}
}
