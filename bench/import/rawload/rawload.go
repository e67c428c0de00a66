// Package rawload is the yardstick of the import benchmarks: it generates a
// registration CSV and loads it into bbolt the plainest way (parse, sort by
// serial, put serial -> row in large transactions), so `bolt.DB.Import`
// can be timed against it in the same run on the same machine.
package rawload

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Models are the SKUs Generate uses: two products and a bundled charger.
var Models = []struct{ SKU, Name, Kind string }{
	{"MASK-1", "Mask One", "product"},
	{"MASK-2", "Mask Two", "product"},
	{"CHG-1", "Charger", "accessory"},
}

// Generate writes a registration CSV of n rows in random serial order:
// batches of 10,000 consecutive serials (a production run), one row in ten
// with a bundled charger of its own batch.
func Generate(w io.Writer, n int, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintln(bw, "serial,sku,batch,produced_on,accessories")
	r := rand.New(rand.NewPCG(seed, seed))
	for _, i := range r.Perm(n) {
		acc := ""
		if i%10 == 0 {
			acc = fmt.Sprintf("CHG-1:CB%04d", i/10000)
		}
		fmt.Fprintf(bw, "SN%010d,MASK-%d,B%04d,2026-%02d-%02d,%s\n", i, 1+i%2, i/10000, 1+i/10000%10, 1+i%28, acc)
	}
	return bw.Flush()
}

// Load reads the CSV from r and puts serial -> "sku,batch,produced_on,
// accessories" into bucket "items" of a new bbolt file at path, sorted, in
// transactions of chunk rows with pages filled to fill.
func Load(path string, r io.Reader, chunk int, fill float64) (int, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	if _, err := cr.Read(); err != nil {
		return 0, err
	}
	type row struct{ k, v string }
	var rows []row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		rows = append(rows, row{strings.Clone(rec[0]), strings.Join(rec[1:], ",")})
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.k, b.k) })
	db, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, InitialMmapSize: 1 << 30})
	if err != nil {
		return 0, err
	}
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("items"))
			if err != nil {
				return err
			}
			b.FillPercent = fill
			for _, r := range part {
				if err := b.Put([]byte(r.k), []byte(r.v)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			db.Close()
			return 0, err
		}
	}
	return len(rows), db.Close()
}
