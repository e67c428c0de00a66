package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// Append validates ev against the item's history (locked for the
// transaction) and appends it, with everything it changes, as
// registry.EventStore.Append does. With w.IdempotencyKey set, the same key and
// request again get Outcome.Replay and write nothing; two such requests
// racing are settled by the key's primary key.
// Errors: EInvalid; ENotFound; EConflict; EUnavailable.
func (s *Store) Append(w registry.Write, serial string, ev policy.Event) (registry.Outcome, error) {
	if err := registry.CheckWrite(w); err != nil {
		return registry.Outcome{}, err
	}
	return s.writeEvents(w, func(ctx context.Context, tx pgx.Tx, now time.Time) ([]registry.Appended, registry.AuditLine, error) {
		if err := lock(ctx, tx, lockSet(serial, ev)); err != nil {
			return nil, registry.AuditLine{}, err
		}
		ap, err := s.appendTx(ctx, tx, w.Actor, serial, ev, now, false)
		if err != nil {
			return nil, registry.AuditLine{}, err
		}
		return []registry.Appended{ap}, registry.AppendAudit(ap), nil
	})
}

// ConfirmReceipt records a customer's own confirmation, from the public
// page, that they received serial on date on (a `received` event with
// evidence customer by registry.CustomerName, policy.Check.Customer).
// Errors: as registry.EventStore.ConfirmReceipt.
func (s *Store) ConfirmReceipt(client, serial string, on policy.Date) (registry.Appended, error) {
	a := registry.Actor{Name: registry.CustomerName}
	ev := policy.Event{Type: policy.EvReceived, On: on, Evidence: policy.Customer}
	out, err := s.writeEvents(registry.Write{Actor: a}, func(ctx context.Context, tx pgx.Tx, now time.Time) ([]registry.Appended, registry.AuditLine, error) {
		if err := lock(ctx, tx, lockSet(serial, ev)); err != nil {
			return nil, registry.AuditLine{}, err
		}
		ap, err := s.appendTx(ctx, tx, a, serial, ev, now, true)
		if err != nil {
			return nil, registry.AuditLine{}, err
		}
		return []registry.Appended{ap}, registry.ConfirmAudit(ap, client), nil
	})
	if err != nil {
		return registry.Appended{}, err
	}
	return out.Appended[0], nil
}

// AppendMany appends rows in order in one transaction, all or nothing;
// the rows of bad are skipped and reported with the others.
// Errors: as registry.EventStore.AppendMany.
func (s *Store) AppendMany(w registry.Write, rows []registry.EventRow, bad ...policy.RowError) (registry.Outcome, error) {
	if err := registry.CheckWrite(w); err != nil {
		return registry.Outcome{}, err
	}
	if len(rows) == 0 {
		return registry.Outcome{}, policy.Errorf(policy.EInvalid, "events", "no events")
	}
	return s.writeEvents(w, func(ctx context.Context, tx pgx.Tx, now time.Time) ([]registry.Appended, registry.AuditLine, error) {
		var serials []string
		for _, r := range rows {
			serials = append(serials, lockSet(r.Serial, r.Event)...)
		}
		if err := lock(ctx, tx, serials); err != nil {
			return nil, registry.AuditLine{}, err
		}
		out := make([]registry.Appended, 0, len(rows))
		errs, known := slices.Clone(bad), registry.RowNumbers(bad)
		for i, r := range rows {
			if known[i+1] {
				continue
			}
			ap, err := s.appendTx(ctx, tx, w.Actor, r.Serial, r.Event, now, false)
			if err != nil {
				if errs, err = registry.RowFailure(errs, i+1, r.Serial, err); err != nil {
					return nil, registry.AuditLine{}, err
				}
				continue
			}
			out = append(out, ap)
		}
		if len(errs) > 0 {
			return nil, registry.AuditLine{}, registry.RowsError(errs)
		}
		return out, registry.ManyAudit(out), nil
	})
}

