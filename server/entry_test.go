package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
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

// rowsByNumber indexes a 422 answer's rows by their row number.
func rowsByNumber(t *testing.T, er map[string]any) map[int]map[string]any {
	t.Helper()
	out := map[int]map[string]any{}
	rows, _ := er["rows"].([]any)
	for _, r := range rows {
		row := r.(map[string]any)
		out[int(row["row"].(float64))] = row
	}
	return out
}

func TestOneCSVAnswerListsEveryBadRowWithItsFileLine(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "OLD1")
	csv := "serial,sku,batch,produced_on,accessories\n" + // line 1
		"G1,M1,B1,2026-10-01,\n" + // 2: good
		"bad serial!,M1,B1,,\n" + // 3: format (serial)
		"G3,NOPE,B1,,\n" + // 4: reference (unknown SKU)
		"G4,M1,B1,2026-02-30,\n" + // 5: format (date)
		"\n" + // 6: blank, skipped by CSV readers
		"OLD1,M1,B9,,\n" + // 7: conflict with what is on record
		"\"G6\",M1,\"B1\nB2\",,\n" + // 8-9: a quoted field over two lines (batch with a newline)
		"G7,CHG-1,B1,,CBL-2:C1\n" + // 10: accessories on an adapter
		"G8,M1,B1,,M1:C1\n" // 11: a product bundled as an accessory
	er := wantError(t, csvReq(e, []byte(csv), "text/csv"), 422, policy.EInvalid, "")
	if er["bad_rows"] != float64(7) {
		t.Fatalf("bad_rows %v, want 7: %v", er["bad_rows"], er)
	}
	want := map[int]struct {
		line         int
		serial, code string
	}{
		2: {3, "bad serial!", policy.EInvalid},
		3: {4, "G3", policy.EInvalid},
		4: {5, "G4", policy.EInvalid},
		5: {7, "OLD1", policy.EConflict},
		6: {8, "G6", policy.EInvalid},
		7: {10, "G7", policy.EInvalid},
		8: {11, "G8", policy.EInvalid},
	}
	got := rowsByNumber(t, er)
	for n, w := range want {
		row := got[n]
		if row == nil || row["line"] != float64(w.line) || row["serial"] != w.serial || row["code"] != w.code {
			t.Errorf("row %d = %v, want line %d, serial %q, code %s", n, row, w.line, w.serial, w.code)
		}
	}
	wantError(t, e.get("/api/v1/items/G1", e.service), 404, policy.ENotFound, "")
}

func TestOneJSONAnswerListsEveryBadRow(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	er := wantError(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []any{
		map[string]any{"serial": "G1", "sku": "M1", "batch": "B1"},
		map[string]any{"serial": "G2", "sku": "M1", "batch": "B1", "produced_on": "2026-13-01"},
		map[string]any{"serial": "G3", "sku": "NOPE", "batch": "B1"},
		map[string]any{"serial": " bad/serial ", "sku": "M1", "batch": "B1"},
	}}), 422, policy.EInvalid, "")
	got := rowsByNumber(t, er)
	if er["bad_rows"] != float64(3) || got[2]["field"] != "produced_on" || got[3]["field"] != "sku" || got[4]["serial"] != "bad/serial" {
		t.Fatalf("want rows 2 (date), 3 (sku) and 4 (serial as sent): %v", er)
	}
	if _, has := got[2]["line"]; has {
		t.Errorf("a JSON row has no file line: %v", got[2])
	}
}

func TestOneEventsAnswerListsEveryBadRow(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2")
	er := wantError(t, e.post("/api/v1/events", e.warehouse, map[string]any{"events": []any{
		map[string]any{"serial": "S1", "type": "dispatched", "on": "2026-11-01"},
		map[string]any{"serial": "S2", "type": "dispatched", "on": "2026-02-30"},    // malformed
		map[string]any{"serial": "NOPE", "type": "dispatched", "on": "2026-11-01"},  // unknown serial
		map[string]any{"serial": "S1", "type": "dispatched", "on": "2026-11-02"},    // second dispatch
		map[string]any{"serial": "S2", "type": "dispatched", "onn": "2026-11-02"},   // unknown field
		map[string]any{"serial": " S 2 ", "type": "dispatched", "on": "2026-11-02"}, // invalid serial
	}}), 422, policy.EInvalid, "")
	got := rowsByNumber(t, er)
	if er["bad_rows"] != float64(5) || got[2]["field"] != "on" || got[3]["code"] != policy.ENotFound || got[4]["code"] != policy.EConflict {
		t.Fatalf("want rows 2 to 6 in one answer: %v", er)
	}
	if got[5]["serial"] != "S2" || got[6]["serial"] != "S 2" {
		t.Errorf("rows 5 and 6 must carry the serial as sent: %v, %v", got[5], got[6])
	}
}

func TestARegistrationOfMoreThan200000RowsIsTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("200,001 rows")
	}
	e := newEnv(t)
	e.seedModels()
	var b strings.Builder
	b.WriteString("serial,sku,batch\n")
	for i := range 200_001 {
		fmt.Fprintf(&b, "T%d,M1,B1\n", i)
	}
	er := wantError(t, csvReq(e, []byte(b.String()), "text/csv"), 413, policy.ETooLarge, "")
	if msg := er["message"].(string); !strings.HasPrefix(msg, "a registration request holds at most 200,000 rows") {
		t.Errorf("message %q", msg)
	}
	items := make([]map[string]string, 200_001)
	for i := range items {
		items[i] = map[string]string{"serial": fmt.Sprintf("T%d", i), "sku": "M1", "batch": "B1"}
	}
	er = wantError(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": items}), 413, policy.ETooLarge, "")
	if msg := er["message"].(string); !strings.HasPrefix(msg, "a registration request holds at most 200,000 rows") {
		t.Errorf("message %q", msg)
	}
	wantError(t, e.get("/api/v1/items/T0", e.service), 404, policy.ENotFound, "")
}

