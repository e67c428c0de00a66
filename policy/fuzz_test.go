package policy

import (
	"slices"
	"testing"
	"time"
)

// fuzzReader hands out bytes, zeros once they run out.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) next() int {
	if len(r.b) == 0 {
		return 0
	}
	v := int(r.b[0])
	r.b = r.b[1:]
	return v
}

var (
	fuzzBase  = day("2025-01-01")
	fuzzParts = []string{"battery", "fan", "screen", ""}
	fuzzSKUs  = []string{"CHG-1", "CBL-2", "NOPE"}
)

// fuzzHistory builds an item, an arbitrary (often impossible) history and a
// claim from data.
func fuzzHistory(data []byte) (Item, []Event, Claim) {
	r := &fuzzReader{data}
	flags := r.next()
	item := product()
	if flags&1 != 0 {
		item.ProducedOn = fuzzBase.AddDays(-r.next())
	}
	if flags&2 != 0 {
		item.Replaces, item.ExchangedOn, item.Exchanges = "S0", fuzzBase.AddDays(r.next()), r.next()%4
	}
	if flags&4 != 0 {
		item.Kind, item.Accessories = KindAccessory, nil
	}
	if flags&8 != 0 {
		item.WarrantyMonths = r.next() % 25
	}
	n := r.next() % 40
	history := make([]Event, 0, n)
	for i := range n {
		kind, days, minutes, param := r.next(), r.next()*3, r.next()*6, r.next()
		ev := Event{Seq: uint64(i + 1), Type: EventTypes[kind%len(EventTypes)]}
		d := fuzzBase.AddDays(days)
		if ev.Type.Dated() {
			ev.On = d
		} else if ev.Type != EvCorrected {
			ev.At = d.Start(cst).Add(time.Duration(minutes) * time.Minute)
		}
		switch ev.Type {
		case EvDispatched:
			ev.Channel = []Channel{"", Direct, Reseller}[param%3]
		case EvReceived:
			ev.Evidence = []Evidence{Courier, Invoice, Customer, ""}[param%4]
		case EvDiagnosed:
			ev.Finding = Findings[param%len(Findings)]
			ev.Part = fuzzParts[param/8%len(fuzzParts)]
		case EvRepaired:
			ev.Paid = param&1 != 0
			if p := fuzzParts[param/2%len(fuzzParts)]; p != "" {
				ev.Parts = []string{p}
			}
		case EvReplaced:
			ev.NewSerial = "S2"
		case EvAccessoryReplaced:
			ev.SKU, ev.NewBatch = fuzzSKUs[param%len(fuzzSKUs)], "NB"
		case EvCorrected:
			ev.Corrects = uint64(param % (i + 2))
			ev.Reason = "fuzz"
			switch param / 64 {
			case 0:
				ev.On = d
			case 1:
				ev.At = d.Start(cst).Add(time.Duration(minutes) * time.Minute)
			case 2:
				ev.Finding = Findings[minutes%len(Findings)]
			default:
				ev.Fields = []string{"paid"}
			}
		}
		history = append(history, ev)
	}
	c := Claim{On: fuzzBase.AddDays(r.next() * 4), Intact: r.next()&1 != 0, Complete: r.next()&1 != 0}
	if f := r.next() % (len(Findings) + 1); f < len(Findings) {
		c.Finding = Findings[f]
	}
	switch x := r.next(); {
	case x%5 == 1:
		c.Part = fuzzParts[x/5%3]
	case x%5 == 2 && item.Kind == KindProduct:
		c.Accessory = fuzzSKUs[x/5%2]
	}
	return item, history, c
}

