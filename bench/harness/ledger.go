package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// Write kinds.
const (
	kindRegister = "register" // POST /api/v1/items
	kindEvent    = "event"    // POST /api/v1/items/{serial}/events
	kindEvents   = "events"   // POST /api/v1/events (several rows, all or nothing)
)

// write is one write request the harness sent, kept so that what the server
// acknowledged can be looked for afterwards.
type write struct {
	kind    string
	serials []string // rows: registered serials, or the serial of each event
	notes   []string // events: the note of each row, unique in the run
	sku     string   // registrations
	batch   string   // registrations
	path    string
	body    []byte
	idemKey string
	token   string

	acked   bool      // a 2xx answer arrived
	ackedAt time.Time // when
	seqs    []uint64  // events: the seq of each row, from the answer
}

// registration builds a write registering serials.
func registration(token, sku, batch string, produced policy.Date, serials ...string) *write {
	rows := make([]map[string]string, len(serials))
	for i, s := range serials {
		rows[i] = map[string]string{"serial": s, "sku": sku, "batch": batch, "produced_on": produced.String()}
	}
	body, _ := json.Marshal(map[string]any{"items": rows})
	return &write{kind: kindRegister, serials: serials, sku: sku, batch: batch, path: "/api/v1/items", body: body, token: token}
}

// transfer builds a write of one `transferred` event carrying note, with
// note as its Idempotency-Key when idem.
func transfer(token, serial, note string, on policy.Date, idem bool) *write {
	body, _ := json.Marshal(map[string]string{"type": "transferred", "on": on.String(), "note": note})
	w := &write{kind: kindEvent, serials: []string{serial}, notes: []string{note}, token: token,
		path: "/api/v1/items/" + url.PathEscape(serial) + "/events", body: body}
	if idem {
		w.idemKey = note
	}
	return w
}

// transfers builds one POST /api/v1/events of a `transferred` event per
// serial, note i on serial i, keyed by the first note.
func transfers(token string, serials, notes []string, on policy.Date) *write {
	rows := make([]map[string]string, len(serials))
	for i := range serials {
		rows[i] = map[string]string{"serial": serials[i], "type": "transferred", "on": on.String(), "note": notes[i]}
	}
	body, _ := json.Marshal(map[string]any{"events": rows})
	return &write{kind: kindEvents, serials: serials, notes: notes, token: token, path: "/api/v1/events", body: body, idemKey: notes[0]}
}

// send sends w and returns the answer; a 2xx marks it acknowledged and
// records the seqs the answer gives its events.
func (w *write) send(api *API) (Resp, error) {
	var hdr []string
	if w.idemKey != "" {
		hdr = []string{"Idempotency-Key", w.idemKey}
	}
	r, err := api.Do("POST", w.path, w.token, w.body, hdr...)
	if err != nil || r.Status/100 != 2 {
		return r, err
	}
	if err := w.acknowledge(r.Body); err != nil {
		return r, err
	}
	return r, nil
}

// acknowledge checks a 2xx answer and takes the seqs of its events.
func (w *write) acknowledge(body []byte) error {
	switch w.kind {
	case kindRegister:
		var a struct{ Created, Unchanged *int }
		if err := json.Unmarshal(body, &a); err != nil || a.Created == nil || a.Unchanged == nil {
			return fmt.Errorf("registration answer %s is not {created, unchanged}", clip(body, 200))
		}
		if *a.Created+*a.Unchanged != len(w.serials) {
			return fmt.Errorf("registration of %d rows answered created %d, unchanged %d", len(w.serials), *a.Created, *a.Unchanged)
		}
	case kindEvent:
		var a struct {
			Event struct {
				Seq  uint64
				Note string
			}
		}
		if err := json.Unmarshal(body, &a); err != nil || a.Event.Seq == 0 || a.Event.Note != w.notes[0] {
			return fmt.Errorf("event answer %s lacks the event's seq and note", clip(body, 200))
		}
		w.seqs = []uint64{a.Event.Seq}
	case kindEvents:
		var a struct {
			Count  int
			Events []struct {
				Serial string
				Event  struct {
					Seq  uint64
					Note string
				}
			}
		}
		if err := json.Unmarshal(body, &a); err != nil || a.Count != len(w.serials) || len(a.Events) != len(w.serials) {
			return fmt.Errorf("events answer %s does not list its %d events", clip(body, 300), len(w.serials))
		}
		w.seqs = make([]uint64, len(w.serials))
		for i, e := range a.Events {
			if e.Serial != w.serials[i] || e.Event.Note != w.notes[i] || e.Event.Seq == 0 {
				return fmt.Errorf("events answer row %d is %s/%q, sent %s/%q", i+1, e.Serial, e.Event.Note, w.serials[i], w.notes[i])
			}
			w.seqs[i] = e.Event.Seq
		}
	}
	w.acked, w.ackedAt = true, time.Now()
	return nil
}

