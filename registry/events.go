package registry

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sanbao/sanbao/policy"
	bolt "go.etcd.io/bbolt"
)

// IdempotencyTTL is how long an Idempotency-Key is remembered at least;
// older keys are pruned a few at a time by later keyed writes.
const IdempotencyTTL = 24 * time.Hour

const (
	maxIdempotencyKey = 255
	pruneBatch        = 64 // expired keys removed per keyed write
)

// Append validates ev against the item's history (policy.Validate, inside
// the write transaction) and appends it: seq assigned, By/KeyID from the
// actor, RecordedAt now. In the same transaction the item's derived fields
// and the order, open-case and batch indexes are updated; a `replaced`
// event also marks the new serial as the replacement (Replaces,
// ExchangedOn, Exchanges = policy.SuccessorExchanges) and the old one as
// superseded; an audit entry is written.
// Concurrent Appends are committed together (group commit); each returns
// once its event is durable.
//
// With w.IdempotencyKey set, the same key and RequestHash again return
// Outcome.Replay (the stored first answer) and write nothing.
//
// Errors: EInvalid (malformed serial or key, field rules); ENotFound
// (serial not registered); EConflict (the history forbids the event, or the
// key was used with a different request); EUnavailable when the database
// cannot be written.
func (db *DB) Append(w Write, serial string, ev policy.Event) (Outcome, error) {
	if err := checkWrite(w); err != nil {
		return Outcome{}, err
	}
	return db.writeEvents(w, true, func(tx *bolt.Tx, now time.Time) ([]Appended, auditLine, error) {
		ap, err := db.appendTx(tx, w.Actor, serial, ev, now, false)
		if err != nil {
			return nil, auditLine{}, err
		}
		return []Appended{ap}, AppendAudit(ap), nil
	})
}

// AppendMany appends rows in order in one transaction, all or nothing; a
// row sees the rows before it (two events for one serial are fine). bad
// are errors the caller found in rows while decoding them: those rows are
// skipped, and their errors reported with the others, so that one answer
// lists every bad row.
// Errors: EInvalid "no events" for an empty list; EInvalid with Rows
// (1-based; each row's code is its own: invalid_field, not_found,
// conflict) when any row fails; EInvalid/EConflict for the key as in
// Append; EUnavailable.
func (db *DB) AppendMany(w Write, rows []EventRow, bad ...policy.RowError) (Outcome, error) {
	if err := checkWrite(w); err != nil {
		return Outcome{}, err
	}
	if len(rows) == 0 {
		return Outcome{}, policy.Errorf(policy.EInvalid, "events", "no events")
	}
	return db.writeEvents(w, false, func(tx *bolt.Tx, now time.Time) ([]Appended, auditLine, error) {
		out := make([]Appended, 0, len(rows))
		errs, known := slices.Clone(bad), rowNumbers(bad)
		for i, r := range rows {
			if known[i+1] {
				continue
			}
			ap, err := db.appendTx(tx, w.Actor, r.Serial, r.Event, now, false)
			if err != nil {
				if errs, err = rowError(errs, i+1, r.Serial, err); err != nil {
					return nil, auditLine{}, err
				}
				continue
			}
			out = append(out, ap)
		}
		if len(errs) > 0 {
			return nil, auditLine{}, rowsError(errs)
		}
		return out, ManyAudit(out), nil
	})
}

// rowError adds err as row n's error; a storage or internal error is
// returned instead, to abort.
func rowError(errs []policy.RowError, n int, serial string, err error) ([]policy.RowError, error) {
	pe, ok := err.(*policy.Error)
	if !ok || pe.Code == policy.EUnavailable || pe.Code == policy.EInternal {
		return errs, err
	}
	return append(errs, pe.Row(n, strings.TrimSpace(serial))), nil
}

// CustomerName is the Actor name of a customer's own writes from the
// public page (the history's "by").
const CustomerName = "customer"

