package server

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
)

func TestReceiptIsSetOnce(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	res := must(t, e.event("S1", e.warehouse, map[string]any{"type": "received", "on": "2026-11-05", "evidence": "courier"}), 201)
	m := res.JSON(t)
	ev, item := m["event"].(map[string]any), m["item"].(map[string]any)
	if ev["type"] != "received" || ev["seq"] != float64(1) || ev["by"] != "dock-1" || item["received_on"] != "2026-11-05" {
		t.Fatalf("answer %s", res.Body)
	}
	assertShape(t, contractItem, mustJSON(t, item), false)
	wantError(t, e.event("S1", e.service, map[string]any{"type": "received", "on": "2026-11-06", "evidence": "invoice"}), 409, policy.EConflict, "")
	wantError(t, e.event("S1", e.service, map[string]any{"type": "received", "on": "2026-11-06", "evidence": "invoice", "serial": "S2"}), 422, policy.EInvalid, "serial")
}

func TestBatchDispatchOf1000SerialsInOneRequest(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	serials := make([]string, 1000)
	for i := range serials {
		serials[i] = fmt.Sprintf("D%04d", i)
	}
	e.register("BD", serials...)
	rows := make([]map[string]any, len(serials))
	for i, s := range serials {
		rows[i] = map[string]any{"serial": s, "type": "dispatched", "on": "2026-11-02", "order": fmt.Sprintf("O%d", i/100)}
	}
	// One bad row refuses them all.
	bad := append([]map[string]any{}, rows...)
	bad[500] = map[string]any{"serial": "NOPE", "type": "dispatched", "on": "2026-11-02"}
	bad[600] = map[string]any{"serial": serials[600], "type": "dispatched", "on": "2027-01-01"}
	er := wantError(t, e.post("/api/v1/events", e.warehouse, map[string]any{"events": bad}), 422, policy.EInvalid, "")
	if er["bad_rows"] != float64(2) {
		t.Fatalf("%v", er)
	}
	if r := er["rows"].([]any)[0].(map[string]any); r["row"] != float64(501) || r["code"] != policy.ENotFound {
		t.Errorf("row %v, want row 501 not_found", r)
	}
	if m := must(t, e.get("/api/v1/items/D0000", e.service), 200).JSON(t); m["state"] != "registered" {
		t.Fatalf("a refused batch wrote: %v", m["state"])
	}

	res := must(t, e.post("/api/v1/events", e.warehouse, map[string]any{"events": rows}), 201)
	m := res.JSON(t)
	if m["count"] != float64(1000) || len(m["events"].([]any)) != 1000 {
		t.Fatalf("count %v", m["count"])
	}
	for _, s := range []string{"D0000", "D0999"} {
		if m := must(t, e.get("/api/v1/items/"+s, e.service), 200).JSON(t); m["state"] != "dispatched" || m["dispatched_on"] != "2026-11-02" {
			t.Fatalf("%s: state %v", s, m["state"])
		}
	}
	// The orders are indexed: one courier confirmation receives 100 serials.
	got := must(t, e.post("/api/v1/orders/O3/received", e.warehouse, map[string]any{"on": "2026-11-05", "evidence": "courier"}), 201).JSON(t)
	if got["count"] != float64(100) || got["order"] != "O3" {
		t.Fatalf("order O3: %v", got)
	}
}

