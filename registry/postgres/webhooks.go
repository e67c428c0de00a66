package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// Webhooks on PostgreSQL: the same answers as the bbolt store's
// (registry/webhooks.go), with leases kept in the table so that one replica
// at a time holds a delivery.

// enqueue inserts, in an event write's transaction, a delivery of each
// appended event to every webhook that wants its type. It reports whether
// it queued any.
func enqueue(ctx context.Context, tx pgx.Tx, appended []registry.Appended, now time.Time) (bool, error) {
	if len(appended) == 0 {
		return false, nil
	}
	serials, seqs, types := make([]string, len(appended)), make([]int64, len(appended)), make([]string, len(appended))
	for i, ap := range appended {
		serials[i], seqs[i], types[i] = ap.Serial, int64(ap.Event.Seq), string(ap.Event.Type)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (webhook, serial, seq, type, status, created, since, next_attempt)
		SELECT w.id, e.serial, e.seq, e.type, 'pending', $4, $4, $4
		FROM unnest($1::text[], $2::bigint[], $3::text[]) WITH ORDINALITY AS e(serial, seq, type, i)
		JOIN webhooks w ON '*' = ANY (w.events) OR e.type = ANY (w.events)
		ORDER BY e.i, w.created, w.id`, serials, seqs, types, now)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}

func (s *Store) signalQueued() {
	select {
	case s.queued <- struct{}{}:
	default:
	}
}

// DeliveriesQueued receives a value after a write of this process queued
// deliveries; those queued by other replicas are found by polling.
func (s *Store) DeliveriesQueued() <-chan struct{} { return s.queued }

// CreateSubscription subscribes url to events. Errors: as
// registry.WebhookStore.CreateSubscription.
func (s *Store) CreateSubscription(a registry.Actor, rawURL string, events []string) (registry.Subscription, error) {
	u, err := registry.CheckWebhookURL(rawURL)
	if err != nil {
		return registry.Subscription{}, err
	}
	if events, err = registry.CheckWebhookEvents(events); err != nil {
		return registry.Subscription{}, err
	}
	id, secret := registry.NewWebhook()
	now := s.now()
	sub := registry.Subscription{ID: id, URL: u.String(), Events: events, Secret: secret, Created: now}
	err = s.write(func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO webhooks (id, url, events, secret, created) VALUES ($1, $2, $3, $4, $5)`,
			id, sub.URL, events, secret, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, registry.AuditLine{Action: "webhook.create", Target: id, Detail: sub.URL + " for " + strings.Join(events, ", ")}, now)
	})
	if err != nil {
		return registry.Subscription{}, err
	}
	return sub, nil
}

// Subscriptions lists every webhook, oldest first, without secrets.
// Errors: EUnavailable; internal ones.
func (s *Store) Subscriptions() ([]registry.Subscription, error) {
	out := []registry.Subscription{}
	err := s.read(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT id, url, events, created FROM webhooks ORDER BY created, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var w registry.Subscription
			if err := rows.Scan(&w.ID, &w.URL, &w.Events, &w.Created); err != nil {
				return err
			}
			out = append(out, w)
		}
		return rows.Err()
	})
	return out, err
}

// Subscription returns one webhook without its secret. Errors: ENotFound;
// EUnavailable.
func (s *Store) Subscription(id string) (registry.Subscription, error) {
	w := registry.Subscription{ID: id}
	err := s.read(func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, `SELECT url, events, created FROM webhooks WHERE id = $1`, id).Scan(&w.URL, &w.Events, &w.Created)
		if errors.Is(err, pgx.ErrNoRows) {
			return noWebhook(id)
		}
		return err
	})
	return w, err
}

func noWebhook(id string) error { return policy.Errorf(policy.ENotFound, "id", "no webhook %s", id) }

// DeleteSubscription removes a webhook with its deliveries. Errors: as
// registry.WebhookStore.DeleteSubscription.
func (s *Store) DeleteSubscription(a registry.Actor, id string) error {
	now := s.now()
	return s.write(func(ctx context.Context, tx pgx.Tx) error {
		var url string
		if err := tx.QueryRow(ctx, `SELECT url FROM webhooks WHERE id = $1 FOR UPDATE`, id).Scan(&url); errors.Is(err, pgx.ErrNoRows) {
			return noWebhook(id)
		} else if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE webhook = $1`, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM webhooks WHERE id = $1`, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, registry.AuditLine{Action: "webhook.delete", Target: id, Detail: fmt.Sprintf("%s, %d deliveries dropped", url, tag.RowsAffected())}, now)
	})
}

const deliveryCols = `n, webhook, serial, seq, type, status, attempts, last_error, created, since, next_attempt, delivered_at`

