package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of event fields.
const (
	MaxNote      = 2000 // note, complaint, reason
	MaxCenter    = 100
	MaxContact   = 200
	MaxTracking  = 64
	MaxPartName  = 64
	MaxParts     = 50
	MaxModelName = 200
	// FutureSlack is how far an instant may lie ahead of the caller's clock
	// (devices at a service desk are not perfectly in sync).
	FutureSlack = 5 * time.Minute
)

// Validate checks event ev for item against its history (corrections
// applied) and returns it normalised: texts and identifiers trimmed, the
// currency upper-cased and defaulted to CNY when an amount is given.
// c.Now is the current instant (a zero Now skips the checks for dates in the
// future); for `replaced`, c.Replacement is the new serial's item (nil when
// not registered) and c.ReplacementHistory its history.
//
// It returns *Error EInvalid, naming the field, for a bad value: an unknown
// type, a missing or misplaced field, a malformed value, a date in the
// future, a receipt before the recorded dispatch, an accessory SKU not
// bundled with item, a correction whose target is missing or itself a
// correction ("seq"), an unregistered replacement serial ("new_serial"), a
// channel other than direct or reseller ("channel"), and with c.Customer
// anything but a customer's receipt ("evidence") or a date outside
// ConfirmRange ("on", naming the range; see CheckConfirmation).
// It returns *Error EConflict when the history forbids the event: a second
// dispatch, a receipt whose evidence is not stronger than the one on record
// (courier > invoice > customer: a stronger one supersedes it), a dispatch after the receipt, anything but a
// correction on a retired serial, a service step with no open case, an
// intake while a case is open, pausing a paused case or resuming a running
// one, a payment without a quotation, a replacement serial of another SKU,
// already dispatched, received, retired or itself a replacement; with
// c.Customer, whatever ConfirmRange refuses. A
// correction is refused with the code of the first rule the corrected
// history would break.
func (p *Policy) Validate(item Item, history []Event, ev Event, c Check) (Event, error) {
	if ev.Type == EvCorrected {
		return p.validateCorrection(&item, history, ev, &c)
	}
	spec, ok := eventFields[ev.Type]
	if !ok {
		if ev.Type == "" {
			return ev, Errorf(EInvalid, "type", "type is required; one of %s", typeList())
		}
		return ev, Errorf(EInvalid, "type", "unknown event type %q; one of %s", string(ev.Type), typeList())
	}
	if len(ev.Fields) > 0 {
		return ev, Errorf(EInvalid, "fields", "fields belongs to corrected events only")
	}
	if ev.Corrects != 0 {
		return ev, Errorf(EInvalid, "corrects", "corrects belongs to corrected events only")
	}
	if extra := given(&ev) &^ spec.allowed; extra != 0 {
		return ev, Errorf(EInvalid, extra.first(), "%s is not a field of %s events", extra.first(), ev.Type)
	}
	if err := p.checkFields(&item, &ev, spec.required, c.Now); err != nil {
		return ev, err
	}
	if c.Customer {
		if ev.Type != EvReceived || ev.Evidence != Customer {
			return ev, Errorf(EInvalid, "evidence", "a customer confirms only their own receipt: a received event with evidence customer")
		}
		if err := p.CheckConfirmation(item, history, ev.On, p.Today(c.Now)); err != nil {
			return ev, err
		}
	}
	var h hist
	for _, e := range Effective(history) {
		h.apply(&e)
	}
	if err := p.checkStep(&item, &h, &ev, &c); err != nil {
		return ev, err
	}
	return ev, nil
}

