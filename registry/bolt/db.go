package bolt

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bucket names. Index buckets (batches, orders, cases, idemtime) hold keys
// whose values are flags or empty; every other value starts with a version
// byte so the encoding can evolve.
var (
	bucketModels      = []byte("models")      // SKU -> model
	bucketItems       = []byte("items")       // serial -> item record (terms + derived fields)
	bucketBatches     = []byte("batches")     // batch 0x00 serial -> member/carrier flags
	bucketBatchCounts = []byte("batchcounts") // batch -> member and carrier counts
	bucketOrders      = []byte("orders")      // order 0x00 serial -> empty
	bucketEvents      = []byte("events")      // serial 0x00 big-endian seq -> event
	bucketAudit       = []byte("audit")       // big-endian unix nanos ‖ big-endian sequence -> entry
	bucketKeys        = []byte("keys")        // key id -> key (SHA-256 of the secret)
	bucketMeta        = []byte("meta")        // schema version, check-code secret
	bucketIdempotency = []byte("idempotency") // Idempotency-Key -> time, request hash, first answer
	bucketIdemTime    = []byte("idemtime")    // big-endian unix nanos ‖ key -> empty (pruning order)
	bucketCases       = []byte("cases")       // serial -> open case id
	bucketScans       = []byte("scans")       // serial -> public view counts
	bucketCounts      = []byte("counts")      // counter name -> big-endian uint64
	// Added without a schema change: created on open when missing.
	bucketUsers         = []byte("users")         // username -> user (argon2id hash of the password)
	bucketSessions      = []byte("sessions")      // SHA-256 of a console session id -> session
	bucketOwnerSessions = []byte("ownersessions") // "u:"username or "k:"key id 0x00 session hash -> empty
	// The report counters (reportdb.go) are created by migration 2 → 3 and
	// with a new file.

	allBuckets = [][]byte{bucketModels, bucketItems, bucketBatches, bucketBatchCounts, bucketOrders,
		bucketEvents, bucketAudit, bucketKeys, bucketMeta, bucketIdempotency, bucketIdemTime, bucketCases,
		bucketScans, bucketCounts, bucketUsers, bucketSessions, bucketOwnerSessions, bucketQuality, bucketFindings,
		bucketExpiry}
)

// Keys of the meta and counts buckets.
var (
	metaSchema   = []byte("schema")
	metaSecret   = []byte("secret")
	countItems   = []byte("items")
	countModels  = []byte("models")
	countCases   = []byte("open_cases")
	secretLength = 32
)

// migrations[i] upgrades a file from schema version i+1 to i+2, inside one
// write transaction. Open runs the ones a file needs after copying it to a
// backup beside it.
var migrations = []func(tx *bbolt.Tx, p *policy.Policy) error{
	func(tx *bbolt.Tx, _ *policy.Policy) error { return markScanned(tx) }, // 1 → 2
	buildReports, // 2 → 3: the report counters (issue 19)
}

// schemaVersion is the layout this build reads and writes: the first (1)
// plus one per migration.
func schemaVersion() uint64 { return uint64(1 + len(migrations)) }

// Group-commit defaults, from BenchmarkAppend on this kind of machine (a
// commit costs about a millisecond of fsync): a group starts its commit when
// 16 appends have joined or 1 ms after the first. bbolt's own defaults
// (1000, 10 ms) make every group wait the full 10 ms unless a thousand
// writers are waiting; 500 µs splits a burst into many small commits.
const (
	defaultMaxBatchSize  = 16
	defaultMaxBatchDelay = time.Millisecond
	defaultTimeout       = time.Second
	initialMmapSize      = 1 << 30 // virtual: readers never wait on a remap below 1 GiB
)

// Options configure Open: the options every store takes, and the file's
// own. The zero value is usable.
type Options struct {
	registry.Options
	// Timeout is how long Open waits for the file lock held by another
	// process; default 1s, then a clear EUnavailable error.
	Timeout time.Duration
	// ReadOnly opens the file shared and read-only: every write returns
	// EUnavailable "database is read-only".
	ReadOnly bool
	// MaxBatchSize and MaxBatchDelay tune the grouping of concurrent single
	// appends into one transaction; zero values take tuned defaults.
	MaxBatchSize  int
	MaxBatchDelay time.Duration
}

