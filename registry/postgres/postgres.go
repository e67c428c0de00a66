// Package postgres is the registry on PostgreSQL (15 or newer): the same
// contract as the bbolt file (registry.Store), for any number of `sanbao
// serve` processes sharing one database.
//
// Every write is one transaction in READ COMMITTED. The events of one item
// are serialised by a row lock on the item (SELECT … FOR UPDATE, taken in
// serial order when a write touches several items); unique constraints
// settle duplicate serials and Idempotency-Keys (the loser's transaction is
// retried and then sees the winner's row); counters are updated with
// n = n + $1. Times come from Options.Now, never from the database's
// clock, to the microsecond.
//
// Per process (per replica) stay: the scan-count buffer (a crash loses at
// most a few seconds of public views), the key cache (a key revoked through
// another replica is refused here within KeyRefresh) and, in the server,
// the public rate limits.
package postgres

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// defaultMaxConns is the connections a Store keeps at most unless the
// URL says otherwise (pool_max_conns=N).
const defaultMaxConns = 16

// Options configure Open.
type Options struct {
	registry.Options
	// Timeout bounds each call's wait on the database (and Open's first
	// connection); default 10s, then EUnavailable.
	Timeout time.Duration
	// KeyRefresh is how stale this process's copies of the API keys and of
	// the models may be (a key revoked, a model changed through another
	// replica); default 5s.
	KeyRefresh time.Duration
}

// Store is the registry in a PostgreSQL database. Its methods are safe for
// concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	host    string
	policy  *policy.Policy
	now     func() time.Time
	timeout time.Duration
	secrets [][]byte

	keys       *keyCache
	scans      *registry.ScanBuffer
	modelCache modelCache
	queued     chan struct{} // a token after a write of this process queued webhook deliveries

	closeOnce sync.Once
	closeErr  error
}

var _ registry.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string), applies the schema migrations it lacks (one transaction, under
// an advisory lock so replicas starting together take turns) and loads the
// API keys.
// Errors: EUnavailable naming the host when the database cannot be
// reached, and when its schema is newer than this program; EInvalid for a
// malformed dsn.
func Open(dsn string, o Options) (*Store, error) {
	if o.Policy == nil {
		o.Policy = policy.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.KeyRefresh <= 0 {
		o.KeyRefresh = 5 * time.Second
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, policy.Errorf(policy.EInvalid, "db", "the PostgreSQL address is malformed: %v", err)
	}
	cfg.ConnConfig.ConnectTimeout = min(o.Timeout, 5*time.Second)
	if !strings.Contains(dsn, "pool_max_conns") {
		// pgxpool's default (the CPU count, at least 4) would queue
		// concurrent writers behind a few connections while each waits on
		// its commit's WAL flush, which PostgreSQL shares between commits.
		cfg.MaxConns = defaultMaxConns
	}
	host := cfg.ConnConfig.Host
	if !strings.HasPrefix(host, "/") {
		host = net.JoinHostPort(host, strconv.Itoa(int(cfg.ConnConfig.Port)))
	}
	clock := o.Now
	s := &Store{host: host, policy: o.Policy, now: func() time.Time { return registry.Instant(clock()) }, timeout: o.Timeout,
		modelCache: modelCache{ttl: o.KeyRefresh}, queued: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, s.unreachable(err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, s.unreachable(err)
	}
	secret, err := s.migrate(ctx)
	if err != nil {
		s.pool.Close()
		return nil, err
	}
	if len(o.CheckSecret) > 0 {
		secret = o.CheckSecret
	}
	s.secrets = [][]byte{secret}
	if len(o.PreviousSecret) > 0 {
		s.secrets = append(s.secrets, o.PreviousSecret)
	}
	s.keys = newKeyCache(s, o.KeyRefresh)
	if err := s.keys.load(ctx); err != nil {
		s.pool.Close()
		return nil, s.storageErr(err)
	}
	s.scans = registry.NewScanBuffer(s.writeScans, false)
	return s, nil
}

func (s *Store) unreachable(err error) error {
	return policy.Errorf(policy.EUnavailable, "", "cannot reach PostgreSQL at %s: %v", s.host, err)
}

// migrate applies the embedded migrations the database lacks and returns
// the check-code secret, creating it on a new database.
func (s *Store) migrate(ctx context.Context) ([]byte, error) {
	names, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	sort.Slice(names, func(i, j int) bool { return names[i].Name() < names[j].Name() })
	want := len(names)
	var secret []byte
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Replicas starting together apply the migrations one at a time.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7247300101)`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)`); err != nil {
			return err
		}
		var version int
		err := tx.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := tx.Exec(ctx, `INSERT INTO schema_version VALUES (0)`); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if version > want {
			return policy.Errorf(policy.EUnavailable, "", "the database at %s has schema version %d; this sanbao understands up to %d: upgrade sanbao", s.host, version, want)
		}
		for v := version; v < want; v++ {
			sql, err := migrationFiles.ReadFile("migrations/" + names[v].Name())
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return fmt.Errorf("migrating the database at %s to schema %d (%s): %w", s.host, v+1, names[v].Name(), err)
			}
		}
		if version < 4 && want >= 4 {
			// 0004_reports.sql made the counter tables; a tally is Go.
			if err := s.buildReports(ctx, tx); err != nil {
				return fmt.Errorf("migrating the database at %s to schema 4: building the report counters: %w", s.host, err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE schema_version SET version = $1`, want); err != nil {
			return err
		}
		fresh := make([]byte, 32)
		rand.Read(fresh)
		if _, err := tx.Exec(ctx, `INSERT INTO meta (name, value) VALUES ('secret', $1) ON CONFLICT (name) DO NOTHING`, fresh); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM meta WHERE name = 'secret'`).Scan(&secret)
	})
	if err != nil {
		return nil, s.storageErr(err)
	}
	return secret, nil
}

