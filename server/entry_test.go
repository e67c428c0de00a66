package server

import (
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
)

// rowOf returns the i-th row of a 422 registration answer.
func rowOf(t *testing.T, er map[string]any, i int) map[string]any {
	t.Helper()
	rows, _ := er["rows"].([]any)
	if len(rows) <= i {
		t.Fatalf("want at least %d rows: %v", i+1, er)
	}
	return rows[i].(map[string]any)
}

func TestIdentifiersMadeOnlyOfDotsAreRefused(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	for _, item := range []map[string]any{
		{"serial": ".", "sku": "M1", "batch": "B1"},
		{"serial": "D1", "sku": "M1", "batch": ".."},
	} {
		er := wantError(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []any{item}}), 422, policy.EInvalid, "")
		row := rowOf(t, er, 0)
		if msg, _ := row["message"].(string); !strings.Contains(msg, "only of dots") {
			t.Errorf("%v: row %v, want a message about dots", item, row)
		}
	}
	wantError(t, e.do(req{Method: "PUT", Path: "/api/v1/models/...", Token: e.warehouse,
		Body: map[string]any{"name": "x", "kind": "product"}}), 400, policy.EInvalid, "sku")
	e.register("B1", "S1")
	wantError(t, e.event("S1", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-01", "order": ".."}), 422, policy.EInvalid, "order")
}

func TestAbsurdDatesAreRefusedNamingTheRange(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	er := wantError(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []any{
		map[string]any{"serial": "P1", "sku": "M1", "batch": "B1", "produced_on": "0000-01-01"}}}), 422, policy.EInvalid, "")
	if row := rowOf(t, er, 0); row["field"] != "produced_on" || row["message"] != "produced_on 0000-01-01 is before 2000-01-01: dates from 2000-01-01 to today (2026-11-10 in Asia/Shanghai) are accepted" {
		t.Errorf("row %v", row)
	}
	er = wantError(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []any{
		map[string]any{"serial": "P1", "sku": "M1", "batch": "B1", "produced_on": "2026-02-30"}}}), 422, policy.EInvalid, "")
	if row := rowOf(t, er, 0); row["message"] != "produced_on: 2026-02-30 does not exist: February 2026 has 28 days, not 30" {
		t.Errorf("row %v", row)
	}

	e.register("B1", "S1")
	must(t, e.event("S1", e.warehouse, map[string]any{"type": "received", "on": "2026-11-01", "evidence": "courier"}), 201)
	er = wantError(t, e.event("S1", e.service, map[string]any{"type": "intake", "at": "0001-01-01T00:00:00Z", "center": "SH", "complaint": "x"}), 422, policy.EInvalid, "at")
	if !strings.Contains(er["message"].(string), "before 2000-01-01") {
		t.Errorf("zero at: %v", er)
	}
	wantError(t, e.event("S1", e.service, map[string]any{"type": "transferred", "on": "1999-12-31"}), 422, policy.EInvalid, "on")
	// Only an absent at means now.
	ev := must(t, e.event("S1", e.service, map[string]any{"type": "intake", "center": "SH", "complaint": "x"}), 201).JSON(t)
	if at := ev["event"].(map[string]any)["at"]; at != "2026-11-10T10:00:00+08:00" {
		t.Errorf("intake without at: at %v, want now", at)
	}
}

func TestKindsTakeTheirArticleInMessages(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	er := wantError(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []any{
		map[string]any{"serial": "A1", "sku": "CHG-1", "batch": "B1", "accessories": []any{map[string]any{"sku": "CBL-2", "batch": "C1"}}},
		map[string]any{"serial": "A2", "sku": "M1", "batch": "B1", "accessories": []any{map[string]any{"sku": "M1", "batch": "C1"}}},
	}}), 422, policy.EInvalid, "")
	if msg := rowOf(t, er, 0)["message"]; msg != "only a product carries bundled accessories; CHG-1 is an adapter model" {
		t.Errorf("row 1: %v", msg)
	}
	if msg := rowOf(t, er, 1)["message"]; msg != "bundled M1 is a product model; bundled accessories must be accessory or adapter models" {
		t.Errorf("row 2: %v", msg)
	}
	e.register("B1", "S1")
	er = wantError(t, e.event("S1", e.service, map[string]any{"type": "intake", "on": "2026-11-01", "center": "SH", "complaint": "x"}), 422, policy.EInvalid, "on")
	if er["message"] != "an intake event takes an instant `at`, not a date `on`" {
		t.Errorf("intake with on: %v", er["message"])
	}
}