// DB is the registry: one bbolt file. Its methods are safe for concurrent use.
type DB struct {
	bolt     *bbolt.DB
	path     string
	policy   *policy.Policy
	now      func() time.Time
	secrets  [][]byte
	readOnly bool // opened read-only: every write is refused

	// fault is the last storage failure of a write, nil once a write
	// succeeds again.
	fault atomic.Pointer[storageFault]
	// probed is when Ready last tried a write to see a fault cleared (unix nanos).
	probed atomic.Int64
	// writers counts single appends in flight: alone, one goes straight to
	// Update; with company, they are grouped with bolt's Batch.
	writers atomic.Int32

	scans    *registry.ScanBuffer
	keys     keyCache // every API key, for Authenticate
	models   modelCache
	webhooks webhookState

	closeOnce sync.Once
	closeErr  error
}

// Open opens the database at path, creating it (and its check-code secret)
// when it does not exist. It waits Options.Timeout for a file lock held by
// another process. A file that cannot be opened for writing (EACCES, EROFS)
// is opened read-only: reads work and every write returns EUnavailable.
// A file of an older schema is copied to path.bak-v<N>-<time> and migrated.
//
// Errors: EUnavailable when another process holds the file, when the file's
// schema is newer than this program, or when an older file must be migrated
// but cannot be written; ENotFound when a read-only open finds no file;
// EInternal when the file is not a sanbao database, cannot be read, or is
// damaged (an error, never a panic).
func Open(path string, o Options) (db *DB, err error) {
	// bbolt panics on some damaged pages (a zeroed freelist or root page)
	// rather than returning an error: a damaged file must get a clear
	// answer, not a crash.
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("database %s is damaged (%v): restore the latest backup; the file was left as it is", path, r)
		}
	}()
	return openDB(path, o)
}

func openDB(path string, o Options) (*DB, error) {
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.Policy == nil {
		o.Policy = policy.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// Every instant stored is to the microsecond, as on PostgreSQL, so the
	// two stores answer alike.
	clock := o.Now
	o.Now = func() time.Time { return registry.Instant(clock()) }
	if o.MaxBatchSize <= 0 {
		o.MaxBatchSize = defaultMaxBatchSize
	}
	if o.MaxBatchDelay <= 0 {
		o.MaxBatchDelay = defaultMaxBatchDelay
	}
	bdb, readOnly, err := openBolt(path, o.Timeout, o.ReadOnly)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			bdb.Close()
			panic(r)
		}
	}()
	bdb.MaxBatchSize = o.MaxBatchSize
	bdb.MaxBatchDelay = o.MaxBatchDelay
	db := &DB{bolt: bdb, path: path, policy: o.Policy, now: o.Now, readOnly: readOnly}
	secret, err := db.prepare()
	if err != nil {
		bdb.Close()
		return nil, err
	}
	if len(o.CheckSecret) > 0 {
		secret = bytes.Clone(o.CheckSecret)
	}
	db.secrets = [][]byte{secret}
	db.webhooks.queued, db.webhooks.leases = make(chan struct{}, 1), map[uint64]time.Time{}
	if err := db.ensureWebhookBuckets(); err != nil {
		bdb.Close()
		return nil, err
	}
	if len(o.PreviousSecret) > 0 {
		db.secrets = append(db.secrets, bytes.Clone(o.PreviousSecret))
	}
	if err := db.bolt.View(db.keys.load); err != nil {
		bdb.Close()
		return nil, err
	}
	db.scans = registry.NewScanBuffer(db.writeScans, db.readOnly)
	return db, nil
}

