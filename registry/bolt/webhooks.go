package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// Buckets of the webhooks (created on open: a file of the current schema
// written before them gains them without a migration).
var (
	bucketWebhooks   = []byte("webhooks")   // subscription id -> subscription
	bucketDeliveries = []byte("deliveries") // subscription id 0x00 big-endian delivery number -> delivery
	bucketOutbox     = []byte("outbox")     // big-endian due unix nanos ‖ delivery number -> subscription id

	webhookBuckets = [][]byte{bucketWebhooks, bucketDeliveries, bucketOutbox}
)

const (
	maxDeliveryLeases = 1 << 16
)

var _ registry.WebhookStore = (*DB)(nil)

type subscriptionRec struct {
	URL     string    `json:"url"`
	Events  []string  `json:"events"`
	Secret  []byte    `json:"secret"`
	Created time.Time `json:"created"`
}

type deliveryRec struct {
	Serial      string                  `json:"serial"`
	Seq         uint64                  `json:"seq"`
	Type        policy.EventType        `json:"type"`
	Status      registry.DeliveryStatus `json:"status"`
	Attempts    int                     `json:"attempts,omitempty"`
	LastError   string                  `json:"last_error,omitempty"`
	Created     time.Time               `json:"created"`
	Since       time.Time               `json:"since"`
	NextAttempt time.Time               `json:"next_attempt,omitzero"`
	DeliveredAt time.Time               `json:"delivered_at,omitzero"`
}

func (r *deliveryRec) delivery(sub string, n uint64) registry.Delivery {
	return registry.Delivery{ID: registry.DeliveryID(n), Subscription: sub, Serial: r.Serial, Seq: r.Seq, Type: r.Type,
		Status: r.Status, Attempts: r.Attempts, LastError: r.LastError, Created: r.Created, Since: r.Since,
		NextAttempt: r.NextAttempt, DeliveredAt: r.DeliveredAt}
}

func outboxKey(due time.Time, n uint64) []byte {
	return binary.BigEndian.AppendUint64(be64(uint64(due.UnixNano())), n)
}

// webhookState is the bbolt store's share of the delivery worker's state:
// one process holds the file, so a lease lives in memory and dies with the
// process — after a crash every delivery is due again at once, and sent
// with the same id.
type webhookState struct {
	queued chan struct{} // a token after a commit that queued deliveries

	mu     sync.Mutex
	leases map[uint64]time.Time // delivery number -> lease expiry
}

// ensureWebhookBuckets creates the webhook buckets in a writable file that
// lacks them.
func (db *DB) ensureWebhookBuckets() error {
	missing := false
	if err := db.bolt.View(func(tx *bbolt.Tx) error {
		for _, name := range webhookBuckets {
			missing = missing || tx.Bucket(name) == nil
		}
		return nil
	}); err != nil || !missing || db.readOnly {
		return err
	}
	return db.update(func(tx *bbolt.Tx) error {
		for _, name := range webhookBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeliveriesQueued receives a value after a write queued deliveries, so a
// sender can wake without polling; it is a hint, never a count.
func (db *DB) DeliveriesQueued() <-chan struct{} { return db.webhooks.queued }

func (db *DB) signalQueued() {
	select {
	case db.webhooks.queued <- struct{}{}:
	default:
	}
}

// CreateSubscription subscribes url to events (types, or "*") and returns
// the subscription with its signing secret, which is returned here only.
// It checks the URL's form; whether its host may be reached is the
// caller's to check (it needs the network).
// Errors: EInvalid naming url or events; EUnavailable.
func (db *DB) CreateSubscription(a registry.Actor, rawURL string, events []string) (registry.Subscription, error) {
	u, err := registry.CheckWebhookURL(rawURL)
	if err != nil {
		return registry.Subscription{}, err
	}
	if events, err = registry.CheckWebhookEvents(events); err != nil {
		return registry.Subscription{}, err
	}
	id, secret := registry.NewWebhook()
	now := db.now()
	rec := subscriptionRec{URL: u.String(), Events: events, Secret: secret, Created: now.UTC()}
	err = db.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketWebhooks)
		if b.Get([]byte(id)) != nil {
			return policy.Errorf(policy.EConflict, "", "webhook id collision; try again") // 2^-60 per pair
		}
		v, err := encodeJSON(rec)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(id), v); err != nil {
			return err
		}
		return db.audit(tx, a, "webhook.create", id, rec.URL+" for "+strings.Join(events, ", "), now)
	})
	if err != nil {
		return registry.Subscription{}, err
	}
	return rec.subscription(id, true), nil
}

