package server

// Issue #10 end to end: accessories known only by a batch number, bundled
// with a product at registration (JSON and CSV), covered from the product's
// receipt for their own period, exchanged through the product's serial
// (policy.md rule 4), found by batch for recalls, printed on the
// certificate and shown at the desk. cmd/sanbao/accessories_test.go covers
// `sanbao import`.

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// accessoriesOf returns the "accessories" list of an item view.
func accessoriesOf(t *testing.T, item map[string]any) []map[string]any {
	t.Helper()
	list, ok := item["accessories"].([]any)
	if !ok {
		t.Fatalf("accessories is %T, want a list: %v", item["accessories"], item)
	}
	out := make([]map[string]any, len(list))
	for i, a := range list {
		out[i] = a.(map[string]any)
	}
	return out
}

// wantAccessory checks a bundled accessory of an item view field by field,
// and that it has exactly the contract's fields.
func wantAccessory(t *testing.T, got map[string]any, sku, name, kind, batch string, until any, replacements int) {
	t.Helper()
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"batch", "kind", "name", "replacements", "sku", "warranty_until"}; !slices.Equal(keys, want) {
		t.Errorf("accessory fields %v, want %v", keys, want)
	}
	want := map[string]any{"sku": sku, "name": name, "kind": kind, "batch": batch, "warranty_until": until, "replacements": float64(replacements)}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("accessory %s: %s = %v, want %v (%v)", sku, k, got[k], w, got)
		}
	}
}

// batchOf is GET /api/v1/batches/{batch} as the warehouse sees it.
func (e *env) batchOf(t *testing.T, batch, query string) map[string]any {
	t.Helper()
	return must(t, e.get("/api/v1/batches/"+batch+query, e.warehouse), http.StatusOK).JSON(t)
}

func stringList(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("%T, want a list of strings", v)
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.(string)
	}
	return out
}

func TestAccessoryRegistrationByBatchJSONAndCSV(t *testing.T) {
	e := newEnv(t)
	e.seedModels()

	res := must(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []map[string]any{
		{"serial": "J1", "sku": "M1", "batch": "B1", "accessories": []map[string]string{
			{"sku": "CHG-1", "batch": "CB2411"}, {"sku": " CBL-2 ", "batch": "CC2411\n"}}},
		{"serial": "J2", "sku": "M1", "batch": "B1"},
		// A cable with a serial of its own is an item like any other.
		{"serial": "A1", "sku": "CBL-2", "batch": "CC2411"},
	}}), http.StatusCreated)
	if m := res.JSON(t); m["created"] != float64(3) || m["unchanged"] != float64(0) {
		t.Fatalf("JSON registration: %s", res.Body)
	}
	j1 := must(t, e.get("/api/v1/items/J1", e.service), 200).JSON(t)
	acc := accessoriesOf(t, j1)
	if len(acc) != 2 {
		t.Fatalf("J1 accessories %v, want the charger and the cable", acc)
	}
	// No receipt and no production date: nothing is covered yet.
	wantAccessory(t, acc[0], "CHG-1", "Charger 20W", "adapter", "CB2411", nil, 0)
	wantAccessory(t, acc[1], "CBL-2", "USB-C cable", "accessory", "CC2411", nil, 0)
	if got := accessoriesOf(t, must(t, e.get("/api/v1/items/J2", e.service), 200).JSON(t)); len(got) != 0 {
		t.Errorf("J2 carries nothing, yet lists %v", got)
	}
	if a1 := must(t, e.get("/api/v1/items/A1", e.service), 200).JSON(t); a1["kind"] != "accessory" {
		t.Errorf("a serialised cable is an item of kind accessory: %v", a1["kind"])
	}
	// One batch holds the serialised cable and is carried by J1's bundle.
	if b := e.batchOf(t, "CC2411", ""); b["count"] != float64(1) || b["carriers"] != float64(1) ||
		!slices.Equal(stringList(t, b["serials"]), []string{"A1"}) || !slices.Equal(stringList(t, b["carried_by"]), []string{"J1"}) || b["next"] != nil {
		t.Errorf("batch CC2411: %v", b)
	}

	csv := "serial,sku,batch,produced_on,accessories\r\n" +
		"C1,M1,B2,2026-10-01,CHG-1:CB2411;CBL-2:CC2411\r\n" +
		"C2,M1,B2,2026-10-01, CHG-1 : CB2412 \r\n" +
		"C3,M1,B2,2026-10-01,\r\n"
	if m := must(t, csvReq(e, []byte(csv), "text/csv"), http.StatusCreated).JSON(t); m["created"] != float64(3) {
		t.Fatalf("CSV registration: %v", m)
	}
	acc = accessoriesOf(t, must(t, e.get("/api/v1/items/C1", e.service), 200).JSON(t))
	if len(acc) != 2 {
		t.Fatalf("C1 accessories %v", acc)
	}
	// Production date known, no receipt: covered from the estimated start
	// (2026-10-01 + 90 days) for the adapter's 12 months.
	wantAccessory(t, acc[0], "CHG-1", "Charger 20W", "adapter", "CB2411", "2027-12-30", 0)
	wantAccessory(t, acc[1], "CBL-2", "USB-C cable", "accessory", "CC2411", "2027-12-30", 0)
	if acc := accessoriesOf(t, must(t, e.get("/api/v1/items/C2", e.service), 200).JSON(t)); len(acc) != 1 || acc[0]["batch"] != "CB2412" {
		t.Errorf("C2 (cell with spaces) accessories %v, want CHG-1 of CB2412", acc)
	}
	if b := e.batchOf(t, "CB2411", ""); b["count"] != float64(0) || b["carriers"] != float64(2) ||
		!slices.Equal(stringList(t, b["carried_by"]), []string{"C1", "J1"}) || len(stringList(t, b["serials"])) != 0 {
		t.Errorf("batch CB2411: %v, want carried by C1 and J1, no members", b)
	}

	// The same rows again are a no-op; a serial sent with another bundle is
	// a conflict row, and nothing changes.
	if m := must(t, csvReq(e, []byte(csv), "text/csv"), http.StatusCreated).JSON(t); m["created"] != float64(0) || m["unchanged"] != float64(3) {
		t.Errorf("CSV sent again: %v, want 0 created 3 unchanged", m)
	}
	er := wantError(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []map[string]any{
		{"serial": "J1", "sku": "M1", "batch": "B1", "accessories": []map[string]string{{"sku": "CHG-1", "batch": "CB9999"}}}}}),
		422, policy.EInvalid, "")
	if row := er["rows"].([]any)[0].(map[string]any); row["code"] != policy.EConflict || row["serial"] != "J1" {
		t.Errorf("J1 re-sent with another charger batch: %v, want a conflict row", row)
	}
	wantError(t, e.get("/api/v1/batches/CB9999", e.warehouse), 404, policy.ENotFound, "")
}

