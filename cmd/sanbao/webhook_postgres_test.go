package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestReplicasDeliverEachEventOnce: two serve processes on one PostgreSQL
// database, both sending webhooks, events recorded through both, a
// receiver failing at random: every event is delivered, each with one
// webhook-id answered 2xx exactly once (no replica sends what the other
// has delivered).
func TestReplicasDeliverEachEventOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 deliveries through two serve processes")
	}
	dsn := postgresDSN(t)
	key := strings.TrimSpace(mustRun(t, "keys", "create", "--db", dsn, "--role", "admin", "--name", "webhooks test"))
	args := []string{"--db", dsn, "--webhook-allow-private", "--webhook-backoff", "50ms"}
	replicas := []*serveProcess{startProcess(t, args...), startProcess(t, args...)}
	rcv := newChaosReceiver(t)
	const serials = 1000
	if status, b := call(t, "PUT", replicas[0].URL+"/api/v1/models/M1", key, map[string]any{"name": "IMASK Pro", "kind": "product"}); status != 201 {
		t.Fatalf("model: %d %s", status, b)
	}
	items := make([]map[string]any, serials)
	for i := range items {
		items[i] = map[string]any{"serial": fmt.Sprintf("P%05d", i), "sku": "M1", "batch": "B1", "produced_on": "2026-10-01"}
	}
	if status, b := call(t, "POST", replicas[1].URL+"/api/v1/items", key, map[string]any{"items": items}); status != 201 {
		t.Fatalf("registration: %d %s", status, b)
	}
	rcv.subscribe(t, replicas[0].URL, key)
	for step, ev := range []map[string]any{
		{"type": "dispatched", "on": "2026-11-01", "order": "O1"},
		{"type": "received", "on": "2026-11-03", "evidence": "courier"},
	} {
		for start := 0; start < serials; start += 100 {
			var events []map[string]any
			for i := start; i < start+100; i++ {
				e := map[string]any{"serial": fmt.Sprintf("P%05d", i)}
				for k, v := range ev {
					e[k] = v
				}
				events = append(events, e)
			}
			r := replicas[(start/100+step)%2]
			if status, b := call(t, "POST", r.URL+"/api/v1/events", key, map[string]any{"events": events}); status != 201 {
				t.Fatalf("events: %d %s", status, b)
			}
		}
	}
	total := 2 * serials
	for deadline := time.Now().Add(50 * time.Second); rcv.ackedEvents() < total; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered", rcv.ackedEvents(), total)
		}
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for event, ids := range rcv.ids {
		if len(ids) != 1 {
			t.Errorf("event %s came with %d webhook-ids", event, len(ids))
		}
	}
	for id, n := range rcv.acked {
		if n != 1 {
			t.Errorf("delivery %s answered 2xx %d times", id, n)
		}
	}
	if len(rcv.ids) != total || len(rcv.acked) != total {
		t.Errorf("%d events, %d webhook-ids answered 2xx; want %d of each", len(rcv.ids), len(rcv.acked), total)
	}
	t.Logf("%d events delivered by two replicas in %d requests", total, rcv.requests)
}
