package policy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// whyText is a reason's code and values in one line, for literal
// expectations: "code d=… n=… w=… t=…".
func whyText(r Reason) string {
	var b strings.Builder
	b.WriteString(r.Code)
	for _, d := range r.Dates {
		fmt.Fprintf(&b, " d=%s", d)
	}
	for _, n := range r.Nums {
		fmt.Fprintf(&b, " n=%d", n)
	}
	for _, w := range r.Words {
		fmt.Fprintf(&b, " w=%s", w)
	}
	for _, t := range r.Terms {
		fmt.Fprintf(&b, " t=%s", t)
	}
	return b.String()
}

// whyCases fire every kind of reason at least once; want is the claim's
// Why, one whyText per reason, in the order of its English reasons.
func whyCases() []struct {
	name    string
	p       *Policy
	item    Item
	history []Event
	claim   Claim
	want    []string
} {
	recv := func(on string, more ...Event) []Event { return seq(append([]Event{received(on)}, more...)...) }
	claim := func(on string, f Finding, intact, complete bool) Claim {
		return Claim{On: day(on), Finding: f, Intact: intact, Complete: complete, Why: true}
	}
	estimated := product()
	estimated.ProducedOn = day("2025-01-01")
	exchange := product()
	exchange.Serial, exchange.Replaces, exchange.ExchangedOn = "S2", "S1", day("2025-05-01")
	accRepl := standalone(KindAccessory)
	accRepl.Serial, accRepl.Replaces, accRepl.ExchangedOn, accRepl.Exchanges = "A3", "A2", day("2025-05-01"), 2
	partFree := concat(recv("2025-03-03"), freeCase("2026-02-01", "2026-02-03", "battery"))
	tamperedCase := concat(recv("2025-03-03"), []Event{intake("2025-03-05 10:00"), diagnosed("2025-03-06 10:00", Tampered, ""), shipped("2025-03-06 12:00")})
	twoRepairs := concat(recv("2025-03-03"), freeCase("2025-04-01", "2025-04-02"), freeCase("2025-05-01", "2025-05-02"))
	accTwice := recv("2025-03-03", intake("2025-04-01 10:00"), diagnosed("2025-04-01 10:30", QualityProblem, ""), accReplaced("2025-04-01 11:00", "CHG-1", "CB2501"), shipped("2025-04-01 12:00"),
		intake("2025-05-01 10:00"), diagnosed("2025-05-01 10:30", QualityProblem, ""), accReplaced("2025-05-01 11:00", "CHG-1", "CB2502"), shipped("2025-05-01 12:00"))
	acc := func(on string, f Finding, sku string) Claim {
		return Claim{On: day(on), Finding: f, Accessory: sku, Why: true}
	}
	part := func(on, part string) Claim { return Claim{On: day(on), Finding: QualityProblem, Part: part, Why: true} }
	return []struct {
		name    string
		p       *Policy
		item    Item
		history []Event
		claim   Claim
		want    []string
	}{
		{"day 5 after receipt, intact and complete", Default(), product(), recv("2025-03-03"), claim("2025-03-08", QualityProblem, true, true),
			[]string{"return d=2025-03-03 d=2025-03-10 n=5 n=7", "replace_window d=2025-03-03 d=2025-03-18 n=5 n=15"}},
		{"day 2 after a direct dispatch, not intact", Default(), product(), seq(dispatched("2025-03-03")), claim("2025-03-05", QualityProblem, false, true),
			[]string{"no_return_dispatch d=2025-03-03 d=2025-03-10 n=2 n=7 t=not_intact", "replace_window_dispatch d=2025-03-03 d=2025-03-18 n=2 n=15"}},
		{"day 7 after a direct dispatch, no fault", Default(), product(), seq(dispatched("2025-03-03")), claim("2025-03-10", NoFault, true, true),
			[]string{"return_dispatch d=2025-03-03 d=2025-03-10 n=7 n=7", "no_fault"}},
		{"day 3, not complete", Default(), product(), recv("2025-03-03"), claim("2025-03-06", NoFault, true, false),
			[]string{"no_return d=2025-03-03 d=2025-03-10 n=3 n=7 t=not_complete", "no_fault"}},
		{"day 3, neither intact nor complete", Default(), product(), recv("2025-03-03"), claim("2025-03-06", NoFault, false, false),
			[]string{"no_return d=2025-03-03 d=2025-03-10 n=3 n=7 t=not_intact_complete", "no_fault"}},
		{"a window extended past National Day names its last day", nationalDay(), product(), recv("2026-09-30"), claim("2026-10-02", NoFault, true, true),
			[]string{"return d=2026-09-30 d=2026-10-08 n=2 n=7", "no_fault"}},
		{"two free repairs", Default(), product(), twoRepairs, claim("2025-06-01", QualityProblem, true, true),
			[]string{"free_repair d=2026-03-05", "repairs_then_replace n=2"}},
		{"warranty ended", Default(), product(), recv("2025-01-15"), claim("2026-01-16", QualityProblem, true, true),
			[]string{"warranty_ended d=2026-01-15", "paid_repair"}},
		{"exclusion", Default(), product(), recv("2025-03-03"), claim("2025-03-04", HumanDamage, true, true),
			[]string{"excluded n=7 t=human_damage", "paid_repair"}},
		{"exclusion that voids", Default(), product(), recv("2025-03-03"), claim("2025-03-04", Tampered, true, true),
			[]string{"excluded_voids n=7 t=tampered", "paid_repair"}},
		{"void", Default(), product(), tamperedCase, claim("2025-09-01", QualityProblem, true, true),
			[]string{"void d=2025-03-06 t=tampered", "paid_repair"}},
		{"nothing known", Default(), product(), nil, claim("2025-03-01", QualityProblem, true, true),
			[]string{"no_start", "paid_repair"}},
		{"estimated start", Default(), estimated, nil, claim("2025-04-03", QualityProblem, true, true),
			[]string{"estimated d=2025-01-01 n=90 n=7 n=15", "free_repair d=2026-04-01"}},
		{"replacement unit", Default(), exchange, nil, claim("2025-05-03", QualityProblem, true, true),
			[]string{"replacement_unit d=2025-05-01 n=7 n=15 w=S1", "free_repair d=2026-05-01"}},
		{"replacement unit, claim before the exchange", Default(), exchange, nil, claim("2025-04-30", QualityProblem, true, true),
			[]string{"before_exchange d=2025-04-30 w=S1", "paid_repair"}},
		{"part covered past the warranty", Default(), product(), partFree, part("2026-05-04", "battery"),
			[]string{"part_covered d=2026-02-03 d=2026-05-04 d=2026-03-05 n=2 w=battery"}},
		{"part not covered", Default(), product(), partFree, part("2026-05-05", "battery"),
			[]string{"part_not_covered d=2026-05-05 w=battery", "warranty_ended d=2026-03-05", "paid_repair"}},
		{"stand-alone accessory after two exchanges", Default(), accRepl, nil, claim("2025-06-01", QualityProblem, true, true),
			[]string{"replacement_unit d=2025-05-01 n=7 n=15 w=A2", "bundle_replace d=2026-05-01 t=accessory", "bundle_refund n=2"}},
		{"bundled accessory, twice replaced", Default(), product(), accTwice, acc("2025-06-01", QualityProblem, "CHG-1"),
			[]string{"accessory_replace d=2026-05-01 w=CHG-1 w=CB2502 t=adapter", "accessory_refund n=2 w=CHG-1"}},
		{"bundled accessory, no fault", Default(), product(), recv("2025-03-03"), acc("2025-06-01", NoFault, "CHG-1"),
			[]string{"accessory_no_fault w=CHG-1 w=CB2411 t=adapter"}},
		{"bundled accessory past its own period", Default(), product(), recv("2025-03-03"), acc("2025-09-04", QualityProblem, "CBL-2"),
			[]string{"accessory_ended d=2025-09-03 w=CBL-2 w=CC2411 t=accessory", "paid_repair"}},
		{"replaced serial", Default(), product(), recv("2025-03-03", intake("2025-03-10 10:00"), replacedBy("2025-03-10 12:00", "S2")), claim("2025-03-11", QualityProblem, true, true),
			[]string{"replaced d=2025-03-10 w=S2"}},
		{"returned serial", Default(), product(), recv("2025-03-03", intake("2025-03-05 10:00"), returnedAt("2025-03-05 12:00")), Claim{On: day("2025-03-06"), Why: true},
			[]string{"refunded d=2025-03-05"}},
	}
}

