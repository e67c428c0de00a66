package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/storetest"
)

// testDSN is the database of the tests (bench/pg/start.sh starts one):
// without it they skip, except under CI=true, where they fail.
func testDSN(t testing.TB) string {
	dsn := os.Getenv("SANBAO_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SANBAO_TEST_POSTGRES is not set: CI must run the PostgreSQL tests (see .ci/run)")
		}
		t.Skip("SANBAO_TEST_POSTGRES is not set (eval \"$(bench/pg/start.sh)\" starts a database)")
	}
	return dsn
}

// schemaDSN creates a schema of its own for the test (dropped at the end)
// and returns dsn with search_path set to it, so tests run in parallel on
// one database.
func schemaDSN(t testing.TB) string {
	dsn := testDSN(t)
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
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	})
	return withParam(dsn, "search_path", schema)
}

func withParam(dsn, k, v string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + k + "=" + url.QueryEscape(v)
}

func openTest(t *testing.T, dsn string, o registry.Options) *Store {
	s, err := Open(dsn, Options{Policy: o.Policy, CheckSecret: o.CheckSecret, PreviousSecret: o.PreviousSecret, Now: o.Now})
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