// TestAccessoryRegistrationRefusesABadBundleAndWritesNothing: one bad row among good
// ones refuses the request with a row error naming the field, and neither
// the good serials nor any batch entry of theirs is written.
func TestAccessoryRegistrationRefusesABadBundleAndWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	good := func(serial string) map[string]any {
		return map[string]any{"serial": serial, "sku": "M1", "batch": "B-GOOD",
			"accessories": []map[string]string{{"sku": "CHG-1", "batch": "CB-GOOD"}}}
	}
	const goodCSV = "G1,M1,B-GOOD,,CHG-1:CB-GOOD\n"
	for _, tc := range []struct {
		name     string
		json     map[string]any // the bad row as JSON (nil: CSV only)
		csv      string         // the bad row as CSV ("": JSON only)
		field    string
		mentions string
	}{
		{"a product SKU listed as an accessory",
			map[string]any{"serial": "X1", "sku": "M1", "batch": "B-BAD", "accessories": []map[string]string{{"sku": "M1", "batch": "CB-BAD"}}},
			"X1,M1,B-BAD,,M1:CB-BAD", "accessories.sku", "accessory or adapter"},
		{"an unknown accessory model",
			map[string]any{"serial": "X1", "sku": "M1", "batch": "B-BAD", "accessories": []map[string]string{{"sku": "CHG-9", "batch": "CB-BAD"}}},
			"X1,M1,B-BAD,,CHG-9:CB-BAD", "accessories.sku", "CHG-9"},
		{"a malformed accessory batch",
			map[string]any{"serial": "X1", "sku": "M1", "batch": "B-BAD", "accessories": []map[string]string{{"sku": "CHG-1", "batch": "CB/24"}}},
			"X1,M1,B-BAD,,CHG-1:CB/24", "accessories.batch", ""},
		{"an accessory batch missing",
			map[string]any{"serial": "X1", "sku": "M1", "batch": "B-BAD", "accessories": []map[string]string{{"sku": "CHG-1"}}},
			"X1,M1,B-BAD,,CHG-1:", "accessories.batch", ""},
		{"one accessory listed twice",
			map[string]any{"serial": "X1", "sku": "M1", "batch": "B-BAD", "accessories": []map[string]string{{"sku": "CHG-1", "batch": "CB-BAD"}, {"sku": "CHG-1", "batch": "CB-BAD2"}}},
			"X1,M1,B-BAD,,CHG-1:CB-BAD;CHG-1:CB-BAD2", "accessories", "twice"},
		{"an accessory carrying accessories",
			map[string]any{"serial": "X1", "sku": "CBL-2", "batch": "B-BAD", "accessories": []map[string]string{{"sku": "CHG-1", "batch": "CB-BAD"}}},
			"X1,CBL-2,B-BAD,,CHG-1:CB-BAD", "accessories", "only a product"},
		{"a CSV cell that is not SKU:BATCH", nil, "X1,M1,B-BAD,,CHG-1", "accessories", "SKU:BATCH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var answers []response
			if tc.json != nil {
				answers = append(answers, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []map[string]any{good("G1"), tc.json, good("G3")}}))
			}
			if tc.csv != "" {
				body := "serial,sku,batch,produced_on,accessories\n" + goodCSV + tc.csv + "\nG3,M1,B-GOOD,,CHG-1:CB-GOOD\n"
				answers = append(answers, csvReq(e, []byte(body), "text/csv"))
			}
			for _, res := range answers {
				er := wantError(t, res, 422, policy.EInvalid, "")
				rows, _ := er["rows"].([]any)
				if len(rows) != 1 || er["bad_rows"] != float64(1) {
					t.Fatalf("want exactly the bad row reported: %s", res.Body)
				}
				row := rows[0].(map[string]any)
				// JSON items and CSV data rows are both counted from 1.
				if row["row"] != float64(2) || row["serial"] != "X1" || row["code"] != policy.EInvalid || row["field"] != tc.field {
					t.Errorf("row %v, want row 2 serial X1 invalid_field field %s", row, tc.field)
				}
				if msg, _ := row["message"].(string); msg == "" || !strings.Contains(msg, tc.mentions) {
					t.Errorf("row message %q does not say %q", msg, tc.mentions)
				}
			}
			for _, s := range []string{"G1", "G3", "X1"} {
				wantError(t, e.get("/api/v1/items/"+s, e.service), 404, policy.ENotFound, "")
			}
			for _, b := range []string{"B-GOOD", "CB-GOOD", "B-BAD", "CB-BAD"} {
				wantError(t, e.get("/api/v1/batches/"+b, e.warehouse), 404, policy.ENotFound, "")
			}
			if l := must(t, e.get("/api/v1/batches", e.warehouse), 200).JSON(t); len(l["batches"].([]any)) != 0 {
				t.Errorf("a refused registration left batches: %v", l)
			}
		})
	}
	// The good rows alone go through.
	must(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []map[string]any{good("G1"), good("G3")}}), http.StatusCreated)
	if b := e.batchOf(t, "CB-GOOD", ""); !slices.Equal(stringList(t, b["carried_by"]), []string{"G1", "G3"}) {
		t.Errorf("CB-GOOD %v", b)
	}
}