func TestWhyNamesEachReasonByCodeWithItsValues(t *testing.T) {
	for _, tc := range whyCases() {
		t.Run(tc.name, func(t *testing.T) {
			e, err := tc.p.Entitlements(tc.item, tc.history, tc.claim)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(e.Why))
			for i, r := range e.Why {
				got[i] = whyText(r)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("why =\n  %s\nwant\n  %s\n(reasons: %q)", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "), e.Reasons)
			}
			if len(e.Why) != len(e.Reasons) {
				t.Errorf("%d reasons but %d in why", len(e.Reasons), len(e.Why))
			}
		})
	}
}

// The English sentences of a claim that asks for Why are those of one
// that does not: asking changes nothing else.
func TestWhyLeavesTheEnglishReasonsAlone(t *testing.T) {
	for _, tc := range whyCases() {
		with, err := tc.p.Entitlements(tc.item, tc.history, tc.claim)
		if err != nil {
			t.Fatal(err)
		}
		c := tc.claim
		c.Why = false
		without, err := tc.p.Entitlements(tc.item, tc.history, c)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(with.Reasons, without.Reasons) || without.Why != nil {
			t.Errorf("%s: reasons %q with why, %q (why %v) without", tc.name, with.Reasons, without.Reasons, without.Why)
		}
	}
}