// ConfirmReceipt records a customer's own confirmation, from the public
// page, that they received serial on date on: a `received` event with
// evidence customer by CustomerName, checked against the policy's
// ConfirmRange as of now. The audit line names client, the customer's
// network as the caller truncated it (no full address is kept). Nothing is
// written on any error.
// Errors: ENotFound; EInvalid "on" naming the dates allowed; EConflict when
// no confirmation is possible (a receipt on record, a retired, void or
// replacement unit, a case opened, no date left); EUnavailable.
func (db *DB) ConfirmReceipt(client, serial string, on policy.Date) (Appended, error) {
	a := Actor{Name: CustomerName}
	out, err := db.writeEvents(Write{Actor: a}, true, func(tx *bolt.Tx, now time.Time) ([]Appended, auditLine, error) {
		ev := policy.Event{Type: policy.EvReceived, On: on, Evidence: policy.Customer}
		ap, err := db.appendTx(tx, a, serial, ev, now, true)
		if err != nil {
			return nil, auditLine{}, err
		}
		return []Appended{ap}, ConfirmAudit(ap, client), nil
	})
	if err != nil {
		return Appended{}, err
	}
	return out.Appended[0], nil
}

// ReceiveOrder appends a `received` event (on, evidence) to every serial
// dispatched under order that has no receipt yet or only one with weaker
// evidence (which it supersedes), in serial order, all or nothing: one
// courier confirmation starts a product with its separately serialised
// accessories and adapters.
// Errors: EInvalid for a malformed order, a missing date or unknown
// evidence (or with Rows when a serial's receipt is refused); ENotFound when nothing was dispatched under the
// order; EConflict when every serial of the order already has a receipt
// at least as strong;
// key errors as Append; EUnavailable.
func (db *DB) ReceiveOrder(w Write, order string, on policy.Date, ev policy.Evidence) (Outcome, error) {
	if err := checkWrite(w); err != nil {
		return Outcome{}, err
	}
	order, err := ReceiptArgs(order, on, ev)
	if err != nil {
		return Outcome{}, err
	}
	return db.writeEvents(w, false, func(tx *bolt.Tx, now time.Time) ([]Appended, auditLine, error) {
		var serials []string
		p := prefix(order)
		c := tx.Bucket(bucketOrders).Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			serials = append(serials, string(k[len(p):]))
		}
		if len(serials) == 0 {
			return nil, auditLine{}, NothingDispatched(order)
		}
		var out []Appended
		var errs []policy.RowError
		for i, serial := range serials {
			rec, err := getItem(tx, serial)
			if err != nil {
				return nil, auditLine{}, fmt.Errorf("order index: %w", err)
			}
			if !NeedsReceipt(rec.ReceivedOn, rec.Evidence, ev) {
				continue
			}
			ap, err := db.appendTx(tx, w.Actor, serial, policy.Event{Type: policy.EvReceived, On: on, Evidence: ev}, now, false)
			if err != nil {
				if errs, err = rowError(errs, i+1, serial, err); err != nil {
					return nil, auditLine{}, err
				}
				continue
			}
			out = append(out, ap)
		}
		if len(errs) > 0 {
			return nil, auditLine{}, rowsError(errs)
		}
		if len(out) == 0 {
			return nil, auditLine{}, AllReceived(order, ev)
		}
		return out, ReceiptAudit(order, out, on, ev), nil
	})
}

type auditLine = AuditLine

func checkWrite(w Write) error {
	k := w.IdempotencyKey
	if k == "" {
		return nil
	}
	if len(k) > maxIdempotencyKey {
		return policy.Errorf(policy.EInvalid, "Idempotency-Key", "Idempotency-Key is %d characters long; at most %d are allowed", len(k), maxIdempotencyKey)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return policy.Errorf(policy.EInvalid, "Idempotency-Key", "Idempotency-Key may hold only visible ASCII characters")
		}
	}
	if w.Answer == nil {
		return fmt.Errorf("registry: Write.Answer is required with an idempotency key")
	}
	return nil
}

