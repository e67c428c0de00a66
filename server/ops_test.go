package server

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry/bolt"
)

func TestModels(t *testing.T) {
	e := newEnv(t)
	res := must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M1", Token: e.warehouse,
		Body: map[string]any{"name": "IMASK Pro", "kind": "product", "gtin": "6901234567892"}}), 201)
	m := res.JSON(t)
	if m["gtin"] != "06901234567892" || m["warranty_months"] != float64(12) || m["warranty_months_set"] != false {
		t.Fatalf("%s", res.Body)
	}
	m = must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M1", Token: e.admin,
		Body: map[string]any{"sku": "M1", "name": "IMASK Pro 2", "kind": "product", "warranty_months": 24}}), 200).JSON(t)
	if m["name"] != "IMASK Pro 2" || m["warranty_months"] != float64(24) || m["gtin"] != nil {
		t.Fatalf("replaced: %v", m)
	}
	if m := must(t, e.get("/api/v1/models/M1", e.service), 200).JSON(t); m["warranty_months"] != float64(24) {
		t.Fatalf("%v", m)
	}
	if l := must(t, e.get("/api/v1/models", e.service), 200).JSON(t); len(l["models"].([]any)) != 1 {
		t.Fatalf("%v", l)
	}
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "X", "kind": "product", "gtin": "6901234567891"}, "gtin"},
		{map[string]any{"name": "X", "kind": "gadget"}, "kind"},
		{map[string]any{"name": "", "kind": "product"}, "name"},
		{map[string]any{"name": "X", "kind": "product", "warranty_months": 0}, "warranty_months"},
		{map[string]any{"name": "X", "kind": "product", "warranty_months": 121}, "warranty_months"},
		{map[string]any{"sku": "M2", "name": "X", "kind": "product"}, "sku"},
	} {
		wantError(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M1", Token: e.admin, Body: tc.body}), 422, policy.EInvalid, tc.field)
	}
	wantError(t, e.get("/api/v1/models/NOPE", e.service), 404, policy.ENotFound, "")
	wantError(t, e.get("/api/v1/models/M%2F1", e.service), 400, policy.EInvalid, "sku")
}

func TestKeys(t *testing.T) {
	e := newEnv(t)
	res := must(t, e.post("/api/v1/keys", e.admin, map[string]any{"name": "mes-line-2", "role": "warehouse"}), 201)
	k := res.JSON(t)
	token, id := k["key"].(string), k["id"].(string)
	if !strings.HasPrefix(token, id+".") || k["role"] != "warehouse" {
		t.Fatalf("%s", res.Body)
	}
	must(t, e.get("/api/v1/models", token), 200)
	list := must(t, e.get("/api/v1/keys", e.admin), 200)
	if strings.Contains(string(list.Body), token[len(id)+1:]) {
		t.Fatal("the key list shows a secret")
	}
	must(t, e.do(req{Method: "DELETE", Path: "/api/v1/keys/" + id, Token: e.admin}), 204)
	wantError(t, e.get("/api/v1/models", token), 401, policy.EUnauthorized, "")
	wantError(t, e.do(req{Method: "DELETE", Path: "/api/v1/keys/nosuchkey000", Token: e.admin}), 404, policy.ENotFound, "")
	wantError(t, e.post("/api/v1/keys", e.admin, map[string]any{"name": "x", "role": "root"}), 422, policy.EInvalid, "role")

	// The last active admin key cannot be revoked.
	adminID, _, _ := strings.Cut(e.admin, ".")
	wantError(t, e.do(req{Method: "DELETE", Path: "/api/v1/keys/" + adminID, Token: e.admin}), 409, policy.EConflict, "")
}

