package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// chaosReceiver is a webhook endpoint on 127.0.0.1 that verifies every
// signature, and answers badly at random: drops the connection, delays,
// answers 500; it can be taken down (connection refused) and brought back
// on the same port.
type chaosReceiver struct {
	t      *testing.T
	addr   string
	secret []byte

	mu   sync.Mutex
	srv  *http.Server
	rand *rand.Rand
	// ids: each event ("serial seq") and the webhook-ids it came with;
	// acked: how often each webhook-id was answered 2xx; bodies: each id's
	// first body.
	ids    map[string]map[string]bool
	acked  map[string]int
	bodies map[string]string
	// seqs: per serial, the seqs answered 2xx.
	seqs     map[string]map[float64]bool
	requests int
}

func newChaosReceiver(t *testing.T) *chaosReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &chaosReceiver{t: t, addr: ln.Addr().String(), rand: rand.New(rand.NewPCG(20, 26)),
		ids: map[string]map[string]bool{}, acked: map[string]int{}, bodies: map[string]string{}, seqs: map[string]map[float64]bool{}}
	r.serveOn(ln)
	t.Cleanup(r.down)
	return r
}

func (r *chaosReceiver) serveOn(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.serve)}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(ln)
}

// down closes the listener and every connection: senders get refused.
func (r *chaosReceiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.mu.Unlock()
	srv.Close()
}

// up listens again on the same port.
func (r *chaosReceiver) up() {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.serveOn(ln)
}

func (r *chaosReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	id, ts := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp")
	r.mu.Lock()
	secret := r.secret
	r.mu.Unlock()
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); req.Header.Get("webhook-signature") != want {
		r.t.Errorf("delivery %s: signature %q, want %q", id, req.Header.Get("webhook-signature"), want)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var p struct {
		Type, Serial string
		Event        struct {
			Seq  float64
			Type string
		}
		Item struct{ Serial string }
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Event.Type != p.Type || p.Item.Serial != p.Serial {
		r.t.Errorf("delivery %s: body %s (%v)", id, body, err)
	}
	event := fmt.Sprintf("%s %v", p.Serial, p.Event.Seq)
	r.mu.Lock()
	r.requests++
	if r.ids[event] == nil {
		r.ids[event] = map[string]bool{}
	}
	r.ids[event][id] = true
	if first, ok := r.bodies[id]; ok && first != string(body) {
		r.t.Errorf("delivery %s sent again with another body:\n%s\n%s", id, first, body)
	}
	r.bodies[id] = string(body)
	roll := r.rand.IntN(100)
	delay := time.Duration(r.rand.IntN(200)) * time.Millisecond
	r.mu.Unlock()
	switch {
	case roll < 5: // the connection drops without an answer
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	case roll < 15:
		http.Error(w, "temporarily broken", http.StatusInternalServerError)
		return
	case roll < 25:
		time.Sleep(delay)
	}
	r.mu.Lock()
	r.acked[id]++
	if r.seqs[p.Serial] == nil {
		r.seqs[p.Serial] = map[float64]bool{}
	}
	r.seqs[p.Serial][p.Event.Seq] = true
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *chaosReceiver) ackedEvents() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, seqs := range r.seqs {
		n += len(seqs)
	}
	return n
}

