package registry

import (
	"encoding/binary"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/sanbao/sanbao/policy"
)

// Public views are counted in memory and written in one transaction every
// scanFlushInterval or once scanFlushAt serials are pending: a page view
// never waits on a disk write. A crash loses at most the unflushed counts.
const (
	scanFlushInterval = 2 * time.Second
	scanFlushAt       = 10_000
	scanMaxPending    = 1_000_000 // beyond this (storage failing) new serials' views are dropped
)

type scanBuffer struct {
	db *DB

	mu      sync.Mutex
	pending map[string]Scans
	// inflight is being (or was last) flushed by write transaction
	// inflightTx (0 until the transaction has begun). A reader whose view is
	// older than that transaction adds it; a newer one already sees it.
	inflight   map[string]Scans
	inflightTx uint64

	flushMu sync.Mutex // one flush at a time
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func newScanBuffer(db *DB) *scanBuffer {
	s := &scanBuffer{db: db, pending: map[string]Scans{}, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

// Scan counts one public view of serial at instant at. It never blocks on
// the disk: counts are buffered and written in batches by a background
// flusher (and by Close); Get includes buffered counts.
func (db *DB) Scan(serial string, at time.Time) {
	db.scans.add(serial, at)
}

func (s *scanBuffer) add(serial string, at time.Time) {
	at = at.UTC()
	s.mu.Lock()
	sc, ok := s.pending[serial]
	if !ok && len(s.pending) >= scanMaxPending {
		s.mu.Unlock()
		return
	}
	s.pending[serial] = addScan(sc, Scans{Count: 1, First: at, Last: at})
	n := len(s.pending)
	s.mu.Unlock()
	if n >= scanFlushAt {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

func addScan(a, b Scans) Scans {
	if b.Count == 0 {
		return a
	}
	if a.Count == 0 {
		return b
	}
	a.Count += b.Count
	if b.First.Before(a.First) {
		a.First = b.First
	}
	if b.Last.After(a.Last) {
		a.Last = b.Last
	}
	return a
}

// merge adds the buffered counts of serial to stored, read by a transaction
// whose ID is viewTx.
func (s *scanBuffer) merge(serial string, stored Scans, viewTx uint64) Scans {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != nil && (s.inflightTx == 0 || viewTx < s.inflightTx) {
		stored = addScan(stored, s.inflight[serial])
	}
	return addScan(stored, s.pending[serial])
}

func (s *scanBuffer) run() {
	defer close(s.done)
	t := time.NewTicker(scanFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.kick:
		}
		s.flush() // a failure keeps the counts pending for the next round
	}
}

func (s *scanBuffer) close() error {
	close(s.stop)
	<-s.done
	return s.flush()
}

// flush writes the pending counts in one transaction. On failure they go
// back to pending.
func (s *scanBuffer) flush() error {
	if s.db.readOnly {
		return nil
	}
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	if len(s.pending) == 0 {
		s.mu.Unlock()
		return nil
	}
	batch := s.pending
	s.pending = map[string]Scans{}
	s.inflight, s.inflightTx = batch, 0
	s.mu.Unlock()

	serials := make([]string, 0, len(batch))
	for k := range batch {
		serials = append(serials, k)
	}
	slices.Sort(serials)
	err := s.db.update(func(tx *bolt.Tx) error {
		s.mu.Lock()
		s.inflightTx = uint64(tx.ID())
		s.mu.Unlock()
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
			if err := b.Put([]byte(serial), encodeScans(addScan(stored, batch[serial]))); err != nil {
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
	if err != nil {
		s.mu.Lock()
		for k, v := range batch {
			s.pending[k] = addScan(s.pending[k], v)
		}
		s.inflight, s.inflightTx = nil, 0
		s.mu.Unlock()
	}
	return err
}

// storedScans reads r's flushed counts; an item never flushed has none.
func storedScans(tx *bolt.Tx, r *itemRec) (Scans, error) {
	if !r.Scanned {
		return Scans{}, nil
	}
	return decodeScans(tx.Bucket(bucketScans).Get([]byte(r.Serial)))
}

func encodeScans(s Scans) []byte {
	b := []byte{scansV1}
	b = binary.AppendUvarint(b, s.Count)
	b = appendTime(b, s.First)
	return appendTime(b, s.Last)
}

func decodeScans(v []byte) (Scans, error) {
	if v == nil {
		return Scans{}, nil
	}
	if v[0] != scansV1 {
		return Scans{}, errUnknownVersion("scan counts")
	}
	d := decoder{b: v[1:]}
	s := Scans{Count: d.uvarint(), First: d.time(), Last: d.time()}
	return s, d.err
}

// markScanned sets Scanned on every item with stored counts: files of
// schema 1 read the scans bucket on every lookup and never set it. An item
// that is not registered or whose record is damaged is left as it is (a
// damaged record must not make the whole file unopenable).
func markScanned(tx *bolt.Tx) error {
	return tx.Bucket(bucketScans).ForEach(func(k, _ []byte) error {
		r, err := getItem(tx, string(k))
		if err != nil || r.Scanned {
			return nil
		}
		r.Scanned = true
		return putItem(tx, &r)
	})
}