// checkFields normalises the fields of ev in place and checks their values
// and that the required ones are there.
func (p *Policy) checkFields(item *Item, ev *Event, required field, now time.Time) error {
	var err error
	// text checks an optional free-text field by rule (Text or Line).
	text := func(rule func(field, s string, max int, required bool) (string, error), s *string, name string, max int) {
		if err == nil && *s != "" {
			*s, err = rule(name, *s, max, false)
		}
	}
	ident := func(s *string, name string) {
		if err == nil && *s != "" {
			*s, err = Ident(name, *s)
		}
	}
	text(Text, &ev.Note, "note", MaxNote)
	text(Text, &ev.Complaint, "complaint", MaxNote)
	text(Text, &ev.Reason, "reason", MaxNote)
	text(Line, &ev.Center, "center", MaxCenter)
	text(Line, &ev.Contact, "contact", MaxContact)
	text(Line, &ev.Tracking, "tracking", MaxTracking)
	ident(&ev.Order, "order")
	ident(&ev.NewSerial, "new_serial")
	ident(&ev.SKU, "sku")
	ident(&ev.NewBatch, "new_batch")
	if err != nil {
		return err
	}
	if ev.Channel != "" {
		if ev.Channel = Channel(strings.TrimSpace(string(ev.Channel))); !ev.Channel.Valid() {
			return Errorf(EInvalid, "channel", "channel must be direct (to the customer, the default) or reseller, not %q", string(ev.Channel))
		}
	}
	if ev.Evidence != "" && !ev.Evidence.Valid() {
		return Errorf(EInvalid, "evidence", "evidence must be courier, invoice or customer, not %q", string(ev.Evidence)).
			Keyed("event.bad_evidence", Args{"value": string(ev.Evidence)})
	}
	if ev.Finding != "" && !ev.Finding.Valid() {
		return Errorf(EInvalid, "finding", "unknown finding %q; one of %s", string(ev.Finding), findingList()).
			Keyed("event.unknown_finding", Args{"value": string(ev.Finding)})
	}
	if ev.Part != "" {
		if ev.Part, err = partName("part", ev.Part); err != nil {
			return err
		}
	}
	if len(ev.Parts) > 0 {
		if ev.Parts, err = partNames(ev.Parts); err != nil {
			return err
		}
	}
	if ev.Amount != "" {
		if ev.Amount, err = amount("amount", ev.Amount); err != nil {
			return err
		}
	}
	if ev.Currency, err = currency(ev.Currency, ev.Amount); err != nil {
		return err
	}
	if missing := required &^ given(ev); missing != 0 {
		return Errorf(EInvalid, missing.first(), "%s is required for %s events", missing.first(), ev.Type).
			Keyed("event.required", Args{"field": Field(missing.first()), "type": ev.Type})
	}
	if !ev.On.IsZero() {
		var today Date
		if !now.IsZero() {
			today = p.Today(now)
		}
		if err := CheckDay("on", ev.On, today, p.TimeZone); err != nil {
			return err
		}
	}
	if !ev.At.IsZero() {
		if err := CheckInstant("at", ev.At, p.loc); err != nil {
			return err
		}
	}
	if !now.IsZero() {
		if ev.At.After(now.Add(FutureSlack)) {
			return Errorf(EInvalid, "at", "at %s is in the future (now is %s)", ev.At.Format(time.RFC3339), now.In(p.loc).Format(time.RFC3339)).
				Keyed("event.at_future", Args{"at": ev.At.In(p.loc), "now": now.In(p.loc)})
		}
	}
	if (ev.Type == EvDispatched || ev.Type == EvReceived) && ev.On.Before(item.ProducedOn) {
		return Errorf(EInvalid, "on", "%s on %s is before the production date %s", ev.Type, ev.On, item.ProducedOn).
			Keyed("event.before_production", Args{"type": ev.Type, "on": ev.On, "produced": item.ProducedOn})
	}
	if ev.Type == EvAccessoryReplaced && accessoryIndex(item, ev.SKU) < 0 {
		return Errorf(EInvalid, "sku", "%s is not an accessory bundled with %s", ev.SKU, item.Serial).
			Keyed("event.not_bundled", Args{"sku": ev.SKU, "serial": item.Serial})
	}
	return nil
}

// hist is what the history rules need to know of the past.
type hist struct {
	dispatchedOn, receivedOn Date
	dispatched, received     bool
	evidence                 Evidence // of the receipt that counts, the strongest
	retired                  EventType
	retiredBy                string
	open                     bool
	caseID                   uint64
	caseAt                   time.Time // latest instant of the open case
	paused, quoted, paid     bool
}

