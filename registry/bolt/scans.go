package bolt

import (
	"encoding/binary"
	"time"

	"go.etcd.io/bbolt"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// Scan counts one public view of serial at instant at. It never blocks on
// the disk: counts are buffered and written in batches by a background
// flusher (and by Close); Get includes buffered counts.
func (db *DB) Scan(serial string, at time.Time) {
	db.scans.Add(serial, at)
}

// writeScans adds a batch of buffered views to the scans bucket in one
// transaction (ScanBuffer's write), marking it with the transaction's ID:
// a reader whose view is older adds the batch, a newer one sees it.
func (db *DB) writeScans(serials []string, batch map[string]registry.Scans, mark func(uint64)) error {
	return db.update(func(tx *bbolt.Tx) error {
		mark(uint64(tx.ID()))
		b := tx.Bucket(bucketScans)
		for _, serial := range serials {
			r, err := getItem(tx, serial)
			if policy.ErrorCode(err) == policy.ENotFound {
				continue // never registered: nothing to count
			}
			// A damaged item record keeps its counts all the same (its
			// lookups fail until it is mended) rather than stopping every
			// flush; only a sound one can be marked.
			sound := err == nil
			stored, err := decodeScans(b.Get([]byte(serial)))
			if err != nil {
				return err
			}
			if err := b.Put([]byte(serial), encodeScans(registry.AddScan(stored, batch[serial]))); err != nil {
				return err
			}
			if sound && !r.Scanned {
				r.Scanned = true
				if err := putItem(tx, &r); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// storedScans reads r's flushed counts; an item never flushed has none.
func storedScans(tx *bbolt.Tx, r *itemRec) (registry.Scans, error) {
	if !r.Scanned {
		return registry.Scans{}, nil
	}
	return decodeScans(tx.Bucket(bucketScans).Get([]byte(r.Serial)))
}

func encodeScans(s registry.Scans) []byte {
	b := []byte{scansV1}
	b = binary.AppendUvarint(b, s.Count)
	b = appendTime(b, s.First)
	return appendTime(b, s.Last)
}

func decodeScans(v []byte) (registry.Scans, error) {
	if v == nil {
		return registry.Scans{}, nil
	}
	if v[0] != scansV1 {
		return registry.Scans{}, errUnknownVersion("scan counts")
	}
	d := decoder{b: v[1:]}
	s := registry.Scans{Count: d.uvarint(), First: d.time(), Last: d.time()}
	return s, d.err
}

// markScanned sets Scanned on every item with stored counts: files of
// schema 1 read the scans bucket on every lookup and never set it. An item
// that is not registered or whose record is damaged is left as it is (a
// damaged record must not make the whole file unopenable).
func markScanned(tx *bbolt.Tx) error {
	return tx.Bucket(bucketScans).ForEach(func(k, _ []byte) error {
		r, err := getItem(tx, string(k))
		if err != nil || r.Scanned {
			return nil
		}
		r.Scanned = true
		return putItem(tx, &r)
	})
}
