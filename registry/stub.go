package registry

import (
	"io"
	"time"

	"github.com/sanbao/sanbao/policy"
	bolt "go.etcd.io/bbolt"
)

// DB is the registry: one bbolt file. Its methods are safe for concurrent use.
type DB struct {
	bolt *bolt.DB
	opts Options
}

var errPending = policy.Errorf(policy.EUnavailable, "", "registry: being implemented")

// Open opens (creating if needed) the database at path. Errors: EUnavailable
// when another process holds the file (after Options.Timeout) or the file's
// schema is newer than this program; EInternal for an unreadable file.
func Open(path string, o Options) (*DB, error) { return nil, errPending }

// Close flushes buffered scan counts and closes the file.
func (db *DB) Close() error { return errPending }

// Policy is the policy the registry validates with.
func (db *DB) Policy() *policy.Policy { return db.opts.Policy }

// CheckSecrets returns the check-code secrets: the current one first, then the
// previous one if set.
func (db *DB) CheckSecrets() [][]byte { return nil }

// Check runs bbolt's consistency check; every problem found is joined into
// the error (EInternal).
func (db *DB) Check() error { return errPending }

// Backup writes a consistent snapshot of the database to w and returns the
// bytes written. The snapshot is taken to a temporary file in a short read
// transaction, then streamed, so a slow reader never holds the file.
// Errors: EInternal on I/O failure.
func (db *DB) Backup(w io.Writer) (int64, error) { return 0, errPending }

// BackupFile copies the database at src to dst (offline: src must not be
// open elsewhere). Errors: EUnavailable when src is in use.
func BackupFile(src, dst string) error { return errPending }

// Compact writes a compacted copy of src to dst (offline).
// Errors: EUnavailable when src is in use.
func Compact(src, dst string) error { return errPending }

// Ready is nil when the database accepts writes, else EUnavailable (read-only
// or storage full).
func (db *DB) Ready() error { return errPending }

// PutModel creates or replaces a model (validated with policy.CheckModel);
// the bool reports creation. Errors: EInvalid, EUnavailable.
func (db *DB) PutModel(a Actor, m policy.Model) (policy.Model, bool, error) {
	return policy.Model{}, false, errPending
}

// Model returns one model. Errors: ENotFound.
func (db *DB) Model(sku string) (policy.Model, error) { return policy.Model{}, errPending }

// Models returns every model in SKU order.
func (db *DB) Models() ([]policy.Model, error) { return nil, errPending }

// Register registers rows, all or nothing. Errors: EInvalid with Rows (1-based
// row numbers; code "conflict" for a serial registered with other data),
// ETooLarge, EUnavailable.
func (db *DB) Register(a Actor, rows []Row) (RegisterResult, error) {
	return RegisterResult{}, errPending
}

// Import registers a CSV stream (serial,sku,batch[,produced_on][,accessories]).
// Errors: as Register.
func (db *DB) Import(a Actor, r io.Reader, progress io.Writer) (RegisterResult, error) {
	return RegisterResult{}, errPending
}

// ParseCSV decodes the registration CSV. Errors: EBadRequest (header),
// EInvalid with Rows.
func ParseCSV(r io.Reader) ([]Row, error) { return nil, errPending }

// Get returns an item's record. Errors: ENotFound, EInvalid (bad serial).
func (db *DB) Get(serial string) (Record, error) { return Record{}, errPending }

// Scan counts one public view of serial at at; buffered, flushed in batches.
func (db *DB) Scan(serial string, at time.Time) {}

// Batch returns a page of a batch. Errors: ENotFound when the batch has
// neither members nor carriers; EInvalid for a bad batch or limit.
func (db *DB) Batch(batch, after string, limit int) (BatchPage, error) {
	return BatchPage{}, errPending
}

// Batches lists every batch with counts.
func (db *DB) Batches() ([]BatchCount, error) { return nil, errPending }

// OpenCases returns the records of items with an open service case.
func (db *DB) OpenCases() ([]Record, error) { return nil, errPending }

// Stats returns the counters.
func (db *DB) Stats() (Stats, error) { return Stats{}, errPending }

// Append validates and appends one event. Errors: ENotFound, EInvalid,
// EConflict, EUnavailable.
func (db *DB) Append(w Write, serial string, ev policy.Event) (Outcome, error) {
	return Outcome{}, errPending
}

// AppendMany appends events all or nothing. Errors: EInvalid with Rows.
func (db *DB) AppendMany(w Write, rows []EventRow) (Outcome, error) { return Outcome{}, errPending }

// ReceiveOrder records receipt for every serial dispatched under order.
// Errors: ENotFound, EInvalid, EConflict.
func (db *DB) ReceiveOrder(w Write, order string, on policy.Date, ev policy.Evidence) (Outcome, error) {
	return Outcome{}, errPending
}

// CreateKey creates an API key; the string is the token shown once.
func (db *DB) CreateKey(a Actor, name string, role Role) (Key, string, error) {
	return Key{}, "", errPending
}

// Keys lists keys.
func (db *DB) Keys() ([]Key, error) { return nil, errPending }

// RevokeKey revokes a key. Errors: ENotFound, EConflict.
func (db *DB) RevokeKey(a Actor, id string) error { return errPending }

// Authenticate finds the key of a token. Errors: EUnauthorized.
func (db *DB) Authenticate(token string) (Key, error) { return Key{}, errPending }

// KeyByID returns a key. Errors: ENotFound.
func (db *DB) KeyByID(id string) (Key, error) { return Key{}, errPending }

// Audit lists audit entries after the cursor. Errors: EInvalid.
func (db *DB) Audit(after string, limit int) ([]AuditEntry, string, error) {
	return nil, "", errPending
}