// deliveryScan is a row of deliveryCols.
type deliveryScan struct {
	n, seq          int64
	d               registry.Delivery
	typ, status     string
	next, delivered pgtype.Timestamptz
}

func (x *deliveryScan) dest() []any {
	return []any{&x.n, &x.d.Subscription, &x.d.Serial, &x.seq, &x.typ, &x.status, &x.d.Attempts, &x.d.LastError,
		&x.d.Created, &x.d.Since, &x.next, &x.delivered}
}

func (x *deliveryScan) delivery() registry.Delivery {
	d := x.d
	d.ID, d.Seq, d.Type, d.Status = registry.DeliveryID(uint64(x.n)), uint64(x.seq), policy.EventType(x.typ), registry.DeliveryStatus(x.status)
	d.Created, d.Since = d.Created.UTC(), d.Since.UTC()
	if x.next.Valid {
		d.NextAttempt = x.next.Time.UTC()
	}
	if x.delivered.Valid {
		d.DeliveredAt = x.delivered.Time.UTC()
	}
	return d
}

// Deliveries lists a webhook's deliveries, newest first, a page at a time.
// Errors: as registry.WebhookStore.Deliveries.
func (s *Store) Deliveries(sub string, status registry.DeliveryStatus, after string, limit int) ([]registry.Delivery, string, error) {
	limit, err := registry.PageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	if status != "" && !status.Valid() {
		return nil, "", policy.Errorf(policy.EInvalid, "status", "status must be pending, delivered or dead, not %q", status)
	}
	before := int64(1<<63 - 1)
	if after != "" {
		n, err := registry.DeliveryNumber(after)
		if err != nil || n == 0 || n > 1<<63-1 {
			return nil, "", policy.Errorf(policy.EInvalid, "after", "after must be the id of a delivery")
		}
		before = int64(n)
	}
	out := []registry.Delivery{}
	next := ""
	err = s.read(func(ctx context.Context) error {
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = $1)`, sub).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return noWebhook(sub)
		}
		rows, err := s.pool.Query(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries
			WHERE webhook = $1 AND n < $2 AND ($3 = '' OR status = $3) ORDER BY n DESC LIMIT $4`, sub, before, string(status), limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var x deliveryScan
			if err := rows.Scan(x.dest()...); err != nil {
				return err
			}
			if len(out) == limit {
				next = out[len(out)-1].ID
				break
			}
			out = append(out, x.delivery())
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// RetryDelivery queues a dead delivery again. Errors: as
// registry.WebhookStore.RetryDelivery.
func (s *Store) RetryDelivery(a registry.Actor, sub, id string) (registry.Delivery, error) {
	n, err := registry.DeliveryNumber(id)
	if err != nil || n > 1<<63-1 {
		return registry.Delivery{}, policy.Errorf(policy.ENotFound, "delivery", "no delivery %s", id)
	}
	now := s.now()
	var out registry.Delivery
	err = s.write(func(ctx context.Context, tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = $1)`, sub).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return noWebhook(sub)
		}
		var x deliveryScan
		err := tx.QueryRow(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE webhook = $1 AND n = $2 FOR UPDATE`, sub, int64(n)).Scan(x.dest()...)
		if errors.Is(err, pgx.ErrNoRows) {
			return policy.Errorf(policy.ENotFound, "delivery", "webhook %s has no delivery %s", sub, id)
		} else if err != nil {
			return err
		}
		d := x.delivery()
		if d.Status != registry.DeliveryDead {
			return policy.Errorf(policy.EConflict, "delivery", "delivery %s is %s; only a dead delivery can be retried", id, d.Status)
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', since = $2, next_attempt = $2, lease_until = NULL WHERE n = $1`, int64(n), now); err != nil {
			return err
		}
		d.Status, d.Since, d.NextAttempt = registry.DeliveryPending, now, now
		out = d
		return s.audit(ctx, tx, a, registry.AuditLine{Action: "webhook.retry", Target: id,
			Detail: fmt.Sprintf("webhook %s, %s of %s seq %d after %d attempts", sub, d.Type, d.Serial, d.Seq, d.Attempts)}, now)
	})
	if err == nil {
		s.signalQueued()
	}
	return out, err
}