// Close flushes this process's buffered scan counts and closes the
// connections. Calling it again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.keys.close()
		s.closeErr = s.scans.Close()
		s.pool.Close()
	})
	return s.closeErr
}

// CheckSecrets returns the check-code secrets: the current one first (from
// Options.CheckSecret, else the one kept in the database), then the
// previous one if set. Callers must not modify them.
func (s *Store) CheckSecrets() [][]byte { return s.secrets }

// Ready is nil when the database answers. Errors: EUnavailable naming the
// host when it does not (within a second or Options.Timeout).
func (s *Store) Ready() error {
	ctx, cancel := context.WithTimeout(context.Background(), min(s.timeout, 2*time.Second))
	defer cancel()
	var readOnly string
	if err := s.pool.QueryRow(ctx, `SHOW transaction_read_only`).Scan(&readOnly); err != nil {
		return s.storageErr(err)
	}
	if readOnly == "on" {
		return policy.Errorf(policy.EUnavailable, "", "database is read-only (a standby?) at %s", s.host)
	}
	return nil
}

// ctx is the context of one call: bounded by Options.Timeout.
func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// write runs fn in one transaction and commits it, retrying the whole of
// it when PostgreSQL reports a serialisation failure or a deadlock, or
// when a unique constraint was raced (a duplicate registration, the same
// Idempotency-Key): the retry sees the winner's row. fn may run more than
// once.
func (s *Store) write(fn func(ctx context.Context, tx pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		ctx, cancel := s.ctx()
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(ctx, tx) })
		cancel()
		if attempt < 8 && retryable(err) {
			continue
		}
		return s.storageErr(err)
	}
}

// read runs fn with a bounded context and maps its error.
func (s *Store) read(fn func(ctx context.Context) error) error {
	ctx, cancel := s.ctx()
	defer cancel()
	return s.storageErr(fn(ctx))
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", "40P01", "23505":
		return true
	}
	return false
}

// storageErr maps an error of the database: *policy.Error unchanged;
// 53100 (disk full) to the EUnavailable every store words alike; a lost
// or refused connection, a timeout or a shutting-down server to
// EUnavailable naming the host; anything else wrapped (internal).
func (s *Store) storageErr(err error) error {
	if err == nil {
		return nil
	}
	var pe *policy.Error
	if errors.As(err, &pe) {
		return pe
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "53100":
			return policy.Errorf(policy.EUnavailable, "", "%s: nothing was written (PostgreSQL: %s)", registry.StorageFull, pgErr.Message)
		case pgErr.Code == "25006":
			return policy.Errorf(policy.EUnavailable, "", "database is read-only: nothing was written (PostgreSQL at %s)", s.host)
		case strings.HasPrefix(pgErr.Code, "08"), strings.HasPrefix(pgErr.Code, "57P"), strings.HasPrefix(pgErr.Code, "53"):
			return policy.Errorf(policy.EUnavailable, "", "PostgreSQL at %s is unavailable: %s", s.host, pgErr.Message)
		case pgErr.Code == "23505":
			return policy.Errorf(policy.EConflict, "", "a concurrent write got there first; try again")
		}
		return fmt.Errorf("postgres: %w", err)
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ENOENT) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "closed pool") {
		return policy.Errorf(policy.EUnavailable, "", "PostgreSQL at %s is unavailable: try again shortly", s.host)
	}
	return fmt.Errorf("postgres: %w", err)
}
