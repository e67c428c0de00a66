package registry

import (
	"slices"
	"sync"
	"time"
)

// Public views are counted in memory and written in one transaction every
// scanFlushInterval or once scanFlushAt serials are pending: a page view
// never waits on a disk write. A crash loses at most the unflushed counts.
const (
	scanFlushInterval = 2 * time.Second
	scanFlushAt       = 10_000
	scanMaxPending    = 1_000_000 // beyond this (storage failing) new serials' views are dropped
)

// ScanBuffer counts public views in memory for a store, which writes them
// in batches (in the background, and at Close). Each process keeps its own:
// a crash loses at most the views not yet written, never a write.
type ScanBuffer struct {
	// write adds a batch to the store in one transaction; mark, when the
	// store calls it, records the transaction's position (see Merge).
	write    func(serials []string, batch map[string]Scans, mark func(uint64)) error
	readOnly bool // nothing is written: the views stay counted in memory

	mu      sync.Mutex
	pending map[string]Scans
	// inflight is being (or was last) written, by the transaction marked
	// inflightMark (0 until marked). A reader whose view is older than the
	// mark adds it; a newer one already sees it. A store that never marks
	// has inflight only while the write runs.
	inflight     map[string]Scans
	inflightMark uint64

	flushMu sync.Mutex // one flush at a time
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// NewScanBuffer starts a buffer writing through write (nothing is written
// when readOnly); Close stops it.
func NewScanBuffer(write func(serials []string, batch map[string]Scans, mark func(uint64)) error, readOnly bool) *ScanBuffer {
	s := &ScanBuffer{write: write, readOnly: readOnly, pending: map[string]Scans{}, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

// Add counts one view of serial at instant at.
func (s *ScanBuffer) Add(serial string, at time.Time) {
	at = Instant(at)
	s.mu.Lock()
	sc, ok := s.pending[serial]
	if !ok && len(s.pending) >= scanMaxPending {
		s.mu.Unlock()
		return
	}
	s.pending[serial] = AddScan(sc, Scans{Count: 1, First: at, Last: at})
	n := len(s.pending)
	s.mu.Unlock()
	if n >= scanFlushAt {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// AddScan adds the scans b to a (exported for registry/bolt, which adds
// the buffered scans to the stored ones).
func AddScan(a, b Scans) Scans {
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

// Merge adds the buffered views of serial to stored, read by a view whose
// position is view (a store that never marks passes 0).
func (s *ScanBuffer) Merge(serial string, stored Scans, view uint64) Scans {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != nil && (s.inflightMark == 0 || view < s.inflightMark) {
		stored = AddScan(stored, s.inflight[serial])
	}
	return AddScan(stored, s.pending[serial])
}

func (s *ScanBuffer) run() {
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
		s.Flush() // a failure keeps the counts pending for the next round
	}
}

// Close stops the background writes and writes what is pending.
func (s *ScanBuffer) Close() error {
	close(s.stop)
	<-s.done
	return s.Flush()
}

// Flush writes the pending views in one transaction. On failure they go
// back to pending. Errors: the store's.
func (s *ScanBuffer) Flush() error {
	if s.readOnly {
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
	s.inflight, s.inflightMark = batch, 0
	s.mu.Unlock()

	serials := make([]string, 0, len(batch))
	for k := range batch {
		serials = append(serials, k)
	}
	slices.Sort(serials)
	marked := false
	err := s.write(serials, batch, func(mark uint64) {
		s.mu.Lock()
		s.inflightMark, marked = mark, true
		s.mu.Unlock()
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		for k, v := range batch {
			s.pending[k] = AddScan(s.pending[k], v)
		}
		s.inflight, s.inflightMark = nil, 0
	} else if !marked {
		s.inflight = nil
	}
	return err
}
