package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
)

func TestModelEnglishNameOnTheAPIAndTheEnglishPage(t *testing.T) {
	e := newPublicEnv(t)
	r := must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M1", Token: e.warehouse,
		Body: map[string]any{"name": "口罩 Pro", "name_en": "IMASK Pro mask", "kind": "product", "gtin": testGTIN}}), http.StatusOK)
	if m := r.JSON(t); m["name_en"] != "IMASK Pro mask" || m["name"] != "口罩 Pro" {
		t.Fatalf("PUT answered %v", m)
	}
	if m := must(t, e.get("/api/v1/models/M1", e.service), http.StatusOK).JSON(t); m["name_en"] != "IMASK Pro mask" {
		t.Errorf("GET name_en = %v", m["name_en"])
	}
	page := "/c/S-ACT?k=" + e.checkCode("S-ACT")
	en := must(t, e.publicPage(page, "en"), http.StatusOK)
	wantInBody(t, en, "<h2>IMASK Pro mask</h2>")
	wantNotInBody(t, en, "口罩 Pro")
	wantInBody(t, must(t, e.publicPage(page, "zh-CN"), http.StatusOK), "<h2>口罩 Pro</h2>")
	j := must(t, e.publicJSON("S-ACT", e.checkCode("S-ACT")), http.StatusOK).JSON(t)
	if j["model"] != "口罩 Pro" || j["model_en"] != "IMASK Pro mask" {
		t.Errorf("coverage model %v model_en %v", j["model"], j["model_en"])
	}
	// Without an English name, English pages and model_en use the name.
	must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M2", Token: e.warehouse, Body: map[string]any{"name": "轻便款", "kind": "product"}}), http.StatusOK)
	if m := must(t, e.get("/api/v1/models/M2", e.service), http.StatusOK).JSON(t); m["name_en"] != nil {
		t.Errorf("name_en without one: %v, want null", m["name_en"])
	}
	if j := must(t, e.publicJSON("L-1", e.checkCode("L-1")), http.StatusOK).JSON(t); j["model_en"] != "轻便款" {
		t.Errorf("model_en without an English name: %v, want the name", j["model_en"])
	}
	wantError(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M2", Token: e.warehouse,
		Body: map[string]any{"name": "x", "name_en": strings.Repeat("x", 201), "kind": "product"}}), http.StatusUnprocessableEntity, policy.EInvalid, "name_en")
}

// A certificate printed under a model's earlier GTIN keeps resolving; no
// two models share a GTIN.
func TestGS1LinksUnderAnEarlierGTINKeepResolving(t *testing.T) {
	e := newPublicEnv(t)
	code := e.checkCode("S-ACT")
	old := "/01/" + testGTIN + "/21/S-ACT?k=" + code
	must(t, e.publicPage(old, "zh-CN"), http.StatusOK)
	must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M1", Token: e.warehouse,
		Body: map[string]any{"name": "IMASK Pro", "kind": "product", "gtin": "6901234567892"}}), http.StatusOK)
	for _, path := range []string{old, "/01/06901234567892/21/S-ACT?k=" + code} {
		must(t, e.publicPage(path, "zh-CN"), http.StatusOK)
	}
	for _, gtin := range []string{testGTIN, "6901234567892"} {
		wantError(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M2", Token: e.warehouse,
			Body: map[string]any{"name": "IMASK Lite", "kind": "product", "gtin": gtin}}), http.StatusConflict, policy.EConflict, "gtin")
	}
	// M2's items still do not answer under M1's GTINs.
	must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M2", Token: e.warehouse,
		Body: map[string]any{"name": "IMASK Lite", "kind": "product", "gtin": "09521234543213"}}), http.StatusOK)
	if r := e.publicPage("/01/"+testGTIN+"/21/L-1?k="+e.checkCode("L-1"), "zh-CN"); r.Status != http.StatusNotFound {
		t.Errorf("another model's item under M1's GTIN: %d, want 404", r.Status)
	}
	must(t, e.publicPage("/01/09521234543213/21/L-1?k="+e.checkCode("L-1"), "zh-CN"), http.StatusOK)
}
