package postgres

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sanbao/sanbao/registry"
)

// Public views are counted in this process's memory and added to the
// database every scanFlushInterval (or once scanFlushAt serials are
// pending) in one statement: a page view never waits on the database. Each
// replica counts its own views; a crash loses at most its unflushed ones.
const (
	scanFlushInterval = 2 * time.Second
	scanFlushAt       = 10_000
	scanMaxPending    = 1_000_000 // beyond this (database away) new serials' views are dropped
)

type scanBuffer struct {
	s *Store

	mu sync.Mutex
	// pending are not yet sent; inflight are being sent by a flush, and
	// are counted by readers until that flush has committed or failed.
	pending, inflight map[string]registry.Scans

	flushMu sync.Mutex
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func newScanBuffer(s *Store) *scanBuffer {
	b := &scanBuffer{s: s, pending: map[string]registry.Scans{}, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

// Scan counts one public view of serial at instant at, in memory; Get
// includes this process's buffered views.
func (s *Store) Scan(serial string, at time.Time) {
	b := s.scans
	at = registry.Instant(at)
	b.mu.Lock()
	sc, ok := b.pending[serial]
	if !ok && len(b.pending) >= scanMaxPending {
		b.mu.Unlock()
		return
	}
	b.pending[serial] = registry.AddScan(sc, registry.Scans{Count: 1, First: at, Last: at})
	n := len(b.pending)
	b.mu.Unlock()
	if n >= scanFlushAt {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

// merge adds this process's buffered views of serial to stored.
func (b *scanBuffer) merge(serial string, stored registry.Scans) registry.Scans {
	b.mu.Lock()
	defer b.mu.Unlock()
	return registry.AddScan(registry.AddScan(stored, b.inflight[serial]), b.pending[serial])
}

func (b *scanBuffer) run() {
	defer close(b.done)
	t := time.NewTicker(scanFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		case <-b.kick:
		}
		b.flush() // a failure keeps the counts pending for the next round
	}
}

func (b *scanBuffer) close() error {
	close(b.stop)
	<-b.done
	return b.flush()
}

// flush adds the pending counts to the scans table in one transaction
// (serials not registered are skipped); on failure they go back to pending.
func (b *scanBuffer) flush() error {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	b.mu.Lock()
	if len(b.pending) == 0 {
		b.mu.Unlock()
		return nil
	}
	batch := b.pending
	b.pending, b.inflight = map[string]registry.Scans{}, batch
	b.mu.Unlock()

	serials := make([]string, 0, len(batch))
	for k := range batch {
		serials = append(serials, k)
	}
	slices.Sort(serials)
	counts := make([]int64, len(serials))
	firsts := make([]time.Time, len(serials))
	lasts := make([]time.Time, len(serials))
	for i, k := range serials {
		counts[i], firsts[i], lasts[i] = int64(batch[k].Count), batch[k].First, batch[k].Last
	}
	err := b.s.write(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO scans (serial, count, first_at, last_at)
			SELECT v.serial, v.count, v.first_at, v.last_at
			FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS v(serial, count, first_at, last_at)
			WHERE EXISTS (SELECT 1 FROM items i WHERE i.serial = v.serial)
			ORDER BY v.serial
			ON CONFLICT (serial) DO UPDATE SET count = scans.count + excluded.count,
				first_at = least(scans.first_at, excluded.first_at), last_at = greatest(scans.last_at, excluded.last_at)`,
			serials, counts, firsts, lasts)
		return err
	})
	b.mu.Lock()
	if err != nil {
		for k, v := range batch {
			b.pending[k] = registry.AddScan(b.pending[k], v)
		}
	}
	b.inflight = nil
	b.mu.Unlock()
	return err
}