// subscribe subscribes r to every event type through the server at url
// and keeps the signing secret; it returns the webhook's id.
func (r *chaosReceiver) subscribe(t *testing.T, url, key string) string {
	t.Helper()
	status, b := call(t, "POST", url+"/api/v1/webhooks", key, map[string]any{"url": "http://" + r.addr + "/erp", "events": []string{"*"}})
	var hook struct{ ID, Secret string }
	if err := json.Unmarshal(b, &hook); status != 201 || err != nil {
		t.Fatalf("subscription: %d %s", status, b)
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(hook.Secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.secret = secret
	r.mu.Unlock()
	return hook.ID
}

// TestWebhooksDeliverEveryEventThroughOutagesAndASIGKILL records 10,000
// events through the sanbao binary while the receiver fails at random and
// is down for a while, SIGKILLs serve half way and starts it again: every
// event is delivered, each with one webhook-id (sent more than once only
// as a retry of that id), and each serial's seqs arrive complete.
func TestWebhooksDeliverEveryEventThroughOutagesAndASIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 deliveries through two serve processes")
	}
	const serials, perSerial, batch = 2000, 5, 100
	db := tempDB(t)
	key := newKey(t, db, "admin")
	args := []string{"--db", db, "--webhook-allow-private", "--webhook-backoff", "50ms"}
	p := startProcess(t, args...)
	rcv := newChaosReceiver(t)

	if status, b := call(t, "PUT", p.URL+"/api/v1/models/M1", key, map[string]any{"name": "IMASK Pro", "kind": "product"}); status != 201 {
		t.Fatalf("model: %d %s", status, b)
	}
	items := make([]map[string]any, serials)
	for i := range items {
		items[i] = map[string]any{"serial": fmt.Sprintf("W%05d", i), "sku": "M1", "batch": "B1", "produced_on": "2026-10-01"}
	}
	if status, b := call(t, "POST", p.URL+"/api/v1/items", key, map[string]any{"items": items}); status != 201 {
		t.Fatalf("registration: %d %s", status, b)
	}
	hookID := rcv.subscribe(t, p.URL, key)

	// The events, in batches: each serial dispatched, received, then
	// transferred three times.
	var events []map[string]any
	for step := range perSerial {
		for i := range serials {
			ev := map[string]any{"serial": fmt.Sprintf("W%05d", i)}
			switch step {
			case 0:
				ev["type"], ev["on"], ev["order"] = "dispatched", "2026-11-01", fmt.Sprintf("O%d", i)
			case 1:
				ev["type"], ev["on"], ev["evidence"] = "received", "2026-11-03", "courier"
			default:
				ev["type"], ev["on"], ev["note"] = "transferred", fmt.Sprintf("2026-11-%02d", 3+step), "resold"
			}
			events = append(events, ev)
		}
	}
	batches := len(events) / batch
	for n := range batches {
		switch n {
		case batches / 5:
			rcv.down()
		case batches * 2 / 5:
			rcv.up()
		case batches / 2:
			// SIGKILL with deliveries queued and in flight; the new process
			// sends what the old one had not recorded as delivered.
			p.cmd.Process.Kill()
			p.cmd.Wait()
			p = startProcess(t, args...)
		}
		if status, b := call(t, "POST", p.URL+"/api/v1/events", key, map[string]any{"events": events[n*batch : (n+1)*batch]}); status != 201 {
			t.Fatalf("batch %d: %d %s", n, status, b)
		}
	}

	total := serials * perSerial
	for deadline := time.Now().Add(50 * time.Second); rcv.ackedEvents() < total; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered", rcv.ackedEvents(), total)
		}
	}
	// The server records every delivery as delivered, none dead.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var page struct{ Deliveries []any }
		_, pending := call(t, "GET", p.URL+"/api/v1/webhooks/"+hookID+"/deliveries?status=pending&limit=1", key, nil)
		_, dead := call(t, "GET", p.URL+"/api/v1/webhooks/"+hookID+"/deliveries?status=dead&limit=1", key, nil)
		json.Unmarshal(dead, &page)
		if len(page.Deliveries) != 0 {
			t.Fatalf("dead deliveries: %s", dead)
		}
		json.Unmarshal(pending, &page)
		if len(page.Deliveries) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still pending: %s", pending)
		}
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for serial, seqs := range rcv.seqs {
		for seq := 1; seq <= perSerial; seq++ {
			if !seqs[float64(seq)] {
				t.Errorf("%s: seq %d never delivered", serial, seq)
			}
		}
	}
	for event, ids := range rcv.ids {
		if len(ids) != 1 {
			t.Errorf("event %s came with %d webhook-ids: %v", event, len(ids), ids)
		}
	}
	if len(rcv.ids) != total || len(rcv.acked) != total {
		t.Errorf("%d events, %d webhook-ids answered 2xx; want %d of each", len(rcv.ids), len(rcv.acked), total)
	}
	t.Logf("%d events delivered in %d requests", total, rcv.requests)
}
