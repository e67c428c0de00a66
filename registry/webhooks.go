package registry

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sanbao/sanbao/policy"
	bolt "go.etcd.io/bbolt"
)

// Buckets of the webhooks (created on open: a file of the current schema
// written before them gains them without a migration).
var (
	bucketWebhooks   = []byte("webhooks")   // subscription id -> subscription
	bucketDeliveries = []byte("deliveries") // subscription id 0x00 big-endian delivery number -> delivery
	bucketOutbox     = []byte("outbox")     // big-endian due unix nanos ‖ delivery number -> subscription id

	webhookBuckets = [][]byte{bucketWebhooks, bucketDeliveries, bucketOutbox}
)

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// The statuses of a delivery: pending (queued or being retried), delivered
// (a 2xx answer), dead (retried for RetryWindow without success; an admin
// may retry it).
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryDead      DeliveryStatus = "dead"
)

// Valid reports whether s is one of the three statuses.
func (s DeliveryStatus) Valid() bool {
	return s == DeliveryPending || s == DeliveryDelivered || s == DeliveryDead
}

// WildcardEvent subscribes to every event type.
const WildcardEvent = "*"

const (
	webhookIDLen      = 12
	webhookSecretLen  = 32 // random bytes; Standard Webhooks asks for 24 to 64
	maxWebhookURL     = 2000
	maxDeliveryError  = 500 // characters of the last error kept
	deliveryIDPrefix  = "msg_"
	deliveryIDDigits  = 16
	maxDeliveryLeases = 1 << 16
)

// WebhookStore is what the webhooks API and their sender ask of a store.
// Every event write of the store queues, in its own transaction, a
// delivery of each event to every subscription that wants its type.
type WebhookStore interface {
	// CreateSubscription subscribes a URL to event types and returns the
	// subscription with its secret, returned this once. Errors: EInvalid
	// naming url or events; EUnavailable.
	CreateSubscription(a Actor, url string, events []string) (Subscription, error)
	// Subscriptions lists every subscription, oldest first, without
	// secrets. Errors: internal only.
	Subscriptions() ([]Subscription, error)
	// Subscription returns one, without its secret. Errors: ENotFound.
	Subscription(id string) (Subscription, error)
	// DeleteSubscription removes one with its deliveries. Errors:
	// ENotFound; EUnavailable.
	DeleteSubscription(a Actor, id string) error
	// Deliveries lists a subscription's deliveries, newest first, a page
	// at a time. Errors: ENotFound; EInvalid for status, cursor or limit.
	Deliveries(sub string, status DeliveryStatus, after string, limit int) ([]Delivery, string, error)
	// RetryDelivery queues a dead delivery again. Errors: ENotFound;
	// EConflict when it is not dead; EUnavailable.
	RetryDelivery(a Actor, sub, id string) (Delivery, error)
	// ClaimDeliveries leases up to limit pending deliveries due at now:
	// no other claim, in this process or another, returns them until the
	// lease ends or their attempt is recorded. Errors: internal only.
	ClaimDeliveries(now time.Time, lease time.Duration, limit int) ([]ClaimedDelivery, error)
	// FinishDeliveries records attempts in one transaction. Errors:
	// EUnavailable; internal ones.
	FinishDeliveries(attempts []Attempt) error
	// PendingDeliveries counts the pending deliveries. Errors: internal only.
	PendingDeliveries() (int, error)
	// DeliveriesQueued receives a value after a write of this process
	// queued deliveries (a hint to wake the sender; others are polled).
	DeliveriesQueued() <-chan struct{}
}

var _ WebhookStore = (*DB)(nil)

// Subscription is a webhook: where to send which event types, and the
// secret deliveries are signed with.
type Subscription struct {
	ID      string
	URL     string
	Events  []string // event types, or WildcardEvent
	Secret  []byte   // set by CreateSubscription only: it is shown once
	Created time.Time
}

// Delivery is one event queued for one subscription (the outbox). ID is
// stable across retries: it is the webhook-id a receiver deduplicates on.
type Delivery struct {
	ID, Subscription, Serial string
	Seq                      uint64
	Type                     policy.EventType
	Status                   DeliveryStatus
	Attempts                 int
	LastError                string
	Created                  time.Time
	// Since starts the retry window: Created, or the time an admin retried
	// a dead delivery.
	Since       time.Time
	NextAttempt time.Time // pending only
	DeliveredAt time.Time // delivered only
}

// ClaimedDelivery is a delivery leased to a sender, with what it needs to
// send it: where, the secret, and the event with the item as it stood just
// after it (its history up to the event; scan counts as they are now).
type ClaimedDelivery struct {
	Delivery
	URL    string
	Secret []byte
	Event  policy.Event
	Record Record
}

