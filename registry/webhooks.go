package registry

import (
	"crypto/rand"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sanbao/sanbao/policy"
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
	webhookIDLen     = 12
	webhookSecretLen = 32 // random bytes; Standard Webhooks asks for 24 to 64
	maxWebhookURL    = 2000
	maxDeliveryError = 500 // characters of the last error kept
	deliveryIDPrefix = "msg_"
	deliveryIDDigits = 16
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

// NewWebhook makes a subscription's id (wh_ and 12 characters) and
// signing secret (32 random bytes).
func NewWebhook() (id string, secret []byte) {
	idBytes := make([]byte, 8)
	rand.Read(idBytes)
	secret = make([]byte, webhookSecretLen)
	rand.Read(secret)
	return "wh_" + keyEncoding.EncodeToString(idBytes)[:webhookIDLen], secret
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