// writeEvents runs fn in a write transaction with the idempotency key
// handled around it. single writes are grouped with concurrent ones; fn
// may then run more than once and must not act outside tx.
func (db *DB) writeEvents(w Write, single bool, fn func(tx *bolt.Tx, now time.Time) ([]Appended, auditLine, error)) (Outcome, error) {
	var out Outcome
	var refused error
	var queued bool
	body := func(tx *bolt.Tx, grouped bool) error {
		out, refused, queued = Outcome{}, nil, false
		now := db.now()
		err := func() error {
			if w.IdempotencyKey != "" {
				replay, err := lookupKey(tx, w.Actor, w.IdempotencyKey, w.RequestHash)
				if err != nil || replay != nil {
					out.Replay = replay
					return err
				}
			}
			appended, line, err := fn(tx, now)
			if err != nil {
				return err
			}
			out.Appended = appended
			if queued, err = db.enqueue(tx, appended, now); err != nil {
				return err
			}
			if w.IdempotencyKey != "" {
				answer, err := KeyAnswer(w, out)
				if err != nil {
					return err
				}
				if err := storeKey(tx, scopedKey(w.Actor, w.IdempotencyKey), w.RequestHash, answer, now); err != nil {
					return err
				}
			}
			return db.audit(tx, w.Actor, line.Action, line.Target, line.Detail, now)
		}()
		// In a group, a refusal must not fail the shared transaction (bolt
		// would roll back and rerun every other call): it wrote nothing, so
		// the group commits without it.
		if grouped && refusal(err) {
			out, refused, queued = Outcome{}, err, false
			return nil
		}
		return err
	}
	var err error
	if single {
		err = db.group(body)
	} else {
		err = db.update(func(tx *bolt.Tx) error { return body(tx, false) })
	}
	if err == nil {
		err = refused
	}
	if err != nil {
		return Outcome{}, err
	}
	if queued {
		db.signalQueued()
	}
	return out, nil
}

// refusal reports whether err is a rule's answer (invalid, not found,
// conflict), returned before anything was written, rather than a failure.
func refusal(err error) bool {
	pe, ok := err.(*policy.Error)
	return ok && pe.Code != policy.EUnavailable && pe.Code != policy.EInternal
}

// group runs a small write alone when no other is in flight, else through
// bolt's Batch so concurrent writers share one commit (one fsync).
func (db *DB) group(fn func(tx *bolt.Tx, grouped bool) error) error {
	if db.readOnly {
		return errReadOnly
	}
	n := db.writers.Add(1)
	defer db.writers.Add(-1)
	if n == 1 {
		return db.storageErr(db.bolt.Update(func(tx *bolt.Tx) error { return fn(tx, false) }))
	}
	return db.storageErr(db.bolt.Batch(func(tx *bolt.Tx) error { return fn(tx, true) }))
}

// scopedKey is where an Idempotency-Key is stored: under its caller, so
// two callers choosing the same key (every client's first key is "1") never
// see each other's answers. The separator is not a visible ASCII character,
// so a scoped key never equals a key stored before keys were scoped.
func scopedKey(a Actor, key string) []byte {
	return []byte(IdempotencyCaller(a) + "\x00" + key)
}

// IdempotencyCaller is whose an Idempotency-Key is: the caller's key id,
// or "name:" and its name for a caller without a key (a customer's
// confirmation). Every store keeps keys under it.
func IdempotencyCaller(a Actor) string {
	if a.KeyID == "" {
		return "name:" + a.Name
	}
	return a.KeyID
}

