package policy

import (
	"fmt"
	"math"
	"slices"
)

// The quality report's rules: what one item adds to the maker's counters
// (Tally), and when a batch's rate of quality cases is significantly above
// its model's (QualityFlagged). Stores keep the sum of every item's Tally
// current in each write by adding the difference between an item's Tally
// before and after it, so a report never has to read every item.

// EarlyFailureDays is how soon after receipt a quality case counts as an
// early failure: opened on or before receipt + 90 days.
const EarlyFailureDays = 90

// FlagMinCases and FlagP are the flag's thresholds: a batch is flagged
// with at least 3 quality cases whose one-sided Poisson p-value, against
// the cases its model's rate predicts, is below 0.01.
const (
	FlagMinCases = 3
	FlagP        = 0.01
)

// QualityCell is what the quality counters are kept by: a model's batch
// in one month of receipt ("2006-01"; "" while the unit has no receipt on
// record). A bundled accessory counts in its own model's and batch's cell,
// in the month its product was received.
type QualityCell struct {
	SKU, Batch, Month string
}

// QualityCounts are the counters of one cell. Cases are service cases
// diagnosed quality_problem (their latest diagnosis); EarlyFailures those
// opened within EarlyFailureDays of receipt; FreeRepairs cases with a
// repair not paid for; Replacements product exchanges and bundled
// accessory exchanges; Returns refunds.
type QualityCounts struct {
	Units, Received, Cases, FreeRepairs, Replacements, Returns, EarlyFailures int64
}

// Add adds o to c, times sign (1 or -1).
func (c *QualityCounts) Add(o QualityCounts, sign int64) {
	c.Units += sign * o.Units
	c.Received += sign * o.Received
	c.Cases += sign * o.Cases
	c.FreeRepairs += sign * o.FreeRepairs
	c.Replacements += sign * o.Replacements
	c.Returns += sign * o.Returns
	c.EarlyFailures += sign * o.EarlyFailures
}

// IsZero reports whether every counter is 0.
func (c QualityCounts) IsZero() bool { return c == QualityCounts{} }

// QualityEntry is one cell's counts in a Tally.
type QualityEntry struct {
	Cell   QualityCell
	Counts QualityCounts
}

// FindingKind tells the two lists of the findings report apart.
type FindingKind byte

// The findings report's lists.
const (
	CountFinding FindingKind = 'f' // a case's latest diagnosis
	CountPart    FindingKind = 'p' // a part fitted in a repair
)

// FindingCell is what the findings counters are kept by: a finding or a
// part, of a model, in the month (2006-01) its case was opened.
type FindingCell struct {
	Kind       FindingKind
	SKU, Month string
	Name       string
}

// FindingEntry is one finding or part's count in a Tally.
type FindingEntry struct {
	Cell FindingCell
	N    int64
}

// Tally is what one item adds to the report counters.
type Tally struct {
	Quality  []QualityEntry
	Findings []FindingEntry
	// Expires is the warranty end the expiring report lists the item
	// under, zero when it is not listed (void, retired, not started).
	Expires Date
}

// Month is the month of d as the counters key it ("2006-01"), "" for the
// zero Date.
func Month(d Date) string {
	if d.IsZero() {
		return ""
	}
	if d.Year < 0 || d.Year > 9999 {
		return fmt.Sprintf("%04d-%02d", d.Year, int(d.Month))
	}
	m := int(d.Month)
	b := [7]byte{byte('0' + d.Year/1000), byte('0' + d.Year/100%10), byte('0' + d.Year/10%10), byte('0' + d.Year%10), '-', byte('0' + m/10), byte('0' + m%10)}
	return string(b[:])
}

// Tally is what item with its history adds to the report counters. It
// depends on nothing else (no clock): the counters summed from every
// item's Tally must equal a recount at any time. Corrections apply first.
//
//   - Every unit counts in its cell; each bundled accessory in its own
//     model's and batch's cell (an exchanged accessory's new batch too).
//   - A service case counts against the unit's cell, or, when it
//     exchanged a bundled accessory, against that accessory's batch.
//   - The warranty end listed is the coverage's as of the last event's
//     date (an open case's repair days counted up to it).
func (p *Policy) Tally(item Item, history []Event) Tally {
	t := Tally{Quality: make([]QualityEntry, 0, 1+len(item.Accessories))}
	p.TallyInto(&t, item, history)
	return t
}