func (r *subscriptionRec) subscription(id string, secret bool) registry.Subscription {
	s := registry.Subscription{ID: id, URL: r.URL, Events: r.Events, Created: r.Created}
	if secret {
		s.Secret = r.Secret
	}
	return s
}

func getSubscription(tx *bbolt.Tx, id string) (subscriptionRec, error) {
	var r subscriptionRec
	b := tx.Bucket(bucketWebhooks)
	var v []byte
	if b != nil {
		v = b.Get([]byte(id))
	}
	if v == nil {
		return r, policy.Errorf(policy.ENotFound, "id", "no webhook %s", id)
	}
	return r, decodeJSON("webhook "+id, v, &r)
}

// Subscriptions lists every webhook, oldest first, without secrets.
// Errors: only internal ones.
func (db *DB) Subscriptions() ([]registry.Subscription, error) {
	out := []registry.Subscription{}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketWebhooks)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var r subscriptionRec
			if err := decodeJSON("webhook "+string(k), v, &r); err != nil {
				return err
			}
			out = append(out, r.subscription(string(k), false))
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b registry.Subscription) int { return a.Created.Compare(b.Created) })
	return out, err
}

// Subscription returns one webhook without its secret. Errors: ENotFound.
func (db *DB) Subscription(id string) (registry.Subscription, error) {
	var s registry.Subscription
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		r, err := getSubscription(tx, id)
		s = r.subscription(id, false)
		return err
	})
	return s, err
}

// DeleteSubscription removes a webhook with its deliveries, pending ones
// included (nothing more is sent to it). Errors: ENotFound; EUnavailable.
func (db *DB) DeleteSubscription(a registry.Actor, id string) error {
	now := db.now()
	return db.update(func(tx *bbolt.Tx) error {
		r, err := getSubscription(tx, id)
		if err != nil {
			return err
		}
		deliveries, outbox := tx.Bucket(bucketDeliveries), tx.Bucket(bucketOutbox)
		p := prefix(id)
		var keys [][]byte
		c := deliveries.Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			var d deliveryRec
			if err := decodeJSON("delivery", v, &d); err != nil {
				return err
			}
			if d.Status == registry.DeliveryPending {
				if err := outbox.Delete(outboxKey(d.NextAttempt, binary.BigEndian.Uint64(k[len(p):]))); err != nil {
					return err
				}
			}
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := deliveries.Delete(k); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketWebhooks).Delete([]byte(id)); err != nil {
			return err
		}
		return db.audit(tx, a, "webhook.delete", id, fmt.Sprintf("%s, %d deliveries dropped", r.URL, len(keys)), now)
	})
}

