package policy

import (
	"strconv"
	"strings"
)

// EventDate is the calendar date of ev: On for dated types, else the date of
// At in the policy's time zone (17:30 UTC on 3 March is 4 March in CST).
// A correction has no date of its own (the zero Date).
func (p *Policy) EventDate(ev Event) Date {
	z := zone{loc: p.loc}
	return z.date(z.day(&ev, codeOf(ev.Type)))
}

// Coverage is what item's history says as of date on, counting only events
// dated on or before it: state, warranty status and period, the part and
// bundled-accessory coverage and the open case. The open case's Overdue is
// as of the end of on; OpenCase gives it as of an instant.
func (p *Policy) Coverage(item Item, history []Event, on Date) Coverage {
	var f facts
	p.derive(&item, history, on, on, &f)
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
	if cv.Status == Active {
		cv.DaysLeft = max(0, on.DaysUntil(f.until))
	}
	if f.open {
		c := p.caseOf(&f.cur, on.AddDays(1).Start(p.loc))
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
	case f.open:
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

// basisText says where the start comes from, in words for the item view.
// Every view asks for it, so a text with a date or a number is written into
// one buffer (one allocation) rather than through fmt.
func (p *Policy) basisText(item *Item, f *facts) string {
	var buf [160]byte
	b := buf[:0]
	switch {
	case !f.receivedOn.IsZero() && item.Replaces == "":
		return receiptText(f.evidence)
	case !f.receivedOn.IsZero():
		b = append(b, receiptText(f.evidence)...)
		b = append(b, "; replacement for "...)
		b = append(b, item.Replaces...)
		b = append(b, ", no new "...)
		b = strconv.AppendInt(b, int64(p.ReturnDays), 10)
		b = append(b, "- or "...)
		b = strconv.AppendInt(b, int64(p.ReplaceDays), 10)
		b = append(b, "-day windows"...)
	case f.basis == BasisExchange:
		b = append(b, "exchange for "...)
		b = append(b, item.Replaces...)
		b = append(b, " on "...)
		b, _ = item.ExchangedOn.AppendText(b)
		b = append(b, ", no receipt on record yet"...)
	case f.basis == BasisDispatched:
		b = append(b, "dispatched directly to the customer on "...)
		b, _ = f.dispatchedOn.AppendText(b)
		b = append(b, ", no receipt on record yet: dates counted from the dispatch, at least what is owed"...)
	case f.basis == BasisEstimated:
		b = append(b, "estimated: production date "...)
		b, _ = item.ProducedOn.AppendText(b)
		b = append(b, " + "...)
		b = strconv.AppendInt(b, int64(p.EstimatedStartDays), 10)
		b = append(b, " days, no receipt on record"...)
	case item.Replaces != "":
		return "replacement for " + item.Replaces + ", not yet exchanged"
	default:
		return "no receipt and no production date on record"
	}
	return string(b)
}

// receiptText is the basis of a start at a receipt confirmed by evidence.
func receiptText(evidence Evidence) string {
	switch evidence {
	case Courier:
		return "receipt confirmed by courier"
	case Invoice:
		return "receipt confirmed by invoice"
	case Customer:
		return "receipt confirmed by customer"
	default:
		return "receipt on record"
	}
}

// Entitlements is what the customer may choose for claim c on item, as of
// c.On: the free remedies of policy.md rules 1–5 (exclusions first), whether
// a paid repair is offered, and one sentence per rule that fired (and, when
// c.Why asks, the same as codes and values in Why). A retired
// or void serial gets no free remedy and a reason naming why. It returns
// *Error EInvalid for a bad claim: "on" missing, an unknown "finding" (or
// none given and no diagnosis on record), a malformed "part", an
// "accessory" that is not bundled with item, or both part and accessory.
func (p *Policy) Entitlements(item Item, history []Event, c Claim) (Entitlement, error) {
	if c.On.IsZero() {
		return Entitlement{}, Errorf(EInvalid, "on", "on (the claim date) is required").Keyed("claim.on_required", nil)
	}
	if c.Finding != "" && !c.Finding.Valid() {
		return Entitlement{}, Errorf(EInvalid, "finding", "unknown finding %q; one of %s", string(c.Finding), findingList()).
			Keyed("event.unknown_finding", Args{"value": string(c.Finding)})
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
			return Entitlement{}, Errorf(EInvalid, "accessory", "%s is not an accessory bundled with %s", strings.TrimSpace(c.Accessory), item.Serial).
				Keyed("claim.not_bundled", Args{"accessory": strings.TrimSpace(c.Accessory), "serial": item.Serial})
		}
		if c.Part != "" {
			return Entitlement{}, Errorf(EInvalid, "part", "part names a part of the product, not of a bundled accessory: pass part or accessory, not both").
				Keyed("claim.part_and_accessory", nil)
		}
	}
	f := facts{noParts: true, noAcc: acc < 0}
	p.derive(&item, history, c.On, c.On, &f)
	e := Entitlement{On: c.On, Reasons: make([]string, 0, 4), DeadlineHours: p.ServiceHours}
	st := f.status()
	if c.Finding == "" {
		if f.open {
			c.Finding = f.cur.finding()
		}
		if c.Finding == "" && st != Retired && st != Void {
			return Entitlement{}, Errorf(EInvalid, "finding", "no diagnosis on record: pass finding").Keyed("claim.no_diagnosis", nil)
		}
	}
	if st == Expired && c.Part != "" {
		// Only past the warranty does a part's own coverage count: most
		// claims skip the parts, and this one folds again with them.
		f = facts{noAcc: acc < 0}
		p.derive(&item, history, c.On, c.On, &f)
	}
	w := &writer{}
	w.b.Grow(256)
	if c.Why {
		w.y = newWhy()
		e.Why = w.y.ybuf[:0:len(w.y.ybuf)]
	}
	r := rules{p: p, f: &f, c: &c, e: &e, item: &item, w: w}
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
	r.finish()
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
	w                    *writer // the reasons
}

// writer holds a claim's reasons, written one after another into one
// buffer: each reason is a slice of its text, so the reasons cost one
// allocation rather than one each. It is kept apart from rules so that
// escape analysis sends only the buffer to the heap, not the facts and the
// entitlement that rules points to.
type writer struct {
	b    strings.Builder
	mark int  // where the reason being written starts
	y    *why // nil unless the claim asks for Why
	kind reasonKind
}

// why holds the kinds and arguments of a claim's reasons: the lists are
// slices of its arrays, so they cost one allocation, and only for a claim
// that asks (a page's, not the API's).
type why struct {
	dates []Date
	nums  []int
	words []string
	terms []string
	marks [4]int // where the reason's dates, nums, words and terms start
	dbuf  [8]Date
	nbuf  [8]int
	wbuf  [6]string
	tbuf  [4]string
	ybuf  [4]Reason // most claims give at most 4 reasons
}

func newWhy() *why {
	y := &why{}
	y.dates, y.nums, y.words, y.terms = y.dbuf[:0], y.nbuf[:0], y.wbuf[:0], y.tbuf[:0]
	return y
}

// A reason starts with its kind (k), is written into r.w piece by piece
// and added by end, where fmt would box every date and number on this
// path, which runs for every claim. The same calls write the English
// sentence (Reasons) and record the kind and its arguments (Why), so the
// two cannot drift apart: d, n, wd and t write a value and record it, s
// writes words only.

func (r *rules) k(k reasonKind) *rules {
	r.w.kind = k
	if y := r.w.y; y != nil {
		y.marks = [4]int{len(y.dates), len(y.nums), len(y.words), len(y.terms)}
	}
	return r
}

func (r *rules) s(parts ...string) *rules {
	for _, p := range parts {
		r.w.b.WriteString(p)
	}
	return r
}

func (r *rules) d(d Date) *rules {
	var buf [10]byte
	r.w.b.Write(d.appendTo(buf[:0]))
	return r.also(d)
}

// also records date d as an argument of the reason without writing it: the
// English sentence leaves out what other languages always say.
func (r *rules) also(d Date) *rules {
	if y := r.w.y; y != nil {
		y.dates = append(y.dates, d)
	}
	return r
}

func (r *rules) n(n int) *rules {
	var buf [20]byte
	r.w.b.Write(strconv.AppendInt(buf[:0], int64(n), 10))
	if y := r.w.y; y != nil {
		y.nums = append(y.nums, n)
	}
	return r
}

// wd writes a value shown as recorded (a serial, a part, a SKU, a batch).
func (r *rules) wd(v string) *rules {
	r.w.b.WriteString(v)
	if y := r.w.y; y != nil {
		y.words = append(y.words, v)
	}
	return r
}

// t writes text for term, a code a page words in its own language (a
// finding, a kind, what is missing).
func (r *rules) t(term, text string) *rules {
	r.w.b.WriteString(text)
	if y := r.w.y; y != nil {
		y.terms = append(y.terms, term)
	}
	return r
}

func (r *rules) end() {
	w := r.w
	text := w.b.String()
	r.e.Reasons = append(r.e.Reasons, text[w.mark:])
	w.mark = len(text)
	if y := w.y; y != nil {
		r.e.Why = append(r.e.Why, Reason{Code: reasonKinds[w.kind].Code,
			Dates: y.dates[y.marks[0]:len(y.dates):len(y.dates)],
			Nums:  y.nums[y.marks[1]:len(y.nums):len(y.nums)],
			Words: y.words[y.marks[2]:len(y.words):len(y.words)],
			Terms: y.terms[y.marks[3]:len(y.terms):len(y.terms)]})
	}
}

// remedySets holds every list of remedies, in the contract's order, indexed
// by return|replace<<1|repair<<2. They are shared: capped at their length,
// so a caller's append copies rather than writes into them.
var remedySets = func() (sets [8][]Remedy) {
	for m := range sets {
		s := []Remedy{}
		for i, r := range []Remedy{Return, Replace, Repair} {
			if m&(1<<i) != 0 {
				s = append(s, r)
			}
		}
		sets[m] = s[:len(s):len(s)]
	}
	return sets
}()

// finish sets Remedies from the flags.
func (r *rules) finish() {
	m := 0
	if r.ret {
		m |= 1
	}
	if r.replace {
		m |= 2
	}
	if r.repair {
		m |= 4
	}
	r.e.Remedies = remedySets[m]
}

func (r *rules) retired() {
	if r.f.retired == EvReplaced {
		r.k(whyReplaced).s("replaced by ").wd(r.f.successor).s(" on ").d(r.f.retiredOn).s(": this serial is retired and belongs to the company; claims go to ", r.f.successor).end()
	} else {
		r.k(whyRefunded).s("returned and refunded on ").d(r.f.retiredOn).s(": this serial is retired and belongs to the company").end()
	}
}

func (r *rules) void() {
	r.k(whyVoid).s("warranty void since ").d(r.f.voidOn).s(" (finding ").t(string(r.f.voidFinding), string(r.f.voidFinding)).s("): no free remedy ever again").end()
	r.paid()
}

// paid offers a paid repair unless nothing is wrong.
func (r *rules) paid() {
	if r.c.Finding == NoFault {
		r.noFault()
		return
	}
	r.e.PaidRepair = true
	r.k(whyPaidRepair).s("paid repair with a quotation offered").end()
}

func (r *rules) excluded(st Status, acc int) {
	r.e.InWarranty = st == Active
	if acc >= 0 {
		r.e.InWarranty = r.accessoryActive(acc)
	}
	k, voids := whyExcluded, ""
	if r.c.Finding.Voids() {
		k, voids = whyExcludedVoids, " and voids the free warranty for good"
	}
	r.k(k).s("finding ").t(string(r.c.Finding), string(r.c.Finding)).s(" is an exclusion", voids, ": no free remedy, not even the ").n(r.p.ReturnDays).s("-day return").end()
	r.paid()
}

// notCovered explains a status without free remedies and offers a paid repair.
func (r *rules) notCovered(until Date) {
	f := r.f
	switch {
	case f.start.IsZero() && r.item.Replaces != "":
		r.k(whyBeforeExchange).s("claim on ").d(r.c.On).s(" is before this replacement unit was exchanged for ").wd(r.item.Replaces).s(": no free remedy").end()
	case f.start.IsZero():
		r.k(whyNoStart).s("no receipt, no direct dispatch and no production date on record: treated as beyond the warranty period, no free remedy").end()
	default:
		r.k(whyWarrantyEnded).s("warranty ended on ").d(until).s(": no free remedy").end()
	}
	r.paid()
}

// unit applies rules 2, 3, 4 and 5 to the item itself.
func (r *rules) unit(st Status) {
	f, c, p := r.f, r.c, r.p
	if st != Active {
		if st == Expired && c.Finding == QualityProblem && c.Part != "" {
			if pc := f.partCovered(c.Part, c.On); pc != nil {
				r.repair = true
				r.k(whyPartCovered).s("part ").wd(pc.Part).s(" fitted on ").d(pc.ReplacedOn).s(" (case ").n(int(pc.Case)).s(") is covered until ").d(pc.CoveredUntil).
					s(": free repair of that part, though the warranty ended on ").d(f.until).end()
				return
			}
			r.k(whyPartNotCovered).s("part ").wd(c.Part).s(" has no coverage on ").d(c.On).end()
		}
		r.notCovered(f.until)
		return
	}
	r.e.InWarranty = true
	switch {
	case f.basis == BasisEstimated:
		r.k(whyEstimated).s("start estimated from the production date ").d(r.item.ProducedOn).s(" + ").n(p.EstimatedStartDays).
			s(" days (no receipt on record): no ").n(p.ReturnDays).s("-day return and no ").n(p.ReplaceDays).s("-day replacement").end()
	case !f.windows:
		r.k(whyReplacementUnit).s("replacement unit for ").wd(r.item.Replaces).s(": its warranty runs from ").d(f.start).
			s(" with no new ").n(p.ReturnDays).s("-day return or ").n(p.ReplaceDays).s("-day replacement").end()
	case !c.On.After(f.returnUntil):
		if c.Intact && c.Complete {
			r.ret = true
			r.dayOf(whyReturn, p.ReturnDays, f.returnUntil).s(", intact and complete: return allowed").end()
		} else {
			r.dayOf(whyNoReturn, p.ReturnDays, f.returnUntil).s(", but not ")
			r.missing(c.Intact, c.Complete).s(": no return").end()
		}
	}
	if c.Finding == NoFault {
		r.noFault()
		return
	}
	if r.item.Kind.Bundleable() {
		r.replace = true
		r.k(whyBundleReplace).t(string(r.item.Kind), string(r.item.Kind)).s(" with a quality problem within its warranty (until ").d(f.until).s("): free replacement").end()
		if n := r.item.Exchanges; n >= p.ReplacementsBeforeRefund {
			r.ret = true
			r.k(whyBundleRefund).n(n).s(" earlier replacements in this line for a quality problem still did not work: return (refund) or another replacement").end()
		}
		return
	}
	if f.windows && !c.On.After(f.replaceUntil) {
		r.replace, r.repair = true, true
		r.dayOf(whyReplaceWindow, p.ReplaceDays, f.replaceUntil).s(", quality problem: replacement or free repair").end()
	} else {
		r.repair = true
		r.k(whyFreeRepair).s("quality problem within the warranty (until ").d(f.until).s("): free repair").end()
	}
	if f.freeRepairs >= p.RepairsBeforeReplacement {
		r.replace = true
		r.k(whyRepairsThenReplace).n(f.freeRepairs).s(" earlier free repairs for quality problems and it still fails: replacement or continued free repair").end()
	}
}

// dayOf starts a reason of kind k (or the kind after it, k's wording for
// a direct dispatch) with the claim's day within an n-day window after the
// receipt (or the direct dispatch standing in for it). The window's last
// day is always an argument; the English sentence names it only when rest
// days extended it.
func (r *rules) dayOf(k reasonKind, n int, until Date) *rules {
	after := " after receipt on "
	if r.f.basis == BasisDispatched {
		k, after = k+1, " after the direct dispatch on "
	}
	r.k(k).s("day ").n(r.f.start.DaysUntil(r.c.On)).s(" of ").n(n).s(after).d(r.f.start)
	if until != r.f.start.AddDays(n) {
		return r.s(" (window extended past rest days to ").d(until).s(")")
	}
	return r.also(until)
}

// missing writes what keeps a return from being allowed.
func (r *rules) missing(intact, complete bool) *rules {
	switch {
	case !intact && !complete:
		return r.t("not_intact_complete", "intact and complete")
	case !intact:
		return r.t("not_intact", "intact")
	default:
		return r.t("not_complete", "complete")
	}
}

func (r *rules) noFault() {
	r.k(whyNoFault).s("no fault found: nothing to repair; the item goes back at no charge").end()
}

// accessoryActive reports whether bundled accessory k is under warranty on
// the claim date (before an estimated start too, like its product).
func (r *rules) accessoryActive(k int) bool {
	ac := &r.f.acc[k]
	started := !r.c.On.Before(ac.Start) || r.f.basis == BasisEstimated
	return !ac.Start.IsZero() && started && !r.c.On.After(ac.WarrantyUntil)
}

// accessory applies rule 4 to bundled accessory k.
func (r *rules) accessory(k int) {
	ac := &r.f.acc[k]
	if !r.accessoryActive(k) {
		switch {
		case ac.Start.IsZero():
			r.notCovered(ac.WarrantyUntil)
		default:
			r.accessoryName(whyAccessoryEnded, k).s(": warranty ended on ").d(ac.WarrantyUntil).s(", no free remedy").end()
			r.paid()
		}
		return
	}
	r.e.InWarranty = true
	if r.c.Finding == NoFault {
		r.accessoryName(whyAccessoryNoFault, k).s(": no fault found, nothing to replace; it goes back at no charge").end()
		return
	}
	r.replace = true
	r.accessoryName(whyAccessoryReplace, k).s(" has a quality problem within its warranty (until ").d(ac.WarrantyUntil).s("): free replacement").end()
	if ac.QualityReplacements >= r.p.ReplacementsBeforeRefund {
		r.ret = true
		r.k(whyAccessoryRefund).n(ac.QualityReplacements).s(" earlier replacements of ").wd(ac.SKU).s(" for a quality problem still did not work: return (refund) or another replacement").end()
	}
}

// accessoryName starts a reason of kind why about bundled accessory k.
func (r *rules) accessoryName(why reasonKind, k int) *rules {
	ac, kind := &r.f.acc[k], string(r.item.Accessories[k].Kind)
	return r.k(why).s("bundled ").t(kind, kind).s(" ").wd(ac.SKU).s(" (batch ").wd(ac.Batch).s(")")
}

func findingList() string {
	s := make([]string, len(Findings))
	for i, f := range Findings {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}