// ReceiveOrder appends a `received` event to every serial dispatched under
// order that needs it (registry.NeedsReceipt), all or nothing.
// Errors: as registry.EventStore.ReceiveOrder.
func (s *Store) ReceiveOrder(w registry.Write, order string, on policy.Date, ev policy.Evidence) (registry.Outcome, error) {
	if err := registry.CheckWrite(w); err != nil {
		return registry.Outcome{}, err
	}
	order, err := registry.ReceiptArgs(order, on, ev)
	if err != nil {
		return registry.Outcome{}, err
	}
	return s.writeEvents(w, func(ctx context.Context, tx pgx.Tx, now time.Time) ([]registry.Appended, registry.AuditLine, error) {
		rows, err := tx.Query(ctx, `SELECT serial, received_on, evidence FROM items WHERE order_no = $1 ORDER BY serial FOR UPDATE`, order)
		if err != nil {
			return nil, registry.AuditLine{}, err
		}
		type due struct {
			serial string
			need   bool
		}
		var serials []due
		for rows.Next() {
			var serial string
			var x itemScan
			if err := rows.Scan(&serial, &x.recvd, &x.evidence); err != nil {
				rows.Close()
				return nil, registry.AuditLine{}, err
			}
			serials = append(serials, due{serial, registry.NeedsReceipt(dateOf(x.recvd), policy.Evidence(x.evidence.String), ev)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, registry.AuditLine{}, err
		}
		if len(serials) == 0 {
			return nil, registry.AuditLine{}, registry.NothingDispatched(order)
		}
		var out []registry.Appended
		var errs []policy.RowError
		for i, d := range serials {
			if !d.need {
				continue
			}
			ap, err := s.appendTx(ctx, tx, w.Actor, d.serial, policy.Event{Type: policy.EvReceived, On: on, Evidence: ev}, now, false)
			if err != nil {
				if errs, err = registry.RowFailure(errs, i+1, d.serial, err); err != nil {
					return nil, registry.AuditLine{}, err
				}
				continue
			}
			out = append(out, ap)
		}
		if len(errs) > 0 {
			return nil, registry.AuditLine{}, registry.RowsError(errs)
		}
		if len(out) == 0 {
			return nil, registry.AuditLine{}, registry.AllReceived(order, ev)
		}
		return out, registry.ReceiptAudit(order, out, on, ev), nil
	})
}

// lockSet is the items an event locks: its serial and, for a replacement,
// the new unit, trimmed as policy.Ident trims them (a malformed one locks
// nothing and is refused later).
func lockSet(serial string, ev policy.Event) []string {
	out := []string{strings.TrimSpace(serial)}
	if ev.Type == policy.EvReplaced && ev.NewSerial != "" {
		out = append(out, strings.TrimSpace(ev.NewSerial))
	}
	return out
}

// lock takes the row locks of the items serials in serial order, so two
// writes locking the same items never wait on each other in a circle.
func lock(ctx context.Context, tx pgx.Tx, serials []string) error {
	serials = slices.Clone(serials)
	slices.Sort(serials)
	serials = slices.Compact(serials)
	_, err := tx.Exec(ctx, `SELECT 1 FROM items WHERE serial = ANY($1) ORDER BY serial FOR UPDATE`, serials)
	return err
}

// writeEvents runs fn in a write transaction with the idempotency key
// handled around it and the audit entry after it. fn may run more than
// once (a retried transaction).
func (s *Store) writeEvents(w registry.Write, fn func(ctx context.Context, tx pgx.Tx, now time.Time) ([]registry.Appended, registry.AuditLine, error)) (registry.Outcome, error) {
	var out registry.Outcome
	var queued bool
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		out, queued = registry.Outcome{}, false
		now := s.now()
		caller := registry.IdempotencyCaller(w.Actor)
		if w.IdempotencyKey != "" {
			var hash, answer []byte
			err := tx.QueryRow(ctx, `SELECT request_hash, answer FROM idempotency WHERE caller = $1 AND key = $2`, caller, w.IdempotencyKey).Scan(&hash, &answer)
			switch {
			case err == nil && string(hash) != string(w.RequestHash[:]):
				return policy.Errorf(policy.EConflict, "Idempotency-Key", "Idempotency-Key reused with a different request")
			case err == nil:
				out.Replay = append([]byte{}, answer...) // non-nil even when empty
				return nil
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		appended, line, err := fn(ctx, tx, now)
		if err != nil {
			return err
		}
		out.Appended = appended
		if queued, err = enqueue(ctx, tx, appended, now); err != nil {
			return err
		}
		if w.IdempotencyKey != "" {
			answer, err := registry.KeyAnswer(w, out)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM idempotency WHERE (caller, key) IN
				(SELECT caller, key FROM idempotency WHERE at < $1 ORDER BY at LIMIT 64 FOR UPDATE SKIP LOCKED)`,
				now.Add(-registry.IdempotencyTTL)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO idempotency (caller, key, at, request_hash, answer) VALUES ($1, $2, $3, $4, $5)`,
				caller, w.IdempotencyKey, now, w.RequestHash[:], answer); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, w.Actor, line, now)
	})
	if err != nil {
		return registry.Outcome{}, err
	}
	if queued {
		s.signalQueued()
	}
	return out, nil
}

// appendTx validates ev against serial's history and writes it with what it
// changes, as the bbolt store's appendTx does, the rules being registry's
// (Stamp, ReplacementOf, Derive). The item must be locked.
func (s *Store) appendTx(ctx context.Context, tx pgx.Tx, a registry.Actor, serial string, ev policy.Event, now time.Time, customer bool) (registry.Appended, error) {
	serial, err := policy.Ident("serial", serial)
	if err != nil {
		return registry.Appended{}, err
	}
	rec, err := itemFor(ctx, tx, serial)
	if err != nil {
		return registry.Appended{}, err
	}
	var repl *registry.Target
	var replRow *itemRow
	if ev.Type == policy.EvReplaced {
		if ns, err := policy.Ident("new_serial", ev.NewSerial); err == nil {
			r, err := itemFor(ctx, tx, ns)
			switch {
			case err == nil:
				replRow, repl = &r.row, &registry.Target{Item: r.row.Item, Seq: r.row.Seq, History: r.hist}
			case policy.ErrorCode(err) != policy.ENotFound:
				return registry.Appended{}, err
			}
		}
	}
	nev, err := registry.Stamp(s.policy, a, registry.Target{Item: rec.row.Item, Seq: rec.row.Seq, History: rec.hist}, ev, repl, now, customer)
	if err != nil {
		return registry.Appended{}, err
	}
	v, err := json.Marshal(nev)
	if err != nil {
		return registry.Appended{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO events (serial, seq, event) VALUES ($1, $2, $3)`, serial, nev.Seq, v); err != nil {
		return registry.Appended{}, err
	}
	rec.row.Seq = nev.Seq
	before := s.policy.Tally(rec.row.Item, rec.hist)
	hist := append(rec.hist, nev)
	if err := retally(ctx, tx, rec.row.Item, before, s.policy.Tally(rec.row.Item, hist)); err != nil {
		return registry.Appended{}, err
	}
	if b := registry.NewBatchCarried(nev); b != "" {
		if err := carry(ctx, tx, b, serial); err != nil {
			return registry.Appended{}, err
		}
	}
	if replRow != nil && nev.Type == policy.EvReplaced {
		before := s.policy.Tally(replRow.Item, repl.History)
		registry.ReplacementOf(s.policy, &replRow.Item, rec.row.Item, hist, nev)
		if err := retally(ctx, tx, replRow.Item, before, s.policy.Tally(replRow.Item, repl.History)); err != nil {
			return registry.Appended{}, err
		}
		if err := s.derive(ctx, tx, replRow, repl.History, now); err != nil {
			return registry.Appended{}, err
		}
	}
	if err := s.derive(ctx, tx, &rec.row, hist, now); err != nil {
		return registry.Appended{}, err
	}
	var sc registry.Scans
	var first, last pgtype.Timestamptz
	err = tx.QueryRow(ctx, `SELECT scan_count, scan_first, scan_last FROM items WHERE serial = $1`, serial).Scan(&sc.Count, &first, &last)
	if err != nil {
		return registry.Appended{}, err
	}
	if sc.Count > 0 {
		sc.First, sc.Last = first.Time.UTC(), last.Time.UTC()
	}
	sc = s.scans.Merge(serial, sc, 0)
	return registry.Appended{Serial: serial, Event: nev, Record: registry.Record{Item: rec.row.Item, History: slices.Clone(hist), Scans: sc}}, nil
}

// lockedItem is an item with its history, read inside a write.
type lockedItem struct {
	row  itemRow
	hist []policy.Event
}

func itemFor(ctx context.Context, tx pgx.Tx, serial string) (lockedItem, error) {
	var x recordScan
	err := tx.QueryRow(ctx, `SELECT `+recordCols+recordFrom+` WHERE i.serial = $1`, serial).Scan(x.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return lockedItem{}, notRegistered(serial)
	}
	if err != nil {
		return lockedItem{}, err
	}
	rec, err := x.record()
	if err != nil {
		return lockedItem{}, err
	}
	row, err := x.item()
	return lockedItem{row: row, hist: rec.History}, err
}

// derive recomputes r's derived fields (registry.Derive), keeps the
// open-case counter and the carriers in step, and writes the item.
func (s *Store) derive(ctx context.Context, tx pgx.Tx, r *itemRow, hist []policy.Event, now time.Time) error {
	d := registry.Derive(s.policy, r.Item, hist, now)
	switch {
	case d.OpenCase != 0 && r.OpenCase == 0:
		if err := addCount(ctx, tx, "open_cases", 1); err != nil {
			return err
		}
	case d.OpenCase == 0 && r.OpenCase != 0:
		if err := addCount(ctx, tx, "open_cases", -1); err != nil {
			return err
		}
	}
	for _, b := range d.Carried {
		if err := carry(ctx, tx, b, r.Serial); err != nil {
			return err
		}
	}
	r.Derived = d
	_, err := tx.Exec(ctx, `UPDATE items SET replaces = $2, exchanged_on = $3, exchanges = $4, state = $5, dispatched_on = $6,
		order_no = $7, received_on = $8, evidence = $9, superseded_by = $10, seq = $11, open_case = $12 WHERE serial = $1`,
		r.Serial, textArg(r.Replaces), dateArg(r.ExchangedOn), r.Exchanges, string(d.State), dateArg(d.DispatchedOn),
		textArg(d.Order), dateArg(d.ReceivedOn), textArg(string(d.Evidence)), textArg(d.SupersededBy), r.Seq, d.OpenCase)
	return err
}