// exchangeCharger records accessory_replaced of CHG-1 on S1 at `at`.
func (e *env) exchangeCharger(t *testing.T, at, batch, idempotencyKey string) response {
	t.Helper()
	r := req{Method: "POST", Path: "/api/v1/items/S1/events", Token: e.service,
		Body: map[string]any{"type": "accessory_replaced", "at": at, "sku": "CHG-1", "new_batch": batch}}
	if idempotencyKey != "" {
		r.Header = map[string]string{"Idempotency-Key": idempotencyKey}
	}
	return e.do(r)
}

// chargerClaim asks for S1's bundled charger's remedies with query q.
func (e *env) chargerClaim(t *testing.T, q string) map[string]any {
	t.Helper()
	return must(t, e.get("/api/v1/items/S1/entitlements?accessory=CHG-1&"+q, e.service), 200).JSON(t)
}

// wantRemedies checks an entitlement's remedies and paid_repair, and that
// some reason holds each of says.
func wantRemedies(t *testing.T, ent map[string]any, paid bool, remedies []string, says ...string) {
	t.Helper()
	if got := stringList(t, ent["remedies"]); !slices.Equal(got, remedies) {
		t.Errorf("remedies %v, want %v: %v", got, remedies, ent)
	}
	if ent["paid_repair"] != paid {
		t.Errorf("paid_repair %v, want %v: %v", ent["paid_repair"], paid, ent)
	}
	reasons := strings.Join(stringList(t, ent["reasons"]), "\n")
	for _, s := range says {
		if !strings.Contains(reasons, s) {
			t.Errorf("no reason says %q:\n%s", s, reasons)
		}
	}
}