// TallyInto is Tally written into t, whose lists it reuses: a registration
// of many units tallies each with one Tally and leaves no garbage per unit.
func (p *Policy) TallyInto(t *Tally, item Item, history []Event) {
	*t = Tally{Quality: t.Quality[:0], Findings: t.Findings[:0]}
	for i := range history {
		if history[i].Type == EvCorrected {
			history = Effective(history)
			break
		}
	}
	var receivedOn Date
	var evidence Evidence
	// One zone for every date (a zone caches its period: a lookup per
	// event would cost more than the rest of the tally).
	z := zone{loc: p.loc}
	last := zeroDay
	for i := range history {
		ev := &history[i]
		if d := z.day(ev, codeOf(ev.Type)); d > last {
			last = d
		}
		if ev.Type == EvReceived && (receivedOn.IsZero() || ev.Evidence.Supersedes(evidence)) {
			receivedOn, evidence = ev.On, ev.Evidence
		}
	}
	month := Month(receivedOn)
	unit := QualityCounts{Units: 1}
	if !receivedOn.IsZero() {
		unit.Received = 1
	}
	self := QualityCell{item.SKU, item.Batch, month}
	t.addQuality(self, unit)
	var batches []string // each accessory's batch now, once one is exchanged
	for _, a := range item.Accessories {
		t.addQuality(QualityCell{a.SKU, a.Batch, month}, unit)
	}
	batchOf := func(a int) string {
		if batches != nil {
			return batches[a]
		}
		return item.Accessories[a].Batch
	}

	// The cases, folded from intake to intake.
	type caseOf struct {
		open      bool
		intake    Date
		finding   Finding
		free      bool
		replaced  bool
		returned  bool
		accessory int // index of an exchanged bundled accessory, -1 when none
		accBatch  string
		parts     []string
		exchanges int
	}
	var c caseOf
	flush := func() {
		if !c.open {
			return
		}
		cell := self
		if c.accessory >= 0 {
			cell = QualityCell{item.Accessories[c.accessory].SKU, c.accBatch, month}
		}
		var n QualityCounts
		if c.finding == QualityProblem {
			n.Cases = 1
			if !receivedOn.IsZero() && !c.intake.Before(receivedOn) && receivedOn.DaysUntil(c.intake) <= EarlyFailureDays {
				n.EarlyFailures = 1
			}
		}
		if c.free {
			n.FreeRepairs = 1
		}
		if c.replaced {
			n.Replacements++
		}
		n.Replacements += int64(c.exchanges)
		if c.returned {
			n.Returns = 1
		}
		if !n.IsZero() {
			t.addQuality(cell, n)
		}
		cm := Month(c.intake)
		if c.finding != "" {
			t.addFinding(FindingCell{CountFinding, cell.SKU, cm, string(c.finding)}, 1)
		}
		for _, part := range c.parts {
			t.addFinding(FindingCell{CountPart, cell.SKU, cm, part}, 1)
		}
		c = caseOf{}
	}
	for i := range history {
		ev := &history[i]
		switch ev.Type {
		case EvIntake:
			flush()
			c = caseOf{open: true, intake: z.date(z.day(ev, evIntake)), accessory: -1}
		case EvDiagnosed:
			if c.open {
				c.finding = ev.Finding
			}
		case EvRepaired:
			if c.open {
				c.free = c.free || !ev.Paid
				c.parts = append(c.parts, ev.Parts...)
			}
		case EvReplaced:
			c.replaced = c.open
			if !c.open {
				t.addQuality(self, QualityCounts{Replacements: 1})
			}
		case EvReturned:
			c.returned = c.open
			if !c.open {
				t.addQuality(self, QualityCounts{Returns: 1})
			}
		case EvAccessoryReplaced:
			a := accessoryIndex(&item, ev.SKU)
			if a < 0 {
				break
			}
			if c.open && c.accessory < 0 {
				// The case is the accessory's: its finding and parts count
				// against the batch that failed.
				c.accessory, c.accBatch = a, batchOf(a)
				c.exchanges++
			} else if c.open && c.accessory == a {
				c.exchanges++
			} else {
				t.addQuality(QualityCell{item.Accessories[a].SKU, batchOf(a), month}, QualityCounts{Replacements: 1})
			}
			if ev.NewBatch != "" {
				if batches == nil {
					batches = make([]string, len(item.Accessories))
					for i, x := range item.Accessories {
						batches[i] = x.Batch
					}
				}
				batches[a] = ev.NewBatch
				t.addQuality(QualityCell{item.Accessories[a].SKU, ev.NewBatch, month}, unit)
			}
		}
	}
	flush()

	// A unit with nothing on record since its registration (and not handed
	// out as another's replacement) is in stock as far as the registry
	// knows: its end would only be the production-date estimate, and
	// listing every unit in the warehouse would bury the ones customers
	// hold. It joins the expiring report with its first event. (This also
	// keeps a registration of many units to the item writes alone: no index
	// entry per unit.)
	if len(history) == 0 && item.Replaces == "" {
		return
	}
	on := lastDate
	if last != zeroDay {
		on = z.date(last)
	}
	// The coverage's status and end as of on, without the parts and
	// accessories a view needs.
	f := facts{noParts: true, noAcc: true}
	p.derive(&item, history, on, on, &f)
	switch f.status() {
	case Void, Retired, NotStarted:
	default:
		t.Expires = f.until
	}
}

