package registry

import (
	"io"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// Store is the registry as the server and the command line use it,
// whichever store holds it: the bbolt file (registry/bolt, the embedded
// default) or PostgreSQL (registry/postgres). Every method of every store
// answers the same for the same calls; registry/storetest is the suite
// that says so.
//
// Methods take no context.Context yet: the server's call sites are being
// changed by other work at the same time, and a store bounds each of its own
// waits (bbolt's lock timeout, PostgreSQL's statement timeout). Consumers
// that need only a part take the role interface below.
type Store interface {
	ItemStore
	EventStore
	ModelStore
	KeyStore
	UserStore
	SessionStore
	WebhookStore
	NoticeStore
	AuditLog
	Operations
	Importer
	ReportStore
	io.Closer
}

// ItemStore registers serials and reads items, batches and the service queue.
type ItemStore interface {
	// Register registers rows in one transaction, all or nothing (see
	// NewRegistration for the checks); bad are the rows the caller found bad
	// while decoding them, reported with the others. Errors: ETooLarge
	// beyond MaxRegisterRows; EInvalid with Rows (code EConflict for a
	// serial registered with other data); EInvalid "no rows"; EUnavailable.
	Register(a Actor, rows []Row, bad ...policy.RowError) (RegisterResult, error)
	// RegisterCSV registers the rows of a registration CSV as Register
	// does, each bad row reported with its file line. Errors: as Register;
	// EBadRequest for an empty CSV or a bad header.
	RegisterCSV(a Actor, r io.Reader) (RegisterResult, error)
	// Get returns an item's record with its full history and scan counts.
	// Errors: EInvalid for a malformed serial; ENotFound.
	Get(serial string) (Record, error)
	// ItemView is Get, the model of the item's SKU and the notices of its
	// batches (BatchNotices of NoticeBatches), read together: the public
	// page needs all three on every view. Errors: as Get's (EInvalid for
	// a malformed serial; ENotFound); EUnavailable.
	ItemView(serial string) (ItemView, error)
	// Scan counts one public view of serial at instant at. It never fails
	// and never waits on storage: counts are buffered per process and may
	// be lost in a crash.
	Scan(serial string, at time.Time)
	// Batch returns one page of a batch's members and carriers. Errors:
	// EInvalid for a malformed batch, cursor or limit; ENotFound.
	Batch(batch, after string, limit int) (BatchPage, error)
	// Batches lists every batch with its counts. Errors: internal only.
	Batches() ([]BatchCount, error)
	// OpenCases returns the items with an open service case, in serial
	// order. Errors: internal only.
	OpenCases() ([]Record, error)
	// Order lists the serials dispatched under an order, in serial order.
	// Errors: EInvalid for a malformed order; ENotFound.
	Order(order string) ([]OrderLine, error)
	// DeleteItem unregisters a serial registered by mistake. Errors:
	// EInvalid (serial, reason); ENotFound; EConflict when it has events
	// or replaced another unit; EUnavailable.
	DeleteItem(a Actor, serial, reason string) error
}

// EventStore appends events. Write.Answer runs inside the write's
// transaction and may run more than once (a grouped bbolt commit rerun, a
// PostgreSQL retry after a serialisation failure or deadlock): it must be
// a pure function of its Outcome.
type EventStore interface {
	// Append validates and appends one event. Errors: EInvalid; ENotFound;
	// EConflict (the history forbids it, or the Idempotency-Key was used
	// with another request); EUnavailable.
	Append(w Write, serial string, ev policy.Event) (Outcome, error)
	// AppendMany appends events in order, all or nothing; bad are the rows
	// the caller found bad while decoding them, skipped and reported with
	// the others. Errors: EInvalid "no events"; EInvalid with Rows; key
	// errors as Append; EUnavailable.
	AppendMany(w Write, rows []EventRow, bad ...policy.RowError) (Outcome, error)
	// ReceiveOrder records the receipt of every serial dispatched under an
	// order. Errors: EInvalid; ENotFound (nothing dispatched under it);
	// EConflict; key errors as Append; EUnavailable.
	ReceiveOrder(w Write, order string, on policy.Date, ev policy.Evidence) (Outcome, error)
	// ConfirmReceipt records a customer's own confirmation of receipt from
	// the public page (client: their network, for the audit log).
	// Errors: ENotFound; EInvalid "on"; EConflict; EUnavailable.
	ConfirmReceipt(client, serial string, on policy.Date) (Appended, error)
}

// ModelStore keeps the models.
type ModelStore interface {
	// PutModel creates or replaces a model; the bool reports creation. A
	// GTIN, once a model's, stays that model's. Errors: EInvalid naming the
	// field; EConflict for another model's GTIN; EUnavailable.
	PutModel(a Actor, m policy.Model) (policy.Model, bool, error)
	// Model returns one model. Errors: EInvalid for a malformed SKU; ENotFound.
	Model(sku string) (policy.Model, error)
	// Models returns every model in SKU order. Errors: internal only.
	Models() ([]policy.Model, error)
	// ModelByGTIN returns the SKU of the model that has (or had) a GTIN.
	// Errors: ENotFound.
	ModelByGTIN(gtin string) (string, error)
	// DeleteModel deletes a model no item uses. Errors: EInvalid;
	// ENotFound; EConflict naming a serial that uses it; EUnavailable.
	DeleteModel(a Actor, sku string) error
}

// KeyStore keeps the API keys (their secrets' SHA-256, never the secrets).
type KeyStore interface {
	// Authenticate returns the key of a token "<id>.<secret>". Errors:
	// EUnauthorized for a malformed, unknown, wrong or revoked token.
	Authenticate(token string) (Key, error)
	// KeyByID returns a key, revoked or not. Errors: ENotFound.
	KeyByID(id string) (Key, error)
	// CreateKey creates a key and returns its token, shown once. Errors:
	// EInvalid for the name or role; EUnavailable.
	CreateKey(a Actor, name string, role Role) (Key, string, error)
	// Keys lists every key, oldest first. Errors: internal only.
	Keys() ([]Key, error)
	// RevokeKey revokes a key. Errors: ENotFound; EConflict for the last
	// active admin key; EUnavailable.
	RevokeKey(a Actor, id string) error
}

// UserStore keeps the staff accounts (argon2id hashes of their passwords).
type UserStore interface {
	// CreateUser creates a user. Errors: EInvalid naming the field;
	// EConflict when the username is taken; EUnavailable.
	CreateUser(a Actor, u User, password string) (User, error)
	// Users lists every user by username. Errors: internal only.
	Users() ([]User, error)
	// User returns one user. Errors: ENotFound.
	User(username string) (User, error)
	// UpdateUser changes a user; disabling one or setting a password ends
	// its console sessions. Errors: ENotFound; EInvalid; EConflict for the
	// last active admin user; EUnavailable.
	UpdateUser(a Actor, username string, p UserPatch) (User, error)
	// CheckPassword returns the enabled user whose password it is.
	// Errors: EUnauthorized, alike for every refusal.
	CheckPassword(username, password string) (User, error)
}

// SessionStore keeps the console sessions (the SHA-256 of their ids), so
// that any replica serves any signed-in browser.
type SessionStore interface {
	// CreateSession starts a session (new id and form token); past
	// MaxSessionsPerOwner the owner's oldest ends. Errors: EInvalid;
	// EUnavailable.
	CreateSession(s Session) (Session, error)
	// Session returns a live session. Errors: ENotFound.
	Session(id string) (Session, error)
	// EndSession ends a session. Errors: EUnavailable.
	EndSession(id string) error
	// UpdateSession changes a live session's flash and centre through f.
	// Errors: ENotFound; EUnavailable.
	UpdateSession(id string, f func(*Session)) error
}

// NoticeStore keeps the batch notices (recalls and advisories), one per
// batch at most.
type NoticeStore interface {
	// PutNotice sets a batch's notice (CheckNotice), replacing any it had;
	// the bool reports that it had none. Setting the same notice again
	// writes nothing. Errors: EInvalid naming the field; ENotFound for a
	// batch with no registered serial and no bundled accessory;
	// EUnavailable.
	PutNotice(a Actor, n Notice) (Notice, bool, error)
	// DeleteNotice clears a batch's notice. Errors: EInvalid for a
	// malformed batch; ENotFound when it has none; EUnavailable.
	DeleteNotice(a Actor, batch string) error
	// Notices lists every notice in batch order. Errors: internal only.
	Notices() ([]Notice, error)
	// BatchNotices returns the notices of the batches given (those that
	// have one) in batch order. Errors: internal only.
	BatchNotices(batches []string) ([]Notice, error)
}

// AuditLog reads the audit log, which every write adds to in its own
// transaction.
type AuditLog interface {
	// Record writes an entry of something done outside the registry's own
	// writes (a console sign-in). Errors: EUnavailable.
	Record(a Actor, action, target, detail string) error
	// Audit lists entries oldest first after the cursor `after` ("" = from
	// the first); the string returned is the next page's cursor, "" on the
	// last. Cursors are opaque and belong to one store. Errors: EInvalid
	// for a malformed cursor or a negative limit.
	Audit(after string, limit int) ([]AuditEntry, string, error)
}

// Operations are what the operations endpoints ask of a store.
type Operations interface {
	// Ready is nil when the store accepts writes, else EUnavailable.
	Ready() error
	// Stats returns the counters kept by every write. Errors: internal only.
	Stats() (Stats, error)
	// CheckSecrets returns the check-code secrets, the current one first.
	// Callers must not modify them.
	CheckSecrets() [][]byte
}

// Importer is the offline bulk registration of `sanbao import`.
type Importer interface {
	// Import registers the rows of a registration CSV (see ParseCSV): all
	// checked before any is written, then written in chunks; progress (may
	// be nil) gets a line per phase. Errors: as Register, plus EBadRequest
	// for a bad header.
	Import(a Actor, r io.Reader, progress io.Writer) (RegisterResult, error)
}

// Backuper is a store that can stream a consistent snapshot of itself (the
// bbolt file). A store without it is backed up with its own tools
// (pg_dump for PostgreSQL).
type Backuper interface {
	// Backup writes a snapshot to w and returns the bytes written. Errors:
	// EUnavailable when no snapshot can be taken.
	Backup(w io.Writer) (int64, error)
}

// Checker is a store that can check its own consistency (bbolt's page check).
type Checker interface {
	// Check returns every problem found, joined; nil when there is none.
	Check() error
}

// StorageFull starts the message of the EUnavailable a store returns when
// its storage has no room (a full disk, PostgreSQL's 53100 disk_full); the
// server answers it with 507.
const StorageFull = "storage is full"
