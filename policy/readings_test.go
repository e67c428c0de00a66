package policy

import (
	"strings"
	"testing"
)

// The readings of policy.md "Precise readings" that two teams could
// differ on: "As of a date", the "Settled readings (December 2026)" and
// "Estimated start" ("Dispatched start": TestEntitlementsOnTheDispatchBasis
// and TestOptions). Every expected value is written out from the policy
// text.

// exchangedLine builds a stand-alone accessory line LX-1 → LX-2 → LX-3,
// each exchange closing a case with the given finding, and returns LX-3
// with the Exchanges the registry stores (SuccessorExchanges at each step).
func exchangedLine(t *testing.T, findings ...Finding) Item {
	t.Helper()
	p := Default()
	unit := standalone(KindAccessory)
	unit.Serial = "LX-1"
	history := seq(received("2025-03-03"))
	for i, f := range findings {
		on := day("2025-04-01").AddMonths(i).String()
		next := unit
		next.Serial = "LX-" + string(rune('2'+i))
		history = append(history, intake(on+" 10:00"), diagnosed(on+" 11:00", f, ""), replacedBy(on+" 12:00", next.Serial))
		next.Replaces, next.ExchangedOn = unit.Serial, day(on)
		next.Exchanges = p.SuccessorExchanges(unit, seq(history...))
		unit, history = next, nil
	}
	return unit
}

func TestRule4CountsOnlyQualityExchanges(t *testing.T) {
	for _, tc := range []struct {
		name      string
		findings  []Finding
		exchanges int
		remedies  string
	}{
		{"two exchanges after no_fault (the issue's LX-1 → LX-2 → LX-3): replacement only", []Finding{NoFault, NoFault}, 0, "replace"},
		{"two exchanges after quality problems: refund or replacement", []Finding{QualityProblem, QualityProblem}, 2, "return,replace"},
		{"one quality exchange and one goodwill exchange: replacement only", []Finding{QualityProblem, NoFault}, 1, "replace"},
		{"an exchange after an exclusion is goodwill too", []Finding{QualityProblem, HumanDamage}, 1, "replace"},
		{"one quality exchange: replacement only", []Finding{QualityProblem}, 1, "replace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			last := exchangedLine(t, tc.findings...)
			if last.Exchanges != tc.exchanges {
				t.Errorf("%s.Exchanges = %d, want %d", last.Serial, last.Exchanges, tc.exchanges)
			}
			e, err := Default().Entitlements(last, nil, Claim{On: day("2025-06-10"), Finding: QualityProblem})
			if err != nil {
				t.Fatal(err)
			}
			if got := remedies(e.Remedies); got != tc.remedies {
				t.Errorf("remedies = %q, want %q (%s)", got, tc.remedies, strings.Join(e.Reasons, " | "))
			}
		})
	}
}

