package policy

import (
	"reflect"
	"testing"
)

func TestEffective(t *testing.T) {
	h := seq(dispatched("2025-03-01"), received("2025-03-03"))
	if got := Effective(h); &got[0] != &h[0] {
		t.Error("a history without corrections is copied")
	}
	for _, tc := range []struct {
		name    string
		history []Event
		want    []Event
	}{
		{"a correction replaces the fields it gives",
			seq(dispatched("2025-03-01"), received("2025-03-03"), corrected(2, Event{On: day("2025-03-04")})),
			seq(dispatched("2025-03-01"), Event{Type: EvReceived, On: day("2025-03-04"), Evidence: Courier})},
		{"a later correction wins",
			seq(received("2025-03-03"), corrected(1, Event{On: day("2025-03-04")}), corrected(1, Event{On: day("2025-03-05"), Evidence: Invoice})),
			seq(Event{Type: EvReceived, On: day("2025-03-05"), Evidence: Invoice})},
		{"listed fields are replaced even by zero values",
			seq(received("2025-03-03"), repaired("2025-04-01 10:00", true, "fan"), corrected(2, Event{Fields: []string{"paid", "parts"}})),
			seq(received("2025-03-03"), repaired("2025-04-01 10:00", false))},
		{"the correction's own reason is not copied",
			seq(paused("2025-04-01 10:00"), corrected(1, Event{Reason: "wrong time", At: ts("2025-04-01 11:00")})),
			seq(Event{Type: EvPaused, At: ts("2025-04-01 11:00"), Reason: "waiting on the customer"})},
		{"a correction of a missing event is dropped",
			seq(received("2025-03-03"), corrected(7, Event{On: day("2025-03-04")})),
			seq(received("2025-03-03"))},
		{"a correction of a correction is dropped",
			seq(received("2025-03-03"), corrected(1, Event{On: day("2025-03-04")}), corrected(2, Event{On: day("2025-03-09")})),
			seq(Event{Type: EvReceived, On: day("2025-03-04"), Evidence: Courier})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := seq(tc.history...)
			got := Effective(tc.history)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Effective =\n%+v\nwant\n%+v", got, tc.want)
			}
			if !reflect.DeepEqual(tc.history, before) {
				t.Error("Effective modified its input")
			}
		})
	}
}

func TestCorrectionsChangeDerivations(t *testing.T) {
	p := Default()
	h := seq(received("2025-03-03"), corrected(1, Event{On: day("2025-03-10")}))
	if cv := p.Coverage(product(), h, day("2025-03-12")); cv.Start != day("2025-03-10") || cv.ReturnUntil != day("2025-03-17") || cv.WarrantyUntil != day("2026-03-10") {
		t.Errorf("corrected receipt date: %+v", cv)
	}
	h = seq(Event{Type: EvReceived, On: day("2025-03-03"), Evidence: Customer}, corrected(1, Event{Evidence: Courier}))
	if cv := p.Coverage(product(), h, day("2025-03-12")); cv.Basis != "courier" || cv.BasisText != "receipt confirmed by courier" {
		t.Errorf("corrected evidence: %+v", cv)
	}

	// A repair recorded as paid by mistake: corrected to free, it counts toward the two repairs.
	twoRepairs := concat(seq(received("2025-03-03")), freeCase("2025-04-01", "2025-04-02"),
		[]Event{intake("2025-05-01 10:00"), diagnosed("2025-05-01 11:00", QualityProblem, ""), repaired("2025-05-02 09:00", true, "board"), shipped("2025-05-02 10:00")})
	claim := Claim{On: day("2025-06-01"), Finding: QualityProblem}
	e, _ := p.Entitlements(product(), twoRepairs, claim)
	if remedies(e.Remedies) != "repair" {
		t.Fatalf("before the correction: %v", e.Remedies)
	}
	fix := corrected(8, Event{Fields: []string{"paid"}})
	if _, err := p.Validate(product(), twoRepairs, fix, Check{Now: now}); err != nil {
		t.Fatalf("correction refused: %v", err)
	}
	fixed := concat(twoRepairs, []Event{fix})
	e, _ = p.Entitlements(product(), fixed, claim)
	if remedies(e.Remedies) != "replace,repair" {
		t.Errorf("after correcting paid to false: %v (%v)", e.Remedies, e.Reasons)
	}
	if cv := p.Coverage(product(), fixed, day("2025-06-01")); cv.FreeRepairs != 2 || cv.RepairDays != 2 || len(cv.Parts) != 1 || cv.Parts[0].Paid {
		t.Errorf("after correcting paid to false: %+v", cv)
	}

	// A tampering finding recorded in error no longer voids the warranty.
	void := concat(seq(received("2025-03-03")), []Event{intake("2025-03-05 10:00"), diagnosed("2025-03-05 11:00", Tampered, "")})
	if s := p.Coverage(product(), void, day("2025-03-06")).Status; s != Void {
		t.Fatalf("status = %s", s)
	}
	unvoid := concat(void, []Event{corrected(3, Event{Finding: QualityProblem})})
	if cv := p.Coverage(product(), unvoid, day("2025-03-06")); cv.Status != Active || cv.VoidedBy != 0 {
		t.Errorf("after correcting the finding: %+v", cv)
	}
	e, _ = p.Entitlements(product(), unvoid, Claim{On: day("2025-03-06"), Intact: true, Complete: true})
	if remedies(e.Remedies) != "return,replace,repair" {
		t.Errorf("after correcting the finding: %v", e.Remedies)
	}

	// Moving a shipping date moves the repair days and the part's coverage.
	parts := concat(seq(received("2025-03-03")), freeCase("2026-02-01", "2026-02-03", "battery"))
	moved := concat(parts, []Event{corrected(5, Event{At: ts("2026-02-05 10:00")})})
	cv := p.Coverage(product(), moved, day("2026-03-01"))
	if cv.RepairDays != 4 || cv.WarrantyUntil != day("2026-03-07") || cv.Parts[0].CoveredUntil != day("2026-05-06") {
		t.Errorf("after moving the shipping date: days %d until %s parts %+v", cv.RepairDays, cv.WarrantyUntil, cv.Parts)
	}
}

