package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// RunReports runs the report tests (issue 19): kept apart from Run, as
// they write thousands of events.
func RunReports(t *testing.T, h Harness) {
	t.Run("QualityReportFiguresAndFlagBoundaries", func(t *testing.T) { testQualityReport(t, h) })
	t.Run("ReportArgumentsAreChecked", func(t *testing.T) { testReportArgs(t, h) })
	t.Run("ExpiringReportPagesByEndDate", func(t *testing.T) { testExpiring(t, h) })
	t.Run("CountersEqualARecountAfterRandomEvents", func(t *testing.T) { testCountersRecount(t, h) })
}

func serials(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return out
}

func (e *env) registerRows(sku, batch string, acc []registry.Bundle, ss ...string) {
	e.t.Helper()
	rows := make([]registry.Row, len(ss))
	for i, s := range ss {
		rows[i] = registry.Row{Serial: s, SKU: sku, Batch: batch, ProducedOn: date("2024-01-01"), Accessories: acc}
	}
	if _, err := e.s.Register(admin, rows); err != nil {
		e.t.Fatalf("Register: %v", err)
	}
}

func (e *env) receiveAll(on string, ss ...string) {
	e.t.Helper()
	for c := range slices.Chunk(ss, 500) {
		rows := make([]registry.EventRow, len(c))
		for i, s := range c {
			rows[i] = registry.EventRow{Serial: s, Event: receive(on)}
		}
		if _, err := e.s.AppendMany(registry.Write{Actor: desk}, rows); err != nil {
			e.t.Fatalf("AppendMany: %v", err)
		}
	}
}

// qualityCase opens a case on serial two days ago and diagnoses it.
func (e *env) qualityCase(serial string, f policy.Finding) {
	e.t.Helper()
	e.append(serial, policy.Event{Type: policy.EvIntake, At: e.ago(48 * time.Hour), Center: "Shenzhen"})
	e.append(serial, policy.Event{Type: policy.EvDiagnosed, At: e.ago(47 * time.Hour), Finding: f})
}

func (e *env) quality(q registry.ReportQuery) map[string]registry.QualityRow {
	e.t.Helper()
	rows, err := e.s.QualityReport(q)
	must(e.t, err)
	out := map[string]registry.QualityRow{}
	var keys []string
	for _, r := range rows {
		out[r.Key] = r
		keys = append(keys, r.Key)
	}
	if !slices.IsSorted(keys) {
		e.t.Errorf("rows not in key order: %v", keys)
	}
	return out
}

type qrow struct {
	units, received, cases, free, repl, returns, early int64
	per1000                                            float64
	flagged                                            bool
}

func wantRows(t *testing.T, what string, got map[string]registry.QualityRow, want map[string]qrow) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows %v, want %d", what, len(got), got, len(want))
	}
	for k, w := range want {
		r, ok := got[k]
		g := qrow{r.Units, r.Received, r.Cases, r.FreeRepairs, r.Replacements, r.Returns, r.EarlyFailures, r.Per1000, r.Flagged}
		if !ok || g != w {
			t.Errorf("%s row %s = %+v, want %+v", what, k, g, w)
		}
	}
}