func TestSettledReadingsEntitlements(t *testing.T) {
	produced := product()
	produced.ProducedOn = day("2025-01-01") // estimated start 2025-04-01, warranty until 2026-04-01
	accProduced := standalone(KindAdapter)
	accProduced.ProducedOn = day("2025-01-01")
	successor := product() // S2 took S1's place on 2025-04-01 and carries the bundle it was registered with
	successor.Serial, successor.Replaces, successor.ExchangedOn, successor.Exchanges = "S2", "S1", day("2025-04-01"), 1
	successor.Accessories = []Accessory{{SKU: "CHG-1", Batch: "CB2501", Name: "Charger", Kind: KindAdapter, WarrantyMonths: 12}}
	recv := seq(received("2025-03-03"))
	accCase := func(in string, f Finding, batch string) []Event {
		return []Event{intake(in + " 10:00"), diagnosed(in+" 10:30", f, ""), accReplaced(in+" 11:00", "CHG-1", batch), shipped(in + " 12:00")}
	}
	voided := concat(recv, []Event{intake("2025-03-05 10:00"), diagnosed("2025-03-06 10:00", Tampered, ""), shipped("2025-03-07 10:00")})
	replaced := concat(recv, []Event{intake("2025-04-01 10:00"), diagnosed("2025-04-01 11:00", QualityProblem, ""), replacedBy("2025-04-01 12:00", "S2")})
	refunded := concat(recv, []Event{intake("2025-03-05 10:00"), diagnosed("2025-03-05 11:00", NoFault, ""), returnedAt("2025-03-05 12:00")})
	// A battery fitted in a free repair before the end (back 2026-02-03:
	// covered until 2026-05-04), then again after it (back 2026-04-02:
	// covered until 2026-07-01).
	partAfterExpiry := concat(recv, freeCase("2026-02-01", "2026-02-03", "battery"), freeCase("2026-04-01", "2026-04-02", "battery"))

	claim := func(on string, f Finding, intact bool) Claim {
		return Claim{On: day(on), Finding: f, Intact: intact, Complete: intact}
	}
	accClaim := func(on, sku string, f Finding) Claim {
		return Claim{On: day(on), Finding: f, Intact: true, Complete: true, Accessory: sku}
	}
	partClaim := func(on string) Claim { return Claim{On: day(on), Finding: QualityProblem, Part: "battery"} }
	for _, tc := range []entCase{
		// As of a date.
		{"the receipt day is day 0, inside both windows", product(), recv, claim("2025-03-03", QualityProblem, true),
			wantEnt{"return,replace,repair", false, true, "day 0 of 7 after receipt on 2025-03-03"}},
		{"a claim before a later receipt is judged on the dispatch basis", product(), seq(dispatched("2025-03-03"), received("2025-03-20")),
			claim("2025-03-12", QualityProblem, true), wantEnt{"replace,repair", false, true, "day 9 of 15 after the direct dispatch on 2025-03-03"}},
		{"a claim before a later receipt is judged on the estimated basis", produced, seq(received("2025-06-01")),
			claim("2025-05-01", QualityProblem, true), wantEnt{"repair", false, true, "start estimated from the production date 2025-01-01 + 90 days"}},
		{"after that receipt, its windows", produced, seq(received("2025-06-01")),
			claim("2025-06-08", QualityProblem, true), wantEnt{"return,replace,repair", false, true, "day 7 of 7 after receipt on 2025-06-01"}},

		// Estimated start: before it, within the warranty.
		{"estimated: a product before its start gets free repair", produced, nil, claim("2025-02-01", QualityProblem, true),
			wantEnt{"repair", false, true, "quality problem within the warranty (until 2026-04-01): free repair"}},
		{"estimated: an adapter before its start gets free replacement", accProduced, nil, claim("2025-02-01", QualityProblem, true),
			wantEnt{"replace", false, true, "free replacement"}},
		{"estimated: a bundled accessory before the product's start gets free replacement", produced, nil, accClaim("2025-02-01", "CHG-1", QualityProblem),
			wantEnt{"replace", false, true, "bundled adapter CHG-1 (batch CB2411) has a quality problem within its warranty (until 2026-04-01)"}},
		{"estimated: no return, even intact and complete with no fault", produced, nil, claim("2025-04-02", NoFault, true),
			wantEnt{"", false, true, "no 7-day return and no 15-day replacement"}},
		{"estimated: expired the day after 12 months", produced, nil, claim("2026-04-02", QualityProblem, true),
			wantEnt{"", true, false, "warranty ended on 2026-04-01"}},

		// Rule 4 for bundled accessories.
		{"bundled: two exchanges after no_fault do not reach the refund", product(), concat(recv, accCase("2025-04-01", NoFault, "CB2501"), accCase("2025-05-01", NoFault, "CB2502")),
			accClaim("2025-06-10", "CHG-1", QualityProblem), wantEnt{"replace", false, true, "free replacement"}},
		{"bundled: one quality exchange and one goodwill exchange", product(), concat(recv, accCase("2025-04-01", QualityProblem, "CB2501"), accCase("2025-05-01", NoFault, "CB2502")),
			accClaim("2025-06-10", "CHG-1", QualityProblem), wantEnt{"replace", false, true, ""}},
		{"bundled: exchanges outside a case follow no diagnosis", product(), concat(recv, []Event{accReplaced("2025-04-01 11:00", "CHG-1", "CB2501"), accReplaced("2025-05-01 11:00", "CHG-1", "CB2502")}),
			accClaim("2025-06-10", "CHG-1", QualityProblem), wantEnt{"replace", false, true, ""}},
		{"bundled: two exchanges after quality problems reach the refund", product(), concat(recv, accCase("2025-04-01", QualityProblem, "CB2501"), accCase("2025-05-01", QualityProblem, "CB2502")),
			accClaim("2025-06-10", "CHG-1", QualityProblem), wantEnt{"return,replace", false, true, "2 earlier replacements of CHG-1 for a quality problem"}},

		// A free repair of a covered part after the unit's warranty ended.
		{"part fitted after expiry: covered on its last day", product(), partAfterExpiry, partClaim("2026-07-01"),
			wantEnt{"repair", false, false, "part battery fitted on 2026-04-02 (case 6) is covered until 2026-07-01: free repair of that part, though the warranty ended on 2026-03-05"}},
		{"part fitted after expiry: not the day after", product(), partAfterExpiry, partClaim("2026-07-02"),
			wantEnt{"", true, false, "part battery has no coverage on 2026-07-02"}},
		{"the unit itself stays expired", product(), partAfterExpiry, claim("2026-04-03", QualityProblem, false),
			wantEnt{"", true, false, "warranty ended on 2026-03-05"}},

		// Void and retired.
		{"void + no fault: nothing free and no paid repair", product(), voided, claim("2025-06-01", NoFault, true),
			wantEnt{"", false, false, "no fault found: nothing to repair"}},
		{"void + quality problem: paid repair", product(), voided, claim("2025-06-01", QualityProblem, true),
			wantEnt{"", true, false, "warranty void since 2025-03-06"}},
		{"replaced serial: no remedies at all, paid repair included", product(), replaced, claim("2025-04-02", QualityProblem, true),
			wantEnt{"", false, false, "replaced by S2 on 2025-04-01"}},
		{"returned serial: no remedies at all, paid repair included", product(), refunded, claim("2025-03-06", HumanDamage, true),
			wantEnt{"", false, false, "returned and refunded on 2025-03-05"}},

		// Bundled accessories: own period, no return of their own, the bundle of a replaced product.
		{"bundled cable: its own 6 months, last day", product(), recv, accClaim("2025-09-03", "CBL-2", QualityProblem),
			wantEnt{"replace", false, true, "until 2025-09-03"}},
		{"bundled cable: the day after its 6 months", product(), recv, accClaim("2025-09-04", "CBL-2", QualityProblem),
			wantEnt{"", true, false, "warranty ended on 2025-09-03"}},
		{"bundled: no 7-day return of its own, quality problem on day 1", product(), recv, accClaim("2025-03-04", "CBL-2", QualityProblem),
			wantEnt{"replace", false, true, ""}},
		{"bundled: no 7-day return of its own, no fault on day 1", product(), recv, accClaim("2025-03-04", "CBL-2", NoFault),
			wantEnt{"", false, true, "no fault found, nothing to replace"}},
		{"the old bundle retires with the replaced serial", product(), replaced, accClaim("2025-04-02", "CHG-1", QualityProblem),
			wantEnt{"", false, false, "replaced by S2 on 2025-04-01"}},
		{"the new serial carries its own bundle, dated from the exchange", successor, nil, accClaim("2026-04-01", "CHG-1", QualityProblem),
			wantEnt{"replace", false, true, "bundled adapter CHG-1 (batch CB2501) has a quality problem within its warranty (until 2026-04-01)"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkEnt(t, tc) })
	}
	// The new serial carries only its own bundle: the old one's cable is not bundled with it.
	_, err := Default().Entitlements(successor, nil, accClaim("2025-06-01", "CBL-2", QualityProblem))
	wantCode(t, err, EInvalid, "accessory")
}

