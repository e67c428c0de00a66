package registry

import (
	"fmt"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// The rules every store applies the same way, whatever it keeps its data
// in: how an event is validated and stamped, what it derives on an item,
// what the audit log says. Stores do the I/O around them; a rule copied
// into each store would drift.

// Derived are an item's fields that follow from its history, kept by the
// stores for their indexes (orders, the service queue, batch carriers).
type Derived struct {
	State        policy.State
	DispatchedOn policy.Date
	Order        string // the order of the effective dispatch
	ReceivedOn   policy.Date
	Evidence     policy.Evidence
	SupersededBy string
	OpenCase     uint64 // id of the open service case, 0 when none
	// Carried are the batches of the bundled accessories on record, each
	// of which the item carries (entries are never removed from a batch:
	// a recall still finds a product whose accessory was exchanged).
	Carried []string
}

// Derive computes it's derived fields from its history as of now.
func Derive(p *policy.Policy, it policy.Item, hist []policy.Event, now time.Time) Derived {
	cov := p.Coverage(it, hist, p.Today(now))
	d := Derived{State: cov.State, DispatchedOn: cov.DispatchedOn, Order: cov.Order, ReceivedOn: cov.ReceivedOn,
		Evidence: cov.Evidence, SupersededBy: cov.SupersededBy}
	if c := p.OpenCase(it, hist, now); c != nil {
		d.OpenCase = c.ID
	}
	for _, acc := range cov.Accessories {
		if acc.Batch != "" {
			d.Carried = append(d.Carried, acc.Batch)
		}
	}
	return d
}

// Target is an item an event is appended to, as a store read it inside
// its write transaction.
type Target struct {
	Item    policy.Item
	Seq     uint64 // seq of its last event, 0 when none
	History []policy.Event
}

// Stamp validates ev against the item t (policy.Validate; repl is the
// replacement unit a `replaced` event names, nil when it is not
// registered; customer: the customer's own confirmation from the public
// page, policy.Check.Customer) and returns it as stored: seq, By, KeyID and
// RecordedAt set.
// Errors: those of policy.Validate; EInvalid when a replacement unit is
// not registered.
func Stamp(p *policy.Policy, a Actor, t Target, ev policy.Event, repl *Target, now time.Time, customer bool) (policy.Event, error) {
	check := policy.Check{Now: now, Customer: customer}
	if repl != nil {
		check.Replacement, check.ReplacementHistory = &repl.Item, repl.History
	}
	nev, err := p.Validate(t.Item, t.History, ev, check)
	if err != nil {
		return policy.Event{}, err
	}
	if nev.Type == policy.EvReplaced && (repl == nil || nev.NewSerial != repl.Item.Serial) {
		return policy.Event{}, policy.Errorf(policy.EInvalid, "new_serial", "%s is not registered: register the replacement unit first", nev.NewSerial).
			Keyed("replace.not_registered", policy.Args{"new": nev.NewSerial})
	}
	nev.Seq = t.Seq + 1
	nev.By, nev.KeyID, nev.RecordedAt = a.Name, a.KeyID, Instant(now)
	return nev, nil
}

// ReplacementOf sets on repl, the new unit of a `replaced` event nev
// appended to old (whose history hist ends with nev), what it inherits:
// the serial it replaces, the exchange date and the count of quality
// exchanges (policy.SuccessorExchanges).
func ReplacementOf(p *policy.Policy, repl *policy.Item, old policy.Item, hist []policy.Event, nev policy.Event) {
	repl.Replaces, repl.ExchangedOn, repl.Exchanges = old.Serial, p.EventDate(nev), p.SuccessorExchanges(old, hist)
}

// NewBatchCarried is the batch an event adds to the item's carried
// batches itself, "" when none: an accessory exchange back-filled behind a
// later one never becomes the batch on record, which Derive reports, but a
// recall of its batch must still find the product.
func NewBatchCarried(ev policy.Event) string {
	if ev.Type == policy.EvAccessoryReplaced {
		return ev.NewBatch
	}
	return ""
}

// Instant is a time as every store keeps it: UTC, to the microsecond
// (PostgreSQL's resolution), so an answer reads the same from either store
// and before and after a round trip.
func Instant(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// CheckWrite checks a write's Idempotency-Key (length, visible ASCII) and
// that an Answer is given with it. Errors: EInvalid naming the
// Idempotency-Key; a plain error for a missing Answer (a bug).
func CheckWrite(w Write) error { return checkWrite(w) }

// ReceiptArgs checks ReceiveOrder's arguments and returns the order
// trimmed. Errors: EInvalid naming order, on or evidence.
func ReceiptArgs(order string, on policy.Date, ev policy.Evidence) (string, error) {
	order, err := policy.Ident("order", order)
	if err != nil {
		return "", err
	}
	// Checked once here rather than refused on every serial of the order.
	if on.IsZero() {
		return "", policy.Errorf(policy.EInvalid, "on", "on (the date of receipt) is required").Keyed("order.on_required", nil)
	}
	if !ev.Valid() {
		return "", policy.Errorf(policy.EInvalid, "evidence", "evidence must be courier, invoice or customer, not %q", string(ev)).
			Keyed("event.bad_evidence", policy.Args{"value": string(ev)})
	}
	return order, nil
}

// NeedsReceipt reports whether a receipt with evidence ev is appended to an
// item of the order whose receipt on record is (on, evidence): none yet,
// or a weaker one, which it supersedes.
func NeedsReceipt(receivedOn policy.Date, evidence, ev policy.Evidence) bool {
	return receivedOn.IsZero() || ev.Supersedes(evidence)
}

// NothingDispatched is ReceiveOrder's ENotFound for an order no serial was
// dispatched under.
func NothingDispatched(order string) error {
	return policy.Errorf(policy.ENotFound, "order", "nothing was dispatched under order %s", order).Keyed("order.none", policy.Args{"order": order})
}

// AllReceived is ReceiveOrder's EConflict when every serial of the order
// already has a receipt at least as strong as ev.
func AllReceived(order string, ev policy.Evidence) error {
	return policy.Errorf(policy.EConflict, "order", "every serial dispatched under order %s already has a receipt with evidence as strong as %s or stronger (courier > invoice > customer)", order, ev).
		Keyed("order.all_received", policy.Args{"order": order, "evidence": ev})
}

// RowFailure adds err as row n's error of a many-row write; a storage or
// internal error is returned instead, to abort the write.
func RowFailure(errs []policy.RowError, n int, serial string, err error) ([]policy.RowError, error) {
	return rowError(errs, n, serial, err)
}

// RowsError is the EInvalid of a many-row write with its rows' errors,
// sorted by row.
func RowsError(errs []policy.RowError) error { return rowsError(errs) }

// Refusal reports whether err is a rule's answer (invalid, not found,
// conflict) rather than a failure of the store.
func Refusal(err error) bool { return refusal(err) }

// AuditLine is what the audit log records of a write.
type AuditLine struct{ Action, Target, Detail string }

// AppendAudit is the audit line of one appended event.
func AppendAudit(ap Appended) AuditLine {
	return AuditLine{"event." + string(ap.Event.Type), ap.Serial, eventSummary(ap.Event)}
}

// ConfirmAudit is the audit line of a customer's confirmation from the
// public page, naming client, the customer's network as the caller
// truncated it.
func ConfirmAudit(ap Appended, client string) AuditLine {
	return AuditLine{"event." + string(ap.Event.Type), ap.Serial, eventSummary(ap.Event) + ", confirmed from the public page by " + client}
}

// ManyAudit is the audit line of AppendMany.
func ManyAudit(aps []Appended) AuditLine {
	return AuditLine{"events.append", fmt.Sprintf("%d events", len(aps)), manySummary(aps)}
}

// ReceiptAudit is the audit line of ReceiveOrder.
func ReceiptAudit(order string, aps []Appended, on policy.Date, ev policy.Evidence) AuditLine {
	return AuditLine{"order.received", order, fmt.Sprintf("%d serials received on %s (%s)", len(aps), on, ev)}
}

// PageLimit is the page size of a limit asked for: DefaultLimit for 0, at
// most MaxLimit. Errors: EInvalid for a negative limit.
func PageLimit(limit int) (int, error) { return pageLimit(limit) }

// RowNumbers is the set of the rows of errs: the rows a many-row write
// skips because the caller found them bad already.
func RowNumbers(errs []policy.RowError) map[int]bool { return rowNumbers(errs) }

// KeyAnswer is the answer a keyed write stores under its Idempotency-Key:
// w.Answer of the write's outcome (it may run more than once).
func KeyAnswer(w Write, out Outcome) ([]byte, error) {
	answer, err := w.Answer(out)
	if err != nil {
		return nil, fmt.Errorf("registry: the answer to store under the idempotency key: %w", err)
	}
	return answer, nil
}