func FuzzEntitlements(f *testing.F) {
	f.Add([]byte{0, 3, 1, 20, 0, 0, 4, 30, 1, 0, 1, 5, 1, 1, 0})
	f.Add([]byte{1, 200, 6, 1, 10, 10, 0, 3, 30, 10, 0, 4, 30, 50, 0, 8, 31, 10, 0, 13, 32, 10, 0, 40, 1, 1, 0, 5})
	f.Add([]byte{2, 10, 1, 8, 3, 40, 10, 0, 4, 40, 20, 1, 11, 41, 0, 0, 13, 41, 9, 0, 2, 1, 1, 0, 1})
	f.Add([]byte{5, 100, 9, 1, 2, 0, 0, 3, 5, 0, 0, 4, 5, 1, 5, 8, 6, 0, 4, 13, 6, 0, 0, 15, 0, 0, 200, 15, 0, 0, 1, 2, 0, 1, 1})
	f.Add([]byte{8, 12, 12, 1, 0, 0, 0, 14, 3, 0, 0, 14, 5, 0, 0, 14, 7, 0, 0, 7, 1, 1, 0, 12})
	rest := Default()
	rest.RestDays = []DateRange{{From: day("2025-05-01"), To: day("2025-05-05")}, {From: day("2025-10-01"), To: day("2025-10-07")}}
	f.Fuzz(func(t *testing.T, data []byte) {
		item, history, c := fuzzHistory(data)
		frozen := slices.Clone(history)
		for _, p := range []*Policy{Default(), rest} {
			cv := p.Coverage(item, history, c.On)
			if !cv.Start.IsZero() && !cv.WarrantyUntil.IsZero() && cv.WarrantyUntil.Before(cv.Start) {
				t.Fatalf("warranty_until %s before start %s", cv.WarrantyUntil, cv.Start)
			}
			if cv.DaysLeft < 0 {
				t.Fatalf("days_left %d", cv.DaysLeft)
			}
			if cv.DaysLeft > 0 && cv.Status != Active {
				t.Fatalf("days_left %d with status %s", cv.DaysLeft, cv.Status)
			}
			if (cv.Basis == BasisEstimated || cv.Basis == BasisExchange || item.Replaces != "") && !cv.ReturnUntil.IsZero() {
				t.Fatalf("return window on basis %s (replaces %q)", cv.Basis, item.Replaces)
			}
			for _, pc := range cv.Parts {
				if !pc.CoveredUntil.IsZero() && pc.CoveredUntil.Before(pc.ReplacedOn) {
					t.Fatalf("part %+v covered until before it was fitted", pc)
				}
			}
			for _, o := range p.Options(item, history, c.On) {
				if cv.Status != Active || c.On.After(o.Until) || o.DaysLeft != c.On.DaysUntil(o.Until) ||
					o.Remedy == Return && o.Until != cv.ReturnUntil || o.Remedy == Repair && (o.Until != cv.WarrantyUntil || item.Kind != KindProduct) {
					t.Fatalf("option %+v on %s with coverage %+v", o, c.On, cv)
				}
			}
			e, err := p.Entitlements(item, history, c)
			if err != nil {
				if ErrorCode(err) != EInvalid {
					t.Fatalf("claim error %v", err)
				}
				continue
			}
			if e.Remedies == nil || len(e.Reasons) == 0 {
				t.Fatalf("incomplete entitlement %+v", e)
			}
			seen := map[Remedy]bool{}
			for _, r := range e.Remedies {
				if seen[r] || r != Return && r != Replace && r != Repair {
					t.Fatalf("remedies %v", e.Remedies)
				}
				seen[r] = true
			}
			finding := c.Finding
			if finding == "" && cv.OpenCase != nil {
				finding = cv.OpenCase.Finding
			}
			free := len(e.Remedies) > 0
			if free && (finding.Excluded() || cv.Status == Void || cv.Status == Retired) {
				t.Fatalf("free remedies %v with finding %s, status %s: %v", e.Remedies, finding, cv.Status, e.Reasons)
			}
			if c.Accessory == "" && free && cv.Status == NotStarted {
				t.Fatalf("free remedies %v before the start: %v", e.Remedies, e.Reasons)
			}
			if c.Accessory != "" && free {
				// A bundled accessory has its own period: from the product's start or its last exchange.
				a := cv.Accessories[slices.IndexFunc(cv.Accessories, func(a AccessoryCoverage) bool { return a.SKU == c.Accessory })]
				// Before an estimated start it is covered like its product.
				early := c.On.Before(a.Start) && (cv.Basis != BasisEstimated || a.Replacements > 0)
				if a.Start.IsZero() || early || c.On.After(a.WarrantyUntil) || seen[Repair] {
					t.Fatalf("accessory remedies %v on %s outside %s..%s", e.Remedies, c.On, a.Start, a.WarrantyUntil)
				}
			}
			if free && e.PaidRepair {
				t.Fatalf("free remedies %v and a paid repair", e.Remedies)
			}
			if finding == NoFault && (e.PaidRepair || seen[Repair] || seen[Replace]) {
				t.Fatalf("no fault, yet %v paid %v", e.Remedies, e.PaidRepair)
			}
			refund := c.Accessory != "" || item.Kind != KindProduct
			if seen[Return] && !refund {
				if !c.Intact || !c.Complete || cv.ReturnUntil.IsZero() || c.On.After(cv.ReturnUntil) {
					t.Fatalf("return on %s (return until %s, intact %v, complete %v)", c.On, cv.ReturnUntil, c.Intact, c.Complete)
				}
				if len(p.RestDays) == 0 && cv.Start.DaysUntil(c.On) > p.ReturnDays {
					t.Fatalf("return on day %d", cv.Start.DaysUntil(c.On))
				}
			}
		}
		now := fuzzBase.AddDays(900).Start(cst)
		p := Default()
		for _, cs := range p.Cases(item, history, now) {
			if (cs.Paused || !cs.ClosedAt.IsZero()) && !cs.DueAt.IsZero() {
				t.Fatalf("case %+v has a running clock", cs)
			}
		}
		if len(history) > 0 {
			last := history[len(history)-1]
			_, _ = p.Validate(item, history[:len(history)-1], last, Check{Now: now, Replacement: &Item{Serial: "S2", SKU: "M1"}})
		}
		if !slices.EqualFunc(history, frozen, func(a, b Event) bool { return a.Seq == b.Seq && a.Type == b.Type && a.On == b.On && a.At.Equal(b.At) }) {
			t.Fatal("history modified")
		}
	})
}