func openBolt(path string, timeout time.Duration, readOnly bool) (*bbolt.DB, bool, error) {
	open := func(ro bool) (*bbolt.DB, error) {
		return bbolt.Open(path, 0o600, &bbolt.Options{
			Timeout:         timeout,
			ReadOnly:        ro,
			FreelistType:    bbolt.FreelistMapType,
			InitialMmapSize: initialMmapSize,
		})
	}
	bdb, err := open(readOnly)
	if !readOnly && (errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EPERM)) {
		readOnly = true
		bdb, err = open(true)
	}
	switch {
	case err == nil:
		return bdb, readOnly, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, false, policy.Errorf(policy.EUnavailable, "", "database %s is in use by another process (is sanbao serve running?)", path)
	case readOnly && errors.Is(err, os.ErrNotExist):
		return nil, false, policy.Errorf(policy.ENotFound, "", "database %s does not exist", path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return nil, false, fmt.Errorf("%s is not a sanbao database or is damaged: %w", path, err)
	default:
		return nil, false, fmt.Errorf("opening database %s: %w", path, err)
	}
}

// prepare creates the buckets and secret of a new file, checks the schema
// version of an existing one and migrates it, and returns the stored secret.
func (db *DB) prepare() ([]byte, error) {
	var version uint64
	var secret []byte
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return nil
		}
		v := meta.Get(metaSchema)
		if len(v) != 8 {
			return fmt.Errorf("%s: schema version is missing or damaged", db.path)
		}
		version = binary.BigEndian.Uint64(v)
		secret = bytes.Clone(meta.Get(metaSecret))
		return nil
	})
	if err != nil {
		return nil, err
	}
	want := schemaVersion()
	switch {
	case version == 0 && db.readOnly:
		return nil, policy.Errorf(policy.EUnavailable, "", "database %s is empty and cannot be initialised: it is read-only", db.path)
	case version == 0:
		secret = make([]byte, secretLength)
		rand.Read(secret)
		err := db.bolt.Update(func(tx *bbolt.Tx) error {
			if err := createBuckets(tx); err != nil {
				return err
			}
			meta := tx.Bucket(bucketMeta)
			if err := meta.Put(metaSchema, be64(want)); err != nil {
				return err
			}
			return meta.Put(metaSecret, secret)
		})
		return secret, db.storageErr(err)
	case version > want:
		return nil, policy.Errorf(policy.EUnavailable, "", "database %s has schema version %d; this sanbao understands up to %d: upgrade sanbao", db.path, version, want)
	case version < want && db.readOnly:
		return nil, policy.Errorf(policy.EUnavailable, "", "database %s has schema version %d and must be migrated to %d, but it is read-only", db.path, version, want)
	case version < want:
		return secret, db.migrate(version)
	}
	if len(secret) == 0 {
		return nil, fmt.Errorf("%s: the check-code secret is missing", db.path)
	}
	return secret, db.addBuckets()
}

// addBuckets creates the buckets added since a file's schema version was
// written (new kinds of data need no migration); a read-only file goes
// without them and reads them as empty.
func (db *DB) addBuckets() error {
	missing := false
	db.bolt.View(func(tx *bbolt.Tx) error {
		for _, name := range allBuckets {
			missing = missing || tx.Bucket(name) == nil
		}
		return nil
	})
	if !missing || db.readOnly {
		return nil
	}
	return db.storageErr(db.bolt.Update(createBuckets))
}

func createBuckets(tx *bbolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// migrate copies the file to a backup beside it, then upgrades it from
// version `from` in one transaction: an interrupted migration leaves the old
// layout and the backup.
func (db *DB) migrate(from uint64) error {
	backup := fmt.Sprintf("%s.bak-v%d-%s", db.path, from, db.now().UTC().Format("20060102T150405Z"))
	if err := db.bolt.View(func(tx *bbolt.Tx) error { return writeSnapshot(backup, tx) }); err != nil {
		return fmt.Errorf("backing up %s before migrating it: %w", db.path, err)
	}
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		for v := from; v < schemaVersion(); v++ {
			if err := migrations[v-1](tx, db.policy); err != nil {
				return fmt.Errorf("migrating %s from schema %d to %d: %w", db.path, v, v+1, err)
			}
		}
		if err := createBuckets(tx); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaSchema, be64(schemaVersion()))
	})
	return db.storageErr(err)
}

