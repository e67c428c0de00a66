package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// contractItem is the item example of contract.md, with its "..."
// placeholders given values of the right type.
const contractItem = `{"serial": "S1", "sku": "M1", "kind": "product", "batch": "B1", "state": "in_use",
 "produced_on": "2026-10-01", "dispatched_on": "2026-11-02", "order": "O1", "received_on": "2026-11-05", "receipt_evidence": "courier",
 "warranty": {"status": "active", "start": "2026-11-05", "return_until": "2026-11-12",
              "replace_until": "2026-11-20", "warranty_until": "2027-11-05", "days_left": 343,
              "basis": "receipt confirmed by courier", "free_repairs": 0},
 "parts": [{"part": "battery", "replaced_on": "2026-11-06", "covered_until": "2027-11-05"}],
 "accessories": [{"sku": "CHG-1", "name": "Charger", "kind": "adapter", "batch": "CB2411",
                  "warranty_until": "2027-11-05", "replacements": 0}],
 "replaces": null, "superseded_by": null,
 "scans": {"count": 3, "first": "2026-11-05T10:00:00+08:00", "last": "2026-11-06T10:00:00+08:00"},
 "open_case": null,
 "history": [{"seq": 1, "type": "dispatched", "on": "2026-11-02", "by": "key name", "recorded_at": "2026-11-02T10:00:00+08:00"}]}`

// contractCase is the open_case object: the service queue's fields plus the
// complaint the brief asks for.
const contractCase = `{"serial": "S1", "case": 4, "center": "SH", "opened_at": "2026-11-06T10:00:00+08:00",
 "stage": "intake", "due_at": "2026-11-07T10:00:00+08:00", "overdue": false, "complaint": "no power"}`

const contractEntitlement = `{"serial": "S1", "on": "2026-11-10", "in_warranty": true,
 "remedies": ["return", "replace", "repair"], "paid_repair": false,
 "reasons": ["day 5 of 7 after receipt, intact and complete: return allowed", "..."],
 "deadline_hours": 24}`

// sameShape reports every key of want missing from got or of another JSON
// type (null in want accepts any value; null in got is accepted unless
// strict), recursing into objects and the first element of arrays.
func sameShape(path string, want, got any, strict bool) []string {
	var bad []string
	if got == nil && !strict {
		return nil
	}
	switch w := want.(type) {
	case nil:
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an object", path, got)}
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				bad = append(bad, path+"."+k+": missing")
				continue
			}
			bad = append(bad, sameShape(path+"."+k, w[k], gv, strict)...)
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an array", path, got)}
		}
		if len(w) > 0 && len(g) > 0 {
			bad = append(bad, sameShape(path+"[0]", w[0], g[0], strict)...)
		}
	default:
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			bad = append(bad, fmt.Sprintf("%s: %T, want %T", path, got, want))
		}
	}
	return bad
}

// assertShape checks got has every key of the contract's example with its
// JSON type; strict also refuses null where the example has a value.
func assertShape(t *testing.T, example string, got []byte, strict bool) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(example), &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	for _, p := range sameShape("", w, g, strict) {
		t.Error(p)
	}
}

