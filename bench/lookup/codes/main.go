// Command codes prints the public coverage page's path, with its check code,
// for a sample of the lookup benchmark's serials (SN00000000 ...), one a
// line, for run.sh's MODE=public: wrk cannot compute the codes' HMAC.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"

	"github.com/sanbao/sanbao/labels"
	"github.com/sanbao/sanbao/registry/bolt"
)

func main() {
	dbPath := flag.String("db", "", "the benchmark's database (opened read-only, for its check-code secret)")
	n := flag.Int("n", 1_000_000, "serials registered")
	sample := flag.Int("sample", 20_000, "paths to print, of serials picked at random")
	flag.Parse()
	if *dbPath == "" {
		log.Fatal("codes: --db is required")
	}
	db, err := bolt.Open(*dbPath, bolt.Options{ReadOnly: true})
	if err != nil {
		log.Fatalf("codes: %v", err)
	}
	secret := db.CheckSecrets()[0]
	if err := db.Close(); err != nil {
		log.Fatalf("codes: %v", err)
	}
	w := bufio.NewWriter(os.Stdout)
	for range *sample {
		serial := fmt.Sprintf("SN%08d", rand.IntN(*n))
		fmt.Fprintf(w, "/c/%s?k=%s\n", serial, labels.CheckCode(secret, serial))
	}
	if err := w.Flush(); err != nil {
		log.Fatalf("codes: %v", err)
	}
}
