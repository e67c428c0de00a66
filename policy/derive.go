package policy

import "time"

// facts is what an item's effective history says as of a date: the one fold
// behind Coverage, Entitlements and Cases.
type facts struct {
	on     Date
	months int

	dispatchedOn Date
	order        string
	receivedOn   Date
	evidence     Evidence

	retired   EventType // EvReplaced or EvReturned once retired
	retiredOn Date
	successor string

	voidOn      Date
	voidSeq     uint64
	voidFinding Finding

	start        Date
	basis        Basis
	windows      bool // 7- and 15-day windows apply (a receipt, not a replacement unit)
	returnUntil  Date
	replaceUntil Date
	until        Date // warranty end with repair days and the rest-day shift
	repairDays   int
	freeRepairs  int

	cases []caseFacts
	open  int // index of the open case in cases, -1 when none
	parts []PartCoverage
	acc   []AccessoryCoverage
}

// caseFacts is one service case as folded from its events.
type caseFacts struct {
	id                      uint64
	center, complaint       string
	contact                 string
	intakeAt                time.Time
	intakeOn                Date
	finding                 Finding
	part                    string
	stage, resumeStage      string
	quotedAt, secondAt      time.Time // first quotation; first payment or refusal
	quoted, paid, declined  bool
	freeRepair, paidRepair  bool
	inWarrantyAtIntake      bool
	paused                  bool
	pausedAt                time.Time
	pauseAll, pauseBefore   time.Duration // all pauses; pauses before the quotation
	pauseSecond             time.Duration // pauses after payment or refusal
	closed                  bool
	closedAt                time.Time
	closedOn                Date
	lastAt                  time.Time
	firstPart, partsOfCase  int // parts[firstPart:firstPart+partsOfCase] were fitted in this case
	countedDays, countsFree bool
}

// lastDate is later than any event.
var lastDate = Date{9999, 12, 31}

func maxDate(a, b Date) Date {
	if a.After(b) {
		return a
	}
	return b
}

