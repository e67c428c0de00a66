// Package pgtest gives tests a PostgreSQL database of their own: a schema
// on the database SANBAO_TEST_POSTGRES names (bench/pg/start.sh starts
// one), so that tests run in parallel on one server.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// DSN creates a schema for the test, dropped when it ends, and returns
// the database's URL with search_path set to it. Without
// SANBAO_TEST_POSTGRES the test skips, except under CI=true, where it fails.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("SANBAO_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SANBAO_TEST_POSTGRES is not set: CI must run the PostgreSQL tests (see .ci/run)")
		}
		t.Skip("SANBAO_TEST_POSTGRES is not set (eval \"$(bench/pg/start.sh)\" starts a database)")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + url.QueryEscape(schema)
}