// serviceHistory gives S1 a full life: dispatch, receipt, a free repair of
// the battery, shipped back, and a second case open.
func serviceHistory(t *testing.T, e *env) {
	t.Helper()
	for _, ev := range []struct {
		token string
		body  map[string]any
	}{
		{e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O1"}},
		{e.warehouse, map[string]any{"type": "received", "on": "2026-11-05", "evidence": "courier"}},
		{e.service, map[string]any{"type": "intake", "at": "2026-11-06T09:00:00+08:00", "center": "SH", "complaint": "no power", "contact": "138 0000 0000"}},
		{e.service, map[string]any{"type": "diagnosed", "at": "2026-11-06T10:00:00+08:00", "finding": "quality_problem", "part": "battery"}},
		{e.service, map[string]any{"type": "repaired", "at": "2026-11-06T15:00:00+08:00", "paid": false, "parts": []string{"battery"}}},
		{e.service, map[string]any{"type": "shipped", "at": "2026-11-06T18:00:00+08:00", "tracking": "SF123"}},
		{e.service, map[string]any{"type": "intake", "at": "2026-11-09T11:00:00+08:00", "center": "SH", "complaint": "no power again"}},
	} {
		must(t, e.event("S1", ev.token, ev.body), http.StatusCreated)
	}
}

func TestItemHasTheContractShape(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	serviceHistory(t, e)
	e.db.Scan("S1", testNow.Add(-48*3600e9))
	e.db.Scan("S1", testNow)

	res := must(t, e.get("/api/v1/items/S1", e.service), 200)
	assertShape(t, contractItem, res.Body, true)
	m := res.JSON(t)
	oc, ok := m["open_case"].(map[string]any)
	if !ok {
		t.Fatalf("open_case = %v, want the open case", m["open_case"])
	}
	caseJSON, _ := json.Marshal(oc)
	assertShape(t, contractCase, caseJSON, true)
	if oc["case"] != float64(7) || oc["complaint"] != "no power again" {
		t.Errorf("open case %v, want case 7 (its intake's seq)", oc)
	}
	w := m["warranty"].(map[string]any)
	if m["state"] != "in_service" || m["receipt_evidence"] != "courier" || w["status"] != "active" || w["start"] != "2026-11-05" {
		t.Errorf("item %s", res.Body)
	}
	if w["free_repairs"] != float64(1) {
		t.Errorf("free_repairs %v, want 1", w["free_repairs"])
	}
	if got := m["scans"].(map[string]any)["count"]; got != float64(2) {
		t.Errorf("scans.count %v, want 2", got)
	}
	hist := m["history"].([]any)
	if len(hist) != 7 {
		t.Fatalf("history has %d events, want 7", len(hist))
	}
	first := hist[0].(map[string]any)
	if first["by"] != "dock-1" || first["on"] != "2026-11-02" || first["order"] != "O1" {
		t.Errorf("history[0] = %v", first)
	}
	if rep := hist[4].(map[string]any); rep["paid"] != false {
		t.Errorf("repaired event must show paid: false: %v", rep)
	}
	parts := m["parts"].([]any)
	if len(parts) != 1 || parts[0].(map[string]any)["part"] != "battery" || parts[0].(map[string]any)["covered_until"] == nil {
		t.Errorf("parts %v", parts)
	}
	acc := m["accessories"].([]any)
	if len(acc) != 1 || acc[0].(map[string]any)["warranty_until"] != "2027-11-05" {
		t.Errorf("accessories %v", acc)
	}
}

func TestItemAsOfADate(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	serviceHistory(t, e)
	m := must(t, e.get("/api/v1/items/S1?on=2026-11-04", e.service), 200).JSON(t)
	if m["state"] != "dispatched" || m["received_on"] != nil || m["open_case"] != nil {
		t.Errorf("as of 2026-11-04: state %v, received_on %v, open_case %v", m["state"], m["received_on"], m["open_case"])
	}
	if n := len(m["history"].([]any)); n != 7 {
		t.Errorf("history as of a date lists %d events, want all 7", n)
	}
	if w := m["warranty"].(map[string]any); w["start"] == "2026-11-05" {
		t.Errorf("a receipt dated after ?on= must not count: %v", w)
	}
}

func TestSerialInPathIsTrimmed(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	must(t, e.get("/api/v1/items/S1%0A", e.service), 200)
	must(t, e.get("/api/v1/items/%20S1%20", e.service), 200)
	wantError(t, e.get("/api/v1/items/S%C3%A91", e.service), 400, policy.EInvalid, "serial")
	wantError(t, e.get("/api/v1/items/"+strings.Repeat("A", 33), e.service), 400, policy.EInvalid, "serial")
}

func TestRegistrationIsAllOrNothing(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	good := map[string]any{"serial": "G1", "sku": "M1", "batch": "B1"}
	res := e.post("/api/v1/items", e.warehouse, map[string]any{"items": []map[string]any{
		good,
		{"serial": "G2", "sku": "NOPE", "batch": "B1"},
		{"serial": "bad serial", "sku": "M1", "batch": "B1"},
		{"serial": "G4", "sku": "M1", "batch": "B1", "accessories": []map[string]string{{"sku": "M1", "batch": "X"}}},
	}})
	er := wantError(t, res, 422, policy.EInvalid, "")
	rows := er["rows"].([]any)
	if len(rows) != 3 || er["bad_rows"] != float64(3) {
		t.Fatalf("want rows 2, 3, 4: %s", res.Body)
	}
	for i, r := range rows {
		row := r.(map[string]any)
		if row["row"] != float64(i+2) || row["message"] == "" || row["code"] == "" {
			t.Errorf("row %v", row)
		}
	}
	wantError(t, e.get("/api/v1/items/G1", e.service), 404, policy.ENotFound, "")

	// Bad dates are reported per row too, before anything reaches the registry.
	res = e.post("/api/v1/items", e.warehouse, map[string]any{"items": []map[string]any{
		good, {"serial": "G2", "sku": "M1", "batch": "B1", "produced_on": "2026-02-30"}}})
	er = wantError(t, res, 422, policy.EInvalid, "")
	if row := er["rows"].([]any)[0].(map[string]any); row["row"] != float64(2) || row["field"] != "produced_on" {
		t.Errorf("row %v", row)
	}

	one := map[string]any{"items": []map[string]any{good, {"serial": "G2", "sku": "M1", "batch": "B1"}}}
	if got := must(t, e.post("/api/v1/items", e.warehouse, one), 201).JSON(t); got["created"] != float64(2) || got["unchanged"] != float64(0) {
		t.Fatalf("first registration: %v", got)
	}
	if got := must(t, e.post("/api/v1/items", e.warehouse, one), 201).JSON(t); got["created"] != float64(0) || got["unchanged"] != float64(2) {
		t.Fatalf("re-sent registration: %v, want 0 created 2 unchanged", got)
	}
	res = e.post("/api/v1/items", e.warehouse, map[string]any{"items": []map[string]any{{"serial": "G1", "sku": "M1", "batch": "OTHER"}}})
	er = wantError(t, res, 422, policy.EInvalid, "")
	if row := er["rows"].([]any)[0].(map[string]any); row["code"] != policy.EConflict {
		t.Errorf("a serial registered with other data must be a conflict row: %v", row)
	}
	wantError(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []any{}}), 422, policy.EInvalid, "items")
	wantError(t, e.post("/api/v1/items", e.warehouse, `{"itmes": []}`), 400, policy.EBadRequest, "itmes")
}