// apply folds ev into h, ignoring what the rules would have refused.
func (h *hist) apply(ev *Event) {
	switch ev.Type {
	case EvDispatched:
		if !h.dispatched {
			h.dispatched, h.dispatchedOn = true, ev.On
		}
	case EvReceived:
		if !h.received || ev.Evidence.Supersedes(h.evidence) {
			h.received, h.receivedOn, h.evidence = true, ev.On, ev.Evidence
		}
	case EvIntake:
		if !h.open {
			*h = hist{dispatchedOn: h.dispatchedOn, receivedOn: h.receivedOn, dispatched: h.dispatched, received: h.received,
				evidence: h.evidence, retired: h.retired, retiredBy: h.retiredBy, open: true, caseID: ev.Seq, caseAt: ev.At}
		}
	case EvAccessoryReplaced:
		if h.open && ev.At.After(h.caseAt) {
			h.caseAt = ev.At
		}
	}
	if !h.open || !codeOf(ev.Type).serviceStep() {
		return
	}
	if ev.At.After(h.caseAt) {
		h.caseAt = ev.At
	}
	switch ev.Type {
	case EvPaused:
		h.paused = true
	case EvResumed:
		h.paused = false
	case EvQuoted:
		h.quoted = true
	case EvPaid:
		h.paid = true
	case EvShipped, EvReplaced, EvReturned:
		h.open, h.paused = false, false
		if ev.Type != EvShipped && h.retired == "" {
			h.retired, h.retiredBy = ev.Type, ev.NewSerial
		}
	}
}

// checkStep applies the history rules to ev. c is nil when a corrected
// history is replayed: the replacement serial was checked when recorded.
func (p *Policy) checkStep(item *Item, h *hist, ev *Event, c *Check) error {
	if h.retired == EvReplaced {
		return Errorf(EConflict, "", "%s is retired (replaced by %s): only corrections may be recorded", item.Serial, h.retiredBy).
			Keyed("event.retired_replaced", Args{"serial": item.Serial, "by": h.retiredBy})
	}
	if h.retired == EvReturned {
		return Errorf(EConflict, "", "%s is retired (returned and refunded): only corrections may be recorded", item.Serial).
			Keyed("event.retired_returned", Args{"serial": item.Serial})
	}
	switch ev.Type {
	case EvDispatched:
		if h.received {
			return Errorf(EConflict, "on", "%s was already received on %s: a dispatch cannot follow the receipt", item.Serial, h.receivedOn).
				Keyed("event.received_before_dispatch", Args{"serial": item.Serial, "received": h.receivedOn})
		}
		if h.dispatched {
			return Errorf(EConflict, "on", "%s was already dispatched on %s: a second dispatch is not allowed (fix a mistake with corrected)", item.Serial, h.dispatchedOn).
				Keyed("event.already_dispatched", Args{"serial": item.Serial, "on": h.dispatchedOn})
		}
		return p.afterExchange(item, ev)
	case EvReceived:
		if h.received && !ev.Evidence.Supersedes(h.evidence) {
			return Errorf(EConflict, "evidence", "%s was already received on %s (evidence %s): a second receipt by %s does not supersede it, only stronger evidence does (courier > invoice > customer); resale never restarts the warranty (record transferred, or fix a mistake with corrected)",
				item.Serial, h.receivedOn, h.evidence, ev.Evidence).
				Keyed("event.already_received", Args{"serial": item.Serial, "received": h.receivedOn, "evidence": h.evidence, "new": ev.Evidence})
		}
		if h.dispatched && ev.On.Before(h.dispatchedOn) {
			return Errorf(EInvalid, "on", "received on %s is before the dispatch on %s", ev.On, h.dispatchedOn).
				Keyed("event.received_before_dispatched", Args{"on": ev.On, "dispatched": h.dispatchedOn})
		}
		return p.afterExchange(item, ev)
	case EvTransferred:
		if h.received && ev.On.Before(h.receivedOn) {
			return Errorf(EInvalid, "on", "transferred on %s is before the receipt on %s", ev.On, h.receivedOn).
				Keyed("event.transferred_before_receipt", Args{"on": ev.On, "received": h.receivedOn})
		}
	case EvIntake:
		if h.open {
			return Errorf(EConflict, "", "case %d is still open: ship, replace or return the unit before a new intake", h.caseID).
				Keyed("case.still_open", Args{"serial": item.Serial, "case": h.caseID})
		}
	case EvAccessoryReplaced:
		if h.open && ev.At.Before(h.caseAt) {
			return Errorf(EInvalid, "at", "at %s is before the previous step of case %d (%s)", ev.At.Format(time.RFC3339), h.caseID, h.caseAt.Format(time.RFC3339)).
				Keyed("case.at_before_step", Args{"serial": item.Serial, "case": h.caseID, "at": ev.At.In(p.loc), "step": h.caseAt.In(p.loc)})
		}
	default:
		return p.checkService(item, h, ev, c)
	}
	return nil
}

