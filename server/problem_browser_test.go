package server

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDeskRefusalInChineseInABrowser records at the desk, in Chinese and in
// headless Chromium, what a rule refuses: a receipt dated before the
// unit's dispatch. The clerk reads the rule in Chinese with both dates in
// Chinese form beside the form, on a phone as on the desk's screen.
func TestDeskRefusalInChineseInABrowser(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("-short: the browser test takes a few seconds")
	}
	ctx := headless(t)
	e := newEnv(t)
	must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M1", Token: e.warehouse,
		Body: map[string]any{"name": "IMASK Pro 智能口罩", "kind": "product"}}), http.StatusCreated)
	must(t, e.do(req{Method: "POST", Path: "/api/v1/items", Token: e.warehouse, Body: map[string]any{"items": []map[string]any{
		{"serial": "SN0002", "sku": "M1", "batch": "B2411", "produced_on": "2026-10-01"}}}}), http.StatusCreated)
	must(t, e.event("SN0002", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-01", "order": "SO-1"}), http.StatusCreated)
	must(t, e.post("/api/v1/users", e.admin, map[string]any{"username": "li.wei", "name": "李伟", "role": "service",
		"center": "上海服务网点", "password": "上海网点密码0001"}), http.StatusCreated)
	b := &tab{t: t, ctx: ctx, base: e.ts.URL}
	b.watch()
	b.open("/console/sign-in?lang=zh")
	b.signIn("li.wei", "上海网点密码0001")

	b.open("/console/items/SN0002")
	b.do("record a receipt dated before the dispatch",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('a-received').open = true`),
		chromedp.SetValue(chromedp.CSS("#f-received-on"), "2026-10-30"),
		chromedp.SetValue(chromedp.CSS("#f-received-evidence"), "courier"))
	if st := b.click(`#f-received button[type=submit]`); st != http.StatusUnprocessableEntity {
		t.Fatalf("a receipt before the dispatch answered %d, want 422", st)
	}
	b.want("签收日期 2026年10月30日 早于出库日期 2026年11月1日。")
	if page := b.text(); strings.Contains(page, "is before") || strings.Contains(page, "problem.") {
		t.Errorf("the refusal shows English or a raw key:\n%s", page)
	}
	b.shot("zh-10-desk-refusal-1366")
	b.do("phone viewport", chromedp.EmulateViewport(390, 844))
	b.wantNoSidewaysScroll(390)
	b.shot("zh-11-desk-refusal-390")

	// The warehouse's refused rows, in Chinese, on a phone.
	must(t, e.post("/api/v1/users", e.admin, map[string]any{"username": "cang", "name": "仓库小张", "role": "warehouse",
		"password": "warehouse pw 1"}), http.StatusCreated)
	b.do("desk viewport", chromedp.EmulateViewport(1366, 768))
	b.click(`form[action="/console/sign-out"] button`)
	b.open("/console/sign-in")
	b.signIn("cang", "warehouse pw 1")
	b.open("/console/dispatch")
	b.do("scan two serials", chromedp.SendKeys(chromedp.CSS("#d-serials"), "SN0002\nSN0404"),
		chromedp.SetValue(chromedp.CSS("#d-on"), "2026-11-05"))
	if st := b.click(`form[action="/console/dispatch"] button[type=submit]`); st != http.StatusUnprocessableEntity {
		t.Fatalf("a dispatch of a dispatched and an unknown serial answered %d, want 422", st)
	}
	b.want("有 2 行未通过，整批都没有写入。", "SN0002 已于 2026年11月1日 出库，不能重复出库（登记有误请用更正）。",
		"系统里没有序列号 SN0404，请核对后重新扫码。")
	b.do("phone viewport", chromedp.EmulateViewport(390, 844))
	b.wantNoSidewaysScroll(390)
	// Each heading of the refused rows (行, 序列号, 问题, 字段, 说明) on one
	// line, about 30 px high; squeezed to one character a line, over 45.
	if h, _ := strconv.Atoi(b.eval(`String(Math.max(...[...document.querySelectorAll('table.rows th')].map(th => Math.round(th.getBoundingClientRect().height))))`)); h == 0 || h > 40 {
		t.Errorf("the refused rows' headings wrap at 390 px: the tallest is %d px", h)
	}
	b.shot("zh-12-dispatch-refused-390")
	if p := b.problems(); len(p) > 0 {
		t.Errorf("the browser's console reported:\n%s", strings.Join(p, "\n"))
	}
}