func TestOrderReceiptStartsProductsAndAccessories(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "P1")
	// A cable with a serial of its own, sold in the same order.
	must(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []map[string]any{{"serial": "A1", "sku": "CBL-2", "batch": "CC2411"}}}), 201)
	for _, s := range []string{"P1", "A1"} {
		must(t, e.event(s, e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "ORD-7"}), 201)
	}
	wantError(t, e.post("/api/v1/orders/NOPE/received", e.warehouse, map[string]any{"on": "2026-11-05", "evidence": "courier"}), 404, policy.ENotFound, "")
	wantError(t, e.post("/api/v1/orders/ORD-7/received", e.warehouse, map[string]any{"on": "2026-11-05", "evidence": "pigeon"}), 422, policy.EInvalid, "evidence")
	wantError(t, e.post("/api/v1/orders/ORD-7/received", e.warehouse, map[string]any{"evidence": "courier"}), 422, policy.EInvalid, "on")
	wantError(t, e.post("/api/v1/orders/ORD%207/received", e.warehouse, map[string]any{"on": "2026-11-05", "evidence": "courier"}), 400, policy.EInvalid, "order")

	res := must(t, e.post("/api/v1/orders/ORD-7/received", e.warehouse, map[string]any{"on": "2026-11-05", "evidence": "courier"}), 201)
	if m := res.JSON(t); m["count"] != float64(2) {
		t.Fatalf("%s", res.Body)
	}
	p := must(t, e.get("/api/v1/items/P1", e.service), 200).JSON(t)
	a := must(t, e.get("/api/v1/items/A1", e.service), 200).JSON(t)
	for _, m := range []map[string]any{p, a} {
		w := m["warranty"].(map[string]any)
		if m["received_on"] != "2026-11-05" || w["start"] != "2026-11-05" || w["warranty_until"] != "2027-11-05" {
			t.Errorf("%v: received_on %v warranty %v", m["serial"], m["received_on"], w)
		}
	}
	if acc := p["accessories"].([]any)[0].(map[string]any); acc["warranty_until"] != "2027-11-05" {
		t.Errorf("bundled charger: %v", acc)
	}
	// Everything received already: 409.
	wantError(t, e.post("/api/v1/orders/ORD-7/received", e.warehouse, map[string]any{"on": "2026-11-05", "evidence": "courier"}), 409, policy.EConflict, "")
}

func TestCorrectedReceiptChangesTheWarrantyAndKeepsBothEvents(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	must(t, e.event("S1", e.warehouse, map[string]any{"type": "received", "on": "2026-11-05", "evidence": "courier"}), 201)
	correction := map[string]any{"type": "corrected", "seq": 1, "reason": "courier scan was a day late", "on": "2026-11-04"}
	wantError(t, e.event("S1", e.service, correction), 403, policy.EForbidden, "type")

	res := must(t, e.event("S1", e.admin, correction), 201)
	m := res.JSON(t)
	if ev := m["event"].(map[string]any); ev["type"] != "corrected" || ev["corrects"] != float64(1) || ev["seq"] != float64(2) {
		t.Fatalf("event %v", ev)
	}
	item := must(t, e.get("/api/v1/items/S1", e.service), 200).JSON(t)
	if w := item["warranty"].(map[string]any); w["warranty_until"] != "2027-11-04" || item["received_on"] != "2026-11-04" {
		t.Fatalf("after the correction: received_on %v warranty %v", item["received_on"], w)
	}
	hist := item["history"].([]any)
	if len(hist) != 2 {
		t.Fatalf("history %v", hist)
	}
	if h0 := hist[0].(map[string]any); h0["type"] != "received" || h0["on"] != "2026-11-05" {
		t.Errorf("the original receipt must stay in the history as it was: %v", h0)
	}
	if h1 := hist[1].(map[string]any); h1["type"] != "corrected" || h1["on"] != "2026-11-04" || h1["reason"] == nil ||
		h1["by"] != "root" || fmt.Sprint(h1["fields"]) != "[on]" {
		t.Errorf("correction in history: %v", h1)
	}
	wantError(t, e.event("S1", e.admin, map[string]any{"type": "corrected", "reason": "x", "on": "2026-11-03"}), 422, policy.EInvalid, "seq")
	wantError(t, e.event("S1", e.admin, map[string]any{"type": "received", "seq": 1, "on": "2026-11-03", "evidence": "courier"}), 422, policy.EInvalid, "seq")
}