// testQualityReport builds a registry whose figures are known: model P1
// with 1,000 received units (990 in BIG, 10 in SMALL) and P24 likewise
// (TBIG, T2). SMALL's rate is flagged against P1's exactly when P1's rate
// makes 0.43 cases expected of it (P(X≥3) = 0.0096) and not at 0.44
// (0.0102); T2 with 2 cases is never flagged, with 3 it is.
func testQualityReport(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	big, small, tbig, t2 := serials("BIG", 990), serials("SMALL", 10), serials("TBIG", 990), serials("T2-", 10)
	e.registerRows("P1", "BIG", nil, big...)
	e.registerRows("P1", "SMALL", []registry.Bundle{{SKU: "CHG", Batch: "CB1"}}, small...)
	e.registerRows("P1", "SPARE", nil, "SPARE1")
	e.registerRows("P24", "TBIG", nil, tbig...)
	e.registerRows("P24", "T2", nil, t2...)
	e.receiveAll("2026-05-10", append(slices.Clone(big), tbig...)...)
	e.receiveAll("2026-11-01", append(slices.Clone(small), t2...)...)
	for _, s := range big[:41] {
		e.qualityCase(s, policy.QualityProblem)
	}
	// SMALL: a free repair, a replacement, a return, an accessory exchange
	// (which counts against the charger's batch CB1) and a no-fault visit.
	e.qualityCase(small[0], policy.QualityProblem)
	e.append(small[0], policy.Event{Type: policy.EvRepaired, At: e.ago(46 * time.Hour), Paid: false, Parts: []string{"valve"}})
	e.append(small[0], policy.Event{Type: policy.EvShipped, At: e.ago(45 * time.Hour), Tracking: "SF1"})
	e.qualityCase(small[1], policy.QualityProblem)
	e.append(small[1], policy.Event{Type: policy.EvReplaced, At: e.ago(46 * time.Hour), NewSerial: "SPARE1"})
	e.qualityCase(small[2], policy.QualityProblem)
	e.append(small[2], policy.Event{Type: policy.EvReturned, At: e.ago(46 * time.Hour), Amount: "1999.00", Currency: "CNY"})
	e.qualityCase(small[3], policy.QualityProblem)
	e.append(small[3], policy.Event{Type: policy.EvAccessoryReplaced, At: e.ago(46 * time.Hour), SKU: "CHG", NewBatch: "CB2"})
	e.append(small[3], policy.Event{Type: policy.EvShipped, At: e.ago(45 * time.Hour), Tracking: "SF2"})
	e.qualityCase(small[4], policy.NoFault)
	e.qualityCase(t2[0], policy.QualityProblem)
	e.qualityCase(t2[1], policy.QualityProblem)

	// P1: 44 cases in 1,000 received units; SMALL expects 0.44.
	wantRows(t, "by batch", e.quality(registry.ReportQuery{}), map[string]qrow{
		"BIG":   {990, 990, 41, 0, 0, 0, 0, 41.41, false},
		"SMALL": {10, 10, 3, 1, 1, 1, 3, 300, false},
		"SPARE": {1, 0, 0, 0, 0, 0, 0, 0, false},
		"CB1":   {10, 10, 1, 0, 1, 0, 1, 100, false},
		"CB2":   {1, 1, 0, 0, 0, 0, 0, 0, false},
		"TBIG":  {990, 990, 0, 0, 0, 0, 0, 0, false},
		"T2":    {10, 10, 2, 0, 0, 0, 2, 200, false},
	})
	// A correction takes one of BIG's cases away: 43 in 1,000, SMALL
	// expects 0.43 and is flagged. A third case flags T2.
	first := e.get(big[0]).History
	e.append(big[0], policy.Event{Type: policy.EvCorrected, Corrects: first[len(first)-1].Seq, Finding: policy.HumanDamage, Reason: "damage seen on a second look"})
	e.qualityCase(t2[2], policy.QualityProblem)
	wantRows(t, "by batch after a correction", e.quality(registry.ReportQuery{By: "batch"}), map[string]qrow{
		"BIG":   {990, 990, 40, 0, 0, 0, 0, 40.40, false},
		"SMALL": {10, 10, 3, 1, 1, 1, 3, 300, true},
		"SPARE": {1, 0, 0, 0, 0, 0, 0, 0, false},
		"CB1":   {10, 10, 1, 0, 1, 0, 1, 100, false},
		"CB2":   {1, 1, 0, 0, 0, 0, 0, 0, false},
		"TBIG":  {990, 990, 0, 0, 0, 0, 0, 0, false},
		"T2":    {10, 10, 3, 0, 0, 0, 3, 300, true},
	})
	wantRows(t, "by model", e.quality(registry.ReportQuery{By: "model"}), map[string]qrow{
		"P1":  {1001, 1000, 43, 1, 1, 1, 3, 43, false},
		"P24": {1000, 1000, 3, 0, 0, 0, 3, 3, false},
		"CHG": {11, 11, 1, 0, 1, 0, 1, 90.91, false},
	})
	wantRows(t, "by month", e.quality(registry.ReportQuery{By: "month"}), map[string]qrow{
		"2026-05": {1980, 1980, 40, 0, 0, 0, 0, 20.20, false},
		"2026-11": {31, 31, 7, 1, 2, 1, 7, 225.81, false},
		"none":    {1, 0, 0, 0, 0, 0, 0, 0, false},
	})
	wantRows(t, "P1 by month from June", e.quality(registry.ReportQuery{By: "month", SKU: "P1", From: "2026-06", To: "2026-12-31"}), map[string]qrow{
		"2026-11": {10, 10, 3, 1, 1, 1, 3, 300, false},
	})
	f, err := e.s.FindingsReport(registry.ReportQuery{})
	must(t, err)
	wantF := registry.FindingsReport{
		Findings: []registry.FindingCount{{Name: "quality_problem", Count: 47}, {Name: "human_damage", Count: 1}, {Name: "no_fault", Count: 1}},
		Parts:    []registry.FindingCount{{Name: "valve", Count: 1}},
	}
	if !slices.Equal(f.Findings, wantF.Findings) || !slices.Equal(f.Parts, wantF.Parts) {
		t.Errorf("findings %+v, want %+v", f, wantF)
	}
	f, err = e.s.FindingsReport(registry.ReportQuery{SKU: "CHG"})
	must(t, err)
	if !slices.Equal(f.Findings, []registry.FindingCount{{Name: "quality_problem", Count: 1}}) || len(f.Parts) != 0 {
		t.Errorf("CHG findings %+v, want one quality_problem", f)
	}
	f, err = e.s.FindingsReport(registry.ReportQuery{From: "2026-12"})
	must(t, err)
	if len(f.Findings) != 0 || len(f.Parts) != 0 {
		t.Errorf("findings from December %+v, want none", f)
	}
	fixes, err := e.s.VerifyCounters(false)
	must(t, err)
	if len(fixes) != 0 {
		t.Errorf("VerifyCounters found %v", fixes)
	}
}