func TestAModelNameLabelsCannotPrintIsRefusedAtPUT(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, want string }{
		{"IMASK 😷 Pro", "labels cannot print"},
		{"IMASK\u0085Pro", "a control character"},
		{"IMASK \u202eorP", "a bidirectional-text control"},
		{"IMASK\u2028Pro", "a line or paragraph separator"},
		{"IMASK\nPro", "a line break or tab"},
		{"IMASK\tPro", "a line break or tab"},
	} {
		er := wantError(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M1", Token: e.warehouse,
			Body: map[string]any{"name": tc.name, "kind": "product"}}), 422, policy.EInvalid, "name")
		if msg := er["message"].(string); !strings.Contains(msg, tc.want) {
			t.Errorf("name %q: %q, want it to say %q", tc.name, msg, tc.want)
		}
	}
	must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M1", Token: e.warehouse,
		Body: map[string]any{"name": "IMASK 智能口罩 Pro · Ωμέγα · Мир", "kind": "product"}}), 201)
}

// A name stored before the rule (or by another way in) still prints, in
// every format and on sheets: the character is replaced, never a 500.
func TestALabelOfAModelNamedWithAnEmojiIsNeverA500(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	if _, _, err := e.db.PutModel(registry.Actor{KeyID: "test", Name: "test"}, policy.Model{SKU: "M1", Name: "IMASK 😷 Pro", Kind: policy.KindProduct}); err != nil {
		t.Fatal(err)
	}
	e.register("B1", "S1", "S2")
	for _, f := range []string{"png", "zpl", "pdf"} {
		must(t, e.get("/api/v1/items/S1/label?format="+f, e.warehouse), 200)
	}
	for _, f := range []string{"pdf", "zpl"} {
		must(t, e.post("/api/v1/labels", e.warehouse, map[string]any{"batch": "B1", "format": f}), 200)
	}
}

// A model name the API accepts prints in every label format: never a 5xx.
func FuzzModelNameThroughLabels(f *testing.F) {
	e := fuzzEnv(f)
	for _, s := range []string{"IMASK 😷 Pro", "智能口罩\u0085", "\u202eorP", "a\u0300b", "ﷺ", "\U0010ffff", "x\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		body, _ := json.Marshal(map[string]any{"name": name, "kind": "product"})
		rec := serveFuzz(t, e, "PUT", "/api/v1/models/M1", e.admin, "application/json", body)
		if rec.Code >= 300 {
			return
		}
		for _, format := range []string{"png", "zpl", "pdf"} {
			serveFuzz(t, e, "GET", "/api/v1/items/S1/label?format="+format, e.admin, "", nil)
		}
	})
}

func TestTheZPLFontIsAServerSettingAndARequestOption(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ZPLFont = "E:ANMDJ.TTF" })
	e.seedModels()
	e.register("B1", "S1")
	// The title 三包凭证 is beyond Latin-1: set in the printer font.
	if body := string(must(t, e.get("/api/v1/items/S1/label?format=zpl", e.warehouse), 200).Body); !strings.Contains(body, ",E:ANMDJ.TTF^FH^FD三包凭证") {
		t.Errorf("server font not used:\n%s", body)
	}
	if body := string(must(t, e.get("/api/v1/items/S1/label?format=zpl&font=B:MSUNG.TTF", e.warehouse), 200).Body); !strings.Contains(body, ",B:MSUNG.TTF^FH^FD三包凭证") {
		t.Errorf("request font not used:\n%s", body)
	}
	wantError(t, e.get("/api/v1/items/S1/label?format=zpl&font=E:X^FS", e.warehouse), 400, policy.EInvalid, "font")
	wantError(t, e.get("/api/v1/items/S1/label?format=png&font=E:SIMSUN.FNT", e.warehouse), 400, policy.EInvalid, "font")
	if body := string(must(t, e.post("/api/v1/labels", e.warehouse, map[string]any{"serials": []string{"S1"}, "format": "zpl", "font": "E:NOTO.TTF"}), 200).Body); !strings.Contains(body, ",E:NOTO.TTF^FH^FD三包凭证") {
		t.Errorf("batch request font not used:\n%s", body)
	}
	wantError(t, e.post("/api/v1/labels", e.warehouse, map[string]any{"serials": []string{"S1"}, "format": "zpl", "font": "SIMSUN"}), 422, policy.EInvalid, "font")
	wantError(t, e.post("/api/v1/labels", e.warehouse, map[string]any{"serials": []string{"S1"}, "format": "pdf", "font": "E:SIMSUN.FNT"}), 422, policy.EInvalid, "font")

	if _, err := New(Config{DB: e.db, ZPLFont: "SIMSUN"}); err == nil {
		t.Error("a malformed Config.ZPLFont was accepted")
	}
}

func TestTheDefaultZPLFontIsSimSun(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	if body := string(must(t, e.get("/api/v1/items/S1/label?format=zpl", e.warehouse), 200).Body); !strings.Contains(body, ",E:SIMSUN.FNT^FH^FD三包凭证") {
		t.Errorf("default font not used:\n%s", body)
	}
}
