package server

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
)

// reportEnv: S1, S2, S3 of M1 in batch B1 (each with a CB2411 charger),
// received 2026-11-05; S1 had a free repair of its valve after a quality
// problem was found, S2 a no-fault visit.
func reportEnv(t *testing.T) *env {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2", "S3")
	for _, s := range []string{"S1", "S2", "S3"} {
		must(t, e.event(s, e.warehouse, map[string]any{"type": "received", "on": "2026-11-05", "evidence": "courier"}), http.StatusCreated)
	}
	for _, ev := range []map[string]any{
		{"type": "intake", "at": "2026-11-08T02:00:00Z", "center": "Shenzhen"},
		{"type": "diagnosed", "at": "2026-11-08T03:00:00Z", "finding": "quality_problem"},
		{"type": "repaired", "at": "2026-11-09T01:00:00Z", "paid": false, "parts": []string{"valve"}},
		{"type": "shipped", "at": "2026-11-09T02:00:00Z", "tracking": "SF1"},
	} {
		must(t, e.event("S1", e.admin, ev), http.StatusCreated)
	}
	must(t, e.event("S2", e.admin, map[string]any{"type": "intake", "at": "2026-11-09T03:00:00Z", "center": "Shenzhen"}), http.StatusCreated)
	must(t, e.event("S2", e.admin, map[string]any{"type": "diagnosed", "at": "2026-11-09T04:00:00Z", "finding": "no_fault"}), http.StatusCreated)
	return e
}

func TestQualityReportAnswersTheContractsFields(t *testing.T) {
	e := reportEnv(t)
	r := must(t, e.get("/api/v1/reports/quality?by=batch", e.warehouse), http.StatusOK)
	want := `{"rows":[` +
		`{"key":"B1","units":3,"received":3,"cases":1,"free_repairs":1,"replacements":0,"returns":0,"early_failures":1,"per_1000":333.33,"flagged":false},` +
		`{"key":"CB2411","units":3,"received":3,"cases":0,"free_repairs":0,"replacements":0,"returns":0,"early_failures":0,"per_1000":0,"flagged":false}]}`
	if got := strings.TrimSpace(string(r.Body)); got != want {
		t.Errorf("quality report\n%s\nwant\n%s", got, want)
	}
	r = must(t, e.get("/api/v1/reports/quality?by=month&sku=M1", e.admin), http.StatusOK)
	if !bytes.Contains(r.Body, []byte(`"key":"2026-11","units":3`)) {
		t.Errorf("by month: %s", r.Body)
	}
}

func TestReportsAnswerCSVWithABOMWhenAsked(t *testing.T) {
	e := reportEnv(t)
	for _, c := range []struct {
		path string
		want [][]string
	}{
		{"/api/v1/reports/quality?by=model", [][]string{
			{"key", "units", "received", "cases", "free_repairs", "replacements", "returns", "early_failures", "per_1000", "flagged"},
			{"CHG-1", "3", "3", "0", "0", "0", "0", "0", "0.00", "false"},
			{"M1", "3", "3", "1", "1", "0", "0", "1", "333.33", "false"},
		}},
		{"/api/v1/reports/findings?sku=M1", [][]string{
			{"kind", "name", "count"}, {"finding", "no_fault", "1"}, {"finding", "quality_problem", "1"}, {"part", "valve", "1"},
		}},
		{"/api/v1/reports/expiring?within=3660&limit=2", [][]string{
			{"serial", "sku", "batch", "warranty_until", "days_left"},
			{"S3", "M1", "B1", "2027-11-05", "360"},
			{"S2", "M1", "B1", "2027-11-05", "360"}, // sorted below
		}},
	} {
		r := must(t, e.do(req{Method: "GET", Path: c.path, Token: e.warehouse, Header: map[string]string{"Accept": "text/csv"}}), http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", c.path, ct)
		}
		if !bytes.HasPrefix(r.Body, []byte("\xef\xbb\xbf")) {
			t.Errorf("%s: no UTF-8 byte-order mark: %q", c.path, r.Body[:min(8, len(r.Body))])
		}
		got, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\xef\xbb\xbf")))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if strings.Contains(c.path, "expiring") {
			// S1's free repair added a day: S2 and S3 end first, in serial order.
			c.want[1], c.want[2] = []string{"S2", "M1", "B1", "2027-11-05", "360"}, []string{"S3", "M1", "B1", "2027-11-05", "360"}
			if r.Header.Get("Next-Cursor") != "2027-11-05/S3" {
				t.Errorf("Next-Cursor %q, want 2027-11-05/S3", r.Header.Get("Next-Cursor"))
			}
		}
		if !slices.EqualFunc(got, c.want, slices.Equal) {
			t.Errorf("%s CSV\n%q\nwant\n%q", c.path, got, c.want)
		}
	}
}

func TestReportBadInputNamesTheField(t *testing.T) {
	e := reportEnv(t)
	for _, c := range []struct {
		path   string
		status int
		code   string
		field  string
	}{
		{"/api/v1/reports/quality?from=2026-11&to=2026-10", 422, policy.EInvalid, "from"},
		{"/api/v1/reports/quality?by=colour", 422, policy.EInvalid, "by"},
		{"/api/v1/reports/quality?sku=NOPE", 404, policy.ENotFound, "sku"},
		{"/api/v1/reports/findings?from=2026-12-01&to=2026-11-30", 422, policy.EInvalid, "from"},
		{"/api/v1/reports/findings?sku=NOPE", 404, policy.ENotFound, "sku"},
		{"/api/v1/reports/expiring?within=0", 422, policy.EInvalid, "within"},
		{"/api/v1/reports/expiring?within=3661", 422, policy.EInvalid, "within"},
		{"/api/v1/reports/expiring?within=soon", 422, policy.EInvalid, "within"},
		{"/api/v1/reports/expiring?sku=NOPE", 404, policy.ENotFound, "sku"},
		{"/api/v1/reports/expiring?limit=0", 400, policy.EInvalid, "limit"},
	} {
		r := e.get(c.path, e.admin)
		wantError(t, r, c.status, c.code, c.field)
	}
}

func TestExpiringReportPagesWithItsCursor(t *testing.T) {
	e := reportEnv(t)
	first := must(t, e.get("/api/v1/reports/expiring?within=3660&limit=2", e.admin), http.StatusOK).JSON(t)
	next, _ := first["next"].(string)
	if next == "" || len(first["items"].([]any)) != 2 {
		t.Fatalf("first page %v", first)
	}
	second := must(t, e.get("/api/v1/reports/expiring?within=3660&limit=2&after="+next, e.admin), http.StatusOK).JSON(t)
	items := second["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["serial"] != "S1" || second["next"] != nil {
		t.Fatalf("second page %v", second)
	}
	if until := items[0].(map[string]any)["warranty_until"]; until != "2027-11-06" {
		t.Errorf("S1's warranty_until %v, want 2027-11-06 (a day of free repair added)", until)
	}
}
