package server

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleInChineseInABrowser drives the console as a Chinese service
// centre uses it, in headless Chromium and in Chinese: a clerk signs in by
// username and password (after five wrong passwords the back-off refuses
// even the right one, with the same words), scans an unknown serial and
// then a real one as a USB scanner types them, and takes a case from
// intake to shipment with the entitlements on the screen without asking;
// the queue filters by centre and overdue; the warehouse dispatches the
// serials of a batch still in stock; an admin corrects an event; a restart
// keeps the session. Screenshots at 1366×768 and 768×1024 go to shotsDir.
func TestConsoleInChineseInABrowser(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("-short: the browser test takes about 20 s")
	}
	ctx := headless(t)
	e := newEnv(t)
	must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M1", Token: e.warehouse,
		Body: map[string]any{"name": "IMASK Pro 智能口罩", "kind": "product"}}), http.StatusCreated)
	must(t, e.do(req{Method: "POST", Path: "/api/v1/items", Token: e.warehouse, Body: map[string]any{"items": []map[string]any{
		{"serial": "SN0001", "sku": "M1", "batch": "B2411"}, {"serial": "SN0002", "sku": "M1", "batch": "B2411"},
		{"serial": "SN0003", "sku": "M1", "batch": "B2411"}, {"serial": "SN0004", "sku": "M1", "batch": "B2411"},
		{"serial": "SN0101", "sku": "M1", "batch": "B2410"}}}}), http.StatusCreated)
	must(t, e.event("SN0001", e.service, map[string]any{"type": "received", "on": "2026-11-05", "evidence": "courier"}), http.StatusCreated)
	must(t, e.event("SN0002", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-01", "order": "SO-1"}), http.StatusCreated)
	must(t, e.event("SN0101", e.service, map[string]any{"type": "intake", "center": "北京服务网点", "at": "2026-11-09T08:30:00+08:00",
		"complaint": "表带断了", "contact": "王先生 139 0000 0000"}), http.StatusCreated)
	for _, u := range []map[string]any{
		{"username": "li.wei", "name": "李伟", "role": "service", "center": "上海服务网点", "password": "上海网点密码0001"},
		{"username": "cang", "name": "仓库小张", "role": "warehouse", "password": "warehouse pw 1"},
		{"username": "boss", "name": "王经理", "role": "admin", "password": "admin password 1"},
	} {
		must(t, e.post("/api/v1/users", e.admin, u), http.StatusCreated)
	}
	b := &tab{t: t, ctx: ctx, base: e.ts.URL}
	b.watch()

	// The sign-in page in Chinese, chosen with the switch and remembered.
	b.open("/console/sign-in?lang=zh")
	b.want("登录", "账号", "密码")
	if lang := b.eval(`document.documentElement.lang`); lang != "zh-CN" {
		t.Fatalf("<html lang=%q>", lang)
	}
	b.open("/console/sign-in")
	if lang := b.eval(`document.documentElement.lang`); lang != "zh-CN" {
		t.Fatalf("the language switch was not remembered: <html lang=%q>", lang)
	}
	// Five wrong passwords, then the right one is refused too, with the same words.
	for i := range 5 {
		if st := b.signIn("li.wei", "错误的密码 wrong"); st != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i+1, st)
		}
		b.want("账号或密码错误，请检查后重试。")
	}
	b.shot("zh-01-sign-in-refused")
	if st := b.signIn("li.wei", "上海网点密码0001"); st != http.StatusUnauthorized {
		t.Fatalf("the right password during the back-off: %d", st)
	}
	b.want("账号或密码错误，请检查后重试。")
	e.clock.Add(2 * time.Second)
	b.signIn("li.wei", "上海网点密码0001")
	if loc := b.location(); loc != "/console/desk" {
		t.Fatalf("after sign-in: %s", loc)
	}
	b.want("即将到期", "1 个待办工单", "1 个已超时")

	// An unknown serial, then a real one typed as a USB scanner types it.
	b.submit("#scan", "X1-9999-0000")
	b.want("系统里没有序列号 X1-9999-0000，请核对后重新扫码。")
	if v := b.eval(`document.getElementById('scan').value`); v != "X1-9999-0000" {
		t.Fatalf("the scan field holds %q after an unknown serial", v)
	}
	if sel := b.eval(`(() => { const s = document.getElementById('scan'); return document.activeElement === s && s.selectionStart === 0 && s.selectionEnd === s.value.length ? 'selected' : 'not selected' })()`); sel != "selected" {
		t.Fatalf("after an unknown serial the scan field is %s", sel)
	}
	b.submit("#scan", "SN0001")
	if loc := b.location(); loc != "/console/items/SN0001" {
		t.Fatalf("the scan after an unknown serial opened %s", loc)
	}
	// Today's entitlements are on the screen without asking, above the fold.
	b.want("在三包期内", "尚未检测：如检测为性能故障", "退货", "换货", "免费维修")
	if f := b.focusOn("scan"); f != "scan" {
		t.Fatalf("focus on %q on the item page", f)
	}
	b.shot("zh-02-item-1366")

	// Intake at the person's own centre, diagnosis, repair, shipment.
	if c := b.eval(`document.getElementById('f-intake-center').textContent`); c != "上海服务网点" {
		t.Fatalf("the intake centre is %q, want the account's", c)
	}
	b.do("describe the intake", chromedp.SendKeys(chromedp.CSS("#f-intake-complaint"), "不开机"))
	b.submit("#f-intake-contact", "李女士 138 0013 8000")
	b.want("受理已保存（事件 #2）。工单 SN0001 #2 应于 2026-11-11 10:00 前完成。", "工单 #2 · 受理", "上海服务网点")
	if bottom, _ := strconv.Atoi(b.eval(`String(Math.round(document.querySelector('.itemhead').getBoundingClientRect().bottom))`)); bottom > 768 {
		t.Errorf("the item header ends at %d px, below the fold of 768", bottom)
	}
	b.shot("zh-03-case-1366")
	b.do("choose the finding", chromedp.SetValue(chromedp.CSS("#f-diagnosed-finding"), "quality_problem"))
	b.submit("#f-diagnosed-part", "电池")
	b.want("检测已保存（事件 #3）。", "按检测结论：性能故障", "工单 #2 · 检测")
	b.submit("#f-repaired-parts", "电池")
	b.want("维修已保存（事件 #4）。")
	b.submit("#f-shipped-tracking", "SF1234567890")
	b.want("寄回已保存（事件 #5）。工单已关闭。", "SF1234567890")

	// The queue: complaint, model, contact, centre; filtered by centre and overdue.
	b.open("/console/queue")
	b.want("待办工单", "SN0101 #1", "表带断了", "IMASK Pro 智能口罩", "王先生 139 0000 0000", "北京服务网点", "超时")
	b.shot("zh-04-queue-1366")
	b.do("filter", chromedp.SetValue(chromedp.CSS("#q-center"), "北京服务网点"), chromedp.Click(chromedp.CSS("#q-overdue")))
	b.click(`form.filters button[type=submit]`)
	if loc := b.location(); !strings.Contains(loc, "overdue=true") || !strings.Contains(loc, "center=") {
		t.Fatalf("the filter went to %s", loc)
	}
	b.want("显示 1 个，共 1 个待办")

	// The desk on a tablet, portrait.
	b.open("/console/items/SN0101")
	b.do("tablet viewport", chromedp.EmulateViewport(768, 1024))
	b.wantNoSidewaysScroll(768)
	b.shot("zh-05-item-768")
	b.open("/console/queue")
	b.shot("zh-06-queue-768")
	b.do("phone viewport", chromedp.EmulateViewport(390, 844))
	b.open("/console/items/SN0101")
	b.wantNoSidewaysScroll(390)
	b.shot("zh-09-item-390")
	b.do("desk viewport", chromedp.EmulateViewport(1366, 768))

	// The warehouse dispatches the serials of the batch still in stock.
	b.click(`form.who button`)
	b.want("您已退出登录。")
	b.signIn("cang", "warehouse pw 1")
	b.open("/console/batches/B2411")
	b.want("出库在库的 2 个", "在库", "已出库", "客户使用中")
	if w := b.eval(`String(document.querySelector('.preview img').naturalWidth)`); w == "0" {
		t.Error("the label preview did not load")
	}
	b.shot("zh-07-batch-1366")
	b.click("#f-dispatch button[type=submit]")
	b.want("已出库 2 个序列号。", "本批次已没有在库的序列号。")

	// An admin corrects the dispatch date of SN0002.
	b.click(`form.who button`)
	b.signIn("boss", "admin password 1")
	b.open("/console/items/SN0002")
	b.do("open the correction", chromedp.Click(chromedp.CSS("#a-corrected > summary")),
		chromedp.SetValue(chromedp.CSS("#f-corrected-seq"), "1"), chromedp.SetValue(chromedp.CSS("#f-corrected-field"), "on"),
		chromedp.SendKeys(chromedp.CSS("#f-corrected-value"), "2026-11-02"))
	b.submit("#f-corrected-reason", "出库日期录错")
	b.want("更正已保存", "出库日期录错")
	b.shot("zh-08-correction-1366")

	// A restart keeps the session.
	e.restart()
	b.base = e.ts.URL
	if st := b.open("/console/items/SN0002"); st != http.StatusOK || b.location() != "/console/items/SN0002" {
		t.Fatalf("after a restart: %d at %s", st, b.location())
	}
	b.want("SN0002", "出库日期录错")
	if who := b.eval(`document.querySelector('form.who span').textContent`); !strings.Contains(who, "王经理") {
		t.Errorf("signed in as %q after the restart", who)
	}

	if p := b.problems(); len(p) > 0 {
		t.Errorf("the browser's console reported:\n%s", strings.Join(p, "\n"))
	}
}
