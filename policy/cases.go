package policy

import "time"

// Cases returns every service case of item, oldest first, with due times and
// overdue flags as of now. Every event counts, whatever its date; repair days
// of an open case run to today.
func (p *Policy) Cases(item Item, history []Event, now time.Time) []Case {
	f := facts{keep: true, noParts: true, noAcc: true}
	p.derive(&item, history, lastDate, p.Today(now), &f)
	out := make([]Case, len(f.cases))
	for i := range f.cases {
		out[i] = p.caseOf(&f.cases[i], now)
	}
	return out
}

// OpenCase returns the open service case with its due time as of now, or nil
// when none is open.
func (p *Policy) OpenCase(item Item, history []Event, now time.Time) *Case {
	f := facts{noParts: true, noAcc: true}
	p.derive(&item, history, lastDate, p.Today(now), &f)
	if !f.open {
		return nil
	}
	c := p.caseOf(&f.cur, now)
	return &c
}

// inWarranty says which clocks a case runs on: a free-service case has one
// clock from intake to shipping; a paid one (quoted or paid, an excluded
// finding, or a unit out of warranty at intake) stops its first clock at the
// quotation and runs a second from payment, or from the customer's refusal
// (the unit then goes back unrepaired, within the same hours), to shipping.
func (c *caseFacts) inWarranty() bool {
	switch {
	case c.quoted || c.paid || c.declined:
		return false
	case c.freeRepair:
		return true
	case c.finding().Excluded():
		return false
	default:
		return c.inWarrantyAtIntake
	}
}

// caseOf renders a case with its clock as of now.
func (p *Policy) caseOf(c *caseFacts, now time.Time) Case {
	in := c.intake
	out := Case{ID: in.Seq, Center: in.Center, Complaint: in.Complaint, Contact: in.Contact, OpenedAt: in.At,
		Stage: string(c.stage.Type), Paused: c.paused, InWarranty: c.inWarranty()}
	if c.diag != nil {
		out.Finding, out.Part = c.diag.Finding, c.diag.Part
	}
	if c.closedBy != nil {
		out.ClosedAt = c.closedBy.At
		return out
	}
	hours := time.Duration(p.ServiceHours) * time.Hour
	switch {
	case c.paused:
		// The clock stands still while the centre waits on the customer.
	case out.InWarranty:
		out.DueAt = in.At.Add(hours + c.pauseAll)
	case !c.quoted:
		out.DueAt = in.At.Add(hours + c.pauseBefore)
	case !c.secondAt.IsZero():
		out.DueAt = c.secondAt.Add(hours + c.pauseSecond)
	}
	out.Overdue = !out.DueAt.IsZero() && now.After(out.DueAt)
	return out
}

// SuccessorExchanges is the Exchanges of the unit that replaced item (its
// history holding the `replaced` event): item's own count, plus one when
// the case that replacement closed had diagnosed a quality problem. An
// exchange after no_fault or an exclusion is goodwill and does not count
// toward rule 4's refund.
func (p *Policy) SuccessorExchanges(item Item, history []Event) int {
	f := facts{keep: true, noParts: true, noAcc: true}
	p.derive(&item, history, lastDate, lastDate, &f)
	n := item.Exchanges
	for i := range f.cases {
		if c := &f.cases[i]; c.closedBy.Type == EvReplaced && c.finding() == QualityProblem {
			n++
		}
	}
	return n
}