// afterExchange refuses a replacement unit's dispatch or receipt dated before its exchange.
func (p *Policy) afterExchange(item *Item, ev *Event) error {
	if item.Replaces != "" && ev.On.Before(item.ExchangedOn) {
		return Errorf(EInvalid, "on", "%s on %s is before this unit's exchange for %s on %s", ev.Type, ev.On, item.Replaces, item.ExchangedOn).
			Keyed("event.before_exchange", Args{"type": ev.Type, "on": ev.On, "replaces": item.Replaces, "exchanged": item.ExchangedOn})
	}
	return nil
}

// checkService applies the rules of a service step within the open case.
func (p *Policy) checkService(item *Item, h *hist, ev *Event, c *Check) error {
	if !h.open {
		return Errorf(EConflict, "", "no open service case for %s: record an intake before %s", item.Serial, ev.Type).
			Keyed("case.none_open", Args{"serial": item.Serial, "type": ev.Type})
	}
	if ev.At.Before(h.caseAt) {
		return Errorf(EInvalid, "at", "at %s is before the previous step of case %d (%s)", ev.At.Format(time.RFC3339), h.caseID, h.caseAt.Format(time.RFC3339)).
			Keyed("case.at_before_step", Args{"serial": item.Serial, "case": h.caseID, "at": ev.At.In(p.loc), "step": h.caseAt.In(p.loc)})
	}
	switch ev.Type {
	case EvPaused:
		if h.paused {
			return Errorf(EConflict, "", "case %d is already paused", h.caseID).Keyed("case.already_paused", Args{"serial": item.Serial, "case": h.caseID})
		}
	case EvResumed:
		if !h.paused {
			return Errorf(EConflict, "", "case %d is not paused: nothing to resume", h.caseID).
				Keyed("case.not_paused", Args{"serial": item.Serial, "case": h.caseID})
		}
	case EvQuoted:
		if h.paid {
			return Errorf(EConflict, "", "case %d is already paid: no new quotation", h.caseID).
				Keyed("case.paid_no_quote", Args{"serial": item.Serial, "case": h.caseID})
		}
	case EvPaid, EvDeclined:
		if !h.quoted {
			return Errorf(EConflict, "", "case %d has no quotation: record quoted before %s", h.caseID, ev.Type).
				Keyed("case.no_quotation", Args{"serial": item.Serial, "case": h.caseID, "type": ev.Type})
		}
		if h.paid {
			return Errorf(EConflict, "", "case %d is already paid", h.caseID).Keyed("case.already_paid", Args{"serial": item.Serial, "case": h.caseID})
		}
	case EvReplaced:
		if c != nil {
			return checkReplacement(item, ev, c)
		}
	}
	return nil
}

// checkReplacement checks the new serial of a `replaced` event.
func checkReplacement(item *Item, ev *Event, c *Check) error {
	r := c.Replacement
	if ev.NewSerial == item.Serial {
		return Errorf(EConflict, "new_serial", "%s cannot replace itself", item.Serial).Keyed("replace.itself", Args{"serial": item.Serial})
	}
	if r == nil {
		return Errorf(EInvalid, "new_serial", "%s is not registered: register the replacement unit first", ev.NewSerial).
			Keyed("replace.not_registered", Args{"new": ev.NewSerial})
	}
	if r.SKU != item.SKU {
		return Errorf(EConflict, "new_serial", "%s is model %s, not %s: a replacement must be the same model and specification", r.Serial, r.SKU, item.SKU).
			Keyed("replace.other_model", Args{"new": r.Serial, "sku": r.SKU, "want": item.SKU})
	}
	if r.Replaces != "" {
		return Errorf(EConflict, "new_serial", "%s already replaces %s", r.Serial, r.Replaces).
			Keyed("replace.already_replaces", Args{"new": r.Serial, "old": r.Replaces})
	}
	for _, e := range Effective(c.ReplacementHistory) {
		switch e.Type {
		case EvDispatched, EvReceived:
			return Errorf(EConflict, "new_serial", "%s was already %s on %s: a replacement must come from stock", r.Serial, e.Type, e.On).
				Keyed("replace.not_in_stock", Args{"new": r.Serial, "type": e.Type, "on": e.On})
		case EvReplaced, EvReturned:
			return Errorf(EConflict, "new_serial", "%s is retired (%s)", r.Serial, e.Type).Keyed("replace.retired", Args{"new": r.Serial, "type": e.Type})
		}
	}
	return nil
}