func TestBatches(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2", "S3")
	p := must(t, e.get("/api/v1/batches/B1?limit=2", e.warehouse), 200).JSON(t)
	if p["count"] != float64(3) || len(p["serials"].([]any)) != 2 || p["next"] == nil {
		t.Fatalf("%v", p)
	}
	p = must(t, e.get("/api/v1/batches/B1?limit=2&after="+p["next"].(string), e.warehouse), 200).JSON(t)
	if len(p["serials"].([]any)) != 1 || p["next"] != nil {
		t.Fatalf("last page %v", p)
	}
	// The charger batch is carried by the three products.
	c := must(t, e.get("/api/v1/batches/CB2411", e.warehouse), 200).JSON(t)
	if len(c["carried_by"].([]any)) != 3 || c["carriers"] != float64(3) || len(c["serials"].([]any)) != 0 {
		t.Fatalf("carriers %v", c)
	}
	l := must(t, e.get("/api/v1/batches", e.warehouse), 200).JSON(t)
	if len(l["batches"].([]any)) != 2 {
		t.Fatalf("%v", l)
	}
	wantError(t, e.get("/api/v1/batches/NOPE", e.warehouse), 404, policy.ENotFound, "")
	wantError(t, e.get("/api/v1/batches/B1?limit=1001", e.warehouse), 400, policy.EInvalid, "limit")
	wantError(t, e.get("/api/v1/batches/B1?limit=x", e.warehouse), 400, policy.EInvalid, "limit")
}

func TestBackupIsAConsistentCopy(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	res := must(t, e.get("/api/v1/admin/backup", e.admin), 200)
	if cd := res.Header.Get("Content-Disposition"); !regexp.MustCompile(`^attachment; filename="sanbao-\d{8}T\d{6}Z\.db"$`).MatchString(cd) {
		t.Fatalf("Content-Disposition %q", cd)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, res.Body, 0o600); err != nil {
		t.Fatal(err)
	}
	db := mustOpen(t, path, bolt.Options{})
	if _, err := db.Get("S1"); err != nil {
		t.Fatalf("the backup lacks S1: %v", err)
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2")
	must(t, e.get("/healthz", ""), 200)
	if m := must(t, e.get("/readyz", ""), 200).JSON(t); m["status"] != "ready" {
		t.Fatalf("%v", m)
	}
	e.get("/api/v1/items/S1", e.service)
	e.get("/api/v1/items/NOPE", e.service)
	e.get("/no/such/route/42", "")
	body := string(must(t, e.get("/metrics", e.admin), 200).Body)
	for _, want := range []string{
		`sanbao_http_requests_total{code="200",method="GET",route="/api/v1/items/:serial"}`,
		`sanbao_http_requests_total{code="404",method="GET",route="/api/v1/items/:serial"}`,
		`sanbao_http_requests_total{code="404",method="GET",route="unmatched"}`,
		`sanbao_http_request_duration_seconds_bucket{method="GET",route="/api/v1/items/:serial"`,
		"sanbao_items_registered 2",
		"sanbao_models 3",
		"sanbao_open_cases 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "/no/such/route") {
		t.Error("an unmatched path became a label")
	}
	rec := httptestGet(t, e.srv.MetricsHandler(), "/metrics")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "sanbao_items_registered 2") {
		t.Fatalf("MetricsHandler: %d", rec.Code)
	}
}

// TestOpenAPIDocumentsEveryRoute checks the document covers every route of
// the role matrix (plus the label and public routes to come) and that the
// tests validated at least one real answer of every implemented route.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	e := newEnv(t)
	res := must(t, e.get("/openapi.json", ""), 200)
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("Content-Type %q", res.Header.Get("Content-Type"))
	}
	router, err := openapiRouter()
	if err != nil {
		t.Fatal(err)
	}
	templ := regexp.MustCompile(`:([a-z0-9]+)`)
	for _, r := range access {
		hr, _ := http.NewRequest(r.Method, "http://x"+concrete(r.Path), nil)
		route, _, err := router.FindRoute(hr)
		if err != nil {
			t.Errorf("%s %s is not in openapi.json", r.Method, r.Path)
			continue
		}
		if want := templ.ReplaceAllString(r.Path, "{$1}"); route.Path != want {
			t.Errorf("%s %s documented as %s", r.Method, r.Path, route.Path)
		}
	}
	for _, p := range []string{"GET /api/v1/items/S1/label", "POST /api/v1/labels", "GET /api/v1/public/coverage", "GET /c", "GET /c/S1", "GET /01/06901234567892/21/S1"} {
		m, path, _ := strings.Cut(p, " ")
		hr, _ := http.NewRequest(m, "http://x"+path, nil)
		if _, _, err := router.FindRoute(hr); err != nil {
			t.Errorf("%s is not in openapi.json", p)
		}
	}
}
