package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The fuzz targets feed arbitrary input to the request decoders through the
// real handler over a real registry: the answer must never be a 5xx (nor a
// panic, which the recover middleware would turn into one), and every answer
// must have its documented shape.

// serveFuzz sends one in-process request and checks the answer.
func serveFuzz(t *testing.T, e *env, method, target, token, contentType string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	hr := httptest.NewRequest(method, target, bytes.NewReader(body))
	if token != "" {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		hr.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, hr)
	if rec.Code >= 500 {
		t.Fatalf("%s %s: %d %s\nbody: %q", method, target, rec.Code, rec.Body, body)
	}
	checkShape(t, hr, response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()})
	return rec
}

func fuzzEnv(f *testing.F) *env {
	e := newEnv(f)
	e.seedModels()
	e.register("B1", "S1", "S2")
	return e
}

func FuzzRegistrationJSON(f *testing.F) {
	for _, s := range []string{
		`{"items": [{"serial": "F1", "sku": "M1", "batch": "B1", "produced_on": "2026-10-01"}]}`,
		`{"items": [{"serial": "F2", "sku": "M1", "batch": "B1", "accessories": [{"sku": "CHG-1", "batch": "CB1"}]}]}`,
		`{"items": [{"serial": "S1", "sku": "M1", "batch": "OTHER"}]}`,
		`{"items": [{"serial": " F3\n", "sku": "CHG-1", "batch": "B1", "produced_on": "2026-02-29"}]}`,
		`{"items": null}`, `{"items": [null]}`, `[]`, `"x"`, `{"items": [{"serial": 5}]}`, `{`, "\xef\xbb\xbf{}",
		`{"items": [{"serial": "F4", "sku": "M1", "batch": "B1", "accessories": [{"sku": "M1", "batch": "B1"}]}]} trailing`,
	} {
		f.Add([]byte(s))
	}
	e := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		serveFuzz(t, e, "POST", "/api/v1/items", e.warehouse, "application/json", body)
	})
}

func FuzzRegistrationCSV(f *testing.F) {
	for _, s := range []struct{ body, charset string }{
		{"serial,sku,batch\nC1,M1,B1\n", ""},
		{"\xef\xbb\xbfserial,sku,batch,produced_on,accessories\r\nC2,M1,B1,2026-10-01,CHG-1:CB1;CBL-2:CC1\r\n", "utf-8"},
		{"\xb1\xb8\xd7\xa2,serial,sku,batch\n\xba\xcf\xb8\xf1,C3,M1,B1\n", "gbk"},
		{"serial,sku\nC4,M1\n", ""},
		{"serial,sku,batch,accessories\nC5,M1,B1,CHG-1\n", ""},
		{"serial,sku,batch\n\"C6,M1,B1\n", ""},
		{"", ""},
		{"serial,serial,sku,batch\nA,B,M1,B1\n", "gb18030"},
	} {
		f.Add([]byte(s.body), s.charset)
	}
	e := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte, charset string) {
		ct := "text/csv"
		if charset != "" {
			ct += "; charset=" + charset
		}
		serveFuzz(t, e, "POST", "/api/v1/items", e.warehouse, ct, body)
	})
}

