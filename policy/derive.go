package policy

import (
	"math"
	"time"
)

// facts is what an item's effective history says as of a date: the one fold
// behind Coverage, Entitlements and Cases.
type facts struct {
	on     Date
	months int

	dispatchedOn Date
	order        string
	channel      Channel
	receivedOn   Date // of the receipt that counts: the strongest evidence, the first of equals
	evidence     Evidence

	retired   EventType // EvReplaced or EvReturned once retired
	retiredOn Date
	successor string

	voidOn      Date
	voidSeq     uint64
	voidFinding Finding

	start        Date
	basis        Basis
	windows      bool // 7- and 15-day windows apply (a receipt or direct dispatch, not a replacement unit)
	returnUntil  Date
	replaceUntil Date
	until        Date // warranty end with repair days and the rest-day shift
	repairDays   int
	freeRepairs  int

	// What the caller asks for (derive keeps it when it starts over).
	keep           bool // keep every case in cases (only Cases needs them)
	noParts, noAcc bool // leave out parts or accessories (for views and claims that need neither)

	cases []caseFacts // with keep: every case, the open one last
	cur   caseFacts   // the case being folded
	open  bool        // cur is open
	parts []PartCoverage
	acc   []AccessoryCoverage
}

// caseFacts is one service case as folded from its events. It is cleared at
// every intake, so it keeps the events it reports (intake, latest diagnosis,
// stage, closing) rather than copies of their fields.
type caseFacts struct {
	intake                 *Event    // ID, centre, complaint, contact and opening instant
	intakeDay              int       // day number of the intake's date
	diag                   *Event    // the latest diagnosis, nil before one
	closedBy               *Event    // the shipping, replacement or return, nil while open
	stage, resumeStage     *Event    // the steps whose types are the stage and the stage to resume
	secondAt               time.Time // first payment or refusal
	pausedAt               time.Time
	pauseAll, pauseBefore  time.Duration // all pauses; pauses before the quotation
	pauseSecond            time.Duration // pauses after payment or refusal
	firstPart, partsOfCase int           // parts[firstPart:firstPart+partsOfCase] were fitted in this case
	quoted, paid, declined bool
	freeRepair             bool
	inWarrantyAtIntake     bool // set once the history has given the start
	paused                 bool
}

// finding is the case's latest diagnosis, "" before one.
func (c *caseFacts) finding() Finding {
	if c.diag == nil {
		return ""
	}
	return c.diag.Finding
}

// lastDate is later than any event.
var lastDate = Date{9999, 12, 31}

