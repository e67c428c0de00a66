package policy

import (
	"math"
	"reflect"
	"testing"
)

// Expected p-values computed independently (1 − Σ_{i<k} e^{−λ}λ^i/i!, in
// Python with exact factorials), not from PoissonTail.
func TestPoissonTailMatchesTheDirectSum(t *testing.T) {
	for _, c := range []struct {
		k      int64
		lambda float64
		want   float64
	}{
		{0, 1, 1},
		{1, 0, 0},
		{1, 1.0, 0.6321205588285577},
		{3, 0.43, 0.009632428738486798},
		{3, 0.44, 0.010244828079428281},
		{3, 0.1, 0.00015465307026474306},
		{4, 1.0, 0.01898815687615374},
		{2, 0.05, 0.00120910427425025},
		{10, 2.0, 4.6498075017109564e-05},
		{3, 5.0, 0.8753479805169189},
		{20, 30.0, 0.9781265315586092},
	} {
		got := PoissonTail(c.k, c.lambda)
		if math.Abs(got-c.want) > 1e-12*math.Max(1, c.want) && math.Abs(got-c.want)/c.want > 1e-9 {
			t.Errorf("PoissonTail(%d, %g) = %.17g, want %.17g", c.k, c.lambda, got, c.want)
		}
	}
}

func TestQualityFlaggedAtItsBoundaries(t *testing.T) {
	for _, c := range []struct {
		name     string
		cases    int64
		expected float64
		want     bool
	}{
		// P(X≥3 | λ=0.43) = 0.00963 < 0.01; P(X≥3 | λ=0.44) = 0.01024.
		{"3 cases, rate just over the threshold (p 0.0096)", 3, 0.43, true},
		{"3 cases, rate just under the threshold (p 0.0102)", 3, 0.44, false},
		// P(X≥2 | λ=0.05) = 0.0012, far below 0.01, yet 2 cases are too few.
		{"2 cases are never flagged, however unlikely", 2, 0.05, false},
		{"3 cases where 0.05 were expected", 3, 0.05, true},
		{"as many cases as expected", 12, 12, false},
		{"nothing expected (a model with no cases): 3 cases flag", 3, 0, true},
	} {
		if got := QualityFlagged(c.cases, c.expected); got != c.want {
			t.Errorf("%s: QualityFlagged(%d, %g) = %v, want %v", c.name, c.cases, c.expected, got, c.want)
		}
	}
}

func TestPer1000RoundsToTwoDecimals(t *testing.T) {
	for _, c := range []struct {
		cases, received int64
		want            float64
	}{{3, 0, 0}, {1, 3, 333.33}, {2, 3, 666.67}, {43, 1000, 43}, {1, 7000, 0.14}} {
		if got := Per1000(c.cases, c.received); got != c.want {
			t.Errorf("Per1000(%d, %d) = %v, want %v", c.cases, c.received, got, c.want)
		}
	}
}

func TestTallyCountsUnitsCasesAndAccessoryExchanges(t *testing.T) {
	p := Default()
	it := product()
	hist := concat(
		[]Event{dispatched("2025-03-01"), received("2025-03-03")},
		freeCase("2025-04-10", "2025-04-11", "fan"), // quality, early (38 days)
		[]Event{intake("2025-08-01 10:00"), diagnosed("2025-08-01 11:00", QualityProblem, ""), accReplaced("2025-08-01 12:00", "CHG-1", "CB2502"), shipped("2025-08-01 13:00")},
		[]Event{intake("2025-09-01 10:00"), diagnosed("2025-09-01 11:00", NoFault, ""), shipped("2025-09-01 13:00")},
	)
	got := p.Tally(it, hist)
	want := []QualityEntry{
		{QualityCell{"M1", "B1", "2025-03"}, QualityCounts{Units: 1, Received: 1, Cases: 1, FreeRepairs: 1, EarlyFailures: 1}},
		{QualityCell{"CHG-1", "CB2411", "2025-03"}, QualityCounts{Units: 1, Received: 1, Cases: 1, Replacements: 1}},
		{QualityCell{"CBL-2", "CC2411", "2025-03"}, QualityCounts{Units: 1, Received: 1}},
		{QualityCell{"CHG-1", "CB2502", "2025-03"}, QualityCounts{Units: 1, Received: 1}},
	}
	if !reflect.DeepEqual(got.Quality, want) {
		t.Errorf("Quality =\n%+v\nwant\n%+v", got.Quality, want)
	}
	wantF := []FindingEntry{
		{FindingCell{CountFinding, "M1", "2025-04", "quality_problem"}, 1},
		{FindingCell{CountPart, "M1", "2025-04", "fan"}, 1},
		{FindingCell{CountFinding, "CHG-1", "2025-08", "quality_problem"}, 1},
		{FindingCell{CountFinding, "M1", "2025-09", "no_fault"}, 1},
	}
	if !reflect.DeepEqual(got.Findings, wantF) {
		t.Errorf("Findings =\n%+v\nwant\n%+v", got.Findings, wantF)
	}
	// Received 2025-03-03, 12 months, plus the free repair's one day.
	if got.Expires != day("2026-03-04") {
		t.Errorf("Expires = %s, want 2026-03-04", got.Expires)
	}
}

