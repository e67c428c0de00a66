package policy

import "testing"

// history20 is a busy but ordinary item: dispatch, receipt, resale, three
// closed free repairs, an accessory exchange and an open, paused case.
func history20() []Event {
	return concat(seq(dispatched("2025-03-01"), received("2025-03-03"), transferred("2025-04-01")),
		freeCase("2025-05-01", "2025-05-02", "battery"),
		freeCase("2025-07-01", "2025-07-03", "fan"),
		freeCase("2025-09-01", "2025-09-02"),
		[]Event{accReplaced("2025-10-01 10:00", "CHG-1", "CB2501"),
			intake("2025-11-01 10:00"), diagnosed("2025-11-01 11:00", QualityProblem, "battery"), paused("2025-11-01 12:00"), resumed("2025-11-02 09:00")})
}

func BenchmarkCoverageEntitlements20Events(b *testing.B) {
	p, item, h := Default(), product(), history20()
	if len(h) != 20 {
		b.Fatalf("%d events", len(h))
	}
	on := day("2025-11-03")
	claim := Claim{On: on, Intact: true, Complete: true, Part: "battery"}
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		cv := p.Coverage(item, h, on)
		e, err := p.Entitlements(item, h, claim)
		if err != nil || cv.FreeRepairs != 3 || len(e.Remedies) != 2 {
			b.Fatalf("%+v %+v %v", cv, e, err)
		}
	}
	if used := cpuTime() - cpu; used > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkCoverageRegistered: the view of a unit registered with a
// production date and nothing since (the start estimated from it), what
// most lookups of a large registry are.
func BenchmarkCoverageRegistered(b *testing.B) {
	p, item := Default(), Item{Serial: "S1", SKU: "M1", Kind: KindProduct, WarrantyMonths: 12, Batch: "B1", ProducedOn: day("2026-01-12")}
	on := day("2026-11-27")
	b.ReportAllocs()
	for b.Loop() {
		if cv := p.Coverage(item, nil, on); cv.Basis != BasisEstimated || cv.BasisText == "" {
			b.Fatalf("%+v", cv)
		}
	}
}

// BenchmarkEntitlementsWhy: the console's claim, which asks for the
// reasons' codes and values as well as the English sentences.
func BenchmarkEntitlementsWhy(b *testing.B) {
	p, item, h := Default(), product(), history20()
	claim := Claim{On: day("2025-11-03"), Intact: true, Complete: true, Part: "battery", Why: true}
	b.ReportAllocs()
	for b.Loop() {
		if e, err := p.Entitlements(item, h, claim); err != nil || len(e.Why) != len(e.Reasons) {
			b.Fatalf("%+v %v", e, err)
		}
	}
}