// derive folds item's history, corrections applied, into f. Only events
// dated on or before upTo count; on is the evaluation date (an open case
// counts repair days up to it). It runs for every view and claim, so it
// goes through the history once, takes each event's type code and day
// number once and works on those, turns into Dates only what it returns,
// and allocates only the part and accessory lists.
func (p *Policy) derive(item *Item, history []Event, upTo, on Date, f *facts) {
	f.on = on
	f.months = item.WarrantyMonths
	if f.months <= 0 {
		f.months = p.Months(item.Kind)
	}
	upToDay, onDay := upTo.days(), on.days()
	z := zone{loc: p.loc}
	if len(item.Accessories) > 0 && !f.noAcc {
		// Bundled accessories: dated from their last exchange, or from the
		// start once it is known.
		f.acc = make([]AccessoryCoverage, len(item.Accessories))
		for i := range item.Accessories {
			a, ac := &item.Accessories[i], &f.acc[i]
			ac.SKU, ac.Name, ac.Kind, ac.Batch = a.SKU, a.Name, a.Kind, a.Batch
		}
	}
	var spanBuf [8]caseSpan
	w := pending{spans: spanBuf[:0]}
	if !f.noParts {
		var partBuf [8]PartCoverage // cleared only for a fold that lists parts
		w.parts = partBuf[:0]
	}

	for i := range history {
		ev := &history[i]
		k := codeOf(ev.Type)
		if k == evCorrected {
			// Corrections are rare: rather than look for them in every
			// history first, the fold starts over on the corrected history
			// (which has none) when it meets one.
			*f = facts{keep: f.keep, noParts: f.noParts, noAcc: f.noAcc}
			p.derive(item, Effective(history), upTo, on, f)
			return
		}
		d := z.day(ev, k)
		if d > upToDay {
			continue
		}
		switch k {
		case evDispatched:
			if f.dispatchedOn.IsZero() {
				f.dispatchedOn, f.order, f.channel = ev.On, ev.Order, ev.Channel
			}
		case evReceived:
			if f.receivedOn.IsZero() || ev.Evidence.Supersedes(f.evidence) {
				f.receivedOn, f.evidence = ev.On, ev.Evidence
			}
		case evAccessoryReplaced:
			if f.acc == nil {
				break
			}
			if a := accessoryIndex(item, ev.SKU); a >= 0 {
				ac := &f.acc[a]
				ac.Replacements++
				if f.open && f.cur.finding() == QualityProblem {
					ac.QualityReplacements++
				}
				// History is in the order recorded: an exchange back-filled
				// with an earlier date counts, but the accessory in the
				// customer's hands is still the one of the latest exchange.
				if ac.Replacements == 1 || d >= ac.Start.days() {
					ac.Batch = ev.NewBatch
					ac.Start = z.date(d)
					ac.WarrantyUntil = p.accessoryUntil(&item.Accessories[a], ac.Start)
				}
			}
		case evIntake:
			if !f.open {
				// Cleared in place and filled: a composite literal would be
				// built aside and copied, and this runs for every case.
				c := &f.cur
				*c = caseFacts{}
				c.intake, c.intakeDay, c.stage, c.firstPart = ev, d, ev, len(w.parts)
				f.open = true
			}
		case evDiagnosed:
			if ev.Finding.Voids() && f.voidOn.IsZero() {
				f.voidOn, f.voidSeq, f.voidFinding = z.date(d), ev.Seq, ev.Finding
			}
		case evRepaired:
			w.nparts += len(ev.Parts)
		case evReplaced, evReturned:
			if f.retired == "" {
				f.retired, f.retiredOn, f.successor = ev.Type, z.date(d), ev.NewSerial
				if k == evReturned {
					f.successor = ""
				}
			}
		}
		if !k.serviceStep() || !f.open {
			continue
		}

		// A step of the open case.
		c := &f.cur
		switch k {
		case evDiagnosed:
			c.diag = ev
		case evQuoted:
			c.quoted = true
		case evPaid, evDeclined:
			if c.secondAt.IsZero() {
				c.secondAt = ev.At
			}
			if k == evPaid {
				c.paid = true
			} else {
				c.declined = true
			}
		case evRepaired:
			if !ev.Paid {
				c.freeRepair = true
			}
			if !f.noParts {
				for _, part := range ev.Parts {
					w.parts = append(w.parts, PartCoverage{Part: part, ReplacedOn: z.date(d), Paid: ev.Paid, Case: c.intake.Seq})
					c.partsOfCase++
				}
			}
		case evPaused:
			if !c.paused {
				c.paused, c.pausedAt, c.resumeStage = true, ev.At, c.stage
			}
			c.stage = ev
			continue
		case evResumed:
			if c.paused {
				c.endPause(ev.At)
				c.stage = c.resumeStage
			}
			continue
		case evShipped, evReplaced, evReturned:
			if c.paused {
				c.endPause(ev.At)
			}
			c.closedBy = ev
			f.open = false
			span := caseSpan{intake: c.intakeDay}
			if k == evShipped {
				for j := c.firstPart; j < c.firstPart+c.partsOfCase; j++ {
					// Covered from "back", the date of shipping (never
					// before the fitting); a free part at least as long
					// as the unit, once its end is known.
					pc := &w.parts[j]
					pc.CoveredUntil = dateOfDays(p.shift(max(d, pc.ReplacedOn.days()) + p.PartCoverageDays))
				}
				if c.freeRepair {
					span.days = max(0, d-c.intakeDay)
					if c.finding() == QualityProblem {
						f.freeRepairs++
					}
				}
			}
			w.spans = append(w.spans, span)
		}
		if c.paused {
			c.resumeStage = ev
		} else {
			c.stage = ev
		}
		if c.closedBy != nil && f.keep {
			f.cases = append(f.cases, *c)
		}
	}

	// The start and its basis.
	switch {
	case !f.receivedOn.IsZero():
		f.start, f.basis, f.windows = f.receivedOn, Basis(f.evidence), item.Replaces == ""
	case item.Replaces != "":
		if !item.ExchangedOn.IsZero() && !item.ExchangedOn.After(on) {
			f.start, f.basis = item.ExchangedOn, BasisExchange
		}
	case !f.dispatchedOn.IsZero() && f.channel != Reseller:
		// The receipt is never before its dispatch: dated from the
		// dispatch, every window is one the customer is certainly owed.
		f.start, f.basis, f.windows = f.dispatchedOn, BasisDispatched, true
	case !item.ProducedOn.IsZero():
		f.start, f.basis = item.ProducedOn.AddDays(p.EstimatedStartDays), BasisEstimated
	}
	startDay, baseDay, voidDay := math.MinInt, 0, math.MaxInt
	if !f.start.IsZero() {
		startDay, baseDay = f.start.days(), f.start.AddMonths(f.months).days()
		if f.windows {
			f.returnUntil = dateOfDays(p.shift(startDay + p.ReturnDays))
			f.replaceUntil = dateOfDays(p.shift(startDay + p.ReplaceDays))
		}
		for i := range f.acc {
			if ac := &f.acc[i]; ac.Replacements == 0 {
				ac.Start = f.start
				ac.WarrantyUntil = p.accessoryUntil(&item.Accessories[i], f.start)
			}
		}
	}
	if !f.voidOn.IsZero() {
		voidDay = f.voidOn.days()
	}

	// The cases in the order recorded: one in warranty at intake and shipped
	// after a free repair extends the warranty by its days in service, for
	// the cases after it too. Before an estimated start the unit has
	// evidently been sold: in warranty.
	estimated := f.basis == BasisEstimated
	inWarranty := func(d int) bool {
		return (d >= startDay || estimated) && d <= p.shift(baseDay+f.repairDays) && d < voidDay
	}
	for i, s := range w.spans {
		in := inWarranty(s.intake)
		if f.keep {
			f.cases[i].inWarrantyAtIntake = in
		}
		if in {
			f.repairDays += s.days
		}
	}
	if f.open {
		// An open case counts its days so far once it is headed for a free
		// repair: in warranty at intake, diagnosed quality_problem, not
		// quoted. Counting from intake before a diagnosis would move the
		// warranty end back again when the case then closes without one.
		c := &f.cur
		c.inWarrantyAtIntake = inWarranty(c.intakeDay)
		if c.inWarrantyAtIntake && !c.quoted && !c.paid && c.finding() == QualityProblem {
			f.repairDays += max(0, onDay-c.intakeDay)
		}
		if f.keep {
			f.cases = append(f.cases, *c)
		}
	}
	if !f.start.IsZero() {
		f.until = dateOfDays(p.shift(baseDay + f.repairDays))
	}
	if w.nparts > 0 && !f.noParts {
		f.parts = append(make([]PartCoverage, 0, w.nparts), w.parts...)
	}
	for k := range f.parts {
		if pc := &f.parts[k]; !pc.Paid && !pc.CoveredUntil.IsZero() && pc.CoveredUntil.Before(f.until) {
			pc.CoveredUntil = f.until
		}
	}
}