// validateCorrection checks a `corrected` event: its target, the fields it
// replaces, and that the corrected history still keeps every rule.
func (p *Policy) validateCorrection(item *Item, history []Event, ev Event, c *Check) (Event, error) {
	var err error
	if ev.Corrects == 0 {
		return ev, Errorf(EInvalid, "seq", "seq (the event to correct) is required").Keyed("correction.seq_required", nil)
	}
	if ev.Reason, err = Text("reason", ev.Reason, MaxNote, true); err != nil {
		return ev, err
	}
	raw := findSeq(history, ev.Corrects)
	if raw < 0 {
		return ev, Errorf(EInvalid, "seq", "%s has no event %d to correct", item.Serial, ev.Corrects).
			Keyed("correction.no_event", Args{"serial": item.Serial, "seq": ev.Corrects})
	}
	if history[raw].Type == EvCorrected {
		return ev, Errorf(EInvalid, "seq", "event %d is itself a correction: correct the original event", ev.Corrects).
			Keyed("correction.of_correction", Args{"seq": ev.Corrects})
	}
	eff := Effective(history)
	target := eff[findSeq(eff, ev.Corrects)]
	spec := eventFields[target.Type]

	m := given(&ev) &^ fReason
	if len(ev.Fields) > 0 {
		var listed field
		names := make([]string, 0, len(ev.Fields))
		for _, name := range ev.Fields {
			name = strings.TrimSpace(name)
			f := fieldByName(name)
			if f == 0 {
				return ev, Errorf(EInvalid, "fields", "%q is not an event field", name)
			}
			if listed&f == 0 {
				names = append(names, name)
			}
			listed |= f
		}
		if extra := m &^ listed; extra != 0 {
			return ev, Errorf(EInvalid, extra.first(), "%s is given but not listed in fields", extra.first())
		}
		ev.Fields, m = names, listed
	}
	if m == 0 {
		return ev, Errorf(EInvalid, "seq", "a correction of event %d must give at least one field to replace", ev.Corrects).
			Keyed("correction.no_field", Args{"seq": ev.Corrects})
	}
	if m&fNewSerial != 0 {
		return ev, Errorf(EInvalid, "new_serial", "the serial of a replacement unit cannot be corrected").Keyed("correction.new_serial", nil)
	}
	if m&fReason != 0 {
		return ev, Errorf(EInvalid, "reason", "reason is the correction's own; the reason of event %d cannot be corrected", ev.Corrects).
			Keyed("correction.reason", Args{"seq": ev.Corrects})
	}
	if extra := m &^ spec.allowed; extra != 0 {
		return ev, Errorf(EInvalid, extra.first(), "%s is not a field of %s events (event %d)", extra.first(), target.Type, ev.Corrects).
			Keyed("correction.not_field", Args{"field": Field(extra.first()), "type": target.Type, "seq": ev.Corrects})
	}
	merged := target
	copyFields(&merged, &ev, m)
	if err := p.checkFields(item, &merged, spec.required, c.Now); err != nil {
		return ev, err
	}
	copyFields(&ev, &merged, m)

	corrected := Effective(append(slices.Clip(history), ev))
	var h hist
	for i := range corrected {
		if err := p.checkStep(item, &h, &corrected[i], nil); err != nil {
			e := err.(*Error)
			return ev, (&Error{Code: e.Code, Field: e.Field, Message: fmt.Sprintf("the correction of event %d would break the history: %s", ev.Corrects, e.Message)}).
				Keyed("correction.breaks", Args{"seq": ev.Corrects, "problem": e})
		}
		h.apply(&corrected[i])
	}
	return ev, nil
}

// partName checks a part name: 1–64 letters, digits, spaces and - . _ /.
func partName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(EInvalid, field, "%s: a part name is required", field).Keyed("part.required", Args{"field": Field(field)})
	}
	// One pass (every claim on a part checks its name): invalid UTF-8 is
	// reported first, then the length, then the first character not allowed.
	n, bad := 0, rune(-1)
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return "", Errorf(EInvalid, field, "%s is not valid UTF-8", field)
			}
		}
		n++
		if bad < 0 && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" -._/", r) {
			bad = r
		}
	}
	if n > MaxPartName {
		return "", Errorf(EInvalid, field, "%s: part name %q is %d characters long; at most %d are allowed", field, s, n, MaxPartName).
			Keyed("part.too_long", Args{"field": Field(field), "name": s, "max": MaxPartName})
	}
	if bad >= 0 {
		return "", Errorf(EInvalid, field, "%s: part name %q may hold only letters, digits, spaces and - . _ / (found %q)", field, s, bad).
			Keyed("part.bad_char", Args{"field": Field(field), "name": s, "found": bad})
	}
	return s, nil
}

