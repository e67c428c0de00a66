package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
	"github.com/sanbao/sanbao/registry/storetest"
)

// BenchmarkStore runs the stores' shared benchmarks (storetest.Bench:
// Get, Append, Register) on a bbolt file; registry/postgres's
// BenchmarkStore runs the same on PostgreSQL.
//
//	go test -run '^$' -bench Store -benchtime 3s ./registry/bolt/ ./registry/postgres/
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B, o registry.Options) registry.Store {
		db, err := bolt.Open(filepath.Join(b.TempDir(), "sanbao.db"), bolt.Options{Options: o})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	})
}