// ClaimDeliveries leases up to limit pending deliveries due at now, oldest
// due first, for lease: rows locked by another replica's claim are skipped
// (FOR UPDATE SKIP LOCKED) and a leased row is not claimed again until its
// lease ends, so one delivery goes to one replica at a time.
// Errors: EUnavailable; internal ones.
func (s *Store) ClaimDeliveries(now time.Time, lease time.Duration, limit int) ([]registry.ClaimedDelivery, error) {
	now = registry.Instant(now)
	var out []registry.ClaimedDelivery
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		out = out[:0]
		rows, err := tx.Query(ctx, `WITH due AS (
				SELECT n FROM webhook_deliveries
				WHERE status = 'pending' AND next_attempt <= $1 AND (lease_until IS NULL OR lease_until <= $1)
				ORDER BY next_attempt, n LIMIT $3 FOR UPDATE SKIP LOCKED)
			UPDATE webhook_deliveries d SET lease_until = $2 FROM due, webhooks w
			WHERE d.n = due.n AND w.id = d.webhook
			RETURNING d.n, d.webhook, d.serial, d.seq, d.type, d.status, d.attempts, d.last_error, d.created, d.since, d.next_attempt, d.delivered_at, w.url, w.secret`,
			now, now.Add(lease), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var x deliveryScan
			var c registry.ClaimedDelivery
			if err := rows.Scan(append(x.dest(), &c.URL, &c.Secret)...); err != nil {
				return err
			}
			c.Delivery = x.delivery()
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	// The event and the item as of it, read after the claim's commit: a
	// delivery whose event cannot be read keeps a zero Event, and its
	// attempts fail (as on bbolt).
	for i := range out {
		if rec, err := s.Get(out[i].Serial); err == nil {
			out[i].Event, out[i].Record, _ = registry.RecordAsOf(rec, out[i].Seq)
		}
	}
	return out, nil
}

// FinishDeliveries records attempts in one transaction; a delivery no
// longer pending is left as it is. Errors: EUnavailable; internal ones.
func (s *Store) FinishDeliveries(attempts []registry.Attempt) error {
	return s.write(func(ctx context.Context, tx pgx.Tx) error {
		for _, a := range attempts {
			n, err := registry.DeliveryNumber(a.Delivery)
			if err != nil || n > 1<<63-1 {
				continue // never claimed: nothing to record
			}
			var status string
			var next, delivered pgtype.Timestamptz
			switch {
			case a.Delivered:
				status, delivered = string(registry.DeliveryDelivered), pgtype.Timestamptz{Time: registry.Instant(a.At), Valid: true}
			case a.Retry.IsZero():
				status = string(registry.DeliveryDead)
			default:
				status, next = string(registry.DeliveryPending), pgtype.Timestamptz{Time: registry.Instant(a.Retry), Valid: true}
			}
			if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, status = $3, next_attempt = $4,
				delivered_at = $5, last_error = CASE WHEN $6 THEN last_error ELSE $7 END, lease_until = NULL
				WHERE webhook = $1 AND n = $2 AND status = 'pending'`,
				a.Subscription, int64(n), status, next, delivered, a.Delivered, registry.TruncateDeliveryError(a.Error)); err != nil {
				return err
			}
		}
		return nil
	})
}

// PendingDeliveries counts the pending deliveries. Errors: EUnavailable;
// internal ones.
func (s *Store) PendingDeliveries() (int, error) {
	var n int
	err := s.read(func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'`).Scan(&n)
	})
	return n, err
}

// dumpWebhooks hands the webhooks (with their secrets) and their
// deliveries to sink, in the bbolt store's order.
func dumpWebhooks(ctx context.Context, tx pgx.Tx, sink registry.Sink) error {
	err := each(ctx, tx, `SELECT id, url, events, secret, created FROM webhooks ORDER BY id`, func(rows pgx.Rows) error {
		var w registry.Subscription
		if err := rows.Scan(&w.ID, &w.URL, &w.Events, &w.Secret, &w.Created); err != nil {
			return err
		}
		w.Created = w.Created.UTC()
		return sink.Webhook(w)
	})
	if err != nil {
		return err
	}
	return each(ctx, tx, `SELECT `+deliveryCols+` FROM webhook_deliveries ORDER BY webhook, n`, func(rows pgx.Rows) error {
		var x deliveryScan
		if err := rows.Scan(x.dest()...); err != nil {
			return err
		}
		return sink.Delivery(x.delivery())
	})
}

// deliveryRow is d as a row of webhook_deliveries (deliveryCols' order).
func deliveryRow(d registry.Delivery) ([]any, error) {
	n, err := registry.DeliveryNumber(d.ID)
	if err != nil || n > 1<<63-1 {
		return nil, fmt.Errorf("delivery id %q", d.ID)
	}
	at := func(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()} }
	return []any{int64(n), d.Subscription, d.Serial, int64(d.Seq), string(d.Type), string(d.Status), d.Attempts, d.LastError,
		d.Created, d.Since, at(d.NextAttempt), at(d.DeliveredAt)}, nil
}
