package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
	"github.com/sanbao/sanbao/registry/storetest"
)

// boltHarness opens bbolt files in the test's temporary directory and
// checks each with bbolt's page check when the test ends.
var boltHarness = storetest.Harness{
	Open: func(t *testing.T, o registry.Options) registry.Store {
		return openBolt(t, filepath.Join(t.TempDir(), "sanbao.db"), o)
	},
	Reopen: func(t *testing.T, s registry.Store, o registry.Options) registry.Store {
		db := s.(*bolt.DB)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		return openBolt(t, db.Path(), o)
	},
}

func openBolt(t *testing.T, path string, o registry.Options) *bolt.DB {
	db, err := bolt.Open(path, bolt.Options{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil && err.Error() != "database not open" {
			t.Errorf("consistency check: %v", err)
		}
		db.Close()
	})
	return db
}

func TestStoreConformance(t *testing.T) { storetest.Run(t, boltHarness) }

func TestStoreConcurrency(t *testing.T) { storetest.RunConcurrency(t, boltHarness) }

func TestStoreReports(t *testing.T) { storetest.RunReports(t, boltHarness) }