func TestRetriedRepairCountsOnce(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	for _, ev := range []map[string]any{
		{"type": "received", "on": "2026-11-05", "evidence": "courier"},
		{"type": "intake", "at": "2026-11-09T09:00:00+08:00", "center": "SH"},
		{"type": "diagnosed", "at": "2026-11-09T10:00:00+08:00", "finding": "quality_problem"},
	} {
		must(t, e.event("S1", e.service, ev), 201)
	}
	body := `{"type": "repaired", "at": "2026-11-09T12:00:00+08:00", "paid": false, "parts": ["battery"]}`
	send := func(key, body string) response {
		return e.do(req{Method: "POST", Path: "/api/v1/items/S1/events", Token: e.service, Body: body,
			Header: map[string]string{"Idempotency-Key": key}})
	}
	first := must(t, send("rep-1", body), 201)
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a first answer marked as replayed")
	}
	again := must(t, send("rep-1", body), 201)
	if again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(first.Body, again.Body) {
		t.Fatalf("retry: header %q, same body %v", again.Header.Get("Idempotent-Replayed"), bytes.Equal(first.Body, again.Body))
	}
	wantError(t, send("rep-1", strings.Replace(body, "battery", "screen", 1)), 409, policy.EConflict, "")

	e.restart()
	after := must(t, send("rep-1", body), 201)
	if after.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(first.Body, after.Body) {
		t.Fatal("after a restart the retry was not answered from the stored first answer")
	}
	rec, err := e.db.Get("S1")
	if err != nil {
		t.Fatal(err)
	}
	repairs := 0
	for _, ev := range rec.History {
		if ev.Type == policy.EvRepaired {
			repairs++
		}
	}
	if repairs != 1 {
		t.Fatalf("%d repaired events, want 1", repairs)
	}

	// POST /events and order receipts take keys too.
	rows := `{"events": [{"serial": "S1", "type": "shipped", "at": "2026-11-09T18:00:00+08:00"}]}`
	r1 := must(t, e.do(req{Method: "POST", Path: "/api/v1/events", Token: e.service, Body: rows, Header: map[string]string{"Idempotency-Key": "ship-1"}}), 201)
	r2 := must(t, e.do(req{Method: "POST", Path: "/api/v1/events", Token: e.service, Body: rows, Header: map[string]string{"Idempotency-Key": "ship-1"}}), 201)
	if r2.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(r1.Body, r2.Body) {
		t.Fatal("POST /events retry not replayed")
	}

	// A correction replaces exactly the fields it carries, false included.
	freeRepairs := func() any {
		return must(t, e.get("/api/v1/items/S1", e.service), 200).JSON(t)["warranty"].(map[string]any)["free_repairs"]
	}
	if n := freeRepairs(); n != float64(1) {
		t.Fatalf("free_repairs %v, want 1", n)
	}
	must(t, e.event("S1", e.admin, map[string]any{"type": "corrected", "seq": 4, "reason": "it was paid", "paid": true}), 201)
	if n := freeRepairs(); n != float64(0) {
		t.Fatalf("after correcting to paid: free_repairs %v, want 0", n)
	}
	must(t, e.event("S1", e.admin, map[string]any{"type": "corrected", "seq": 4, "reason": "it was free after all", "paid": false}), 201)
	if n := freeRepairs(); n != float64(1) {
		t.Fatalf("after correcting back to free: free_repairs %v, want 1", n)
	}
}