// Attempt is the outcome of one attempt at a claimed delivery.
type Attempt struct {
	Subscription, Delivery string // the delivery's webhook and id
	At                     time.Time
	Delivered              bool
	Error                  string    // why it failed
	Retry                  time.Time // when to try again; zero: give up (dead)
}

type subscriptionRec struct {
	URL     string    `json:"url"`
	Events  []string  `json:"events"`
	Secret  []byte    `json:"secret"`
	Created time.Time `json:"created"`
}

type deliveryRec struct {
	Serial      string           `json:"serial"`
	Seq         uint64           `json:"seq"`
	Type        policy.EventType `json:"type"`
	Status      DeliveryStatus   `json:"status"`
	Attempts    int              `json:"attempts,omitempty"`
	LastError   string           `json:"last_error,omitempty"`
	Created     time.Time        `json:"created"`
	Since       time.Time        `json:"since"`
	NextAttempt time.Time        `json:"next_attempt,omitzero"`
	DeliveredAt time.Time        `json:"delivered_at,omitzero"`
}

func (r *deliveryRec) delivery(sub string, n uint64) Delivery {
	return Delivery{ID: DeliveryID(n), Subscription: sub, Serial: r.Serial, Seq: r.Seq, Type: r.Type,
		Status: r.Status, Attempts: r.Attempts, LastError: r.LastError, Created: r.Created, Since: r.Since,
		NextAttempt: r.NextAttempt, DeliveredAt: r.DeliveredAt}
}

// DeliveryID is the id of delivery number n: msg_ and 16 hex digits (a
// store numbers its deliveries 1, 2, 3…).
func DeliveryID(n uint64) string {
	return fmt.Sprintf("%s%0*x", deliveryIDPrefix, deliveryIDDigits, n)
}

// DeliveryNumber parses a delivery id. Errors: ENotFound for anything that
// is not one (no such delivery can exist).
func DeliveryNumber(id string) (uint64, error) {
	hex, ok := strings.CutPrefix(id, deliveryIDPrefix)
	n, err := strconv.ParseUint(hex, 16, 64)
	if !ok || len(hex) != deliveryIDDigits || err != nil {
		return 0, policy.Errorf(policy.ENotFound, "delivery", "no delivery %s", id)
	}
	return n, nil
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
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		for _, name := range webhookBuckets {
			missing = missing || tx.Bucket(name) == nil
		}
		return nil
	}); err != nil || !missing || db.readOnly {
		return err
	}
	return db.update(func(tx *bolt.Tx) error {
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

// CheckWebhookURL checks the form of a webhook URL: absolute http or https,
// a host, no user information (it would be listed to every admin).
// Errors: EInvalid naming the field "url".
func CheckWebhookURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, policy.Errorf(policy.EInvalid, "url", "url is required")
	}
	if len(raw) > maxWebhookURL {
		return nil, policy.Errorf(policy.EInvalid, "url", "url is %d characters long; at most %d are allowed", len(raw), maxWebhookURL)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, policy.Errorf(policy.EInvalid, "url", "url %q is not a URL", raw)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, policy.Errorf(policy.EInvalid, "url", "url must start with http:// or https://, not %q", raw)
	case u.Hostname() == "":
		return nil, policy.Errorf(policy.EInvalid, "url", "url %q has no host", raw)
	case u.User != nil:
		return nil, policy.Errorf(policy.EInvalid, "url", "url must not carry a user name or password; authenticate deliveries by their signature")
	case u.Fragment != "":
		return nil, policy.Errorf(policy.EInvalid, "url", "url must not have a #fragment")
	}
	return u, nil
}