func FuzzEventBody(f *testing.F) {
	for _, s := range []string{
		`{"type": "dispatched", "on": "2026-11-02", "order": "O1"}`,
		`{"type": "received", "on": "2026-11-05", "evidence": "courier"}`,
		`{"type": "received", "at": "2026-11-04T17:30:00Z", "evidence": "invoice"}`,
		`{"type": "transferred", "on": "2026-11-06", "note": "resold"}`,
		`{"type": "intake", "at": "2026-11-09T09:00:00+08:00", "center": "SH", "complaint": "no power", "contact": "138"}`,
		`{"type": "diagnosed", "finding": "quality_problem", "part": "battery"}`,
		`{"type": "quoted", "amount": 120.5, "currency": "CNY"}`,
		`{"type": "paid", "amount": "120.50"}`,
		`{"type": "declined"}`,
		`{"type": "repaired", "paid": false, "parts": "battery"}`,
		`{"type": "replaced", "new_serial": "S2"}`,
		`{"type": "returned", "amount": "999"}`,
		`{"type": "paused", "reason": "waiting for the customer"}`,
		`{"type": "resumed"}`,
		`{"type": "shipped", "tracking": "SF1"}`,
		`{"type": "accessory_replaced", "sku": "CHG-1", "new_batch": "CB2"}`,
		`{"type": "corrected", "seq": 1, "reason": "typo", "on": "2026-11-01"}`,
		`{"type": "corrected", "corrects": 99999999999999999999, "reason": "x"}`,
		`{"type": "corrected", "seq": 2, "corrects": 3, "reason": "x", "paid": true}`,
		`{"type": "received", "seq": 1}`,
		`{"serial": "S2", "type": "intake"}`,
		`{"type": "intake", "on": "2026-11-01"}`,
		`{"type": "repaired", "parts": [1, 2]}`,
		`{"type": "quoted", "amount": {"x": 1}}`,
		`{"type": "dispatched", "on": "9999-12-31"}`,
		`{"type": "intake", "at": "0001-01-01T00:00:00Z", "center": "x"}`,
		`null`, `{}`, `[`, `{"type": 7}`,
	} {
		f.Add([]byte(s))
	}
	e := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		serveFuzz(t, e, "POST", "/api/v1/items/S1/events", e.admin, "application/json", body)
		rows := append(append([]byte(`{"events": [`), body...), ']', '}')
		serveFuzz(t, e, "POST", "/api/v1/events", e.admin, "application/json", rows)
	})
}

func FuzzQueryParameters(f *testing.F) {
	for _, s := range []struct{ on, finding, flag, part, limit string }{
		{"2026-11-10", "quality_problem", "true", "battery", "10"},
		{"2026-02-30", "gremlins", "maybe", "", "0"},
		{"", "", "", "", ""},
		{"20261110", "no_fault", "1", "\x00", "-1"},
		{"2026-11-10T00:00:00Z", "tampered", "FALSE", "電池", "99999999999999999999"},
	} {
		f.Add(s.on, s.finding, s.flag, s.part, s.limit)
	}
	e := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, on, finding, flag, part, limit string) {
		q := url.Values{"on": {on}}.Encode()
		serveFuzz(t, e, "GET", "/api/v1/items/S1?"+q, e.admin, "", nil)
		q = url.Values{"on": {on}, "finding": {finding}, "intact": {flag}, "complete": {flag}, "part": {part}, "accessory": {part}}.Encode()
		serveFuzz(t, e, "GET", "/api/v1/items/S1/entitlements?"+q, e.admin, "", nil)
		q = url.Values{"after": {part}, "limit": {limit}}.Encode()
		serveFuzz(t, e, "GET", "/api/v1/batches/B1?"+q, e.admin, "", nil)
		serveFuzz(t, e, "GET", "/api/v1/audit?"+q, e.admin, "", nil)
		q = url.Values{"overdue": {flag}, "center": {part}}.Encode()
		serveFuzz(t, e, "GET", "/api/v1/service/open?"+q, e.admin, "", nil)
	})
}

func FuzzSerialInPath(f *testing.F) {
	for _, s := range []string{"S1", " S1\n", "S1\r\n", "s1", "S 1", "", "../S1", "S1/events", "%", "序列号", "A.B-C_D", "\x00"} {
		f.Add(s)
	}
	e := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, serial string) {
		p := url.PathEscape(serial)
		rec := serveFuzz(t, e, "GET", "/api/v1/items/"+p, e.admin, "", nil)
		if rec.Code == http.StatusOK {
			var it struct{ Serial string }
			json.Unmarshal(rec.Body.Bytes(), &it)
			if it.Serial != strings.TrimSpace(serial) {
				t.Fatalf("GET %q answered item %q", serial, it.Serial)
			}
		}
		serveFuzz(t, e, "GET", "/api/v1/items/"+p+"/entitlements?finding=no_fault", e.admin, "", nil)
		serveFuzz(t, e, "PUT", "/api/v1/models/"+p, e.admin, "application/json", []byte(`{"name": "x", "kind": "product"}`))
		serveFuzz(t, e, "POST", "/api/v1/orders/"+p+"/received", e.admin, "application/json", []byte(`{"on": "2026-11-05", "evidence": "courier"}`))
	})
}
