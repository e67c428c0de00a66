// Command seed prepares the lookup benchmark's database: it creates the
// product model the generated CSV refers to, calling the registry directly
// (the CLI has no model command; the API needs a running server). --db
// may be a postgres:// URL (the benchmark's PostgreSQL mode).
package main

import (
	"flag"
	"log"
	"strings"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
	"github.com/sanbao/sanbao/registry/postgres"
)

func main() {
	dbPath := flag.String("db", "", "database file (created if missing) or postgres:// URL")
	sku := flag.String("sku", "BENCH-1", "SKU of the product model to create")
	flag.Parse()
	if *dbPath == "" {
		log.Fatal("seed: --db is required")
	}
	var db registry.Store
	var err error
	if strings.HasPrefix(*dbPath, "postgres://") {
		db, err = postgres.Open(*dbPath, postgres.Options{})
	} else {
		db, err = bolt.Open(*dbPath, bolt.Options{})
	}
	if err != nil {
		log.Fatalf("seed: %v", err)
	}
	_, _, err = db.PutModel(registry.Actor{Name: "bench"}, policy.Model{SKU: *sku, Name: "Bench mask", Kind: policy.KindProduct})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Fatalf("seed: %v", err)
	}
}
