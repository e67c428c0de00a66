package server

import (
	"net/http"
	"strings"
	"testing"
)

// GET /api/v1/orders/{order} lists what shipped under the order, with
// where each serial stands, to every role that reads items.
func TestOrderListsWhatShippedUnderIt(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2", "S3")
	for _, s := range []string{"S2", "S1"} {
		must(t, e.event(s, e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O1"}), http.StatusCreated)
	}
	must(t, e.event("S3", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O2"}), http.StatusCreated)
	must(t, e.event("S1", e.warehouse, map[string]any{"type": "received", "on": "2026-11-04", "evidence": "courier"}), http.StatusCreated)

	for _, token := range []string{e.admin, e.warehouse, e.service} {
		got := must(t, e.get("/api/v1/orders/O1", token), http.StatusOK).JSON(t)
		if got["order"] != "O1" || got["count"] != float64(2) {
			t.Fatalf("order O1: %v", got)
		}
		items := got["items"].([]any)
		want := []map[string]any{
			{"serial": "S1", "sku": "M1", "kind": "product", "state": "in_use", "dispatched_on": "2026-11-02", "received_on": "2026-11-04"},
			{"serial": "S2", "sku": "M1", "kind": "product", "state": "dispatched", "dispatched_on": "2026-11-02", "received_on": nil},
		}
		for i, w := range want {
			row := items[i].(map[string]any)
			for k, v := range w {
				if row[k] != v {
					t.Errorf("item %d %s = %v, want %v", i, k, row[k], v)
				}
			}
		}
	}
	wantError(t, e.get("/api/v1/orders/O9", e.service), http.StatusNotFound, "not_found", "order")
	wantError(t, e.get("/api/v1/orders/"+strings.Repeat("x", 40), e.service), http.StatusBadRequest, "invalid_field", "order")
	wantError(t, e.get("/api/v1/orders/O1", ""), http.StatusUnauthorized, "unauthorized", "")
}

// A serial registered by mistake may be taken out by an admin, with a
// reason, while nothing has happened to it: it leaves the registry and its
// batch's counts, and the audit log keeps the row.
func TestDeleteItemUndoesARegistrationMistake(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2")
	e.register("B2", "S3")
	must(t, e.event("S2", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O1"}), http.StatusCreated)

	del := func(serial, query, token string) response {
		return e.do(req{Method: "DELETE", Path: "/api/v1/items/" + serial + query, Token: token})
	}
	wantError(t, del("S1", "?reason=typo", e.warehouse), http.StatusForbidden, "forbidden", "")
	wantError(t, del("S1", "?reason=typo", e.service), http.StatusForbidden, "forbidden", "")
	wantError(t, del("S1", "", e.admin), http.StatusUnprocessableEntity, "invalid_field", "reason")
	wantError(t, del("S1", "?reason=%20%20", e.admin), http.StatusUnprocessableEntity, "invalid_field", "reason")
	wantError(t, del("S2", "?reason=typo", e.admin), http.StatusConflict, "conflict", "serial")
	wantError(t, del("S9", "?reason=typo", e.admin), http.StatusNotFound, "not_found", "serial")

	must(t, del("S1", "?reason=registered+twice+by+mistake", e.admin), http.StatusNoContent)
	wantError(t, e.get("/api/v1/items/S1", e.admin), http.StatusNotFound, "not_found", "serial")
	b1 := must(t, e.get("/api/v1/batches/B1", e.warehouse), http.StatusOK).JSON(t)
	if b1["count"] != float64(1) || !strings.Contains(e.get("/api/v1/batches/B1", e.warehouse).String(), `"S2"`) ||
		strings.Contains(e.get("/api/v1/batches/B1", e.warehouse).String(), `"S1"`) {
		t.Errorf("batch B1 after S1 left: %v", b1)
	}
	// S1 carried a charger of batch CB2411: it no longer does.
	cb := must(t, e.get("/api/v1/batches/CB2411", e.warehouse), http.StatusOK).JSON(t)
	if cb["carriers"] != float64(2) {
		t.Errorf("batch CB2411 carriers = %v, want 2 (S2 and S3)", cb["carriers"])
	}
	// The last member of a batch gone, the batch is gone.
	must(t, del("S3", "?reason=wrong+batch", e.admin), http.StatusNoContent)
	wantError(t, e.get("/api/v1/batches/B2", e.warehouse), http.StatusNotFound, "not_found", "batch")
	if list := string(e.get("/api/v1/batches", e.warehouse).Body); strings.Contains(list, `"B2"`) {
		t.Errorf("batch list still shows B2: %s", list)
	}
	audit := string(e.get("/api/v1/audit", e.admin).Body)
	if !strings.Contains(audit, "item.delete") || !strings.Contains(audit, "registered twice by mistake") {
		t.Errorf("audit log lacks the removal and its reason: %s", audit)
	}
	// Registered again, the serial is a new registration.
	e.register("B1", "S1")
	must(t, e.get("/api/v1/items/S1", e.admin), http.StatusOK)
}

// A model defined by mistake may be deleted by an admin while no item
// uses it, as its model or as a bundled accessory's.
func TestDeleteModelOnlyWhileNoItemUsesIt(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M-TYPO", Token: e.warehouse,
		Body: map[string]any{"name": "typo", "kind": "product"}}), http.StatusCreated)
	e.register("B1", "S1") // M1 with a CHG-1 charger

	del := func(sku, token string) response {
		return e.do(req{Method: "DELETE", Path: "/api/v1/models/" + sku, Token: token})
	}
	wantError(t, del("M-TYPO", e.warehouse), http.StatusForbidden, "forbidden", "")
	wantError(t, del("M1", e.admin), http.StatusConflict, "conflict", "sku")
	wantError(t, del("CHG-1", e.admin), http.StatusConflict, "conflict", "sku")
	wantError(t, del("NOPE", e.admin), http.StatusNotFound, "not_found", "sku")
	must(t, del("M-TYPO", e.admin), http.StatusNoContent)
	must(t, del("CBL-2", e.admin), http.StatusNoContent)
	wantError(t, e.get("/api/v1/models/M-TYPO", e.admin), http.StatusNotFound, "not_found", "sku")
	if list := string(e.get("/api/v1/models", e.admin).Body); strings.Contains(list, "M-TYPO") || !strings.Contains(list, `"M1"`) {
		t.Errorf("models after the deletion: %s", list)
	}
	if audit := string(e.get("/api/v1/audit", e.admin).Body); !strings.Contains(audit, "model.delete") {
		t.Errorf("audit log lacks the deletion: %s", audit)
	}
}