// derive folds item's effective history. Only events dated on or before
// upTo count; on is the evaluation date (open cases count repair days up to
// it). The slices in the result reuse bufs' storage when it is big enough.
func (p *Policy) derive(item *Item, eff []Event, upTo, on Date, f *facts) {
	f.on = on
	f.open = -1
	f.months = item.WarrantyMonths
	if f.months <= 0 {
		f.months = p.Months(item.Kind)
	}
	loc := p.loc

	// Pass 1: the facts that do not depend on the start.
	for i := range eff {
		ev := &eff[i]
		d := p.eventDate(ev, loc)
		if d.After(upTo) {
			continue
		}
		switch ev.Type {
		case EvDispatched:
			if f.dispatchedOn.IsZero() {
				f.dispatchedOn, f.order = ev.On, ev.Order
			}
		case EvReceived:
			if f.receivedOn.IsZero() {
				f.receivedOn, f.evidence = ev.On, ev.Evidence
			}
		case EvDiagnosed:
			if ev.Finding.Voids() && f.voidOn.IsZero() {
				f.voidOn, f.voidSeq, f.voidFinding = d, ev.Seq, ev.Finding
			}
		case EvReplaced, EvReturned:
			if f.retired == "" {
				f.retired, f.retiredOn, f.successor = ev.Type, d, ev.NewSerial
				if ev.Type == EvReturned {
					f.successor = ""
				}
			}
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
	case !item.ProducedOn.IsZero():
		f.start, f.basis = item.ProducedOn.AddDays(p.EstimatedStartDays), BasisEstimated
	}
	var base Date
	if !f.start.IsZero() {
		base = f.start.AddMonths(f.months)
		if f.windows {
			f.returnUntil = p.shift(f.start.AddDays(p.ReturnDays))
			f.replaceUntil = p.shift(f.start.AddDays(p.ReplaceDays))
		}
	}

	// Bundled accessories: from the start, or from their last exchange.
	for i := range item.Accessories {
		a := &item.Accessories[i]
		ac := AccessoryCoverage{SKU: a.SKU, Name: a.Name, Kind: a.Kind, Batch: a.Batch}
		if !f.start.IsZero() {
			ac.Start = f.start
			ac.WarrantyUntil = p.shift(f.start.AddMonths(p.accessoryMonths(a)))
		}
		f.acc = append(f.acc, ac)
	}

	// Pass 2: service cases, parts and accessory exchanges, in order.
	for i := range eff {
		ev := &eff[i]
		d := p.eventDate(ev, loc)
		if d.After(upTo) {
			continue
		}
		if ev.Type == EvAccessoryReplaced {
			if k := accessoryIndex(item, ev.SKU); k >= 0 {
				ac := &f.acc[k]
				ac.Replacements++
				ac.Batch = ev.NewBatch
				ac.Start = d
				ac.WarrantyUntil = p.shift(d.AddMonths(p.accessoryMonths(&item.Accessories[k])))
			}
		}
		if ev.Type == EvIntake {
			if f.open >= 0 {
				continue
			}
			c := caseFacts{id: ev.Seq, center: ev.Center, complaint: ev.Complaint, contact: ev.Contact,
				intakeAt: ev.At, intakeOn: d, stage: string(EvIntake), lastAt: ev.At, firstPart: len(f.parts)}
			c.inWarrantyAtIntake = !f.start.IsZero() && !d.Before(f.start) &&
				!d.After(p.shift(base.AddDays(f.repairDays))) &&
				(f.voidOn.IsZero() || d.Before(f.voidOn))
			f.cases = append(f.cases, c)
			f.open = len(f.cases) - 1
			continue
		}
		if f.open < 0 || !serviceStep(ev.Type) {
			continue
		}
		c := &f.cases[f.open]
		if ev.At.After(c.lastAt) {
			c.lastAt = ev.At
		}
		switch ev.Type {
		case EvDiagnosed:
			c.finding, c.part = ev.Finding, ev.Part
		case EvQuoted:
			if !c.quoted {
				c.quoted, c.quotedAt = true, ev.At
			}
		case EvPaid, EvDeclined:
			if c.secondAt.IsZero() {
				c.secondAt = ev.At
			}
			if ev.Type == EvPaid {
				c.paid = true
			} else {
				c.declined = true
			}
		case EvRepaired:
			if ev.Paid {
				c.paidRepair = true
			} else {
				c.freeRepair = true
			}
			for _, part := range ev.Parts {
				f.parts = append(f.parts, PartCoverage{Part: part, ReplacedOn: d, Paid: ev.Paid, Case: c.id})
				c.partsOfCase++
			}
		case EvPaused:
			if !c.paused {
				c.paused, c.pausedAt, c.resumeStage = true, ev.At, c.stage
			}
			c.stage = string(EvPaused)
			continue
		case EvResumed:
			if c.paused {
				c.endPause(ev.At)
				c.stage = c.resumeStage
			}
			continue
		case EvShipped, EvReplaced, EvReturned:
			if c.paused {
				c.endPause(ev.At)
			}
			c.closed, c.closedAt, c.closedOn = true, ev.At, d
			f.open = -1
			if ev.Type == EvShipped {
				for k := c.firstPart; k < c.firstPart+c.partsOfCase; k++ {
					// "Back" is the CST date of shipping (never before the
					// fitting); kept in CoveredUntil until the end is known.
					f.parts[k].CoveredUntil = maxDate(d, f.parts[k].ReplacedOn)
				}
				if c.freeRepair && c.inWarrantyAtIntake {
					c.countedDays = true
					f.repairDays += max(0, c.intakeOn.DaysUntil(d))
				}
				if c.freeRepair && c.finding == QualityProblem {
					c.countsFree = true
					f.freeRepairs++
				}
			}
		}
		if c.paused {
			c.resumeStage = string(ev.Type)
		} else {
			c.stage = string(ev.Type)
		}
	}
	if f.open >= 0 {
		// An open case counts its days so far while it is headed for a free
		// repair: in warranty at intake, no quotation, no exclusion or no-fault finding.
		c := &f.cases[f.open]
		if c.inWarrantyAtIntake && !c.quoted && !c.paid && (c.freeRepair || c.finding == "" || c.finding == QualityProblem) {
			c.countedDays = true
			f.repairDays += max(0, c.intakeOn.DaysUntil(on))
		}
	}
	if !f.start.IsZero() {
		f.until = p.shift(base.AddDays(f.repairDays))
	}
	for k := range f.parts {
		pc := &f.parts[k]
		back := pc.CoveredUntil
		if back.IsZero() {
			continue
		}
		pc.CoveredUntil = p.shift(back.AddDays(p.PartCoverageDays))
		if !pc.Paid && pc.CoveredUntil.Before(f.until) {
			pc.CoveredUntil = f.until
		}
	}
}

// endPause ends the pause running since c.pausedAt at t, charging it to the
// clocks it overlaps.
func (c *caseFacts) endPause(t time.Time) {
	c.paused = false
	s := c.pausedAt
	if !t.After(s) {
		return
	}
	c.pauseAll += t.Sub(s)
	if !c.quoted {
		c.pauseBefore += t.Sub(s)
	} else if s.Before(c.quotedAt) {
		c.pauseBefore += minTime(t, c.quotedAt).Sub(s)
	}
	if !c.secondAt.IsZero() && t.After(c.secondAt) {
		c.pauseSecond += t.Sub(maxTime(s, c.secondAt))
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// serviceStep reports whether t belongs to an open service case.
func serviceStep(t EventType) bool {
	switch t {
	case EvDiagnosed, EvQuoted, EvPaid, EvDeclined, EvRepaired, EvReplaced, EvReturned, EvPaused, EvResumed, EvShipped:
		return true
	}
	return false
}

// eventDate is EventDate with the zone at hand.
func (p *Policy) eventDate(ev *Event, loc *time.Location) Date {
	if ev.Type.Dated() {
		return ev.On
	}
	if ev.Type == EvCorrected {
		return Date{}
	}
	return DateOf(ev.At, loc)
}

// shift moves a last day that falls inside a rest-day period to the day
// after the period (again, should that day start another period).
func (p *Policy) shift(d Date) Date {
	for moved := true; moved; {
		moved = false
		for _, r := range p.RestDays {
			if !d.Before(r.From) && !d.After(r.To) {
				d, moved = r.To.AddDays(1), true
			}
		}
	}
	return d
}

func (p *Policy) accessoryMonths(a *Accessory) int {
	if a.WarrantyMonths > 0 {
		return a.WarrantyMonths
	}
	return p.Months(a.Kind)
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
	case f.start.IsZero() || f.on.Before(f.start):
		return NotStarted
	case f.on.After(f.until):
		return Expired
	default:
		return Active
	}
}