// TestAccessoryWarrantyOfABundledAdapterThroughReceiptAndTwoReplacements follows a
// charger bundled with S1: covered from the product's receipt for its own
// months, exchanged once within a service case and once at the desk without
// one, each exchange restarting its 12 months and changing its batch on
// record, and a return offered only after the second exchange (rule 4).
func TestAccessoryWarrantyOfABundledAdapterThroughReceiptAndTwoReplacements(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	// A cable model covered for 6 months only, to tell the accessory's own
	// period from the product's.
	must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/CBL-6", Token: e.warehouse,
		Body: map[string]any{"name": "Short cable", "kind": "accessory", "warranty_months": 6}}), http.StatusCreated)
	must(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []map[string]any{
		{"serial": "S1", "sku": "M1", "batch": "B1", "produced_on": "2026-10-01", "accessories": []map[string]string{
			{"sku": "CHG-1", "batch": "CB2411"}, {"sku": "CBL-6", "batch": "CS2411"}}}}}), http.StatusCreated)

	must(t, e.event("S1", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O1"}), http.StatusCreated)
	must(t, e.event("S1", e.warehouse, map[string]any{"type": "received", "on": "2026-11-05", "evidence": "courier"}), http.StatusCreated)
	item := must(t, e.get("/api/v1/items/S1", e.service), 200).JSON(t)
	acc := accessoriesOf(t, item)
	if len(acc) != 2 {
		t.Fatalf("accessories %v", acc)
	}
	wantAccessory(t, acc[0], "CHG-1", "Charger 20W", "adapter", "CB2411", "2027-11-05", 0)
	wantAccessory(t, acc[1], "CBL-6", "Short cable", "accessory", "CS2411", "2027-05-05", 0)

	// Day 5 after receipt: the charger is replaced, never refunded, never
	// "repaired"; the reason names its batch and its warranty end.
	wantRemedies(t, e.chargerClaim(t, "finding=quality_problem"), false, []string{"replace"}, "CB2411", "2027-11-05")
	// The cable's own 6 months: replaced on its last day, not the next.
	q := func(on string) string {
		return "/api/v1/items/S1/entitlements?accessory=CBL-6&finding=quality_problem&on=" + on
	}
	wantRemedies(t, must(t, e.get(q("2027-05-05"), e.service), 200).JSON(t), false, []string{"replace"})
	late := must(t, e.get(q("2027-05-06"), e.service), 200).JSON(t)
	wantRemedies(t, late, true, []string{}, "warranty ended on 2027-05-05")
	if late["in_warranty"] != false {
		t.Errorf("cable past its 6 months: in_warranty %v", late["in_warranty"])
	}

	// Move to 2027-10-01: the exchanges below are in the past.
	e.clock.Add(time.Date(2027, 10, 1, 10, 0, 0, 0, cst).Sub(testNow))

	// The first exchange, within a service case.
	for _, ev := range []map[string]any{
		{"type": "intake", "at": "2027-03-15T09:00:00+08:00", "center": "SH", "complaint": "charger does not charge"},
		{"type": "diagnosed", "at": "2027-03-15T10:00:00+08:00", "finding": "quality_problem"},
	} {
		must(t, e.event("S1", e.service, ev), http.StatusCreated)
	}
	// The finding defaults to the open case's diagnosis.
	wantRemedies(t, e.chargerClaim(t, "on=2027-03-15"), false, []string{"replace"})
	first := must(t, e.exchangeCharger(t, "2027-03-15T11:00:00+08:00", "CB2503", "exchange-1"), http.StatusCreated)
	// A retried exchange writes nothing more: still one replacement.
	if again := must(t, e.exchangeCharger(t, "2027-03-15T11:00:00+08:00", "CB2503", "exchange-1"), http.StatusCreated); string(again.Body) != string(first.Body) {
		t.Errorf("a retry answered differently:\n%s\n%s", first.Body, again.Body)
	}
	must(t, e.event("S1", e.service, map[string]any{"type": "shipped", "at": "2027-03-15T12:00:00+08:00", "tracking": "SF1"}), http.StatusCreated)

	item = must(t, e.get("/api/v1/items/S1", e.service), 200).JSON(t)
	if n := len(item["history"].([]any)); n != 6 {
		t.Errorf("history has %d events, want 6 (the retried exchange is not a new one)", n)
	}
	acc = accessoriesOf(t, item)
	wantAccessory(t, acc[0], "CHG-1", "Charger 20W", "adapter", "CB2503", "2028-03-15", 1)
	wantAccessory(t, acc[1], "CBL-6", "Short cable", "accessory", "CS2411", "2027-05-05", 0)
	if w := item["warranty"].(map[string]any); w["warranty_until"] != "2027-11-05" {
		t.Errorf("an accessory exchange moved the product's warranty end: %v", w)
	}
	// As of the day before, the charger is the one from the box.
	before := accessoriesOf(t, must(t, e.get("/api/v1/items/S1?on=2027-03-14", e.service), 200).JSON(t))
	wantAccessory(t, before[0], "CHG-1", "Charger 20W", "adapter", "CB2411", "2027-11-05", 0)

	// One replacement: still replacement only.
	wantRemedies(t, e.chargerClaim(t, "finding=quality_problem&on=2027-06-01&intact=true&complete=true"), false, []string{"replace"}, "CB2503", "2028-03-15")

	// The second exchange, in a case diagnosed quality_problem too: only
	// such exchanges count toward the refund (policy.md, settled readings).
	for _, ev := range []map[string]any{
		{"type": "intake", "at": "2027-09-20T14:00:00+08:00", "center": "SH", "complaint": "charger does not charge again"},
		{"type": "diagnosed", "at": "2027-09-20T14:30:00+08:00", "finding": "quality_problem"},
	} {
		must(t, e.event("S1", e.service, ev), http.StatusCreated)
	}
	if m := must(t, e.exchangeCharger(t, "2027-09-20T15:00:00+08:00", "CB2509", ""), http.StatusCreated).JSON(t); m["event"].(map[string]any)["new_batch"] != "CB2509" {
		t.Errorf("event %v", m["event"])
	}
	must(t, e.event("S1", e.service, map[string]any{"type": "shipped", "at": "2027-09-20T15:30:00+08:00", "tracking": "SF2"}), http.StatusCreated)
	item = must(t, e.get("/api/v1/items/S1", e.service), 200).JSON(t)
	wantAccessory(t, accessoriesOf(t, item)[0], "CHG-1", "Charger 20W", "adapter", "CB2509", "2028-09-20", 2)
	if item["open_case"] != nil {
		t.Errorf("the shipped case is still open: %v", item["open_case"])
	}

	// Two replacements that still do not work: return or another one.
	wantRemedies(t, e.chargerClaim(t, "finding=quality_problem"), false, []string{"return", "replace"},
		"2 earlier replacements of CHG-1", "CB2509", "2028-09-20")
	wantRemedies(t, e.chargerClaim(t, "finding=quality_problem&on=2027-09-19"), false, []string{"replace"})
	// The charger outlives the product's warranty (2027-11-05) by its own
	// exchange date, to the day.
	wantRemedies(t, e.chargerClaim(t, "finding=quality_problem&on=2028-09-20"), false, []string{"return", "replace"})
	gone := e.chargerClaim(t, "finding=quality_problem&on=2028-09-21")
	wantRemedies(t, gone, true, []string{}, "warranty ended on 2028-09-20")
	if gone["in_warranty"] != false {
		t.Errorf("in_warranty %v after the charger's warranty", gone["in_warranty"])
	}
	// An exclusion overrides everything: nothing free, a paid repair.
	for _, f := range []string{"human_damage", "improper_use"} {
		ex := e.chargerClaim(t, "finding="+f)
		wantRemedies(t, ex, true, []string{}, "finding "+f+" is an exclusion")
		if ex["in_warranty"] != true {
			t.Errorf("%s: in_warranty %v; the charger is under warranty, only not for this", f, ex["in_warranty"])
		}
	}
	// No fault: nothing to replace, nothing to pay.
	wantRemedies(t, e.chargerClaim(t, "finding=no_fault"), false, []string{}, "no fault")

	// The recall index finds S1 by the batch on record and by the one it
	// shipped with.
	for _, b := range []string{"CB2509", "CB2503", "CB2411"} {
		if p := e.batchOf(t, b, ""); !slices.Equal(stringList(t, p["carried_by"]), []string{"S1"}) || p["carriers"] != float64(1) || p["count"] != float64(0) {
			t.Errorf("batch %s: %v, want carried by S1", b, p)
		}
	}

	// Refusals name the field; none of them is written.
	for _, tc := range []struct {
		name   string
		token  string
		body   map[string]any
		status int
		code   string
		field  string
	}{
		{"an accessory S1 does not carry", e.service, map[string]any{"type": "accessory_replaced", "at": "2027-09-21T10:00:00+08:00", "sku": "CBL-2", "new_batch": "CC1"}, 422, policy.EInvalid, "sku"},
		{"no sku", e.service, map[string]any{"type": "accessory_replaced", "at": "2027-09-21T10:00:00+08:00", "new_batch": "CC1"}, 422, policy.EInvalid, "sku"},
		{"no new batch", e.service, map[string]any{"type": "accessory_replaced", "at": "2027-09-21T10:00:00+08:00", "sku": "CHG-1"}, 422, policy.EInvalid, "new_batch"},
		{"a malformed new batch", e.service, map[string]any{"type": "accessory_replaced", "at": "2027-09-21T10:00:00+08:00", "sku": "CHG-1", "new_batch": "CB 25"}, 422, policy.EInvalid, "new_batch"},
		{"an exchange in the future", e.service, map[string]any{"type": "accessory_replaced", "at": "2027-10-03T10:00:00+08:00", "sku": "CHG-1", "new_batch": "CB2510"}, 422, policy.EInvalid, "at"},
		{"a warehouse key", e.warehouse, map[string]any{"type": "accessory_replaced", "at": "2027-09-21T10:00:00+08:00", "sku": "CHG-1", "new_batch": "CB2510"}, 403, policy.EForbidden, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.event("S1", tc.token, tc.body), tc.status, tc.code, tc.field)
		})
	}
	item = must(t, e.get("/api/v1/items/S1", e.service), 200).JSON(t)
	wantAccessory(t, accessoriesOf(t, item)[0], "CHG-1", "Charger 20W", "adapter", "CB2509", "2028-09-20", 2)
	if n := len(item["history"].([]any)); n != 10 {
		t.Errorf("history has %d events after the refusals, want 10", n)
	}

	// The desk shows the batch on record and the exchanges, for comparing
	// with what the customer brought.
	b := e.browser()
	b.mustSignIn(e.service)
	wantPage(t, b.get("/console/items/S1"), http.StatusOK, "Bundled accessories",
		`<td class="mono batchno">CB2509</td><td>2028-09-20</td><td class="num">2</td>`,
		`<td class="mono batchno">CS2411</td>`)
}

