package policy

import (
	"fmt"
	"strings"
)

// EventDate is the calendar date of ev: On for dated types, else the date of
// At in the policy's time zone (17:30 UTC on 3 March is 4 March in CST).
// A correction has no date of its own (the zero Date).
func (p *Policy) EventDate(ev Event) Date { return p.eventDate(&ev, p.loc) }

// Coverage is what item's history says as of date on, counting only events
// dated on or before it: state, warranty status and period, the part and
// bundled-accessory coverage and the open case. The open case's Overdue is
// as of the end of on; OpenCase gives it as of an instant.
func (p *Policy) Coverage(item Item, history []Event, on Date) Coverage {
	var f facts
	p.derive(&item, Effective(history), on, on, &f)
	cv := Coverage{
		On:            on,
		State:         f.state(&item),
		Status:        f.status(),
		Basis:         f.basis,
		BasisText:     p.basisText(&item, &f),
		Start:         f.start,
		ReturnUntil:   f.returnUntil,
		ReplaceUntil:  f.replaceUntil,
		WarrantyUntil: f.until,
		FreeRepairs:   f.freeRepairs,
		RepairDays:    f.repairDays,
		DispatchedOn:  f.dispatchedOn,
		Order:         f.order,
		ReceivedOn:    f.receivedOn,
		Evidence:      f.evidence,
		SupersededBy:  f.successor,
		VoidedBy:      f.voidSeq,
		Parts:         f.parts,
		Accessories:   f.acc,
	}
	if cv.Status == Active || cv.Status == NotStarted && !f.until.IsZero() {
		cv.DaysLeft = max(0, on.DaysUntil(f.until))
	}
	if f.open >= 0 {
		c := p.caseOf(&f.cases[f.open], on.AddDays(1).Start(p.loc))
		cv.OpenCase = &c
	}
	return cv
}

// state is where the unit is on f.on.
func (f *facts) state(item *Item) State {
	switch {
	case f.retired == EvReplaced:
		return Replaced
	case f.retired == EvReturned:
		return Returned
	case f.open >= 0:
		return InService
	case !f.receivedOn.IsZero():
		return InUse
	case !f.dispatchedOn.IsZero():
		return Dispatched
	case item.Replaces != "" && !f.start.IsZero():
		// Handed over in an exchange, not shipped separately.
		return InUse
	default:
		return Registered
	}
}

func (p *Policy) basisText(item *Item, f *facts) string {
	switch f.basis {
	case BasisExchange:
		return fmt.Sprintf("exchange for %s on %s, no receipt on record yet", item.Replaces, item.ExchangedOn)
	case BasisEstimated:
		return fmt.Sprintf("estimated: production date %s + %d days, no receipt on record", item.ProducedOn, p.EstimatedStartDays)
	case "":
		if item.Replaces != "" {
			return fmt.Sprintf("replacement for %s, not yet exchanged", item.Replaces)
		}
		return "no receipt and no production date on record"
	}
	s := "receipt confirmed by " + string(f.basis)
	if f.evidence == "" {
		s = "receipt on record"
	}
	if item.Replaces != "" {
		s += fmt.Sprintf("; replacement for %s, no new %d- or %d-day windows", item.Replaces, p.ReturnDays, p.ReplaceDays)
	}
	return s
}

// Entitlements is what the customer may choose for claim c on item, as of
// c.On: the free remedies of policy.md rules 1–5 (exclusions first), whether
// a paid repair is offered, and one sentence per rule that fired. A retired
// or void serial gets no free remedy and a reason naming why. It returns
// *Error EInvalid for a bad claim: "on" missing, an unknown "finding" (or
// none given and no diagnosis on record), a malformed "part", an
// "accessory" that is not bundled with item, or both part and accessory.
func (p *Policy) Entitlements(item Item, history []Event, c Claim) (Entitlement, error) {
	if c.On.IsZero() {
		return Entitlement{}, Errorf(EInvalid, "on", "on (the claim date) is required")
	}
	if c.Finding != "" && !c.Finding.Valid() {
		return Entitlement{}, Errorf(EInvalid, "finding", "unknown finding %q; one of %s", string(c.Finding), findingList())
	}
	if c.Part != "" {
		part, err := partName("part", c.Part)
		if err != nil {
			return Entitlement{}, err
		}
		c.Part = part
	}
	acc := -1
	if c.Accessory != "" {
		if acc = accessoryIndex(&item, strings.TrimSpace(c.Accessory)); acc < 0 {
			return Entitlement{}, Errorf(EInvalid, "accessory", "%s is not an accessory bundled with %s", strings.TrimSpace(c.Accessory), item.Serial)
		}
		if c.Part != "" {
			return Entitlement{}, Errorf(EInvalid, "part", "part names a part of the product, not of a bundled accessory: pass part or accessory, not both")
		}
	}
	var f facts
	p.derive(&item, Effective(history), c.On, c.On, &f)
	e := Entitlement{On: c.On, Remedies: []Remedy{}, DeadlineHours: p.ServiceHours}
	st := f.status()
	if c.Finding == "" {
		if f.open >= 0 {
			c.Finding = f.cases[f.open].finding
		}
		if c.Finding == "" && st != Retired && st != Void {
			return Entitlement{}, Errorf(EInvalid, "finding", "no diagnosis on record: pass finding")
		}
	}
	r := rules{p: p, f: &f, c: &c, e: &e, item: &item}
	switch {
	case st == Retired:
		r.retired()
	case st == Void:
		r.void()
	case c.Finding.Excluded():
		r.excluded(st, acc)
	case acc >= 0:
		r.accessory(acc)
	default:
		r.unit(st)
	}
	return e, nil
}