// ledger is the writes of a campaign, safe for concurrent use.
type ledger struct {
	mu     sync.Mutex
	writes []*write
}

func (l *ledger) add(w *write) {
	l.mu.Lock()
	l.writes = append(l.writes, w)
	l.mu.Unlock()
}

func (l *ledger) all() []*write {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.writes)
}

// acked counts the acknowledged writes and their rows.
func (l *ledger) acked() (writes, rows int) {
	for _, w := range l.all() {
		if w.acked {
			writes++
			rows += len(w.serials)
		}
	}
	return writes, rows
}

// stored is what the database holds of one serial.
type stored struct {
	found      bool
	sku, batch string
	notes      map[string][]uint64 // event note -> seqs of the events carrying it
}

// lookupFunc reads one serial, through the API or from the file.
type lookupFunc func(serial string) (stored, error)

// apiLookup reads serials through GET /api/v1/items/{serial}.
func apiLookup(api *API, token string) lookupFunc {
	return func(serial string) (stored, error) {
		r, err := api.Do("GET", "/api/v1/items/"+url.PathEscape(serial), token, nil)
		if err != nil {
			return stored{}, err
		}
		switch r.Status {
		case 404:
			return stored{}, nil
		case 200:
		default:
			return stored{}, fmt.Errorf("GET /api/v1/items/%s: %d %s", serial, r.Status, clip(r.Body, 200))
		}
		var it struct {
			SKU, Batch string
			History    []struct {
				Seq  uint64
				Note string
			}
		}
		if err := json.Unmarshal(r.Body, &it); err != nil {
			return stored{}, fmt.Errorf("GET /api/v1/items/%s: %w", serial, err)
		}
		s := stored{found: true, sku: it.SKU, batch: it.Batch, notes: map[string][]uint64{}}
		for _, ev := range it.History {
			if ev.Note != "" {
				s.notes[ev.Note] = append(s.notes[ev.Note], ev.Seq)
			}
		}
		return s, nil
	}
}

// verify looks up every serial the writes touched (conc at a time) and
// returns one problem per write that is not as its answer said: an
// acknowledged registration whose rows are missing or differ, an
// acknowledged event missing or at another seq, any event stored twice, or
// a multi-row write without an answer that is half there (the contract's
// all or nothing).
func verify(writes []*write, look lookupFunc, conc int) (serials int, problems []string) {
	need := map[string]bool{}
	for _, w := range writes {
		for _, s := range w.serials {
			need[s] = true
		}
	}
	seen := map[string]stored{}
	var mu sync.Mutex
	var errs []string
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range max(conc, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range jobs {
				st, err := look(s)
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Sprintf("reading %s back: %v", s, err))
				} else {
					seen[s] = st
				}
				mu.Unlock()
			}
		}()
	}
	for s := range need {
		jobs <- s
	}
	close(jobs)
	wg.Wait()
	if len(errs) > 0 {
		return len(need), errs
	}

	for _, w := range writes {
		present := 0
		for i, s := range w.serials {
			st := seen[s]
			switch w.kind {
			case kindRegister:
				if !st.found {
					if w.acked {
						problems = append(problems, fmt.Sprintf("acknowledged registration of %s (row %d of %d) is missing", s, i+1, len(w.serials)))
					}
					continue
				}
				present++
				if w.acked && (st.sku != w.sku || st.batch != w.batch) {
					problems = append(problems, fmt.Sprintf("registered %s as %s/%s, stored as %s/%s", s, w.sku, w.batch, st.sku, st.batch))
				}
			default:
				seqs := st.notes[w.notes[i]]
				if len(seqs) > 1 {
					problems = append(problems, fmt.Sprintf("event %q on %s is stored %d times (seqs %v): written more than once", w.notes[i], s, len(seqs), seqs))
				}
				if len(seqs) == 0 {
					if w.acked {
						problems = append(problems, fmt.Sprintf("acknowledged event %q on %s (seq %d) is missing", w.notes[i], s, w.seqs[i]))
					}
					continue
				}
				present++
				if w.acked && seqs[0] != w.seqs[i] {
					problems = append(problems, fmt.Sprintf("acknowledged event %q on %s was answered with seq %d, stored at seq %d", w.notes[i], s, w.seqs[i], seqs[0]))
				}
			}
		}
		if !w.acked && len(w.serials) > 1 && present != 0 && present != len(w.serials) {
			problems = append(problems, fmt.Sprintf("unanswered %s write of %d rows (first %s) is half written: %d rows present", w.kind, len(w.serials), w.serials[0], present))
		}
	}
	return len(need), problems
}