func testReportArgs(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	for _, c := range []struct {
		q     registry.ReportQuery
		code  string
		field string
	}{
		{registry.ReportQuery{By: "colour"}, policy.EInvalid, "by"},
		{registry.ReportQuery{From: "2026-11", To: "2026-10"}, policy.EInvalid, "from"},
		{registry.ReportQuery{From: "2026-13"}, policy.EInvalid, "from"},
		{registry.ReportQuery{To: "yesterday"}, policy.EInvalid, "to"},
		{registry.ReportQuery{SKU: "NOPE"}, policy.ENotFound, "sku"},
	} {
		_, err := e.s.QualityReport(c.q)
		if policy.ErrorCode(err) != c.code || fieldOf(err) != c.field {
			t.Errorf("QualityReport(%+v) = %v, want %s naming %s", c.q, err, c.code, c.field)
		}
	}
	if _, err := e.s.FindingsReport(registry.ReportQuery{From: "2026-11-02", To: "2026-10-30"}); fieldOf(err) != "from" {
		t.Errorf("FindingsReport from after to: %v", err)
	}
	if _, err := e.s.FindingsReport(registry.ReportQuery{SKU: "NOPE"}); policy.ErrorCode(err) != policy.ENotFound {
		t.Errorf("FindingsReport unknown SKU: %v", err)
	}
	for _, w := range []int{0, -1, 3661} {
		if _, err := e.s.Expiring(w, "", "", 0); policy.ErrorCode(err) != policy.EInvalid || fieldOf(err) != "within" {
			t.Errorf("Expiring(within %d) = %v, want EInvalid naming within", w, err)
		}
	}
	for _, w := range []int{1, 3660} {
		if _, err := e.s.Expiring(w, "", "", 0); err != nil {
			t.Errorf("Expiring(within %d) = %v", w, err)
		}
	}
	if _, err := e.s.Expiring(30, "NOPE", "", 0); policy.ErrorCode(err) != policy.ENotFound {
		t.Errorf("Expiring unknown SKU: %v", err)
	}
	if _, err := e.s.Expiring(30, "", "garbage", 0); fieldOf(err) != "after" {
		t.Errorf("Expiring bad cursor: %v", err)
	}
}