// rules evaluates one claim.
type rules struct {
	p                    *Policy
	f                    *facts
	c                    *Claim
	e                    *Entitlement
	item                 *Item
	ret, replace, repair bool
}

func (r *rules) reason(format string, args ...any) {
	r.e.Reasons = append(r.e.Reasons, fmt.Sprintf(format, args...))
}

// finish fills Remedies in the contract's order.
func (r *rules) finish() {
	if r.ret {
		r.e.Remedies = append(r.e.Remedies, Return)
	}
	if r.replace {
		r.e.Remedies = append(r.e.Remedies, Replace)
	}
	if r.repair {
		r.e.Remedies = append(r.e.Remedies, Repair)
	}
}

func (r *rules) retired() {
	if r.f.retired == EvReplaced {
		r.reason("replaced by %s on %s: this serial is retired and belongs to the company; claims go to %s", r.f.successor, r.f.retiredOn, r.f.successor)
	} else {
		r.reason("returned and refunded on %s: this serial is retired and belongs to the company", r.f.retiredOn)
	}
}

func (r *rules) void() {
	r.reason("warranty void since %s (finding %s): no free remedy ever again", r.f.voidOn, r.f.voidFinding)
	r.paid()
}

// paid offers a paid repair unless nothing is wrong.
func (r *rules) paid() {
	if r.c.Finding == NoFault {
		r.reason("no fault found: nothing to repair; the item goes back at no charge")
		return
	}
	r.e.PaidRepair = true
	r.reason("paid repair with a quotation offered")
}

func (r *rules) excluded(st Status, acc int) {
	r.e.InWarranty = st == Active
	if acc >= 0 {
		r.e.InWarranty = r.accessoryActive(acc)
	}
	if r.c.Finding.Voids() {
		r.reason("finding %s is an exclusion and voids the free warranty for good: no free remedy, not even the %d-day return", r.c.Finding, r.p.ReturnDays)
	} else {
		r.reason("finding %s is an exclusion: no free remedy, not even the %d-day return", r.c.Finding, r.p.ReturnDays)
	}
	r.paid()
}

// notCovered explains a status without free remedies and offers a paid repair.
func (r *rules) notCovered(st Status, until Date) {
	f := r.f
	switch {
	case f.start.IsZero() && r.item.Replaces != "":
		r.reason("claim on %s is before this replacement unit was exchanged for %s: no free remedy", r.c.On, r.item.Replaces)
	case f.start.IsZero():
		r.reason("no receipt and no production date on record: treated as beyond the warranty period, no free remedy")
	case st == NotStarted:
		r.reason("claim on %s is before the warranty start on %s (%s): no free remedy", r.c.On, f.start, r.p.basisText(r.item, f))
	default:
		r.reason("warranty ended on %s: no free remedy", until)
	}
	r.paid()
}