// TestAccessoryExchangeBackFilledKeepsTheLatestOnRecord: an exchange
// recorded late, dated before one already on record, counts as a
// replacement, but the batch on record and the warranty stay those of the
// latest exchange (the charger the customer has).
func TestAccessoryExchangeBackFilledKeepsTheLatestOnRecord(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	must(t, e.event("S1", e.warehouse, map[string]any{"type": "received", "on": "2026-11-05", "evidence": "courier"}), http.StatusCreated)
	e.clock.Add(time.Date(2027, 10, 1, 10, 0, 0, 0, cst).Sub(testNow))
	must(t, e.exchangeCharger(t, "2027-09-20T15:00:00+08:00", "CB2509", ""), http.StatusCreated)
	// The paper record of a March exchange, entered afterwards.
	m := must(t, e.exchangeCharger(t, "2027-03-20T15:00:00+08:00", "CB2503", ""), http.StatusCreated).JSON(t)
	wantAccessory(t, accessoriesOf(t, m["item"].(map[string]any))[0], "CHG-1", "Charger 20W", "adapter", "CB2509", "2028-09-20", 2)
	for _, tc := range []struct {
		on, batch, until string
		replacements     int
	}{
		{"2027-03-19", "CB2411", "2027-11-05", 0},
		{"2027-03-20", "CB2503", "2028-03-20", 1},
		{"2027-09-19", "CB2503", "2028-03-20", 1},
		{"2027-09-20", "CB2509", "2028-09-20", 2},
	} {
		item := must(t, e.get("/api/v1/items/S1?on="+tc.on, e.service), 200).JSON(t)
		wantAccessory(t, accessoriesOf(t, item)[0], "CHG-1", "Charger 20W", "adapter", tc.batch, tc.until, tc.replacements)
	}
	// Desk exchanges outside a service case follow no quality_problem
	// diagnosis: they do not count toward the refund after two.
	wantRemedies(t, e.chargerClaim(t, "finding=quality_problem"), false, []string{"replace"}, "CB2509", "2028-09-20")
	// Past the back-filled exchange's year, the latest one still covers it.
	wantRemedies(t, e.chargerClaim(t, "finding=quality_problem&on=2028-06-01"), false, []string{"replace"}, "until 2028-09-20")
	// Recalls find S1 by every batch it was given.
	for _, b := range []string{"CB2411", "CB2503", "CB2509"} {
		if p := e.batchOf(t, b, ""); !slices.Equal(stringList(t, p["carried_by"]), []string{"S1"}) || p["carriers"] != float64(1) {
			t.Errorf("batch %s: %v, want carried by S1", b, p)
		}
	}
}