// lookupKey returns the stored answer of caller's key, nil when the key is
// new. A key stored unscoped by an earlier version (kept 24 hours) still
// answers its retries, so an upgrade never turns a retry into a second write.
// Errors: EConflict when key was used with another request.
func lookupKey(tx *bolt.Tx, caller Actor, key string, hash [32]byte) ([]byte, error) {
	b := tx.Bucket(bucketIdempotency)
	v := b.Get(scopedKey(caller, key))
	if v == nil {
		v = b.Get([]byte(key))
	}
	if v == nil {
		return nil, nil
	}
	if len(v) < 1+8+32 || v[0] != idemV1 {
		return nil, errUnknownVersion("idempotency key " + key)
	}
	if !bytes.Equal(v[9:41], hash[:]) {
		return nil, policy.Errorf(policy.EConflict, "Idempotency-Key", "Idempotency-Key reused with a different request")
	}
	return bytes.Clone(v[41:]), nil // non-nil even when the answer is empty
}

// storeKey remembers key's answer and prunes a few expired keys.
func storeKey(tx *bolt.Tx, key []byte, hash [32]byte, answer []byte, now time.Time) error {
	keys, times := tx.Bucket(bucketIdempotency), tx.Bucket(bucketIdemTime)
	cutoff := uint64(now.Add(-IdempotencyTTL).UnixNano())
	c := times.Cursor()
	for i, k := 0, firstKey(c); i < pruneBatch && len(k) > 8 && binary.BigEndian.Uint64(k) < cutoff; i, k = i+1, firstKey(c) {
		if err := keys.Delete(k[8:]); err != nil {
			return err
		}
		if err := times.Delete(k); err != nil {
			return err
		}
	}
	nanos := uint64(now.UnixNano())
	v := make([]byte, 0, 1+8+32+len(answer))
	v = append(v, idemV1)
	v = binary.BigEndian.AppendUint64(v, nanos)
	v = append(v, hash[:]...)
	v = append(v, answer...)
	if err := keys.Put(key, v); err != nil {
		return err
	}
	return times.Put(append(be64(nanos), key...), nil)
}

func firstKey(c *bolt.Cursor) []byte {
	k, _ := c.First()
	return bytes.Clone(k) // the delete invalidates the page the key lives on
}

// appendTx validates ev against serial's history and writes it with
// everything it changes. It writes nothing when it returns an error other
// than a storage failure.
func (db *DB) appendTx(tx *bolt.Tx, a Actor, serial string, ev policy.Event, now time.Time, customer bool) (Appended, error) {
	serial, err := policy.Ident("serial", serial)
	if err != nil {
		return Appended{}, err
	}
	rec, err := getItem(tx, serial)
	if err != nil {
		return Appended{}, err
	}
	hist, err := history(tx, serial, rec.Seq)
	if err != nil {
		return Appended{}, err
	}
	var repl *itemRec
	var replT *Target
	if ev.Type == policy.EvReplaced {
		if ns, err := policy.Ident("new_serial", ev.NewSerial); err == nil {
			if r, err := getItem(tx, ns); err == nil {
				replHist, err := history(tx, ns, r.Seq)
				if err != nil {
					return Appended{}, err
				}
				repl, replT = &r, &Target{Item: r.Item, Seq: r.Seq, History: replHist}
			} else if policy.ErrorCode(err) != policy.ENotFound {
				return Appended{}, err
			}
		}
	}
	nev, err := Stamp(db.policy, a, Target{Item: rec.Item, Seq: rec.Seq, History: hist}, ev, replT, now, customer)
	if err != nil {
		return Appended{}, err
	}
	if err := tx.Bucket(bucketEvents).Put(eventKey(serial, nev.Seq), appendEvent(nil, &nev)); err != nil {
		return Appended{}, err
	}
	var before policy.Tally
	if reportCounters {
		before = db.policy.Tally(rec.Item, hist)
	}
	rec.Seq = nev.Seq
	hist = append(hist, nev)
	if reportCounters {
		if err := retally(tx, rec.Item, before, db.policy.Tally(rec.Item, hist)); err != nil {
			return Appended{}, err
		}
	}
	if b := NewBatchCarried(nev); b != "" {
		if err := indexBatch(tx, b, serial, flagCarrier); err != nil {
			return Appended{}, err
		}
	}
	if repl != nil && nev.Type == policy.EvReplaced {
		var before policy.Tally
		if reportCounters {
			before = db.policy.Tally(repl.Item, replT.History)
		}
		ReplacementOf(db.policy, &repl.Item, rec.Item, hist, nev)
		if reportCounters {
			if err := retally(tx, repl.Item, before, db.policy.Tally(repl.Item, replT.History)); err != nil {
				return Appended{}, err
			}
		}
		if err := db.derive(tx, repl, replT.History, now); err != nil {
			return Appended{}, err
		}
		if err := putItem(tx, repl); err != nil {
			return Appended{}, err
		}
	}
	if err := db.derive(tx, &rec, hist, now); err != nil {
		return Appended{}, err
	}
	if err := putItem(tx, &rec); err != nil {
		return Appended{}, err
	}
	sc, err := storedScans(tx, &rec)
	if err != nil {
		return Appended{}, err
	}
	sc = db.scans.Merge(serial, sc, uint64(tx.ID()))
	return Appended{Serial: serial, Event: nev, Record: Record{Item: rec.Item, History: slices.Clone(hist), Scans: sc}}, nil
}