// Deliveries lists a webhook's deliveries, newest first, optionally only
// those of one status, after the delivery id `after` ("" = from the
// newest); the string returned is the next page's cursor, "" on the last.
// limit as Audit's. Errors: ENotFound for the webhook; EInvalid for a
// malformed status, cursor or limit.
func (db *DB) Deliveries(sub string, status registry.DeliveryStatus, after string, limit int) ([]registry.Delivery, string, error) {
	limit, err := registry.PageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	if status != "" && !status.Valid() {
		return nil, "", policy.Errorf(policy.EInvalid, "status", "status must be pending, delivered or dead, not %q", status)
	}
	start := uint64(1<<64 - 1)
	if after != "" {
		n, err := registry.DeliveryNumber(after)
		if err != nil || n == 0 {
			return nil, "", policy.Errorf(policy.EInvalid, "after", "after must be the id of a delivery")
		}
		start = n - 1
	}
	out := []registry.Delivery{}
	next := ""
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		if _, err := getSubscription(tx, sub); err != nil {
			return err
		}
		p := prefix(sub)
		c := tx.Bucket(bucketDeliveries).Cursor()
		from := compositeKey(sub, be64(start))
		k, v := c.Seek(from)
		switch {
		case k == nil:
			k, v = c.Last()
		case !bytes.Equal(k, from):
			k, v = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, p); k, v = c.Prev() {
			var d deliveryRec
			if err := decodeJSON("delivery", v, &d); err != nil {
				return err
			}
			if status != "" && d.Status != status {
				continue
			}
			if len(out) == limit {
				next = out[len(out)-1].ID
				break
			}
			out = append(out, d.delivery(sub, binary.BigEndian.Uint64(k[len(p):])))
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// RetryDelivery queues a dead delivery again, due now, with a new retry
// window and the same id. Errors: ENotFound (webhook or delivery);
// EConflict when the delivery is not dead; EUnavailable.
func (db *DB) RetryDelivery(a registry.Actor, sub, id string) (registry.Delivery, error) {
	n, err := registry.DeliveryNumber(id)
	if err != nil {
		return registry.Delivery{}, err
	}
	now := db.now()
	var out registry.Delivery
	err = db.update(func(tx *bbolt.Tx) error {
		if _, err := getSubscription(tx, sub); err != nil {
			return err
		}
		d, err := getDelivery(tx, sub, n)
		if err != nil {
			return err
		}
		if d.Status != registry.DeliveryDead {
			return policy.Errorf(policy.EConflict, "delivery", "delivery %s is %s; only a dead delivery can be retried", id, d.Status)
		}
		d.Status, d.Since, d.NextAttempt = registry.DeliveryPending, now.UTC(), now.UTC()
		if err := putDelivery(tx, sub, n, &d); err != nil {
			return err
		}
		out = d.delivery(sub, n)
		return db.audit(tx, a, "webhook.retry", id, fmt.Sprintf("webhook %s, %s of %s seq %d after %d attempts", sub, d.Type, d.Serial, d.Seq, d.Attempts), now)
	})
	if err == nil {
		db.signalQueued()
	}
	return out, err
}

func getDelivery(tx *bbolt.Tx, sub string, n uint64) (deliveryRec, error) {
	var d deliveryRec
	v := tx.Bucket(bucketDeliveries).Get(compositeKey(sub, be64(n)))
	if v == nil {
		return d, policy.Errorf(policy.ENotFound, "delivery", "webhook %s has no delivery %s", sub, registry.DeliveryID(n))
	}
	return d, decodeJSON("delivery "+registry.DeliveryID(n), v, &d)
}

// putDelivery writes d and, when pending, its outbox entry at NextAttempt.
func putDelivery(tx *bbolt.Tx, sub string, n uint64, d *deliveryRec) error {
	v, err := encodeJSON(d)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketDeliveries).Put(compositeKey(sub, be64(n)), v); err != nil {
		return err
	}
	if d.Status != registry.DeliveryPending {
		return nil
	}
	return tx.Bucket(bucketOutbox).Put(outboxKey(d.NextAttempt, n), []byte(sub))
}

// enqueue queues a delivery of each appended event to every webhook that
// wants its type, in the event's transaction. It reports whether it queued any.
func (db *DB) enqueue(tx *bbolt.Tx, appended []registry.Appended, now time.Time) (bool, error) {
	b := tx.Bucket(bucketWebhooks)
	if b == nil {
		return false, nil
	}
	type sub struct {
		id  string
		rec subscriptionRec
	}
	var subs []sub
	err := b.ForEach(func(k, v []byte) error {
		s := sub{id: string(k)}
		if err := decodeJSON("webhook "+s.id, v, &s.rec); err != nil {
			return err
		}
		subs = append(subs, s)
		return nil
	})
	if err != nil || len(subs) == 0 {
		return false, err
	}
	deliveries := tx.Bucket(bucketDeliveries)
	deliveries.FillPercent = 0.9 // numbers only grow within a subscription
	queued := false
	for _, ap := range appended {
		for _, s := range subs {
			if !registry.WebhookWants(s.rec.Events, ap.Event.Type) {
				continue
			}
			n, err := deliveries.NextSequence()
			if err != nil {
				return false, err
			}
			at := now.UTC()
			d := deliveryRec{Serial: ap.Serial, Seq: ap.Event.Seq, Type: ap.Event.Type, Status: registry.DeliveryPending,
				Created: at, Since: at, NextAttempt: at}
			if err := putDelivery(tx, s.id, n, &d); err != nil {
				return false, err
			}
			queued = true
		}
	}
	return queued, nil
}

// ClaimDeliveries leases up to limit pending deliveries due at now, oldest
// due first, for lease: until it expires (or FinishDelivery records the
// attempt) no other claim returns them. Errors: only internal ones.
func (db *DB) ClaimDeliveries(now time.Time, lease time.Duration, limit int) ([]registry.ClaimedDelivery, error) {
	w := &db.webhooks
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []registry.ClaimedDelivery
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		outbox := tx.Bucket(bucketOutbox)
		if outbox == nil {
			return nil
		}
		subs := map[string]subscriptionRec{}
		c := outbox.Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			if len(k) != 16 || int64(binary.BigEndian.Uint64(k)) > now.UnixNano() {
				break
			}
			n := binary.BigEndian.Uint64(k[8:])
			if until, ok := w.leases[n]; ok && until.After(now) {
				continue
			}
			sub := string(v)
			s, ok := subs[sub]
			if !ok {
				var err error
				if s, err = getSubscription(tx, sub); err != nil {
					return err
				}
				subs[sub] = s
			}
			d, err := getDelivery(tx, sub, n)
			if err != nil {
				return err
			}
			cd := registry.ClaimedDelivery{Delivery: d.delivery(sub, n), URL: s.URL, Secret: s.Secret}
			// A delivery whose event cannot be read is still claimed, with a
			// zero Event: its attempts fail and it goes dead rather than
			// stopping every other delivery.
			cd.Event, cd.Record, _ = asOf(tx, d.Serial, d.Seq)
			out = append(out, cd)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(w.leases) > maxDeliveryLeases {
		for n, until := range w.leases {
			if !until.After(now) {
				delete(w.leases, n)
			}
		}
	}
	for _, d := range out {
		n, _ := registry.DeliveryNumber(d.ID)
		w.leases[n] = now.Add(lease)
	}
	return out, nil
}

// asOf is serial's event seq and the item's record as it stood just after
// it (RecordAsOf).
func asOf(tx *bbolt.Tx, serial string, seq uint64) (policy.Event, registry.Record, error) {
	r, err := getItem(tx, serial)
	if err != nil {
		return policy.Event{}, registry.Record{}, fmt.Errorf("delivery of %s seq %d: %w", serial, seq, err)
	}
	rec, err := record(tx, r)
	if err != nil {
		return policy.Event{}, registry.Record{}, err
	}
	return registry.RecordAsOf(rec, seq)
}

// FinishDeliveries records attempts at claimed deliveries in one
// transaction (a sender records them in groups: one commit per attempt
// would take the disk from the event writes): each delivered, due again at
// its Retry, or dead when Retry is zero. A delivery no longer pending (its
// webhook deleted, or recorded by another attempt) is left as it is; its
// lease ends either way. Errors: EUnavailable; internal ones.
func (db *DB) FinishDeliveries(attempts []registry.Attempt) error {
	err := db.update(func(tx *bbolt.Tx) error {
		for _, a := range attempts {
			if err := finishTx(tx, a); err != nil {
				return err
			}
		}
		return nil
	})
	db.webhooks.mu.Lock()
	for _, a := range attempts {
		if n, err := registry.DeliveryNumber(a.Delivery); err == nil {
			delete(db.webhooks.leases, n)
		}
	}
	db.webhooks.mu.Unlock()
	return err
}

func finishTx(tx *bbolt.Tx, a registry.Attempt) error {
	n, err := registry.DeliveryNumber(a.Delivery)
	if err != nil {
		return nil // never claimed: nothing to record
	}
	r, err := getDelivery(tx, a.Subscription, n)
	if policy.ErrorCode(err) == policy.ENotFound || err == nil && r.Status != registry.DeliveryPending {
		return nil
	}
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketOutbox).Delete(outboxKey(r.NextAttempt, n)); err != nil {
		return err
	}
	r.Attempts++
	switch {
	case a.Delivered:
		r.Status, r.DeliveredAt, r.NextAttempt = registry.DeliveryDelivered, registry.Instant(a.At), time.Time{}
	case a.Retry.IsZero():
		r.Status, r.NextAttempt = registry.DeliveryDead, time.Time{}
	default:
		r.NextAttempt = registry.Instant(a.Retry)
	}
	if !a.Delivered {
		r.LastError = registry.TruncateDeliveryError(a.Error)
	}
	return putDelivery(tx, a.Subscription, n, &r)
}