// Close flushes buffered scan counts and closes the file. Calling it again
// returns the first result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		err := db.scans.Close()
		db.closeErr = errors.Join(err, db.bolt.Close())
	})
	return db.closeErr
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Policy is the policy the registry validates events and fixes terms with.
func (db *DB) Policy() *policy.Policy { return db.policy }

// CheckSecrets returns the check-code secrets: the current one first (from
// Options.CheckSecret, else the one kept in the file), then the previous one
// if Options.PreviousSecret was set. Callers must not modify them.
func (db *DB) CheckSecrets() [][]byte { return db.secrets }

// Check runs bbolt's consistency check over the whole file; every problem
// found is joined into the returned error. bbolt's check reads the
// freelist, which a concurrent commit changes, so on a writable database it
// runs inside a write transaction (rolled back): writers wait until it is done.
func (db *DB) Check() error {
	tx, err := db.bolt.Begin(!db.readOnly)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var errs []error
	for err := range tx.Check() {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// storageFault is a write's storage failure, remembered for Ready.
type storageFault struct {
	err *policy.Error
	// full: the file system ran out of space, which statfs can see cleared.
	// Otherwise (read-only, I/O error) only a write that succeeds proves the
	// storage healthy again: a file system that turned read-only after an
	// error may still call itself writable (ext4's emergency_ro).
	full bool
}

// Ready is nil when the database accepts writes. Otherwise it returns
// EUnavailable: "database is read-only", or the last write's storage
// failure — a full disk until the file system has room (readyMinFree)
// again; a read-only or failing one until a write succeeds. So that a
// server taken out of rotation by its readiness probe can come back, Ready
// itself tries a tiny write at most once per readyProbeEvery while such a
// fault is remembered.
func (db *DB) Ready() error {
	if db.readOnly {
		return errReadOnly
	}
	fault := db.fault.Load()
	if fault == nil {
		return nil
	}
	if fault.full {
		if free, readOnly, ok := fsSpace(filepath.Dir(db.path)); ok && (readOnly || free < readyMinFree) {
			return fault.err
		}
		db.fault.CompareAndSwap(fault, nil)
		return nil
	}
	now := db.now().UnixNano()
	last := db.probed.Load()
	if now-last < int64(readyProbeEvery) || !db.probed.CompareAndSwap(last, now) {
		return fault.err
	}
	err := db.update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaProbe, be64(uint64(now)))
	})
	if err != nil {
		if f := db.fault.Load(); f != nil {
			return f.err
		}
		return err
	}
	return nil
}

// readyMinFree is the free space after which a full disk counts as usable again.
const readyMinFree = 1 << 20

// readyProbeEvery spaces Ready's trial writes while the storage is failing.
const readyProbeEvery = time.Second

// metaProbe holds the time of Ready's last trial write.
var metaProbe = []byte("ready_probe")

var errReadOnly = policy.Errorf(policy.EUnavailable, "", "database is read-only")

// update runs fn in a write transaction (durable when it returns nil) and
// maps storage failures.
func (db *DB) update(fn func(tx *bbolt.Tx) error) error {
	if db.readOnly {
		return errReadOnly
	}
	return db.storageErr(db.bolt.Update(fn))
}

// storageErr maps a write's error: *policy.Error unchanged, a full or
// read-only file system to EUnavailable (remembered for Ready), anything
// else wrapped as internal. A successful write clears the remembered fault.
func (db *DB) storageErr(err error) error {
	var pe *policy.Error
	switch {
	case err == nil:
		db.fault.Store(nil)
		return nil
	case errors.As(err, &pe):
		return err
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, berrors.ErrMaxSizeReached):
		pe = policy.Errorf(policy.EUnavailable, "", "%s: nothing was written (%s)", registry.StorageFull, cause(err))
		db.fault.Store(&storageFault{err: pe, full: true})
		return pe
	case errors.Is(err, syscall.EROFS), errors.Is(err, berrors.ErrDatabaseReadOnly):
		pe = policy.Errorf(policy.EUnavailable, "", "database is read-only: nothing was written (%s)", cause(err))
	case errors.Is(err, syscall.EIO):
		// fsync failing is the disk (or the file system aborting its
		// journal), not a bug: the transaction was not acknowledged.
		pe = policy.Errorf(policy.EUnavailable, "", "storage failed: nothing was written (%s)", cause(err))
	default:
		return fmt.Errorf("registry: %w", err)
	}
	db.fault.Store(&storageFault{err: pe})
	return pe
}

