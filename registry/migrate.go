package registry

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// Moving a registry from one store to another (`sanbao migrate`): the
// source hands everything over through a Sink (Dumper), the target writes
// what it is handed (Loader), and Digest, run on both, says whether the
// copy is whole.

// ItemDump is an item as a store keeps it: terms, derived fields, history
// and scan counts.
type ItemDump struct {
	Item    policy.Item
	Derived Derived // Carried is not set: carriers come apart (Sink.Carrier)
	Seq     uint64
	History []policy.Event
	Scans   Scans
}

// KeyDump is an API key with the SHA-256 of its secret.
type KeyDump struct {
	Key  Key
	Hash []byte
}

// UserDump is a staff account with the argon2id hash of its password.
type UserDump struct {
	User User
	Hash string
}

// IdempotencyDump is a remembered Idempotency-Key with its first answer.
type IdempotencyDump struct {
	Caller, Key string // Caller "" for a key stored before keys were scoped
	At          time.Time
	RequestHash []byte
	Answer      []byte
}

// Sink receives a store's contents, in this order: the secret, models,
// the GTINs models have had, items (in serial order), carriers, keys, users, audit entries (oldest
// first), idempotency keys, webhooks (with their secrets), their
// deliveries, batch notices. Console sessions are not handed over: people sign in again
// on the copy; nor are webhook leases (a delivery in flight is sent again).
type Sink struct {
	Secret      func(secret []byte) error
	Model       func(m policy.Model) error
	GTIN        func(gtin, sku string) error
	Item        func(it ItemDump) error
	Carrier     func(batch, serial string) error
	Key         func(k KeyDump) error
	User        func(u UserDump) error
	Audit       func(e AuditEntry) error
	Idempotency func(k IdempotencyDump) error
	Webhook     func(s Subscription) error
	Delivery    func(d Delivery) error
	Notice      func(n Notice) error
}

// Dumper is a store that can hand over everything it holds.
type Dumper interface {
	// Dump calls sink's functions with everything the store holds, read
	// in one consistent view; the first error stops it. Errors: the
	// sink's; EUnavailable; internal ones.
	Dump(sink Sink) error
}

// Loader is a store that can take in another store's contents.
type Loader interface {
	// Load calls fill with a Sink writing into the store, which must be
	// empty (no model, item or key), and commits what it was handed.
	// Errors: EConflict when the store is not empty; fill's; EUnavailable.
	Load(fill func(Sink) error) error
}

// NotEmpty is Load's EConflict for a target that holds data already.
func NotEmpty(what string) error {
	return policy.Errorf(policy.EConflict, "to", "the target %s is not empty: migrate copies into an empty registry only", what)
}

// Summary counts what a store holds and sums every item's history, for
// checking a copy.
type Summary struct {
	Models, GTINs, Items, Events, Carriers, Keys, Users, Audit, Idempotency int
	Webhooks, Deliveries, Notices                                           int
	// Histories is the SHA-256 of every item's serial, terms, derived
	// fields, history and scan count, in serial order, then of every
	// webhook, delivery and notice.
	Histories [32]byte
}

// Digest reads a store whole and summarises it.
func Digest(d Dumper) (Summary, error) {
	var s Summary
	h := sha256.New()
	err := d.Dump(Sink{
		Secret: func([]byte) error { return nil },
		Model:  func(policy.Model) error { s.Models++; return nil },
		GTIN:   func(string, string) error { s.GTINs++; return nil },
		Item: func(it ItemDump) error {
			s.Items++
			s.Events += len(it.History)
			return hashJSON(h, struct {
				Item    policy.Item
				Derived Derived
				Seq     uint64
				History []policy.Event
				Count   uint64
			}{it.Item, it.Derived, it.Seq, it.History, it.Scans.Count})
		},
		Carrier:     func(string, string) error { s.Carriers++; return nil },
		Key:         func(KeyDump) error { s.Keys++; return nil },
		User:        func(UserDump) error { s.Users++; return nil },
		Audit:       func(AuditEntry) error { s.Audit++; return nil },
		Idempotency: func(IdempotencyDump) error { s.Idempotency++; return nil },
		Webhook: func(w Subscription) error {
			s.Webhooks++
			return hashJSON(h, w)
		},
		Delivery: func(d Delivery) error {
			s.Deliveries++
			return hashJSON(h, d)
		},
		Notice: func(n Notice) error {
			s.Notices++
			return hashJSON(h, n)
		},
	})
	copy(s.Histories[:], h.Sum(nil))
	return s, err
}

// String is the summary as `sanbao migrate` prints it.
func (s Summary) String() string {
	return fmt.Sprintf("%d models (%d GTINs), %d items, %d events, %d carriers, %d keys, %d users, %d audit entries, %d idempotency keys, %d webhooks with %d deliveries, %d notices; histories sha256 %x",
		s.Models, s.GTINs, s.Items, s.Events, s.Carriers, s.Keys, s.Users, s.Audit, s.Idempotency, s.Webhooks, s.Deliveries, s.Notices, s.Histories[:8])
}

// hashJSON adds v's JSON, its length first, to h.
func hashJSON(h hash.Hash, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
	h.Write(b)
	return nil
}
