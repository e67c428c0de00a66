package server

import (
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
)

// policy.md "No receipt on record": a direct dispatch dates the warranty
// (basis dispatched, windows included), a reseller's leaves it estimated
// from the production date, and the channel is validated.
func TestDispatchChannelDecidesTheBasis(t *testing.T) {
	e := newEnv(t) // today 2026-11-10; register gives produced_on 2026-10-01
	e.seedModels()
	e.register("B1", "S1", "S2", "S3")
	m := must(t, e.event("S1", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O1"}), 201).JSON(t)
	item := m["item"].(map[string]any)
	w := item["warranty"].(map[string]any)
	if item["receipt_evidence"] != "dispatched" || w["status"] != "active" || w["start"] != "2026-11-02" ||
		w["return_until"] != "2026-11-09" || w["replace_until"] != "2026-11-17" || w["warranty_until"] != "2027-11-02" || w["days_left"] != float64(357) {
		t.Fatalf("direct dispatch: evidence %v warranty %v", item["receipt_evidence"], w)
	}
	assertShape(t, contractItem, mustJSON(t, item), false)

	m = must(t, e.event("S2", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O2", "channel": "reseller"}), 201).JSON(t)
	item, ev := m["item"].(map[string]any), m["event"].(map[string]any)
	w = item["warranty"].(map[string]any)
	if ev["channel"] != "reseller" || item["receipt_evidence"] != "estimated" || w["status"] != "active" ||
		w["start"] != "2026-12-30" || w["return_until"] != nil || w["warranty_until"] != "2027-12-30" {
		t.Fatalf("reseller dispatch: event %v evidence %v warranty %v", ev, item["receipt_evidence"], w)
	}
	hist := must(t, e.get("/api/v1/items/S2", e.service), 200).JSON(t)["history"].([]any)
	if hist[0].(map[string]any)["channel"] != "reseller" {
		t.Fatalf("history %v", hist)
	}
	wantError(t, e.event("S3", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "channel": "wholesale"}), 422, policy.EInvalid, "channel")
}

// Receipt evidence by weight: a stronger receipt supersedes the one on
// record, an equal or weaker one is a 409 naming the rule.
func TestStrongerReceiptSupersedes(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	must(t, e.event("S1", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O1"}), 201)
	item := must(t, e.event("S1", e.service, map[string]any{"type": "received", "on": "2026-11-05", "evidence": "customer"}), 201).JSON(t)["item"].(map[string]any)
	if item["receipt_evidence"] != "customer" || item["received_on"] != "2026-11-05" {
		t.Fatalf("customer receipt: %v %v", item["receipt_evidence"], item["received_on"])
	}
	wantError(t, e.event("S1", e.service, map[string]any{"type": "received", "on": "2026-11-04", "evidence": "customer"}), 409, policy.EConflict, "evidence")
	item = must(t, e.event("S1", e.service, map[string]any{"type": "received", "on": "2026-11-03", "evidence": "courier"}), 201).JSON(t)["item"].(map[string]any)
	w := item["warranty"].(map[string]any)
	if item["receipt_evidence"] != "courier" || item["received_on"] != "2026-11-03" || w["return_until"] != "2026-11-10" || len(item["history"].([]any)) != 3 {
		t.Fatalf("courier over customer: evidence %v received %v warranty %v", item["receipt_evidence"], item["received_on"], w)
	}
	er := wantError(t, e.event("S1", e.service, map[string]any{"type": "received", "on": "2026-11-03", "evidence": "invoice"}), 409, policy.EConflict, "evidence")
	if msg := er["message"].(string); !strings.Contains(msg, "courier > invoice > customer") {
		t.Errorf("message %q does not name the rule", msg)
	}
}