func partNames(parts []string) ([]string, error) {
	if len(parts) > MaxParts {
		return nil, Errorf(EInvalid, "parts", "parts lists %d parts; at most %d are allowed", len(parts), MaxParts).
			Keyed("parts.too_many", Args{"count": len(parts), "max": MaxParts})
	}
	out := make([]string, len(parts))
	for i, s := range parts {
		v, err := partName("parts", s)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out[:i], v) {
			return nil, Errorf(EInvalid, "parts", "parts lists %q twice", v).Keyed("parts.twice", Args{"name": v})
		}
		out[i] = v
	}
	return out, nil
}

// amount checks a positive decimal with at most two decimals and drops
// leading zeros ("007.50" -> "7.50").
func amount(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	whole, frac, dot := strings.Cut(s, ".")
	bad := whole == "" || len(whole) > 12 || dot && (frac == "" || len(frac) > 2) || !digits(whole) || !digits(frac)
	if bad {
		return "", Errorf(EInvalid, field, "%s must be a positive decimal with at most 2 decimals, such as 120.50 (not %q)", field, s).
			Keyed("amount.form", Args{"field": Field(field), "value": s})
	}
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	if whole == "0" && strings.Trim(frac, "0") == "" {
		return "", Errorf(EInvalid, field, "%s must be more than zero", field).Keyed("amount.zero", Args{"field": Field(field)})
	}
	if dot {
		return whole + "." + frac, nil
	}
	return whole, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// DefaultCurrency is assumed for an amount given without a currency.
const DefaultCurrency = "CNY"

// currency upper-cases an ISO 4217 code and defaults it when an amount is given.
func currency(s, amount string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		if amount != "" {
			return DefaultCurrency, nil
		}
		return "", nil
	}
	if amount == "" {
		return "", Errorf(EInvalid, "currency", "currency is given without an amount").Keyed("currency.no_amount", nil)
	}
	if len(s) != 3 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' || s[2] < 'A' || s[2] > 'Z' {
		return "", Errorf(EInvalid, "currency", "currency must be a three-letter ISO 4217 code such as CNY, not %q", s).Keyed("currency.form", Args{"value": s})
	}
	return s, nil
}

func typeList() string {
	s := make([]string, len(EventTypes))
	for i, t := range EventTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// CheckModel validates and normalises a model: the SKU is an identifier, the
// name a required text of at most 200 characters (name_en optional, as
// long), the kind one of product,
// accessory or adapter, the GTIN (optional) check-digit verified and padded
// to 14 digits, and warranty_months 0 (the policy's period) to 120. Errors
// are *Error EInvalid naming the field.
func (p *Policy) CheckModel(m Model) (Model, error) {
	var err error
	if m.SKU, err = Ident("sku", m.SKU); err != nil {
		return m, err
	}
	if m.Name, err = Line("name", m.Name, MaxModelName, true); err != nil {
		return m, err
	}
	if m.NameEN, err = Text("name_en", m.NameEN, MaxModelName, false); err != nil {
		return m, err
	}
	m.Kind = Kind(strings.TrimSpace(string(m.Kind)))
	if m.Kind == "" {
		return m, Errorf(EInvalid, "kind", "kind is required: product, accessory or adapter").Keyed("model.kind_required", nil)
	}
	if !m.Kind.Valid() {
		return m, Errorf(EInvalid, "kind", "kind must be product, accessory or adapter, not %q", string(m.Kind)).
			Keyed("model.kind_bad", Args{"value": string(m.Kind)})
	}
	if strings.TrimSpace(m.GTIN) != "" {
		if m.GTIN, err = GTIN(m.GTIN); err != nil {
			return m, err
		}
	} else {
		m.GTIN = ""
	}
	if m.WarrantyMonths < 0 || m.WarrantyMonths > maxWarrantyMonths {
		return m, Errorf(EInvalid, "warranty_months", "warranty_months must be between 1 and %d (or left out for the policy's %d), not %d", maxWarrantyMonths, p.Months(m.Kind), m.WarrantyMonths).
			Keyed("model.months_range", Args{"max": maxWarrantyMonths, "default": p.Months(m.Kind), "value": m.WarrantyMonths})
	}
	return m, nil
}