func (t *Tally) addQuality(cell QualityCell, n QualityCounts) {
	for i := range t.Quality {
		if t.Quality[i].Cell == cell {
			t.Quality[i].Counts.Add(n, 1)
			return
		}
	}
	t.Quality = append(t.Quality, QualityEntry{cell, n})
}

func (t *Tally) addFinding(cell FindingCell, n int64) {
	for i := range t.Findings {
		if t.Findings[i].Cell == cell {
			t.Findings[i].N += n
			return
		}
	}
	t.Findings = append(t.Findings, FindingEntry{cell, n})
}

// TallyDelta is what changes in the counters when an item's Tally goes
// from old to new: cells whose counts change (never zero ones), in a
// stable order.
type TallyDelta struct {
	Quality  []QualityEntry
	Findings []FindingEntry
}

// IsZero reports whether nothing changes.
func (d TallyDelta) IsZero() bool { return len(d.Quality) == 0 && len(d.Findings) == 0 }

// Diff is the change in the counters from old to t.
func (t Tally) Diff(old Tally) TallyDelta {
	var d TallyDelta
	for _, e := range t.Quality {
		d.addQuality(e.Cell, e.Counts, 1)
	}
	for _, e := range old.Quality {
		d.addQuality(e.Cell, e.Counts, -1)
	}
	for _, e := range t.Findings {
		d.addFinding(e.Cell, e.N)
	}
	for _, e := range old.Findings {
		d.addFinding(e.Cell, -e.N)
	}
	d.Quality = slices.DeleteFunc(d.Quality, func(e QualityEntry) bool { return e.Counts.IsZero() })
	d.Findings = slices.DeleteFunc(d.Findings, func(e FindingEntry) bool { return e.N == 0 })
	return d
}

// Add adds t (sign 1) or takes it away (sign -1) from d: many items'
// changes summed, for a bulk write.
func (d *TallyDelta) Add(t Tally, sign int64) {
	for _, e := range t.Quality {
		d.addQuality(e.Cell, e.Counts, sign)
	}
	for _, e := range t.Findings {
		d.addFinding(e.Cell, sign*e.N)
	}
}

func (d *TallyDelta) addQuality(cell QualityCell, n QualityCounts, sign int64) {
	for i := range d.Quality {
		if d.Quality[i].Cell == cell {
			d.Quality[i].Counts.Add(n, sign)
			return
		}
	}
	var c QualityCounts
	c.Add(n, sign)
	d.Quality = append(d.Quality, QualityEntry{cell, c})
}

func (d *TallyDelta) addFinding(cell FindingCell, n int64) {
	for i := range d.Findings {
		if d.Findings[i].Cell == cell {
			d.Findings[i].N += n
			return
		}
	}
	d.Findings = append(d.Findings, FindingEntry{cell, n})
}

// PoissonTail is P(X ≥ k) for X ~ Poisson(lambda): the one-sided p-value
// of seeing k or more cases where lambda were expected. 1 for k ≤ 0; 0
// for lambda ≤ 0 and k > 0.
func PoissonTail(k int64, lambda float64) float64 {
	if k <= 0 {
		return 1
	}
	if lambda <= 0 || math.IsNaN(lambda) {
		return 0
	}
	// P(X = i) in logs, so that neither λ^i nor i! overflows.
	term := func(i int64) float64 {
		lg, _ := math.Lgamma(float64(i) + 1)
		return math.Exp(-lambda + float64(i)*math.Log(lambda) - lg)
	}
	if float64(k) > lambda {
		// The upper tail directly: its terms fall at least as fast as a
		// geometric series once past the mean, and a small p keeps its
		// precision (1 − a sum near 1 would not).
		sum, t := 0.0, term(k)
		for i := k; t > 0 && t > sum*1e-17; i++ {
			sum += t
			t *= lambda / float64(i+1)
		}
		return min(sum, 1)
	}
	sum, t := 0.0, math.Exp(-lambda)
	for i := int64(0); i < k; i++ {
		sum += t
		t *= lambda / float64(i+1)
	}
	return max(0, 1-sum)
}

// QualityFlagged reports whether cases quality cases are significantly
// more than the expected ones (a batch's received units times its
// model's rate): at least FlagMinCases, and a one-sided Poisson p-value
// below FlagP.
func QualityFlagged(cases int64, expected float64) bool {
	return cases >= FlagMinCases && PoissonTail(cases, expected) < FlagP
}

// Per1000 is cases per 1,000 received units, to two decimals; 0 when
// nothing was received.
func Per1000(cases, received int64) float64 {
	if received <= 0 {
		return 0
	}
	return math.Round(float64(cases)*1000/float64(received)*100) / 100
}