// cause is the operating system's words for err without the file path,
// which callers of the API have no business seeing.
func cause(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

// Backup writes a consistent snapshot of the database to w and returns the
// bytes written. The snapshot goes to a temporary file (beside the database,
// else in the system temporary directory) in one short read transaction and
// is then streamed, so a slow reader never holds a transaction open.
// Errors: EUnavailable when no temporary file can be written; EInternal on
// other I/O failures (including w's).
func (db *DB) Backup(w io.Writer) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(db.path), ".sanbao-backup-*.tmp")
	if err != nil {
		f, err = os.CreateTemp("", "sanbao-backup-*.tmp")
	}
	if err != nil {
		return 0, policy.Errorf(policy.EUnavailable, "", "no room for a backup snapshot: %v", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		_, err := tx.WriteTo(f)
		return err
	})
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return 0, policy.Errorf(policy.EUnavailable, "", "%s: the backup snapshot could not be written", registry.StorageFull)
		}
		return 0, fmt.Errorf("backup snapshot: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, f)
}

// BackupFile copies the database at src to dst, replacing dst atomically. It
// is offline: it takes src's lock for a second at most, so it fails while a
// server has it open. Errors: EUnavailable when src is in use; ENotFound
// when src does not exist; EInvalid when dst is src.
func BackupFile(src, dst string) error {
	bdb, err := openOffline(src, dst)
	if err != nil {
		return err
	}
	defer bdb.Close()
	return bdb.View(func(tx *bbolt.Tx) error { return writeSnapshot(dst, tx) })
}

// writeSnapshot writes tx's snapshot to path atomically.
func writeSnapshot(path string, tx *bbolt.Tx) error {
	return writeFileAtomic(path, func(f atomicFile) error {
		_, err := tx.WriteTo(f)
		return err
	})
}

// Compact writes a compacted copy of the database at src to dst (replacing
// dst atomically): live data only, pages refilled. Offline, like BackupFile,
// with the same errors.
func Compact(src, dst string) error {
	bdb, err := openOffline(src, dst)
	if err != nil {
		return err
	}
	defer bdb.Close()
	return writeFileAtomic(dst, func(f atomicFile) error {
		// bbolt writes the file by its name, committing with fdatasync;
		// writeFileAtomic then syncs it through f as every atomic file.
		out, err := bbolt.Open(f.Name(), 0o600, &bbolt.Options{FreelistType: bbolt.FreelistMapType})
		if err != nil {
			return err
		}
		if err := bbolt.Compact(out, bdb, 64<<20); err != nil {
			out.Close()
			return fmt.Errorf("compacting %s: %w", src, err)
		}
		return out.Close()
	})
}

func openOffline(src, dst string) (*bbolt.DB, error) {
	if sameFile(src, dst) {
		return nil, policy.Errorf(policy.EInvalid, "out", "the output %s is the database itself", dst)
	}
	bdb, _, err := openBolt(src, defaultTimeout, true)
	return bdb, err
}

func sameFile(a, b string) bool {
	ai, err1 := os.Stat(a)
	bi, err2 := os.Stat(b)
	if err1 == nil && err2 == nil {
		return os.SameFile(ai, bi)
	}
	aa, _ := filepath.Abs(a)
	ba, _ := filepath.Abs(b)
	return aa == ba
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

var (
	_ registry.Store    = (*DB)(nil)
	_ registry.Backuper = (*DB)(nil)
	_ registry.Checker  = (*DB)(nil)
)
