package server

import (
	"net/http"
	"testing"

	"github.com/sanbao/sanbao/policy"
)

// TestIdempotencyKeyIsScopedToCallerMethodAndPath: the contract's retry is
// "the same key and body": the same key and body sent for another serial
// is another request (409, nothing written), and the same key from another
// API key is that key's own (a new write, never the first caller's answer).
func TestIdempotencyKeyIsScopedToCallerMethodAndPath(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2", "S3")
	send := func(token, serial, key, body string) response {
		return e.do(req{Method: "POST", Path: "/api/v1/items/" + serial + "/events", Token: token, Body: body,
			Header: map[string]string{"Idempotency-Key": key}})
	}
	history := func(serial string) int {
		rec, err := e.db.Get(serial)
		if err != nil {
			t.Fatal(err)
		}
		return len(rec.History)
	}
	receipt := `{"type": "received", "on": "2026-11-05", "evidence": "courier"}`

	first := must(t, send(e.warehouse, "S1", "rep-1", receipt), http.StatusCreated)
	if first.JSON(t)["item"].(map[string]any)["serial"] != "S1" {
		t.Fatalf("first answer is not S1's: %s", first)
	}
	// Same caller, same key and body, another serial: not a retry.
	wantError(t, send(e.warehouse, "S2", "rep-1", receipt), http.StatusConflict, policy.EConflict, "Idempotency-Key")
	if n := history("S2"); n != 0 {
		t.Fatalf("S2 has %d events after a refused request", n)
	}
	// Another caller, same key and body, another serial: its own write.
	other := must(t, send(e.admin, "S2", "rep-1", receipt), http.StatusCreated)
	if other.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("admin got the warehouse's answer replayed: %s", other)
	}
	if got := other.JSON(t)["item"].(map[string]any)["serial"]; got != "S2" {
		t.Fatalf("admin's answer is about %v, want S2", got)
	}
	if n := history("S2"); n != 1 {
		t.Fatalf("S2 has %d events, want the admin's receipt", n)
	}
	// Another caller, the very same request: written again, not replayed.
	transfer := `{"type": "transferred", "on": "2026-11-08", "note": "resold"}`
	must(t, send(e.service, "S3", "rep-2", transfer), http.StatusCreated)
	again := must(t, send(e.admin, "S3", "rep-2", transfer), http.StatusCreated)
	if again.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("admin's request with the service desk's key was replayed")
	}
	if n := history("S3"); n != 2 {
		t.Fatalf("S3 has %d events, want 2 transfers (one per caller)", n)
	}
	// And each caller's own retry is still a replay.
	retry := must(t, send(e.warehouse, "S1", "rep-1", receipt), http.StatusCreated)
	if retry.Header.Get("Idempotent-Replayed") != "true" || string(retry.Body) != string(first.Body) {
		t.Fatalf("the warehouse's retry was not its first answer: %s", retry)
	}
	if n := history("S1"); n != 1 {
		t.Fatalf("S1 has %d events after a retry, want 1", n)
	}
}