func fieldOf(err error) string {
	if pe, ok := err.(*policy.Error); ok {
		return pe.Field
	}
	return ""
}

// testExpiring: today is 2026-11-20 (CST); a 12-month warranty from a
// receipt on D ends on D + 12 months.
func testExpiring(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.registerRows("P1", "B1", nil, "E1", "E2", "E3", "E4", "E5")
	e.registerRows("P24", "B2", nil, "F1")
	e.append("E1", receive("2025-11-20")) // ends 2026-11-20: today, 0 days left
	e.append("E2", receive("2025-11-25")) // 2026-11-25
	e.append("E3", receive("2025-11-25")) // 2026-11-25
	e.append("E4", receive("2025-12-31")) // 2026-12-31: 41 days
	e.append("E5", receive("2025-11-19")) // 2026-11-19: ended yesterday
	e.append("F1", receive("2024-11-30")) // 24 months: 2026-11-30
	type got struct {
		serial, until string
		left          int
	}
	page := func(within int, sku, after string, limit int) ([]got, string) {
		t.Helper()
		p, err := e.s.Expiring(within, sku, after, limit)
		must(t, err)
		var out []got
		for _, it := range p.Items {
			out = append(out, got{it.Serial, it.WarrantyUntil.String(), it.DaysLeft})
		}
		return out, p.Next
	}
	all, next := page(30, "", "", 0)
	want := []got{{"E1", "2026-11-20", 0}, {"E2", "2026-11-25", 5}, {"E3", "2026-11-25", 5}, {"F1", "2026-11-30", 10}}
	if !slices.Equal(all, want) || next != "" {
		t.Fatalf("within 30: %v next %q, want %v", all, next, want)
	}
	p1, next := page(30, "", "", 2)
	if !slices.Equal(p1, want[:2]) || next == "" {
		t.Fatalf("first page %v next %q", p1, next)
	}
	p2, next2 := page(30, "", next, 2)
	if !slices.Equal(p2, want[2:]) || next2 != "" {
		t.Fatalf("second page %v next %q, want %v", p2, next2, want[2:])
	}
	if p, _ := page(30, "P24", "", 0); !slices.Equal(p, want[3:]) {
		t.Fatalf("P24 within 30: %v", p)
	}
	if p, _ := page(41, "P1", "", 0); len(p) != 4 || p[3] != (got{"E4", "2026-12-31", 41}) {
		t.Fatalf("P1 within 41: %v", p)
	}
	// A product replaced leaves the report; its warranty ends with it.
	e.registerRows("P1", "B1", nil, "E9")
	e.append("E2", policy.Event{Type: policy.EvIntake, At: e.ago(3 * time.Hour), Center: "Shenzhen"})
	e.append("E2", policy.Event{Type: policy.EvDiagnosed, At: e.ago(2 * time.Hour), Finding: policy.QualityProblem})
	e.append("E2", policy.Event{Type: policy.EvReplaced, At: e.ago(time.Hour), NewSerial: "E9"})
	if p, _ := page(30, "P1", "", 0); slices.ContainsFunc(p, func(g got) bool { return g.serial == "E2" }) {
		t.Fatalf("a replaced unit is still listed: %v", p)
	}
}