// TestAccessoryBatchOnTheCertificateAndTheDesk: the label of a product with a
// bundled charger prints the charger's batch, and the desk lists it.
func TestAccessoryBatchOnTheCertificateAndTheDesk(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	z := string(must(t, e.get("/api/v1/items/S1/label?format=zpl", e.service), http.StatusOK).Body)
	if !strings.Contains(z, "CHG-1: CB2411") {
		t.Errorf("the ZPL certificate does not print the charger's batch CB2411:\n%s", z)
	}
	batch := string(must(t, e.post("/api/v1/labels", e.warehouse, map[string]any{"batch": "B1", "format": "zpl"}), http.StatusOK).Body)
	if !strings.Contains(batch, "CB2411") {
		t.Errorf("the batch's ZPL file does not print the charger's batch:\n%s", batch)
	}
	// A product with nothing bundled prints no accessory line.
	must(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []map[string]any{{"serial": "S2", "sku": "M1", "batch": "B1"}}}), http.StatusCreated)
	if z := string(must(t, e.get("/api/v1/items/S2/label?format=zpl", e.service), http.StatusOK).Body); strings.Contains(z, "CB2411") || strings.Contains(z, "CHG-1") {
		t.Errorf("S2 carries nothing, yet its label prints an accessory:\n%s", z)
	}

	b := e.browser()
	b.mustSignIn(e.service)
	wantPage(t, b.get("/console/items/S1"), http.StatusOK, "Bundled accessories", `<td class="mono batchno">CB2411</td>`)
	wantPage(t, b.get("/console/items/S2"), http.StatusOK, "None: nothing was bundled with this unit.")

	// After an exchange, a reprint prints the charger now in the box.
	must(t, e.event("S1", e.service, map[string]any{"type": "accessory_replaced", "sku": "CHG-1", "new_batch": "CB2509"}), http.StatusCreated)
	console := b.get("/console/items/S1/label?format=zpl")
	if console.Status != http.StatusOK {
		t.Fatalf("console reprint: %v", console)
	}
	for name, label := range map[string]string{
		"single":  string(must(t, e.get("/api/v1/items/S1/label?format=zpl", e.service), http.StatusOK).Body),
		"batch":   string(must(t, e.post("/api/v1/labels", e.warehouse, map[string]any{"serials": []string{"S1"}, "format": "zpl"}), http.StatusOK).Body),
		"console": console.Body,
	} {
		if !strings.Contains(label, "CHG-1: CB2509") || strings.Contains(label, "CB2411") {
			t.Errorf("%s reprint after the exchange should print CHG-1: CB2509 only:\n%s", name, label)
		}
	}
}

