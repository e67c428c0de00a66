package registry

import (
	"time"

	"github.com/sanbao/sanbao/policy"
)

// Actor is who makes a change: recorded on events (By = Name, KeyID) and in
// the audit log.
type Actor struct{ KeyID, Name string }

// Role is what an API key may do.
type Role string

// The roles of the contract.
const (
	RoleAdmin     Role = "admin"
	RoleWarehouse Role = "warehouse"
	RoleService   Role = "service"
)

// Options are what every store is opened with; each store's Options embed
// them and add their own (bolt.Options, postgres.Options). The zero value
// is usable.
type Options struct {
	// Policy fixes kinds' warranty months at registration and validates
	// events; default policy.Default().
	Policy *policy.Policy
	// CheckSecret (from --check-secret-file) overrides the secret kept in
	// the store.
	CheckSecret []byte
	// PreviousSecret is still accepted when verifying (rotation).
	PreviousSecret []byte
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Bundle is a bundled accessory of a product row, known by SKU and batch.
type Bundle struct{ SKU, Batch string }

// Row is one serial to register.
type Row struct {
	Serial, SKU, Batch string
	ProducedOn         policy.Date
	Accessories        []Bundle
}

// RegisterResult counts the rows written and the identical rows already present.
type RegisterResult struct{ Created, Unchanged int }

// Scans counts public views of an item's check page.
type Scans struct {
	Count       uint64
	First, Last time.Time
}

// Record is an item with its full history (oldest first) and scan counts.
type Record struct {
	Item    policy.Item
	History []policy.Event
	Scans   Scans
}

// ItemView is what a public page shows of one item, read in one snapshot:
// its record, the model of its SKU and the notices that concern it. The
// public page needs all three on every view, and reading them together
// costs one read transaction (bbolt) instead of one for each.
type ItemView struct {
	Record
	Model    policy.Model // the model of the item's SKU, when HasModel
	HasModel bool         // the SKU's model exists (one deleted since registration does not)
	Notices  []Notice     // the notices of the item's batches (NoticeBatches), in batch order; nil when none
}

// BatchPage is one page of a batch: serials registered in it and products
// carrying a bundled accessory of it, both in serial order. Count and
// Carriers are the batch's totals; Next is the cursor for the following
// page ("" on the last).
type BatchPage struct {
	Batch     string
	Count     int // serials registered in the batch
	Carriers  int // products carrying a bundled accessory of the batch
	Serials   []string
	CarriedBy []string
	Next      string
}

// BatchCount is a batch with its member and carrier counts.
type BatchCount struct {
	Batch           string
	Count, Carriers int
}

// Stats are cheap counters kept in the file.
type Stats struct{ Items, Models, OpenCases int }

// Write is the context of an event write.
type Write struct {
	Actor Actor
	// IdempotencyKey, when not "", makes the write answer once: a retry with
	// the same key and RequestHash gets Outcome.Replay and writes nothing.
	// Keys are the caller's (Actor.KeyID): another caller's same key is
	// another key.
	IdempotencyKey string
	// RequestHash is the SHA-256 of method+path+body.
	RequestHash [32]byte
	// Answer runs inside the write transaction (only when a key is set) to
	// produce the first answer, stored under the key.
	Answer func(Outcome) ([]byte, error)
}

// Appended is one written event and the item's record after it.
type Appended struct {
	Serial string
	Event  policy.Event
	Record Record
}

// Outcome is the result of an event write. Replay != nil: the key was seen
// with the same request; Replay is the stored first answer and nothing was written.
type Outcome struct {
	Appended []Appended
	Replay   []byte
}

// EventRow is one event of AppendMany.
type EventRow struct {
	Serial string
	Event  policy.Event
}

// Key is an API key (never its secret).
type Key struct {
	ID, Name string
	Role     Role
	Created  time.Time
	Revoked  time.Time
}

// AuditEntry is one mutation: who, what, when.
type AuditEntry struct {
	ID                                  string
	At                                  time.Time
	KeyID, Name, Action, Target, Detail string
}