// unit applies rules 2, 3, 4 and 5 to the item itself.
func (r *rules) unit(st Status) {
	f, c, p := r.f, r.c, r.p
	defer r.finish()
	if st != Active {
		if st == Expired && c.Finding == QualityProblem && c.Part != "" {
			if pc := f.partCovered(c.Part, c.On); pc != nil {
				r.repair = true
				r.reason("part %s fitted on %s (case %d) is covered until %s: free repair of that part, though the warranty ended on %s", pc.Part, pc.ReplacedOn, pc.Case, pc.CoveredUntil, f.until)
				return
			}
			r.reason("part %s has no coverage on %s", c.Part, c.On)
		}
		r.notCovered(st, f.until)
		return
	}
	r.e.InWarranty = true
	day := f.start.DaysUntil(c.On)
	switch {
	case f.basis == BasisEstimated:
		r.reason("start estimated from the production date %s + %d days (no receipt on record): no %d-day return and no %d-day replacement", r.item.ProducedOn, p.EstimatedStartDays, p.ReturnDays, p.ReplaceDays)
	case !f.windows:
		r.reason("replacement unit for %s: its warranty runs from %s with no new %d-day return or %d-day replacement", r.item.Replaces, f.start, p.ReturnDays, p.ReplaceDays)
	case !c.On.After(f.returnUntil):
		if c.Intact && c.Complete {
			r.ret = true
			r.reason("%s, intact and complete: return allowed", r.dayOf(day, p.ReturnDays, "receipt", f.returnUntil))
		} else {
			r.reason("%s, but not %s: no return", r.dayOf(day, p.ReturnDays, "receipt", f.returnUntil), missing(c.Intact, c.Complete))
		}
	}
	if c.Finding == NoFault {
		r.reason("no fault found: nothing to repair; the item goes back at no charge")
		return
	}
	if r.item.Kind.Bundleable() {
		r.replace = true
		r.reason("%s with a quality problem within its warranty (until %s): free replacement", r.item.Kind, f.until)
		if n := r.exchanges(); n >= p.ReplacementsBeforeRefund {
			r.ret = true
			r.reason("%d earlier replacements in this line still did not work: return (refund) or another replacement", n)
		}
		return
	}
	if f.windows && !c.On.After(f.replaceUntil) {
		r.replace, r.repair = true, true
		r.reason("%s, quality problem: replacement or free repair", r.dayOf(day, p.ReplaceDays, "receipt", f.replaceUntil))
	} else {
		r.repair = true
		r.reason("quality problem within the warranty (until %s): free repair", f.until)
	}
	if f.freeRepairs >= p.RepairsBeforeReplacement {
		r.replace = true
		r.reason("%d earlier free repairs for quality problems and it still fails: replacement or continued free repair", f.freeRepairs)
	}
}

// exchanges counts the earlier replacements in a stand-alone item's line.
func (r *rules) exchanges() int {
	n := r.item.Exchanges
	if n == 0 && r.item.Replaces != "" {
		n = 1
	}
	return n
}

// dayOf describes the claim's day within an n-day window after event.
func (r *rules) dayOf(day, n int, event string, until Date) string {
	s := fmt.Sprintf("day %d of %d after %s on %s", day, n, event, r.f.start)
	if until != r.f.start.AddDays(n) {
		s += fmt.Sprintf(" (window extended past rest days to %s)", until)
	}
	return s
}

func missing(intact, complete bool) string {
	switch {
	case !intact && !complete:
		return "intact and complete"
	case !intact:
		return "intact"
	default:
		return "complete"
	}
}

// accessoryActive reports whether bundled accessory k is under warranty on the claim date.
func (r *rules) accessoryActive(k int) bool {
	ac := &r.f.acc[k]
	return !ac.Start.IsZero() && !r.c.On.Before(ac.Start) && !r.c.On.After(ac.WarrantyUntil)
}

// accessory applies rule 4 to bundled accessory k.
func (r *rules) accessory(k int) {
	defer r.finish()
	ac := &r.f.acc[k]
	name := fmt.Sprintf("bundled %s %s (batch %s)", r.item.Accessories[k].Kind, ac.SKU, ac.Batch)
	if !r.accessoryActive(k) {
		switch {
		case ac.Start.IsZero() || r.c.On.Before(ac.Start):
			r.notCovered(NotStarted, ac.WarrantyUntil)
		default:
			r.reason("%s: warranty ended on %s, no free remedy", name, ac.WarrantyUntil)
			r.paid()
		}
		return
	}
	r.e.InWarranty = true
	if r.c.Finding == NoFault {
		r.reason("%s: no fault found, nothing to replace; it goes back at no charge", name)
		return
	}
	r.replace = true
	r.reason("%s has a quality problem within its warranty (until %s): free replacement", name, ac.WarrantyUntil)
	if ac.Replacements >= r.p.ReplacementsBeforeRefund {
		r.ret = true
		r.reason("%d earlier replacements of %s still did not work: return (refund) or another replacement", ac.Replacements, ac.SKU)
	}
}

func findingList() string {
	s := make([]string, len(Findings))
	for i, f := range Findings {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}
