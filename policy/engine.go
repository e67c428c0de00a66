package policy

import "time"

// Effective returns history with corrections applied: a `corrected` event's
// non-zero fields replace those of event Corrects; corrected events
// themselves are dropped.
func Effective(history []Event) []Event {
	return history
}

// EventDate is the calendar date of ev: On for dated types, else the date of
// At in the policy's time zone.
func (p *Policy) EventDate(ev Event) Date {
	if ev.Type.Dated() {
		return ev.On
	}
	return DateOf(ev.At, p.loc)
}

// Coverage is what item's history says as of date on.
func (p *Policy) Coverage(item Item, history []Event, on Date) Coverage {
	return Coverage{On: on}
}

// Entitlements is what the customer may choose for claim c.
func (p *Policy) Entitlements(item Item, history []Event, c Claim) (Entitlement, error) {
	return Entitlement{On: c.On, Remedies: []Remedy{}, DeadlineHours: p.ServiceHours}, nil
}

// Cases returns every service case, oldest first, with due times as of now.
func (p *Policy) Cases(item Item, history []Event, now time.Time) []Case {
	return nil
}

// OpenCase returns the open service case, or nil when none is open.
func (p *Policy) OpenCase(item Item, history []Event, now time.Time) *Case {
	return nil
}

// Validate returns the normalised event (texts trimmed) or an *Error
// (EInvalid for field rules, EConflict for history rules).
func (p *Policy) Validate(item Item, history []Event, ev Event, c Check) (Event, error) {
	return ev, nil
}

// CheckModel validates and normalises a model: sku ident, name text, kind
// valid, gtin normalised, months 0..120.
func (p *Policy) CheckModel(m Model) (Model, error) {
	return m, nil
}
