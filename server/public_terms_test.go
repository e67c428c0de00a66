package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestTermsPageHoldsTheExclusionsAndLinksBack: the coverage page links to
// the exclusions and return conditions instead of listing them, and GET
// /c/{serial}/terms shows them in the page's language with a link back to
// the coverage page, counting no check; a malformed serial is 400.
func TestTermsPageHoldsTheExclusionsAndLinksBack(t *testing.T) {
	e := newPublicEnv(t)
	code := e.checkCode("S-ACT")
	page := must(t, e.publicPage("/c/S-ACT?k="+code+"&lang=zh", "zh-CN"), http.StatusOK)
	wantInBody(t, page, `<a href="/c/S-ACT/terms?k=`+code+`&amp;lang=zh">保修范围与退货条件</a>`)
	if strings.Contains(string(page.Body), "人为损坏") {
		t.Error("the coverage page still lists the exclusions")
	}
	before, err := e.db.Get("S-ACT")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/c/S-ACT/terms?k=" + code + "&lang=zh", []string{"<h1 class=\"page-title\">保修范围与退货条件</h1>", "人为损坏，例如摔落、进水、挤压、划伤",
			"7天无理由退货须商品完好、配件齐全", "不在免费保修范围内的，可提供付费维修", `<a href="/c/S-ACT?k=` + code + `&amp;lang=zh">返回查询结果</a>`}},
		{"/c/S-ACT/terms?k=" + code + "&lang=en", []string{"Warranty exclusions and return conditions", `<a href="/c/S-ACT?k=` + code + `&amp;lang=en">Back to the coverage page</a>`}},
	} {
		r := must(t, e.publicPage(tc.path, "zh-CN"), http.StatusOK)
		wantInBody(t, r, tc.want...)
	}
	// Without a check code there is nothing to go back to.
	if r := must(t, e.publicPage("/c/S-ACT/terms?lang=zh", "zh-CN"), http.StatusOK); strings.Contains(string(r.Body), "返回查询结果") {
		t.Error("a link back without a check code")
	}
	after, err := e.db.Get("S-ACT")
	if err != nil {
		t.Fatal(err)
	}
	if after.Scans.Count != before.Scans.Count {
		t.Errorf("the terms page counted checks: %d, then %d", before.Scans.Count, after.Scans.Count)
	}
	must(t, e.publicPage("/c/S!1/terms", "zh-CN"), http.StatusBadRequest)
}