// CheckWebhookEvents checks a subscription's event types: known types or
// "*", at least one; duplicates are dropped, "*" alone when present.
// Errors: EInvalid naming events.
func CheckWebhookEvents(events []string) ([]string, error) {
	if len(events) == 0 {
		return nil, policy.Errorf(policy.EInvalid, "events", "events is required: a list of event types, or [\"*\"] for every type")
	}
	var out []string
	for _, e := range events {
		e = strings.TrimSpace(e)
		if e == WildcardEvent {
			return []string{WildcardEvent}, nil
		}
		if !slices.Contains(policy.EventTypes, policy.EventType(e)) {
			return nil, policy.Errorf(policy.EInvalid, "events", "%q is not an event type (dispatched, received, replaced, … or \"*\" for every type)", e)
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// WebhookWants reports whether a subscription to events wants events of type t.
func WebhookWants(events []string, t policy.EventType) bool {
	for _, e := range events {
		if e == WildcardEvent || e == string(t) {
			return true
		}
	}
	return false
}

// CreateSubscription subscribes url to events (types, or "*") and returns
// the subscription with its signing secret, which is returned here only.
// It checks the URL's form; whether its host may be reached is the
// caller's to check (it needs the network).
// Errors: EInvalid naming url or events; EUnavailable.
func (db *DB) CreateSubscription(a Actor, rawURL string, events []string) (Subscription, error) {
	u, err := CheckWebhookURL(rawURL)
	if err != nil {
		return Subscription{}, err
	}
	if events, err = CheckWebhookEvents(events); err != nil {
		return Subscription{}, err
	}
	id, secret := NewWebhook()
	now := db.now()
	rec := subscriptionRec{URL: u.String(), Events: events, Secret: secret, Created: now.UTC()}
	err = db.update(func(tx *bolt.Tx) error {
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
		return Subscription{}, err
	}
	return rec.subscription(id, true), nil
}

// NewWebhook makes a subscription's id (wh_ and 12 characters) and
// signing secret (32 random bytes).
func NewWebhook() (id string, secret []byte) {
	idBytes := make([]byte, 8)
	rand.Read(idBytes)
	secret = make([]byte, webhookSecretLen)
	rand.Read(secret)
	return "wh_" + keyEncoding.EncodeToString(idBytes)[:webhookIDLen], secret
}

func (r *subscriptionRec) subscription(id string, secret bool) Subscription {
	s := Subscription{ID: id, URL: r.URL, Events: r.Events, Created: r.Created}
	if secret {
		s.Secret = r.Secret
	}
	return s
}

func getSubscription(tx *bolt.Tx, id string) (subscriptionRec, error) {
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
func (db *DB) Subscriptions() ([]Subscription, error) {
	out := []Subscription{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
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
	slices.SortStableFunc(out, func(a, b Subscription) int { return a.Created.Compare(b.Created) })
	return out, err
}

// Subscription returns one webhook without its secret. Errors: ENotFound.
func (db *DB) Subscription(id string) (Subscription, error) {
	var s Subscription
	err := db.bolt.View(func(tx *bolt.Tx) error {
		r, err := getSubscription(tx, id)
		s = r.subscription(id, false)
		return err
	})
	return s, err
}

// DeleteSubscription removes a webhook with its deliveries, pending ones
// included (nothing more is sent to it). Errors: ENotFound; EUnavailable.
func (db *DB) DeleteSubscription(a Actor, id string) error {
	now := db.now()
	return db.update(func(tx *bolt.Tx) error {
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
			if d.Status == DeliveryPending {
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
func (db *DB) Deliveries(sub string, status DeliveryStatus, after string, limit int) ([]Delivery, string, error) {
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	if status != "" && !status.Valid() {
		return nil, "", policy.Errorf(policy.EInvalid, "status", "status must be pending, delivered or dead, not %q", status)
	}
	start := uint64(1<<64 - 1)
	if after != "" {
		n, err := DeliveryNumber(after)
		if err != nil || n == 0 {
			return nil, "", policy.Errorf(policy.EInvalid, "after", "after must be the id of a delivery")
		}
		start = n - 1
	}
	out := []Delivery{}
	next := ""
	err = db.bolt.View(func(tx *bolt.Tx) error {
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
func (db *DB) RetryDelivery(a Actor, sub, id string) (Delivery, error) {
	n, err := DeliveryNumber(id)
	if err != nil {
		return Delivery{}, err
	}
	now := db.now()
	var out Delivery
	err = db.update(func(tx *bolt.Tx) error {
		if _, err := getSubscription(tx, sub); err != nil {
			return err
		}
		d, err := getDelivery(tx, sub, n)
		if err != nil {
			return err
		}
		if d.Status != DeliveryDead {
			return policy.Errorf(policy.EConflict, "delivery", "delivery %s is %s; only a dead delivery can be retried", id, d.Status)
		}
		d.Status, d.Since, d.NextAttempt = DeliveryPending, now.UTC(), now.UTC()
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

func getDelivery(tx *bolt.Tx, sub string, n uint64) (deliveryRec, error) {
	var d deliveryRec
	v := tx.Bucket(bucketDeliveries).Get(compositeKey(sub, be64(n)))
	if v == nil {
		return d, policy.Errorf(policy.ENotFound, "delivery", "webhook %s has no delivery %s", sub, DeliveryID(n))
	}
	return d, decodeJSON("delivery "+DeliveryID(n), v, &d)
}

// putDelivery writes d and, when pending, its outbox entry at NextAttempt.
func putDelivery(tx *bolt.Tx, sub string, n uint64, d *deliveryRec) error {
	v, err := encodeJSON(d)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketDeliveries).Put(compositeKey(sub, be64(n)), v); err != nil {
		return err
	}
	if d.Status != DeliveryPending {
		return nil
	}
	return tx.Bucket(bucketOutbox).Put(outboxKey(d.NextAttempt, n), []byte(sub))
}

// enqueue queues a delivery of each appended event to every webhook that
// wants its type, in the event's transaction. It reports whether it queued any.
func (db *DB) enqueue(tx *bolt.Tx, appended []Appended, now time.Time) (bool, error) {
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
			if !WebhookWants(s.rec.Events, ap.Event.Type) {
				continue
			}
			n, err := deliveries.NextSequence()
			if err != nil {
				return false, err
			}
			at := now.UTC()
			d := deliveryRec{Serial: ap.Serial, Seq: ap.Event.Seq, Type: ap.Event.Type, Status: DeliveryPending,
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
func (db *DB) ClaimDeliveries(now time.Time, lease time.Duration, limit int) ([]ClaimedDelivery, error) {
	w := &db.webhooks
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []ClaimedDelivery
	err := db.bolt.View(func(tx *bolt.Tx) error {
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
			cd := ClaimedDelivery{Delivery: d.delivery(sub, n), URL: s.URL, Secret: s.Secret}
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
		n, _ := DeliveryNumber(d.ID)
		w.leases[n] = now.Add(lease)
	}
	return out, nil
}

// asOf is serial's event seq and the item's record as it stood just after
// it (RecordAsOf).
func asOf(tx *bolt.Tx, serial string, seq uint64) (policy.Event, Record, error) {
	r, err := getItem(tx, serial)
	if err != nil {
		return policy.Event{}, Record{}, fmt.Errorf("delivery of %s seq %d: %w", serial, seq, err)
	}
	rec, err := record(tx, r)
	if err != nil {
		return policy.Event{}, Record{}, err
	}
	return RecordAsOf(rec, seq)
}

// RecordAsOf is event seq of rec and rec as it stood just after it: the
// history up to that event. Only the item's terms and derived fields stored
// with it are today's; the views derive what they show from the history.
// Errors: internal, when rec has no event seq.
func RecordAsOf(rec Record, seq uint64) (policy.Event, Record, error) {
	i := slices.IndexFunc(rec.History, func(ev policy.Event) bool { return ev.Seq == seq })
	if i < 0 {
		return policy.Event{}, Record{}, fmt.Errorf("delivery of %s seq %d: no such event", rec.Item.Serial, seq)
	}
	rec.History = rec.History[:i+1]
	return rec.History[i], rec, nil
}

// FinishDeliveries records attempts at claimed deliveries in one
// transaction (a sender records them in groups: one commit per attempt
// would take the disk from the event writes): each delivered, due again at
// its Retry, or dead when Retry is zero. A delivery no longer pending (its
// webhook deleted, or recorded by another attempt) is left as it is; its
// lease ends either way. Errors: EUnavailable; internal ones.
func (db *DB) FinishDeliveries(attempts []Attempt) error {
	err := db.update(func(tx *bolt.Tx) error {
		for _, a := range attempts {
			if err := finishTx(tx, a); err != nil {
				return err
			}
		}
		return nil
	})
	db.webhooks.mu.Lock()
	for _, a := range attempts {
		if n, err := DeliveryNumber(a.Delivery); err == nil {
			delete(db.webhooks.leases, n)
		}
	}
	db.webhooks.mu.Unlock()
	return err
}

func finishTx(tx *bolt.Tx, a Attempt) error {
	n, err := DeliveryNumber(a.Delivery)
	if err != nil {
		return nil // never claimed: nothing to record
	}
	r, err := getDelivery(tx, a.Subscription, n)
	if policy.ErrorCode(err) == policy.ENotFound || err == nil && r.Status != DeliveryPending {
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
		r.Status, r.DeliveredAt, r.NextAttempt = DeliveryDelivered, Instant(a.At), time.Time{}
	case a.Retry.IsZero():
		r.Status, r.NextAttempt = DeliveryDead, time.Time{}
	default:
		r.NextAttempt = Instant(a.Retry)
	}
	if !a.Delivered {
		r.LastError = TruncateDeliveryError(a.Error)
	}
	return putDelivery(tx, a.Subscription, n, &r)
}

// dumpWebhooks hands the subscriptions (with their secrets) and their
// deliveries to sink.
func dumpWebhooks(tx *bolt.Tx, sink Sink) error {
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
func loadWebhook(tx *bolt.Tx, s Subscription) error {
	v, err := encodeJSON(subscriptionRec{URL: s.URL, Events: s.Events, Secret: s.Secret, Created: s.Created})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketWebhooks).Put([]byte(s.ID), v)
}

func loadDelivery(tx *bolt.Tx, d Delivery) error {
	n, err := DeliveryNumber(d.ID)
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
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketOutbox); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// TruncateDeliveryError is the part of an attempt's error a delivery keeps.
func TruncateDeliveryError(s string) string {
	n := maxDeliveryError
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