// registerCarriers registers n products of M1 in batch PB, each carrying a charger
// of batch CB-BIG, in one request, and returns their serials.
func (e *env) registerCarriers(t testing.TB, n int) []string {
	t.Helper()
	serials := make([]string, n)
	items := make([]map[string]any, n)
	for i := range items {
		serials[i] = fmt.Sprintf("CAR%05d", i)
		items[i] = map[string]any{"serial": serials[i], "sku": "M1", "batch": "PB",
			"accessories": []map[string]string{{"sku": "CHG-1", "batch": "CB-BIG"}}}
	}
	// Sent in reverse: the batch lists them in serial order anyway.
	slices.Reverse(items)
	res := must(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": items}), http.StatusCreated)
	if m := res.JSON(t); m["created"] != float64(n) {
		t.Fatalf("registration: %s", res.Body)
	}
	return serials
}

// TestAccessoryBatchListsTenThousandCarriersInPages registers 10,000
// products carrying one charger batch and pages through its carriers 1,000
// at a time (BenchmarkAccessoryBatchCarriersPage times a page).
func TestAccessoryBatchListsTenThousandCarriersInPages(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	const n = 10_000
	serials := e.registerCarriers(t, n)

	var got []string
	after, pages := "", 0
	for {
		q := "?limit=1000"
		if after != "" {
			q += "&after=" + url.QueryEscape(after)
		}
		p := e.batchOf(t, "CB-BIG", q)
		pages++
		if p["batch"] != "CB-BIG" || p["count"] != float64(0) || p["carriers"] != float64(n) || len(stringList(t, p["serials"])) != 0 {
			t.Fatalf("page %d: batch %v count %v carriers %v serials %v", pages, p["batch"], p["count"], p["carriers"], p["serials"])
		}
		cb := stringList(t, p["carried_by"])
		if len(cb) != 1000 {
			t.Fatalf("page %d lists %d carriers, want 1000", pages, len(cb))
		}
		got = append(got, cb...)
		if p["next"] == nil {
			break
		}
		next, _ := p["next"].(string)
		if next != cb[len(cb)-1] {
			t.Fatalf("page %d: next %q, want its last carrier %q", pages, next, cb[len(cb)-1])
		}
		if pages == n/1000 {
			t.Fatalf("page %d of %d carriers still has next %q", pages, n, next)
		}
		after = next
	}
	if pages != n/1000 {
		t.Errorf("%d pages, want %d", pages, n/1000)
	}
	// Every carrier exactly once, in serial order.
	if !slices.Equal(got, serials) {
		seen := map[string]int{}
		for _, s := range got {
			seen[s]++
		}
		for _, s := range serials {
			if seen[s] != 1 {
				t.Errorf("%s listed %d times", s, seen[s])
				break
			}
		}
		t.Fatalf("%d carriers listed, want the %d serials once each in order", len(got), n)
	}
	// The product batch holds them as members, the charger batch as carriers.
	if p := e.batchOf(t, "PB", "?limit=1"); p["count"] != float64(n) || p["carriers"] != float64(0) || len(stringList(t, p["carried_by"])) != 0 {
		t.Errorf("batch PB: %v", p)
	}
	l := must(t, e.get("/api/v1/batches", e.warehouse), 200).JSON(t)
	want := map[string][2]float64{"CB-BIG": {0, n}, "PB": {n, 0}}
	for _, b := range l["batches"].([]any) {
		b := b.(map[string]any)
		w, ok := want[b["batch"].(string)]
		if !ok || b["count"] != w[0] || b["carriers"] != w[1] {
			t.Errorf("batch list entry %v, want count and carriers %v", b, w)
		}
		delete(want, b["batch"].(string))
	}
	if len(want) != 0 {
		t.Errorf("batch list lacks %v", want)
	}
}

// BenchmarkAccessoryBatchCarriersPage serves one page of 1,000 carriers of a
// charger batch carried by 10,000 products, GET
// /api/v1/batches/{batch}?limit=1000&after=..., through the whole handler
// without the network: the server's time for one recall page.
//
//	go test -run '^$' -bench AccessoryBatchCarriers -benchtime 200x ./server/
func BenchmarkAccessoryBatchCarriersPage(b *testing.B) {
	e := newEnv(b, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	a := registry.Actor{Name: "bench"}
	for _, m := range []policy.Model{{SKU: "M1", Name: "IMASK Pro", Kind: policy.KindProduct}, {SKU: "CHG-1", Name: "Charger 20W", Kind: policy.KindAdapter}} {
		if _, _, err := e.db.PutModel(a, m); err != nil {
			b.Fatal(err)
		}
	}
	const n = 10_000
	rows := make([]registry.Row, n)
	for i := range rows {
		rows[i] = registry.Row{Serial: fmt.Sprintf("CAR%05d", i), SKU: "M1", Batch: "PB", Accessories: []registry.Bundle{{SKU: "CHG-1", Batch: "CB-BIG"}}}
	}
	if _, err := e.db.Register(a, rows); err != nil {
		b.Fatal(err)
	}
	// The ten pages, from their cursors: each request is a different page.
	h := e.srv.Handler()
	reqs := make([]*http.Request, 0, n/1000)
	for p := range n / 1000 {
		path := "/api/v1/batches/CB-BIG?limit=1000"
		if p > 0 {
			path += "&after=" + rows[p*1000-1].Serial
		}
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("Authorization", "Bearer "+e.warehouse)
		r.RemoteAddr = "127.0.0.1:40000"
		reqs = append(reqs, r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, reqs[5])
	var page struct {
		Carriers  int      `json:"carriers"`
		CarriedBy []string `json:"carried_by"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || w.Code != http.StatusOK || page.Carriers != n || len(page.CarriedBy) != 1000 || page.CarriedBy[0] != rows[5000].Serial {
		b.Fatalf("page 6: %d %v %.300s", w.Code, err, w.Body)
	}
	serveLoop(b, h, reqs)
}