func TestTallyEarlyFailureEndsOnDay90(t *testing.T) {
	p := Default()
	it := Item{Serial: "S1", SKU: "M1", Kind: KindProduct, WarrantyMonths: 12, Batch: "B1"}
	for _, c := range []struct {
		intake string
		early  int64
	}{{"2025-06-01", 1}, {"2025-06-02", 0}} { // 2025-03-03 + 90 days = 2025-06-01
		hist := concat([]Event{received("2025-03-03"), intake(c.intake + " 10:00"), diagnosed(c.intake+" 11:00", QualityProblem, "")})
		got := p.Tally(it, hist).Quality[0].Counts
		if got.Cases != 1 || got.EarlyFailures != c.early {
			t.Errorf("intake %s: cases %d early %d, want 1 and %d", c.intake, got.Cases, got.EarlyFailures, c.early)
		}
	}
}

func TestTallyFollowsCorrections(t *testing.T) {
	p := Default()
	it := Item{Serial: "S1", SKU: "M1", Kind: KindProduct, WarrantyMonths: 12, Batch: "B1"}
	hist := concat([]Event{received("2025-03-03"), intake("2025-04-01 10:00"), diagnosed("2025-04-01 11:00", QualityProblem, "")})
	before := p.Tally(it, hist)
	hist = concat(hist, []Event{corrected(3, Event{Finding: HumanDamage})})
	after := p.Tally(it, hist)
	if before.Quality[0].Counts.Cases != 1 || after.Quality[0].Counts.Cases != 0 {
		t.Fatalf("cases before/after correction = %d/%d, want 1/0", before.Quality[0].Counts.Cases, after.Quality[0].Counts.Cases)
	}
	d := after.Diff(before)
	wantQ := []QualityEntry{{QualityCell{"M1", "B1", "2025-03"}, QualityCounts{Cases: -1, EarlyFailures: -1}}}
	wantF := []FindingEntry{
		{FindingCell{CountFinding, "M1", "2025-04", "human_damage"}, 1},
		{FindingCell{CountFinding, "M1", "2025-04", "quality_problem"}, -1},
	}
	if !reflect.DeepEqual(d.Quality, wantQ) || !reflect.DeepEqual(d.Findings, wantF) {
		t.Errorf("Diff = %+v, want %+v %+v", d, wantQ, wantF)
	}
}

func TestTallyOfAnItemWithoutReceiptHasNoMonth(t *testing.T) {
	got := Default().Tally(Item{Serial: "S1", SKU: "M1", Kind: KindProduct, WarrantyMonths: 12, Batch: "B1"}, nil)
	want := []QualityEntry{{QualityCell{"M1", "B1", ""}, QualityCounts{Units: 1}}}
	if !reflect.DeepEqual(got.Quality, want) || !got.Expires.IsZero() {
		t.Errorf("Tally = %+v, want %+v and no expiry", got, want)
	}
}

// TestTallyListsAUnitAsExpiringOnceItHasLeftStock: a unit with nothing on
// record since its registration (and not another's replacement) is in
// stock as far as the registry knows and is not in the expiring report, though its warranty would be estimated
// from the production date; a reseller dispatch (start estimated: production
// + 90 days, 12 months from then) lists it.
func TestTallyListsAUnitAsExpiringOnceItHasLeftStock(t *testing.T) {
	p := Default()
	it := Item{Serial: "S1", SKU: "M1", Kind: KindProduct, WarrantyMonths: 12, Batch: "B1", ProducedOn: day("2025-01-10")}
	if got := p.Tally(it, nil).Expires; !got.IsZero() {
		t.Errorf("in stock: Expires = %s, want none", got)
	}
	hist := concat([]Event{resellerDispatch("2025-02-01")})
	if got := p.Tally(it, hist).Expires; got != day("2026-04-10") {
		t.Errorf("dispatched to a reseller: Expires = %s, want 2026-04-10", got)
	}
	// A replacement unit has no history of its own but is with the
	// customer: its warranty runs 12 months from the exchange.
	repl := it
	repl.Serial, repl.Replaces, repl.ExchangedOn = "S2", "S1", day("2025-05-01")
	if got := p.Tally(repl, nil).Expires; got != day("2026-05-01") {
		t.Errorf("a replacement unit: Expires = %s, want 2026-05-01", got)
	}
}
