package postgres

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/postgres/pgtest"
	"github.com/sanbao/sanbao/registry/storetest"
)

func schemaDSN(t testing.TB) string { return pgtest.DSN(t) }

func openTest(t *testing.T, dsn string, o registry.Options) *Store {
	s, err := Open(dsn, Options{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// dsns remembers the database of each store the harness opened, for Reopen.
var dsns sync.Map // *Store -> string

var pgHarness = storetest.Harness{
	Open: func(t *testing.T, o registry.Options) registry.Store {
		dsn := schemaDSN(t)
		s := openTest(t, dsn, o)
		dsns.Store(s, dsn)
		return s
	},
	Reopen: func(t *testing.T, st registry.Store, o registry.Options) registry.Store {
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		dsn, _ := dsns.Load(st)
		n := openTest(t, dsn.(string), o)
		dsns.Store(n, dsn)
		return n
	},
}

func TestStoreConformance(t *testing.T) { storetest.Run(t, pgHarness) }

func TestStoreConcurrency(t *testing.T) { storetest.RunConcurrency(t, pgHarness) }

func TestStoreReports(t *testing.T) { storetest.RunReports(t, pgHarness) }

// TestNewerSchemaIsRefused: a database migrated by a newer sanbao is
// refused with a message naming both versions, and left as it is.
func TestNewerSchemaIsRefused(t *testing.T) {
	dsn := schemaDSN(t)
	s, err := Open(dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE schema_version SET version = 99`); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dsn, Options{})
	if policy.ErrorCode(err) != policy.EUnavailable || !strings.Contains(err.Error(), "schema version 99; this sanbao understands up to 6: upgrade sanbao") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
	var v int
	if err := conn.QueryRow(context.Background(), `SELECT version FROM schema_version`).Scan(&v); err != nil || v != 99 {
		t.Fatalf("the refused database's version is now %d (%v)", v, err)
	}
}

// TestUnreachableDatabaseNamesItsHost: nothing listens there; Open fails
// at once with EUnavailable naming the host and port.
func TestUnreachableDatabaseNamesItsHost(t *testing.T) {
	_, err := Open("postgres://sanbao@127.0.0.1:1/sanbao?connect_timeout=2", Options{})
	if policy.ErrorCode(err) != policy.EUnavailable || !strings.Contains(err.Error(), "cannot reach PostgreSQL at 127.0.0.1:1") {
		t.Fatalf("Open of an unreachable database: %v", err)
	}
}

// TestStorageErrorsMapToTheContract: what PostgreSQL reports becomes the
// contract's codes, a full disk in the words every store uses (507).
func TestStorageErrorsMapToTheContract(t *testing.T) {
	s := &Store{host: "db.example.com:5432"}
	tests := []struct {
		name  string
		err   error
		code  string
		words string
	}{
		{"disk full", &pgconn.PgError{Code: "53100", Message: "could not extend file"}, policy.EUnavailable, "storage is full: nothing was written"},
		{"read-only standby", &pgconn.PgError{Code: "25006"}, policy.EUnavailable, "read-only"},
		{"server shutting down", &pgconn.PgError{Code: "57P01", Message: "terminating connection"}, policy.EUnavailable, "db.example.com:5432"},
		{"connection lost", io.ErrUnexpectedEOF, policy.EUnavailable, "PostgreSQL at db.example.com:5432 is unavailable"},
		{"timeout", context.DeadlineExceeded, policy.EUnavailable, "unavailable"},
		{"a duplicate left after retries", &pgconn.PgError{Code: "23505"}, policy.EConflict, "try again"},
		{"a bug", &pgconn.PgError{Code: "42601", Message: "syntax error"}, policy.EInternal, "syntax error"},
		{"a rule's answer unchanged", policy.Errorf(policy.ENotFound, "serial", "no S1"), policy.ENotFound, "no S1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.storageErr(tt.err)
			if policy.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.words) {
				t.Fatalf("storageErr(%v) = %v (code %s); want %s mentioning %q", tt.err, err, policy.ErrorCode(err), tt.code, tt.words)
			}
		})
	}
}