// testCountersRecount appends 10,000 random events (corrections and
// deletions among them) and checks the counters against a full recount,
// and the report's totals against figures taken from the records by
// other rules (policy.Cases, the items' own accessories). Events go in
// groups of 25 for 25 different serials (AppendMany), each made from its
// serial's state as committed; a row the store refuses is dropped and the
// rest retried.
func testCountersRecount(t *testing.T, h Harness) {
	if testing.Short() {
		t.Skip("10,000 events")
	}
	e := open(t, h)
	e.seedModels()
	rng := rand.New(rand.NewPCG(19, 1))
	type state struct {
		sku         string
		acc         []string // bundled accessory SKUs
		seq         uint64
		open        bool
		retired     bool
		correctable []policy.Event
	}
	states := map[string]*state{}
	var live []string
	const items = 300
	var rows []registry.Row
	for i := range items {
		s := fmt.Sprintf("R%04d", i)
		r := registry.Row{Serial: s, SKU: []string{"P1", "P24"}[i%2], Batch: fmt.Sprintf("B%d", i%7), ProducedOn: date("2024-01-01")}
		st := &state{sku: r.SKU}
		if i%3 == 0 {
			r.Accessories = []registry.Bundle{{SKU: "CHG", Batch: fmt.Sprintf("CB%d", i%4)}, {SKU: "ADP", Batch: fmt.Sprintf("AB%d", i%5)}}
			st.acc = []string{"CHG", "ADP"}
		}
		rows = append(rows, r)
		states[s] = st
		live = append(live, s)
	}
	_, err := e.s.Register(admin, rows)
	must(t, err)
	spare := 0
	newSpare := func(sku string, acc ...registry.Bundle) string {
		spare++
		ns := fmt.Sprintf("N%05d", spare)
		e.t.Helper()
		if _, err := e.s.Register(admin, []registry.Row{{Serial: ns, SKU: sku, Batch: fmt.Sprintf("B%d", rng.IntN(7)), ProducedOn: date("2024-01-01"), Accessories: acc}}); err != nil {
			t.Fatalf("Register: %v", err)
		}
		return ns
	}
	findings := []policy.Finding{policy.QualityProblem, policy.QualityProblem, policy.NoFault, policy.HumanDamage, policy.NormalWear}
	randomDay := func() policy.Date { return date(fmt.Sprintf("2026-%02d-%02d", 1+rng.IntN(10), 1+rng.IntN(28))) }
	next := func(st *state, now time.Time) policy.Event {
		r := rng.IntN(100)
		switch {
		case r < 15 && len(st.correctable) > 0:
			tg := st.correctable[rng.IntN(len(st.correctable))]
			ev := policy.Event{Type: policy.EvCorrected, Corrects: tg.Seq, Reason: "typo"}
			switch tg.Type {
			case policy.EvDiagnosed:
				ev.Finding = findings[rng.IntN(len(findings))]
			case policy.EvRepaired:
				ev.Fields, ev.Paid, ev.Parts = []string{"paid", "parts"}, rng.IntN(2) == 0, []string{"board"}
			default:
				ev.On = randomDay()
			}
			return ev
		case r < 25:
			ev := receive(randomDay().String())
			ev.Evidence = []policy.Evidence{policy.Courier, policy.Invoice, policy.Customer}[rng.IntN(3)]
			return ev
		case r < 32 && len(st.acc) > 0:
			return policy.Event{Type: policy.EvAccessoryReplaced, At: now, SKU: st.acc[rng.IntN(len(st.acc))], NewBatch: fmt.Sprintf("NB%d", rng.IntN(3))}
		case !st.open:
			return policy.Event{Type: policy.EvIntake, At: now, Center: "Shenzhen"}
		}
		switch r := rng.IntN(100); {
		case r < 35:
			return policy.Event{Type: policy.EvDiagnosed, At: now, Finding: findings[rng.IntN(len(findings))], Part: []string{"", "valve", "fan"}[rng.IntN(3)]}
		case r < 60:
			return policy.Event{Type: policy.EvRepaired, At: now, Paid: rng.IntN(3) == 0, Parts: [][]string{nil, {"valve"}, {"fan", "seal"}}[rng.IntN(3)]}
		case r < 88:
			return policy.Event{Type: policy.EvShipped, At: now, Tracking: "SF"}
		case r < 95:
			return policy.Event{Type: policy.EvReplaced, At: now, NewSerial: newSpare(st.sku)}
		default:
			return policy.Event{Type: policy.EvReturned, At: now, Amount: "10.00", Currency: "CNY"}
		}
	}
	ok, refused := 0, 0
	for round := 0; ok < 10_000; round++ {
		if round > 2000 {
			t.Fatalf("only %d events accepted (%d refused)", ok, refused)
		}
		e.clock.Advance(time.Minute)
		now := e.clock.Now()
		rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
		var group []registry.EventRow
		for _, s := range live[:min(25, len(live), 10_000-ok)] {
			group = append(group, registry.EventRow{Serial: s, Event: next(states[s], now)})
		}
		var out registry.Outcome
		for len(group) > 0 {
			out, err = e.s.AppendMany(registry.Write{Actor: desk}, group)
			if err == nil {
				break
			}
			bad := map[int]bool{}
			for _, r := range rowErrors(t, err) {
				bad[r.Row] = true
			}
			if len(bad) == 0 {
				t.Fatalf("AppendMany: %v", err)
			}
			refused += len(bad)
			kept := group[:0]
			for i, r := range group {
				if !bad[i+1] {
					kept = append(kept, r)
				}
			}
			group = kept
		}
		for _, ap := range out.Appended {
			ok++
			st := states[ap.Serial]
			st.seq = ap.Event.Seq
			switch ap.Event.Type {
			case policy.EvIntake:
				st.open = true
			case policy.EvShipped:
				st.open = false
			case policy.EvReplaced, policy.EvReturned:
				st.open, st.retired = false, true
				if ap.Event.Type == policy.EvReplaced {
					states[ap.Event.NewSerial] = &state{sku: st.sku}
					live = append(live, ap.Event.NewSerial)
				}
			case policy.EvDiagnosed, policy.EvRepaired, policy.EvReceived:
				st.correctable = append(st.correctable, ap.Event)
			}
		}
		live = slices.DeleteFunc(live, func(s string) bool { return states[s].retired })
		if round%40 == 0 {
			// A mistake registered and deleted.
			must(t, e.s.DeleteItem(admin, newSpare("P1", registry.Bundle{SKU: "CHG", Batch: "CB9"}), "registered by mistake"))
		}
	}
	t.Logf("%d events accepted, %d refused", ok, refused)
	fixes, err := e.s.VerifyCounters(false)
	must(t, err)
	if len(fixes) != 0 {
		t.Fatalf("after %d events the counters differ from a recount: %v", ok, fixes[:min(len(fixes), 10)])
	}
	// The report's totals against the records, by other rules.
	pol := policy.Default()
	var units, cases int64
	for i := range items {
		units += recordUnits(e, fmt.Sprintf("R%04d", i), pol, &cases)
	}
	for i := 1; i <= spare; i++ {
		if _, err := e.s.Get(fmt.Sprintf("N%05d", i)); err == nil {
			units += recordUnits(e, fmt.Sprintf("N%05d", i), pol, &cases)
		}
	}
	var gotUnits, gotCases int64
	report, err := e.s.QualityReport(registry.ReportQuery{By: "model"})
	must(t, err)
	for _, r := range report {
		gotUnits += r.Units
		gotCases += r.Cases
	}
	if gotUnits != units || gotCases != cases {
		t.Fatalf("report totals: %d units, %d quality cases; the records say %d and %d", gotUnits, gotCases, units, cases)
	}
	e.reopen()
	if fixes, err := e.s.VerifyCounters(false); err != nil || len(fixes) != 0 {
		t.Fatalf("after a reopen: %v %v", fixes, err)
	}
}

// recordUnits counts a record's units (itself, its bundled accessories,
// each accessory exchanged for one of a new batch) and adds its quality
// cases (policy.Cases diagnosed quality_problem) to cases.
func recordUnits(e *env, serial string, pol *policy.Policy, cases *int64) int64 {
	rec := e.get(serial)
	n := int64(1 + len(rec.Item.Accessories))
	for _, ev := range policy.Effective(rec.History) {
		if ev.Type == policy.EvAccessoryReplaced && ev.NewBatch != "" {
			n++
		}
	}
	for _, c := range pol.Cases(rec.Item, rec.History, e.clock.Now()) {
		if c.Finding == policy.QualityProblem {
			*cases++
		}
	}
	return n
}