// dumpWebhooks hands the subscriptions (with their secrets) and their
// deliveries to sink.
func dumpWebhooks(tx *bbolt.Tx, sink registry.Sink) error {
	b := tx.Bucket(bucketWebhooks)
	if b == nil {
		return nil
	}
	err := b.ForEach(func(k, v []byte) error {
		var r subscriptionRec
		if err := decodeJSON("webhook "+string(k), v, &r); err != nil {
			return err
		}
		return sink.Webhook(r.subscription(string(k), true))
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketDeliveries).ForEach(func(k, v []byte) error {
		sub, nb, ok := bytes.Cut(k, []byte{0})
		if !ok || len(nb) != 8 {
			return fmt.Errorf("delivery key %q is damaged", k)
		}
		var d deliveryRec
		if err := decodeJSON("delivery", v, &d); err != nil {
			return err
		}
		return sink.Delivery(d.delivery(string(sub), binary.BigEndian.Uint64(nb)))
	})
}

// loadWebhook and loadDelivery write what a Load is handed; a delivery
// keeps its id, and later ones are numbered after the highest.
func loadWebhook(tx *bbolt.Tx, s registry.Subscription) error {
	v, err := encodeJSON(subscriptionRec{URL: s.URL, Events: s.Events, Secret: s.Secret, Created: s.Created})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketWebhooks).Put([]byte(s.ID), v)
}

func loadDelivery(tx *bbolt.Tx, d registry.Delivery) error {
	n, err := registry.DeliveryNumber(d.ID)
	if err != nil {
		return err
	}
	r := deliveryRec{Serial: d.Serial, Seq: d.Seq, Type: d.Type, Status: d.Status, Attempts: d.Attempts, LastError: d.LastError,
		Created: d.Created, Since: d.Since, NextAttempt: d.NextAttempt, DeliveredAt: d.DeliveredAt}
	if err := putDelivery(tx, d.Subscription, n, &r); err != nil {
		return err
	}
	b := tx.Bucket(bucketDeliveries)
	return b.SetSequence(max(b.Sequence(), n))
}

// PendingDeliveries counts the deliveries waiting in the outbox. Errors:
// only internal ones.
func (db *DB) PendingDeliveries() (int, error) {
	n := 0
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(bucketOutbox); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}