// Every kind of reason is listed, fired by the table above, and names as
// many values of each sort as its listing says (a page words it from them).
func TestReasonKindsAreListedAndFired(t *testing.T) {
	want := []string{"replaced", "refunded", "void", "no_fault", "paid_repair", "excluded", "excluded_voids",
		"before_exchange", "no_start", "warranty_ended", "part_covered", "part_not_covered", "estimated",
		"replacement_unit", "return", "return_dispatch", "no_return", "no_return_dispatch", "replace_window",
		"replace_window_dispatch", "bundle_replace", "bundle_refund", "free_repair", "repairs_then_replace",
		"accessory_ended", "accessory_no_fault", "accessory_replace", "accessory_refund"}
	kinds := map[string]ReasonKind{}
	var listed []string
	for _, k := range ReasonKinds() {
		if k.Code == "" {
			t.Errorf("a reason kind without a code: %+v", k)
		}
		kinds[k.Code] = k
		listed = append(listed, k.Code)
	}
	if !slices.Equal(listed, want) {
		t.Errorf("ReasonKinds = %q, want %q", listed, want)
	}
	fired := map[string]bool{}
	for _, tc := range whyCases() {
		e, _ := tc.p.Entitlements(tc.item, tc.history, tc.claim)
		for _, r := range e.Why {
			fired[r.Code] = true
			k, ok := kinds[r.Code]
			if !ok {
				t.Errorf("%s: reason %s is not listed", tc.name, r.Code)
			}
			if len(r.Dates) != k.Dates || len(r.Nums) != k.Nums || len(r.Words) != k.Words || len(r.Terms) != k.Terms {
				t.Errorf("%s: %s names %d dates, %d numbers, %d words, %d terms; listed as %+v", tc.name, whyText(r), len(r.Dates), len(r.Nums), len(r.Words), len(r.Terms), k)
			}
		}
	}
	for _, c := range want {
		if !fired[c] {
			t.Errorf("no case fires reason %s", c)
		}
	}
}