// derive recomputes r's derived fields from its history (Derive) and
// keeps the indexes that hang on them in step: orders (the order of the
// effective dispatch), cases (the open case), batches (carrier entries,
// never removed).
func (db *DB) derive(tx *bolt.Tx, r *itemRec, hist []policy.Event, now time.Time) error {
	d := Derive(db.policy, r.Item, hist, now)
	if d.Order != r.Order {
		orders := tx.Bucket(bucketOrders)
		if r.Order != "" {
			if err := orders.Delete(compositeKey(r.Order, []byte(r.Serial))); err != nil {
				return err
			}
		}
		if d.Order != "" {
			if err := orders.Put(compositeKey(d.Order, []byte(r.Serial)), nil); err != nil {
				return err
			}
		}
	}
	r.State, r.DispatchedOn, r.Order, r.ReceivedOn = d.State, d.DispatchedOn, d.Order, d.ReceivedOn
	r.Evidence, r.SupersededBy = d.Evidence, d.SupersededBy
	if open := d.OpenCase; open != r.OpenCase {
		cases := tx.Bucket(bucketCases)
		var err error
		switch {
		case open == 0:
			if err = cases.Delete([]byte(r.Serial)); err == nil {
				err = addCounter(tx, countCases, -1)
			}
		case r.OpenCase == 0:
			if err = cases.Put([]byte(r.Serial), be64(open)); err == nil {
				err = addCounter(tx, countCases, 1)
			}
		default:
			err = cases.Put([]byte(r.Serial), be64(open))
		}
		if err != nil {
			return err
		}
		r.OpenCase = open
	}
	for _, b := range d.Carried {
		if err := indexBatch(tx, b, r.Serial, flagCarrier); err != nil {
			return err
		}
	}
	return nil
}

// eventSummary describes an event in a few words for the audit log.
func eventSummary(ev policy.Event) string {
	parts := []string{fmt.Sprintf("seq %d", ev.Seq)}
	add := func(name, v string) {
		if v != "" {
			parts = append(parts, name+" "+v)
		}
	}
	add("on", ev.On.String())
	add("order", ev.Order)
	add("evidence", string(ev.Evidence))
	add("finding", string(ev.Finding))
	add("new_serial", ev.NewSerial)
	add("sku", ev.SKU)
	add("new_batch", ev.NewBatch)
	if ev.Corrects != 0 {
		add("corrects seq", fmt.Sprint(ev.Corrects))
	}
	add("reason", ev.Reason)
	return strings.Join(parts, ", ")
}

// manySummary counts events by type, for the audit log.
func manySummary(aps []Appended) string {
	n := map[policy.EventType]int{}
	serials := map[string]bool{}
	for _, ap := range aps {
		n[ap.Event.Type]++
		serials[ap.Serial] = true
	}
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", t, n[t]))
	}
	return fmt.Sprintf("%s on %d serials", strings.Join(parts, ", "), len(serials))
}