// pending is what derive keeps until the end of the history: the parts
// fitted, until their list can be sized, and the closed cases, until the
// start is known. As one variable too large for registers it stays in
// memory, where the fold's calls (which clobber every register) do not make
// the compiler spill and reload each of its slices at every event.
type pending struct {
	parts  []PartCoverage
	spans  []caseSpan
	nparts int // parts in repaired events: the list's capacity, none if 0
}

// caseSpan is a closed case as the repair days need it: its intake's day
// number and the days it adds if it was in warranty at intake (those in
// service, for a case shipped back after a free repair).
type caseSpan struct{ intake, days int }

// endPause ends the pause running since c.pausedAt at t, charging it to the
// clocks it overlaps.
func (c *caseFacts) endPause(t time.Time) {
	c.paused = false
	s := c.pausedAt
	if !t.After(s) {
		return
	}
	d := t.Sub(s)
	c.pauseAll += d
	if !c.quoted {
		// Once quoted the first clock has stopped: later pauses do not matter to it.
		c.pauseBefore += d
	}
	if !c.secondAt.IsZero() && t.After(c.secondAt) {
		if s.Before(c.secondAt) {
			d = t.Sub(c.secondAt)
		}
		c.pauseSecond += d
	}
}

// evCode is an event type as a small integer: the fold maps each event's
// type once and then compares integers, where its string compares were much
// of its cost. The service steps come last, from evDiagnosed on.
type evCode uint8

const (
	evUnknown evCode = iota // not a type of the contract: counts for nothing
	evDispatched
	evReceived
	evTransferred
	evIntake
	evAccessoryReplaced
	evCorrected
	evDiagnosed
	evQuoted
	evPaid
	evDeclined
	evRepaired
	evReplaced
	evReturned
	evPaused
	evResumed
	evShipped
)