func TestRegistrationReportsAtMostAThousandRows(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	items := make([]map[string]any, 1500)
	for i := range items {
		items[i] = map[string]any{"serial": fmt.Sprintf("X%d", i), "sku": "NOPE", "batch": "B1"}
	}
	er := wantError(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": items}), 422, policy.EInvalid, "")
	if n := len(er["rows"].([]any)); n != 1000 || er["bad_rows"] != float64(1500) {
		t.Fatalf("rows %d bad_rows %v, want 1000 and 1500", n, er["bad_rows"])
	}
}

func csvReq(e *env, body []byte, contentType string) response {
	return e.do(req{Method: "POST", Path: "/api/v1/items", Token: e.warehouse, Body: body,
		Header: map[string]string{"Content-Type": contentType}})
}

func TestRegistrationCSV(t *testing.T) {
	e := newEnv(t)
	e.seedModels()

	bom := []byte("\xEF\xBB\xBFserial,sku,batch,produced_on,accessories\r\nC1,M1,B1,2026-10-01,CHG-1:CB2411;CBL-2:CC2411\r\nC2,M1,B1,,\r\n")
	got := must(t, csvReq(e, bom, "text/csv"), 201).JSON(t)
	if got["created"] != float64(2) {
		t.Fatalf("BOM CSV: %v", got)
	}
	m := must(t, e.get("/api/v1/items/C1", e.service), 200).JSON(t)
	if m["serial"] != "C1" || m["produced_on"] != "2026-10-01" || len(m["accessories"].([]any)) != 2 {
		t.Fatalf("C1 from a CSV with BOM: %v", m)
	}

	// Chinese Excel: GBK, an extra Chinese column, columns in another order.
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte("备注,batch,serial,sku\r\n出厂检验合格,B2,K1,M1\r\n返修机,B2,K2,M1\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := must(t, csvReq(e, gbk, "text/csv; charset=gbk"), 201).JSON(t); got["created"] != float64(2) {
		t.Fatalf("GBK CSV: %v", got)
	}
	if m := must(t, e.get("/api/v1/items/K2", e.service), 200).JSON(t); m["batch"] != "B2" {
		t.Fatalf("K2: %v", m)
	}

	bad := []byte("serial,sku,batch,produced_on\nD1,M1,B1,2026-13-01\nD2,M1,B1,\n")
	er := wantError(t, csvReq(e, bad, "text/csv"), 422, policy.EInvalid, "")
	if row := er["rows"].([]any)[0].(map[string]any); row["row"] != float64(1) {
		t.Errorf("row %v, want data row 1", row)
	}
	wantError(t, e.get("/api/v1/items/D2", e.service), 404, policy.ENotFound, "")
	wantError(t, csvReq(e, []byte("serial,sku\nE1,M1\n"), "text/csv"), 400, policy.EBadRequest, "")
	wantError(t, csvReq(e, bom, "text/csv; charset=latin-7"), 400, policy.EBadRequest, "charset")
}

// TestRegistrationOf100000RowsInOneRequest is the contract's floor.
func TestRegistrationOf100000RowsInOneRequest(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	var b bytes.Buffer
	b.WriteString("serial,sku,batch,produced_on\n")
	for i := range 100_000 {
		fmt.Fprintf(&b, "SN%07d,M1,B%d,2026-10-01\n", i, i/10_000)
	}
	got := must(t, csvReq(e, b.Bytes(), "text/csv"), 201).JSON(t)
	if got["created"] != float64(100_000) {
		t.Fatalf("%v", got)
	}
	m := must(t, e.get("/api/v1/items/SN0099999", e.service), 200).JSON(t)
	if m["batch"] != "B9" {
		t.Fatalf("last row: %v", m)
	}
	page := must(t, e.get("/api/v1/batches/B3?limit=1000", e.warehouse), 200).JSON(t)
	if page["count"] != float64(10_000) || len(page["serials"].([]any)) != 1000 || page["next"] == nil {
		t.Fatalf("batch page: count %v, %d serials, next %v", page["count"], len(page["serials"].([]any)), page["next"])
	}
}

func TestEntitlementsHaveTheContractShape(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	must(t, e.event("S1", e.warehouse, map[string]any{"type": "received", "on": "2026-11-05", "evidence": "courier"}), 201)

	res := must(t, e.get("/api/v1/items/S1/entitlements?on=2026-11-10&finding=quality_problem&intact=true&complete=true", e.service), 200)
	assertShape(t, contractEntitlement, res.Body, true)
	m := res.JSON(t)
	if m["on"] != "2026-11-10" || m["in_warranty"] != true || len(m["reasons"].([]any)) == 0 {
		t.Errorf("%s", res.Body)
	}
	rem := fmt.Sprint(m["remedies"])
	if !strings.Contains(rem, "return") || !strings.Contains(rem, "replace") || !strings.Contains(rem, "repair") {
		t.Errorf("day 5, quality problem, intact and complete: remedies %v", rem)
	}
	// No finding given and no diagnosis on record: 422.
	wantError(t, e.get("/api/v1/items/S1/entitlements", e.service), 422, policy.EInvalid, "finding")
	// The bundled charger.
	must(t, e.get("/api/v1/items/S1/entitlements?finding=quality_problem&accessory=CHG-1", e.service), 200)
	wantError(t, e.get("/api/v1/items/S1/entitlements?finding=quality_problem&accessory=NOPE", e.service), 422, policy.EInvalid, "accessory")
}

func TestEntitlementParametersMalformedAre400(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	for _, tc := range []struct{ query, field string }{
		{"on=2026-11-31", "on"},
		{"on=yesterday", "on"},
		{"finding=gremlins", "finding"},
		{"finding=quality_problem&intact=maybe", "intact"},
		{"finding=quality_problem&complete=2", "complete"},
		{"finding=quality_problem&accessory=a%20b", "accessory"},
		{"finding=quality_problem&part=" + strings.Repeat("p", 101), "part"},
	} {
		res := e.get("/api/v1/items/S1/entitlements?"+tc.query, e.service)
		wantError(t, res, 400, policy.EInvalid, tc.field)
	}
}

// The server reads and writes two registrations at once (each holds its
// rows in memory until it commits, issue 17 item 4): a third waits, its
// body unread and nothing registered, until one of the two is done, and
// gives up when its client does.
func TestRegistrationsBeyondTwoWaitForOneToFinish(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	var releases []func()
	for range 2 {
		c := e.srv.echo.NewContext(httptest.NewRequest("POST", "/api/v1/items", nil), httptest.NewRecorder())
		release, err := e.srv.registrationSlot(c)
		if err != nil {
			t.Fatalf("slot: %v", err)
		}
		releases = append(releases, release)
	}
	body := []byte("serial,sku,batch\nWAIT1,M1,WB1\n")
	send := func(ctx context.Context) (int, error) {
		r, err := http.NewRequestWithContext(ctx, "POST", e.ts.URL+"/api/v1/items", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer "+e.warehouse)
		r.Header.Set("Content-Type", "text/csv")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	status, err := send(ctx)
	cancel()
	if err == nil {
		t.Fatalf("a third registration while two run answered %d; want it to wait", status)
	}
	must(t, e.get("/api/v1/items/WAIT1", e.service), http.StatusNotFound)

	releases[0]()
	if status, err := send(context.Background()); err != nil || status != http.StatusCreated {
		t.Fatalf("once a registration is done: %d, %v; want 201", status, err)
	}
	releases[1]()
	must(t, e.get("/api/v1/items/WAIT1", e.service), http.StatusOK)
}