func TestCoverageParts(t *testing.T) {
	p := Default()
	h := concat(seq(received("2025-03-03")),
		freeCase("2025-06-01", "2025-06-03", "battery", "fan"), // early: the unit's end is later than back + 90
		freeCase("2026-02-01", "2026-02-03", "battery"),        // late: back + 90 is later than the unit's end
		[]Event{intake("2026-06-01 09:00"), diagnosed("2026-06-01 10:00", HumanDamage, "screen"), quoted("2026-06-01 11:00"),
			paid("2026-06-01 12:00"), repaired("2026-06-01 13:00", true, "screen")})
	before := p.Coverage(product(), h, day("2026-06-01"))
	want := []PartCoverage{
		{Part: "battery", ReplacedOn: day("2025-06-03"), CoveredUntil: day("2026-03-07"), Case: 2},
		{Part: "fan", ReplacedOn: day("2025-06-03"), CoveredUntil: day("2026-03-07"), Case: 2},
		{Part: "battery", ReplacedOn: day("2026-02-03"), CoveredUntil: day("2026-05-04"), Case: 6},
		{Part: "screen", ReplacedOn: day("2026-06-01"), Paid: true, Case: 10},
	}
	if before.WarrantyUntil != day("2026-03-07") || !reflect.DeepEqual(before.Parts, want) {
		t.Errorf("until %s parts\n%+v\nwant\n%+v", before.WarrantyUntil, before.Parts, want)
	}
	after := p.Coverage(product(), concat(h, []Event{shipped("2026-06-02 10:00")}), day("2026-06-02"))
	if got := after.Parts[3].CoveredUntil; got != day("2026-08-31") {
		t.Errorf("paid part covered until %s, want back 2026-06-02 + 90 = 2026-08-31", got)
	}
	// The paid repair's days never extend the unit.
	if after.WarrantyUntil != day("2026-03-07") || after.RepairDays != 4 {
		t.Errorf("until %s, repair days %d", after.WarrantyUntil, after.RepairDays)
	}
}

func TestCoverageAccessories(t *testing.T) {
	p := Default()
	h := seq(received("2025-03-03"), accReplaced("2025-04-01 10:00", "CBL-2", "CC2501"), accReplaced("2025-05-31 23:30", "CBL-2", "CC2502"))
	cv := p.Coverage(product(), h, day("2025-06-01"))
	want := []AccessoryCoverage{
		{SKU: "CHG-1", Name: "Charger", Kind: KindAdapter, Batch: "CB2411", Start: day("2025-03-03"), WarrantyUntil: day("2026-03-03")},
		{SKU: "CBL-2", Name: "Cable", Kind: KindAccessory, Batch: "CC2502", Start: day("2025-05-31"), WarrantyUntil: day("2025-11-30"), Replacements: 2},
	}
	if !reflect.DeepEqual(cv.Accessories, want) {
		t.Errorf("accessories\n%+v\nwant\n%+v", cv.Accessories, want)
	}
	// As of before the exchanges, the original batch and period.
	cv = p.Coverage(product(), h, day("2025-03-31"))
	if a := cv.Accessories[1]; a.Batch != "CC2411" || a.Replacements != 0 || a.WarrantyUntil != day("2025-09-03") {
		t.Errorf("cable on 2025-03-31 = %+v", a)
	}
	// Not started: no warranty end for bundled accessories either.
	if a := p.Coverage(product(), nil, day("2025-03-31")).Accessories[0]; !a.WarrantyUntil.IsZero() || !a.Start.IsZero() {
		t.Errorf("charger before the receipt = %+v", a)
	}
	// An accessory with no months of its own takes the policy's period for its kind.
	item := product()
	item.Accessories[0].WarrantyMonths = 0
	p.WarrantyMonths = map[Kind]int{KindProduct: 12, KindAccessory: 12, KindAdapter: 3}
	if a := p.Coverage(item, h, day("2025-04-01")).Accessories[0]; a.WarrantyUntil != day("2025-06-03") {
		t.Errorf("charger with the policy's 3 months = %+v", a)
	}
}
