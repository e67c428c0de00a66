package policy

// Option is a free remedy open to the customer on a date, before any
// diagnosis: the last day of its window and the days left until then.
type Option struct {
	Remedy   Remedy
	Until    Date
	DaysLeft int // 0 on the last day
}

// Options is what the customer of item may ask for on date on, before any
// diagnosis (the public page's "what may I do today"): each free remedy
// whose window is open that day, in the contract's order. Return while the
// 7-day window runs (a receipt or a direct dispatch; never for a replacement
// unit or an estimated start); for a product, replacement while the 15-day
// window runs and repair within the warranty; for an accessory or adapter,
// replacement within its warranty. Nothing while the status is anything but
// active (not started, expired, void, retired). Whether the item is intact
// and complete, and what is wrong with it, is for the service centre to
// find: Entitlements answers a claim. Never nil.
func (p *Policy) Options(item Item, history []Event, on Date) []Option {
	f := facts{noParts: true, noAcc: true}
	p.derive(&item, history, on, on, &f)
	out := []Option{}
	if f.status() != Active {
		return out
	}
	add := func(r Remedy, until Date) {
		if !on.After(until) {
			out = append(out, Option{Remedy: r, Until: until, DaysLeft: on.DaysUntil(until)})
		}
	}
	if f.windows {
		add(Return, f.returnUntil)
	}
	if item.Kind.Bundleable() {
		add(Replace, f.until)
		return out
	}
	if f.windows {
		add(Replace, f.replaceUntil)
	}
	add(Repair, f.until)
	return out
}

// Refusal says why a customer may not confirm their receipt of a unit.
type Refusal string

// Why a customer confirmation is refused (policy.md "Customer confirmation").
const (
	RefusedRetired     Refusal = "retired"     // replaced or returned: the serial belongs to the company
	RefusedVoid        Refusal = "void"        // tampering or an unauthorised repair was found
	RefusedReplacement Refusal = "replacement" // a replacement unit: its dates come from the exchange
	RefusedReceived    Refusal = "received"    // a receipt is on record (once per serial)
	RefusedCase        Refusal = "case_opened" // a service case has been opened
	RefusedNoDate      Refusal = "no_date"     // no date meets every bound: the direct dispatch is too long ago
)

// Confirmation is whether the holder of a unit's certificate may confirm
// its receipt on a date, and with which dates: From to To, inclusive, when
// Refused is "".
type Confirmation struct {
	From, To Date
	Refused  Refusal
}

// ConfirmRange is when the customer may say they received item, asked on
// today (policy.md "Customer confirmation"): a date D with D ≤ today,
// D ≥ today − confirm_within_days, D ≥ the dispatch date (or the production
// date when nothing was dispatched), and for a direct dispatch
// D ≤ dispatch + confirm_within_days. Once per serial: refused when any
// receipt is on record, on a retired, void or replacement unit, and once a
// service case has been opened. Only events dated on or before today count.
func (p *Policy) ConfirmRange(item Item, history []Event, today Date) Confirmation {
	f := facts{noParts: true, noAcc: true}
	p.derive(&item, history, today, today, &f)
	var no Refusal
	switch {
	case f.retired != "":
		no = RefusedRetired
	case !f.voidOn.IsZero():
		no = RefusedVoid
	case item.Replaces != "":
		no = RefusedReplacement
	case !f.receivedOn.IsZero():
		no = RefusedReceived
	case f.cur.intake != nil: // cur holds the latest case, open or closed
		no = RefusedCase
	}
	if no != "" {
		return Confirmation{Refused: no}
	}
	from, to := today.AddDays(-p.ConfirmWithinDays), today
	earliest := item.ProducedOn
	if !f.dispatchedOn.IsZero() {
		earliest = f.dispatchedOn
		if f.channel != Reseller {
			to = minDate(to, f.dispatchedOn.AddDays(p.ConfirmWithinDays))
		}
	}
	if earliest.After(from) {
		from = earliest
	}
	if from.After(to) {
		return Confirmation{Refused: RefusedNoDate}
	}
	return Confirmation{From: from, To: to}
}

func minDate(a, b Date) Date {
	if b.Before(a) {
		return b
	}
	return a
}

// CheckConfirmation checks a customer's confirmation, made on today, that
// they received item on date on (what the public page records as a
// `received` event with evidence customer). It returns *Error EConflict
// naming the rule when ConfirmRange refuses any confirmation, and *Error
// EInvalid for field "on" naming the allowed range when on is missing or
// outside it.
func (p *Policy) CheckConfirmation(item Item, history []Event, on, today Date) error {
	c := p.ConfirmRange(item, history, today)
	switch c.Refused {
	case "":
	case RefusedRetired:
		return Errorf(EConflict, "", "%s is retired (replaced or returned): it belongs to the company, no receipt can be confirmed", item.Serial).
			Keyed("receipt.retired", Args{"serial": item.Serial})
	case RefusedVoid:
		return Errorf(EConflict, "", "%s has a void warranty: no receipt can be confirmed", item.Serial).Keyed("receipt.void", Args{"serial": item.Serial})
	case RefusedReplacement:
		return Errorf(EConflict, "", "%s is a replacement unit: its warranty runs from the exchange, a customer cannot confirm its receipt", item.Serial).
			Keyed("receipt.replacement", Args{"serial": item.Serial})
	case RefusedReceived:
		return Errorf(EConflict, "", "%s already has a receipt on record: a customer confirms receipt once, and never over a receipt on record", item.Serial).
			Keyed("receipt.on_record", Args{"serial": item.Serial})
	case RefusedCase:
		return Errorf(EConflict, "", "%s has been in service: a customer cannot confirm receipt once a service case was opened", item.Serial).
			Keyed("receipt.in_service", Args{"serial": item.Serial})
	default:
		return Errorf(EConflict, "", "no date can be confirmed for %s today: a receipt confirmed by the customer must lie within %d days before today, on or after the dispatch (or production) date and, after a direct dispatch, within %d days of it",
			item.Serial, p.ConfirmWithinDays, p.ConfirmWithinDays).Keyed("receipt.no_date", Args{"serial": item.Serial, "days": p.ConfirmWithinDays})
	}
	switch {
	case on.IsZero():
		return Errorf(EInvalid, "on", "on (the date you received it) is required: from %s to %s", c.From, c.To).
			Keyed("receipt.on_required", Args{"from": c.From, "to": c.To})
	case on.Before(c.From) || on.After(c.To):
		return Errorf(EInvalid, "on", "on %s is outside the dates a receipt may be confirmed for: from %s to %s", on, c.From, c.To).
			Keyed("receipt.out_of_range", Args{"on": on, "from": c.From, "to": c.To})
	}
	return nil
}