func TestSettledReadingsCoverage(t *testing.T) {
	produced := product()
	produced.ProducedOn = day("2025-01-01")
	recv := seq(received("2025-03-03")) // warranty until 2026-03-03
	open := func(more ...Event) []Event {
		return concat(recv, append([]Event{intake("2025-06-01 10:00")}, more...))
	}
	for _, tc := range []covCase{
		// An open case adds repair days (up to D) only once diagnosed quality_problem within the warranty.
		{"open case not yet diagnosed: no repair days", product(), open(), "2025-06-11",
			wantCov{Active, InService, "", "", "", "", "2026-03-03", 265, 0, 0, ""}},
		{"open case diagnosed quality_problem: days from intake to D", product(), open(diagnosed("2025-06-01 11:00", QualityProblem, "")), "2025-06-11",
			wantCov{Active, InService, "", "", "", "", "2026-03-13", 275, 0, 10, ""}},
		{"open case diagnosed quality_problem two days after intake: days from intake", product(), open(diagnosed("2025-06-03 11:00", QualityProblem, "")), "2025-06-05",
			wantCov{Active, InService, "", "", "", "", "2026-03-07", -1, 0, 4, ""}},
		{"open case, quality problem not yet diagnosed on D", product(), open(diagnosed("2025-06-03 11:00", QualityProblem, "")), "2025-06-02",
			wantCov{Active, InService, "", "", "", "", "2026-03-03", -1, 0, 0, ""}},
		{"open case diagnosed no_fault: no repair days", product(), open(diagnosed("2025-06-01 11:00", NoFault, "")), "2025-06-11",
			wantCov{Active, InService, "", "", "", "", "2026-03-03", -1, 0, 0, ""}},
		{"open case diagnosed as an exclusion: no repair days", product(), open(diagnosed("2025-06-01 11:00", HumanDamage, "")), "2025-06-11",
			wantCov{Active, InService, "", "", "", "", "2026-03-03", -1, 0, 0, ""}},
		{"case closed without a free repair: none, the end never moves back", product(), open(diagnosed("2025-06-01 11:00", NoFault, ""), shipped("2025-06-10 10:00")), "2025-06-11",
			wantCov{Active, InUse, "", "", "", "", "2026-03-03", -1, 0, 0, ""}},
		{"case closed after a paid repair: none", product(),
			open(diagnosed("2025-06-01 11:00", HumanDamage, ""), quoted("2025-06-01 12:00"), paid("2025-06-02 09:00"), repaired("2025-06-03 09:00", true, "screen"), shipped("2025-06-04 10:00")), "2025-06-11",
			wantCov{Active, InUse, "", "", "", "", "2026-03-03", -1, 0, 0, ""}},
		{"open case diagnosed quality_problem after the warranty: none", product(),
			concat(recv, []Event{intake("2026-03-04 10:00"), diagnosed("2026-03-04 11:00", QualityProblem, "")}), "2026-03-10",
			wantCov{Expired, InService, "", "", "", "", "2026-03-03", 0, 0, 0, ""}},

		// Repair days extend warranty_until only for cases opened on or before it.
		{"a free repair opened on the last day extends the end", product(), concat(recv, freeCase("2026-03-03", "2026-03-06")), "2026-03-06",
			wantCov{Active, InUse, "", "", "", "", "2026-03-06", 0, 1, 3, ""}},
		{"a free repair opened the day after the end adds nothing", product(), concat(recv, freeCase("2026-03-04", "2026-03-06")), "2026-03-07",
			wantCov{Expired, InUse, "", "", "", "", "2026-03-03", 0, 1, 0, ""}},
		{"a case opened within an already extended end extends it again", product(),
			concat(recv, freeCase("2025-06-01", "2025-06-11"), freeCase("2026-03-10", "2026-03-12")), "2026-03-12",
			wantCov{Active, InUse, "", "", "", "", "2026-03-15", 3, 2, 12, ""}},
		{"a free repair before an estimated start counts: the unit is sold", produced, concat(freeCase("2025-02-01", "2025-02-04")), "2025-03-01",
			wantCov{Active, "", BasisEstimated, "2025-04-01", "-", "-", "2026-04-04", 399, 1, 3, ""}},

		// days_left is 0 when void, retired or not started.
		{"void: no days left", product(), concat(recv, []Event{intake("2025-03-05 10:00"), diagnosed("2025-03-06 10:00", Tampered, "")}), "2025-06-01",
			wantCov{Void, InService, "", "", "", "", "2026-03-03", 0, -1, -1, ""}},
		{"retired: no days left", product(), concat(recv, []Event{intake("2025-04-01 10:00"), diagnosed("2025-04-01 11:00", QualityProblem, ""), replacedBy("2025-04-01 12:00", "S2")}), "2025-06-01",
			wantCov{Retired, Replaced, "", "", "", "", "2026-03-03", 0, -1, -1, ""}},
		{"not started: no days left", product(), nil, "2025-06-01",
			wantCov{NotStarted, Registered, "", "-", "-", "-", "-", 0, -1, -1, ""}},

		// As of a date.
		{"a receipt dated after D does not exist yet: estimated", produced, seq(received("2025-06-01")), "2025-05-31",
			wantCov{Active, Registered, BasisEstimated, "2025-04-01", "-", "-", "2026-04-01", 305, -1, -1, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkCov(t, Default().Coverage(tc.item, tc.history, day(tc.on)), tc.want)
		})
	}
}