// codeOf is the code of event type t.
func codeOf(t EventType) evCode {
	switch t {
	case EvDispatched:
		return evDispatched
	case EvReceived:
		return evReceived
	case EvTransferred:
		return evTransferred
	case EvIntake:
		return evIntake
	case EvAccessoryReplaced:
		return evAccessoryReplaced
	case EvCorrected:
		return evCorrected
	case EvDiagnosed:
		return evDiagnosed
	case EvQuoted:
		return evQuoted
	case EvPaid:
		return evPaid
	case EvDeclined:
		return evDeclined
	case EvRepaired:
		return evRepaired
	case EvReplaced:
		return evReplaced
	case EvReturned:
		return evReturned
	case EvPaused:
		return evPaused
	case EvResumed:
		return evResumed
	case EvShipped:
		return evShipped
	}
	return evUnknown
}

// dated reports whether events of this type carry a calendar date rather
// than an instant.
func (k evCode) dated() bool { return k >= evDispatched && k <= evTransferred }

// serviceStep reports whether events of this type belong to an open service case.
func (k evCode) serviceStep() bool { return k >= evDiagnosed }

// zone takes the day numbers of events in loc with one zone lookup per zone
// period (one in all for Asia/Shanghai since 1991), and turns day numbers
// into Dates with the last one cached (a case's steps share days).
type zone struct {
	loc        *time.Location
	start, end int64 // Unix seconds of the cached period, end exclusive; empty at first
	off        int64
	lastDay    int
	last       Date
}

// day is the day number of ev's date (k is the code of its type): On for
// dated types, the date of At in the zone otherwise, and the zero Date's for
// a correction.
func (z *zone) day(ev *Event, k evCode) int {
	switch {
	case k.dated():
		return ev.On.days()
	case k == evCorrected:
		return zeroDay
	}
	u := ev.At.Unix()
	if u < z.start || u >= z.end {
		z.period(ev.At)
	}
	// The floor division done unsigned, which needs no rounding fix: shifted
	// by a whole number of days, every local time is non-negative but those
	// of the first 16 hours int64 seconds can hold (year -292 billion).
	const shift = math.MaxInt64 / 86400
	return int((uint64(u+z.off)+shift*86400)/86400) - shift
}

// period looks up and caches the zone period of t.
func (z *zone) period(t time.Time) {
	lt := t.In(z.loc)
	_, off := lt.Zone()
	s, e := lt.ZoneBounds()
	z.off, z.start, z.end = int64(off), math.MinInt64, math.MaxInt64
	if !s.IsZero() {
		z.start = s.Unix()
	}
	if !e.IsZero() {
		z.end = e.Unix()
	}
}

// zeroDay is the day number of the zero Date.
var zeroDay = Date{}.days()

// date is the Date of day number d.
func (z *zone) date(d int) Date {
	if d == zeroDay {
		return Date{}
	}
	if z.last.IsZero() || d != z.lastDay {
		z.lastDay, z.last = d, dateOfDays(d)
	}
	return z.last
}

// shift moves a last day (a day number) that falls inside a rest-day period
// to the day after the period (again, should that day start another period).
func (p *Policy) shift(d int) int {
	for moved := true; moved; {
		moved = false
		for _, r := range p.RestDays {
			if d >= r.From.days() && d <= r.To.days() {
				d, moved = r.To.days()+1, true
			}
		}
	}
	return d
}

// accessoryUntil is the last day of bundled accessory a's warranty from start.
func (p *Policy) accessoryUntil(a *Accessory, start Date) Date {
	months := a.WarrantyMonths
	if months <= 0 {
		months = p.Months(a.Kind)
	}
	return dateOfDays(p.shift(start.AddMonths(months).days()))
}

// accessoryIndex returns the index of the first bundled accessory with sku, or -1.
func accessoryIndex(item *Item, sku string) int {
	for i := range item.Accessories {
		if item.Accessories[i].SKU == sku {
			return i
		}
	}
	return -1
}

// partCovered returns the newest part fitted under name that covers on.
func (f *facts) partCovered(name string, on Date) *PartCoverage {
	var best *PartCoverage
	for k := range f.parts {
		pc := &f.parts[k]
		if pc.Part == name && !pc.CoveredUntil.IsZero() && !on.After(pc.CoveredUntil) && (best == nil || pc.CoveredUntil.After(best.CoveredUntil)) {
			best = pc
		}
	}
	return best
}

// status is the warranty status on f.on.
func (f *facts) status() Status {
	switch {
	case f.retired != "":
		return Retired
	case !f.voidOn.IsZero():
		return Void
	case f.start.IsZero():
		// Every other start is on or before f.on but an estimated one,
		// which is active before it: the unit is in someone's hands.
		return NotStarted
	case f.on.After(f.until):
		return Expired
	default:
		return Active
	}
}