func TestServiceQueueIsSortedByDueTime(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "Q1", "Q2", "Q3")
	for _, s := range []string{"Q1", "Q2", "Q3"} {
		must(t, e.event(s, e.warehouse, map[string]any{"type": "received", "on": "2026-11-05", "evidence": "courier"}), 201)
	}
	must(t, e.event("Q2", e.service, map[string]any{"type": "intake", "at": "2026-11-09T08:00:00+08:00", "center": "SH"}), 201)
	must(t, e.event("Q1", e.service, map[string]any{"type": "intake", "at": "2026-11-09T12:00:00+08:00", "center": "BJ"}), 201)
	must(t, e.event("Q3", e.service, map[string]any{"type": "intake", "at": "2026-11-10T09:00:00+08:00", "center": "SH"}), 201)

	queue := func(q string) []string {
		m := must(t, e.get("/api/v1/service/open"+q, e.service), 200).JSON(t)
		var out []string
		for _, c := range m["cases"].([]any) {
			out = append(out, c.(map[string]any)["serial"].(string))
		}
		return out
	}
	if got := fmt.Sprint(queue("")); got != "[Q2 Q1 Q3]" {
		t.Fatalf("queue %s, want soonest due first", got)
	}
	if got := fmt.Sprint(queue("?center=SH")); got != "[Q2 Q3]" {
		t.Fatalf("SH queue %s", got)
	}
	if got := fmt.Sprint(queue("?overdue=true")); got != "[Q2]" {
		t.Fatalf("overdue at 10:00 on the 10th: %s, want Q2 (due 08:00)", got)
	}
	e.clock.Add(3 * time.Hour) // 13:00: Q1 (due 12:00) is late too
	if got := fmt.Sprint(queue("?overdue=true")); got != "[Q2 Q1]" {
		t.Fatalf("overdue queue %s", got)
	}
	wantError(t, e.get("/api/v1/service/open?overdue=soon", e.service), 400, policy.EInvalid, "overdue")
}

func TestAuditNamesWhoDidEachChange(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	must(t, e.event("S1", e.service, map[string]any{"type": "received", "on": "2026-11-05", "evidence": "customer"}), 201)
	must(t, e.post("/api/v1/keys", e.admin, map[string]any{"name": "mes", "role": "warehouse"}), 201)

	var entries []map[string]any
	after := ""
	for {
		m := must(t, e.get("/api/v1/audit?limit=2&after="+after, e.admin), 200).JSON(t)
		for _, x := range m["entries"].([]any) {
			entries = append(entries, x.(map[string]any))
		}
		if m["next"] == nil {
			break
		}
		after = m["next"].(string)
	}
	who := map[string]string{}
	for _, x := range entries {
		who[x["action"].(string)+" "+x["target"].(string)+" "+x["detail"].(string)] = x["name"].(string)
	}
	for _, want := range []struct{ what, name string }{
		{"S1", "desk-sh"}, {"M1", "dock-1"}, {"mes", "root"},
	} {
		found := false
		for what, name := range who {
			if strings.Contains(what, want.what) && name == want.name {
				found = true
			}
		}
		if !found {
			t.Errorf("no audit entry about %s by %s in %v", want.what, want.name, who)
		}
	}
	wantError(t, e.get("/api/v1/audit?limit=0", e.admin), 400, policy.EInvalid, "limit")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := jsonBytes(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEventBodiesAreLenientWhereSafe(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	// A courier webhook knows the instant of delivery only.
	res := must(t, e.event("S1", e.warehouse, map[string]any{"type": "received", "at": "2026-11-04T17:30:00Z", "evidence": "courier"}), 201)
	if on := res.JSON(t)["event"].(map[string]any)["on"]; on != "2026-11-05" {
		t.Fatalf("17:30 UTC on 4 November is 5 November in CST; got %v", on)
	}
	must(t, e.event("S1", e.service, map[string]any{"type": "intake", "center": "SH"}), 201)
	must(t, e.event("S1", e.service, map[string]any{"type": "diagnosed", "finding": "human_damage"}), 201)
	res = must(t, e.event("S1", e.service, map[string]any{"type": "quoted", "amount": 120.5, "currency": "CNY"}), 201)
	if amt := res.JSON(t)["event"].(map[string]any)["amount"]; amt != "120.5" {
		t.Fatalf("numeric amount stored as %v", amt)
	}
	wantError(t, e.event("S1", e.service, map[string]any{"type": "paid", "on": "2026-11-10", "amount": "120.5"}), 422, policy.EInvalid, "on")
	wantError(t, e.event("S1", e.service, map[string]any{"type": "paid", "at": "yesterday", "amount": "120.5"}), 422, policy.EInvalid, "at")
}