// Parts and bundled accessories as the coverage lists them.
func TestSettledReadingsPartsAndBundles(t *testing.T) {
	p := Default()
	h := concat(seq(received("2025-03-03")), freeCase("2026-02-01", "2026-02-03", "battery"), freeCase("2026-04-01", "2026-04-02", "battery"))
	cv := p.Coverage(product(), h, day("2026-04-03"))
	if cv.Status != Expired || cv.WarrantyUntil != day("2026-03-05") || cv.RepairDays != 2 {
		t.Errorf("unit: %s until %s, %d repair days; want expired until 2026-03-05, 2 days", cv.Status, cv.WarrantyUntil, cv.RepairDays)
	}
	var parts []string
	for _, pc := range cv.Parts {
		parts = append(parts, pc.Part+" "+pc.ReplacedOn.String()+" "+pc.CoveredUntil.String())
	}
	if got, want := strings.Join(parts, ", "), "battery 2026-02-03 2026-05-04, battery 2026-04-02 2026-07-01"; got != want {
		t.Errorf("parts = %s\nwant    %s", got, want)
	}

	cv = p.Coverage(product(), seq(received("2025-03-03")), day("2025-03-04"))
	var acc []string
	for _, a := range cv.Accessories {
		acc = append(acc, a.SKU+" "+a.Start.String()+" "+a.WarrantyUntil.String())
	}
	if got, want := strings.Join(acc, ", "), "CHG-1 2025-03-03 2026-03-03, CBL-2 2025-03-03 2025-09-03"; got != want {
		t.Errorf("accessories = %s\nwant          %s", got, want)
	}
	if cv.ReturnUntil != day("2025-03-10") {
		t.Errorf("the product's return window: %s", cv.ReturnUntil)
	}
}
