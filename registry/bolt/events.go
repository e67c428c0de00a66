package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

const (
	pruneBatch = 64 // expired keys removed per keyed write
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
func (db *DB) Append(w registry.Write, serial string, ev policy.Event) (registry.Outcome, error) {
	if err := registry.CheckWrite(w); err != nil {
		return registry.Outcome{}, err
	}
	return db.writeEvents(w, true, func(tx *bbolt.Tx, now time.Time) ([]registry.Appended, auditLine, error) {
		ap, err := db.appendTx(tx, w.Actor, serial, ev, now, false)
		if err != nil {
			return nil, auditLine{}, err
		}
		return []registry.Appended{ap}, registry.AppendAudit(ap), nil
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
func (db *DB) AppendMany(w registry.Write, rows []registry.EventRow, bad ...policy.RowError) (registry.Outcome, error) {
	if err := registry.CheckWrite(w); err != nil {
		return registry.Outcome{}, err
	}
	if len(rows) == 0 {
		return registry.Outcome{}, policy.Errorf(policy.EInvalid, "events", "no events")
	}
	return db.writeEvents(w, false, func(tx *bbolt.Tx, now time.Time) ([]registry.Appended, auditLine, error) {
		out := make([]registry.Appended, 0, len(rows))
		errs, known := slices.Clone(bad), registry.RowNumbers(bad)
		for i, r := range rows {
			if known[i+1] {
				continue
			}
			ap, err := db.appendTx(tx, w.Actor, r.Serial, r.Event, now, false)
			if err != nil {
				if errs, err = registry.RowFailure(errs, i+1, r.Serial, err); err != nil {
					return nil, auditLine{}, err
				}
				continue
			}
			out = append(out, ap)
		}
		if len(errs) > 0 {
			return nil, auditLine{}, registry.RowsError(errs)
		}
		return out, registry.ManyAudit(out), nil
	})
}

// ConfirmReceipt records a customer's own confirmation, from the public
// page, that they received serial on date on: a `received` event with
// evidence customer by CustomerName, checked against the policy's
// ConfirmRange as of now. The audit line names client, the customer's
// network as the caller truncated it (no full address is kept). Nothing is
// written on any error.
// Errors: ENotFound; EInvalid "on" naming the dates allowed; EConflict when
// no confirmation is possible (a receipt on record, a retired, void or
// replacement unit, a case opened, no date left); EUnavailable.
func (db *DB) ConfirmReceipt(client, serial string, on policy.Date) (registry.Appended, error) {
	a := registry.Actor{Name: registry.CustomerName}
	out, err := db.writeEvents(registry.Write{Actor: a}, true, func(tx *bbolt.Tx, now time.Time) ([]registry.Appended, auditLine, error) {
		ev := policy.Event{Type: policy.EvReceived, On: on, Evidence: policy.Customer}
		ap, err := db.appendTx(tx, a, serial, ev, now, true)
		if err != nil {
			return nil, auditLine{}, err
		}
		return []registry.Appended{ap}, registry.ConfirmAudit(ap, client), nil
	})
	if err != nil {
		return registry.Appended{}, err
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
func (db *DB) ReceiveOrder(w registry.Write, order string, on policy.Date, ev policy.Evidence) (registry.Outcome, error) {
	if err := registry.CheckWrite(w); err != nil {
		return registry.Outcome{}, err
	}
	order, err := registry.ReceiptArgs(order, on, ev)
	if err != nil {
		return registry.Outcome{}, err
	}
	return db.writeEvents(w, false, func(tx *bbolt.Tx, now time.Time) ([]registry.Appended, auditLine, error) {
		var serials []string
		p := prefix(order)
		c := tx.Bucket(bucketOrders).Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			serials = append(serials, string(k[len(p):]))
		}
		if len(serials) == 0 {
			return nil, auditLine{}, registry.NothingDispatched(order)
		}
		var out []registry.Appended
		var errs []policy.RowError
		for i, serial := range serials {
			rec, err := getItem(tx, serial)
			if err != nil {
				return nil, auditLine{}, fmt.Errorf("order index: %w", err)
			}
			if !registry.NeedsReceipt(rec.ReceivedOn, rec.Evidence, ev) {
				continue
			}
			ap, err := db.appendTx(tx, w.Actor, serial, policy.Event{Type: policy.EvReceived, On: on, Evidence: ev}, now, false)
			if err != nil {
				if errs, err = registry.RowFailure(errs, i+1, serial, err); err != nil {
					return nil, auditLine{}, err
				}
				continue
			}
			out = append(out, ap)
		}
		if len(errs) > 0 {
			return nil, auditLine{}, registry.RowsError(errs)
		}
		if len(out) == 0 {
			return nil, auditLine{}, registry.AllReceived(order, ev)
		}
		return out, registry.ReceiptAudit(order, out, on, ev), nil
	})
}

type auditLine = registry.AuditLine

// writeEvents runs fn in a write transaction with the idempotency key
// handled around it. single writes are grouped with concurrent ones; fn
// may then run more than once and must not act outside tx.
func (db *DB) writeEvents(w registry.Write, single bool, fn func(tx *bbolt.Tx, now time.Time) ([]registry.Appended, auditLine, error)) (registry.Outcome, error) {
	var out registry.Outcome
	var refused error
	var queued bool
	body := func(tx *bbolt.Tx, grouped bool) error {
		out, refused, queued = registry.Outcome{}, nil, false
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
				answer, err := registry.KeyAnswer(w, out)
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
		if grouped && registry.Refusal(err) {
			out, refused, queued = registry.Outcome{}, err, false
			return nil
		}
		return err
	}
	var err error
	if single {
		err = db.group(body)
	} else {
		err = db.update(func(tx *bbolt.Tx) error { return body(tx, false) })
	}
	if err == nil {
		err = refused
	}
	if err != nil {
		return registry.Outcome{}, err
	}
	if queued {
		db.signalQueued()
	}
	return out, nil
}

// group runs a small write alone when no other is in flight, else through
// bolt's Batch so concurrent writers share one commit (one fsync).
func (db *DB) group(fn func(tx *bbolt.Tx, grouped bool) error) error {
	if db.readOnly {
		return errReadOnly
	}
	n := db.writers.Add(1)
	defer db.writers.Add(-1)
	if n == 1 {
		return db.storageErr(db.bolt.Update(func(tx *bbolt.Tx) error { return fn(tx, false) }))
	}
	return db.storageErr(db.bolt.Batch(func(tx *bbolt.Tx) error { return fn(tx, true) }))
}

// scopedKey is where an Idempotency-Key is stored: under its caller, so
// two callers choosing the same key (every client's first key is "1") never
// see each other's answers. The separator is not a visible ASCII character,
// so a scoped key never equals a key stored before keys were scoped.
func scopedKey(a registry.Actor, key string) []byte {
	return []byte(registry.IdempotencyCaller(a) + "\x00" + key)
}

// lookupKey returns the stored answer of caller's key, nil when the key is
// new. A key stored unscoped by an earlier version (kept 24 hours) still
// answers its retries, so an upgrade never turns a retry into a second write.
// Errors: EConflict when key was used with another request.
func lookupKey(tx *bbolt.Tx, caller registry.Actor, key string, hash [32]byte) ([]byte, error) {
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
func storeKey(tx *bbolt.Tx, key []byte, hash [32]byte, answer []byte, now time.Time) error {
	keys, times := tx.Bucket(bucketIdempotency), tx.Bucket(bucketIdemTime)
	cutoff := uint64(now.Add(-registry.IdempotencyTTL).UnixNano())
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

func firstKey(c *bbolt.Cursor) []byte {
	k, _ := c.First()
	return bytes.Clone(k) // the delete invalidates the page the key lives on
}

// appendTx validates ev against serial's history and writes it with
// everything it changes. It writes nothing when it returns an error other
// than a storage failure.
func (db *DB) appendTx(tx *bbolt.Tx, a registry.Actor, serial string, ev policy.Event, now time.Time, customer bool) (registry.Appended, error) {
	serial, err := policy.Ident("serial", serial)
	if err != nil {
		return registry.Appended{}, err
	}
	rec, err := getItem(tx, serial)
	if err != nil {
		return registry.Appended{}, err
	}
	hist, err := history(tx, serial, rec.Seq)
	if err != nil {
		return registry.Appended{}, err
	}
	var repl *itemRec
	var replT *registry.Target
	if ev.Type == policy.EvReplaced {
		if ns, err := policy.Ident("new_serial", ev.NewSerial); err == nil {
			if r, err := getItem(tx, ns); err == nil {
				replHist, err := history(tx, ns, r.Seq)
				if err != nil {
					return registry.Appended{}, err
				}
				repl, replT = &r, &registry.Target{Item: r.Item, Seq: r.Seq, History: replHist}
			} else if policy.ErrorCode(err) != policy.ENotFound {
				return registry.Appended{}, err
			}
		}
	}
	nev, err := registry.Stamp(db.policy, a, registry.Target{Item: rec.Item, Seq: rec.Seq, History: hist}, ev, replT, now, customer)
	if err != nil {
		return registry.Appended{}, err
	}
	if err := tx.Bucket(bucketEvents).Put(eventKey(serial, nev.Seq), appendEvent(nil, &nev)); err != nil {
		return registry.Appended{}, err
	}
	var before policy.Tally
	if reportCounters {
		before = db.policy.Tally(rec.Item, hist)
	}
	rec.Seq = nev.Seq
	hist = append(hist, nev)
	if reportCounters {
		if err := retally(tx, rec.Item, before, db.policy.Tally(rec.Item, hist)); err != nil {
			return registry.Appended{}, err
		}
	}
	if b := registry.NewBatchCarried(nev); b != "" {
		if err := indexBatch(tx, b, serial, flagCarrier); err != nil {
			return registry.Appended{}, err
		}
	}
	if repl != nil && nev.Type == policy.EvReplaced {
		var before policy.Tally
		if reportCounters {
			before = db.policy.Tally(repl.Item, replT.History)
		}
		registry.ReplacementOf(db.policy, &repl.Item, rec.Item, hist, nev)
		if reportCounters {
			if err := retally(tx, repl.Item, before, db.policy.Tally(repl.Item, replT.History)); err != nil {
				return registry.Appended{}, err
			}
		}
		if err := db.derive(tx, repl, replT.History, now); err != nil {
			return registry.Appended{}, err
		}
		if err := putItem(tx, repl); err != nil {
			return registry.Appended{}, err
		}
	}
	if err := db.derive(tx, &rec, hist, now); err != nil {
		return registry.Appended{}, err
	}
	if err := putItem(tx, &rec); err != nil {
		return registry.Appended{}, err
	}
	sc, err := storedScans(tx, &rec)
	if err != nil {
		return registry.Appended{}, err
	}
	sc = db.scans.Merge(serial, sc, uint64(tx.ID()))
	return registry.Appended{Serial: serial, Event: nev, Record: registry.Record{Item: rec.Item, History: slices.Clone(hist), Scans: sc}}, nil
}

// derive recomputes r's derived fields from its history (Derive) and
// keeps the indexes that hang on them in step: orders (the order of the
// effective dispatch), cases (the open case), batches (carrier entries,
// never removed).
func (db *DB) derive(tx *bbolt.Tx, r *itemRec, hist []policy.Event, now time.Time) error {
	d := registry.Derive(db.policy, r.Item, hist, now)
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
