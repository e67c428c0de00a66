package server

import (
	"net/http"
	"strings"
	"testing"
)

// A replaced or returned serial belongs to the company: a batch's label file
// leaves it out and says how many it left out.
func TestBatchLabelsSkipRetiredSerials(t *testing.T) {
	e := newPublicEnv(t)
	r := must(t, e.do(req{Method: "POST", Path: "/api/v1/labels", Token: e.warehouse,
		Body: map[string]any{"batch": "B1", "format": "zpl"}}), http.StatusOK)
	if got := r.Header.Get("X-Label-Count"); got != "9" {
		t.Errorf("X-Label-Count %q, want 9 (11 in B1, S-RET replaced and S-REF returned)", got)
	}
	if got := r.Header.Get("X-Labels-Skipped"); got != "2" {
		t.Errorf("X-Labels-Skipped %q, want 2", got)
	}
	body := string(r.Body)
	if n := strings.Count(body, "^XA"); n != 9 {
		t.Errorf("%d labels in the file, want 9", n)
	}
	for _, retired := range []string{"S-RET", "S-REF"} {
		if strings.Contains(body, "k="+e.checkCode(retired)) {
			t.Errorf("the file carries %s's certificate", retired)
		}
	}
	if !strings.Contains(body, "k="+e.checkCode("S-RET2")) {
		t.Error("the replacement unit's certificate is missing")
	}
	// Listed by serial, a retired unit is still printed: whoever lists it
	// asks for it.
	l := must(t, e.do(req{Method: "POST", Path: "/api/v1/labels", Token: e.warehouse,
		Body: map[string]any{"serials": []string{"S-RET"}, "format": "zpl"}}), http.StatusOK)
	if l.Header.Get("X-Labels-Skipped") != "" || l.Header.Get("X-Label-Count") != "1" {
		t.Errorf("a listed serial: count %q skipped %q", l.Header.Get("X-Label-Count"), l.Header.Get("X-Labels-Skipped"))
	}
}

// The label speaks the page's words: 查询码, a Chinese terms line and 扫码查询保修
// beside the QR; English when asked.
func TestLabelWordsInEachLanguage(t *testing.T) {
	e := newPublicEnv(t)
	for _, tc := range []struct {
		name, query string
		want, not   []string
	}{
		{"Chinese by default", "", []string{"查询码", "扫码查询保修", "自收货起保修12个月 · 7天无理由退货 · 15天换货", "IMASK Pro"},
			[]string{"校验码", "Check code", "months from receipt"}},
		{"English when asked", "&lang=en", []string{"Check code", "Scan to check the warranty", "12 months from receipt · 7-day return · 15-day replacement"},
			[]string{"查询码", "扫码查询保修", "自收货起"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := must(t, e.get("/api/v1/items/S-ACT/label?format=zpl"+tc.query, e.warehouse), http.StatusOK)
			for _, w := range tc.want {
				if !strings.Contains(string(r.Body), w) {
					t.Errorf("label lacks %q:\n%s", w, r.Body)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(string(r.Body), w) {
					t.Errorf("label shows %q", w)
				}
			}
		})
	}
}
