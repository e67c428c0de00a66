package server

import (
	"net/http"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/sanbao/sanbao/policy"
)

// TestNoticesInABrowser opens pages with batch notices in headless
// Chromium: the public page of a product whose bundled charger is recalled
// (390 px, Chinese and English; 1366 px in Chinese) and of one under an advisory, each with one
// h1, 44-pixel tap targets and AA contrast; then, signed in as an admin,
// the desk of the recalled product and the batch page with its notice form.
// Screenshots are compared with reviewed goldens (testdata/shots/notice-*.png).
func TestNoticesInABrowser(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("-short: the browser test takes about 10 s")
	}
	ctx := headless(t)
	p := policy.Default()
	p.Contact.Hours = "9:00–21:00"
	e := newPublicEnv(t, func(c *Config) { c.Policy = p })
	e.putNotice("CB2411", map[string]any{"severity": "recall", "since": "2026-11-08",
		"text":    "该批次随机充电器（CB2411）在高温环境下可能过热。请立即停止使用该充电器，并联系客服免费更换。",
		"text_en": "Chargers of batch CB2411 may overheat in hot conditions. Stop using the charger now and call us for a free replacement."})
	e.putNotice("B1", map[string]any{"severity": "advisory", "since": "2026-11-01",
		"text": "请使用随机附带的原装充电器充电，以免影响电池寿命。", "text_en": "Charge only with the original charger in the box to keep the battery healthy."})
	must(t, e.post("/api/v1/users", e.admin, map[string]any{"username": "lead", "name": "Wang Fang", "role": "admin", "password": "lead's long password"}), http.StatusCreated)

	b := &tab{t: t, ctx: ctx, base: e.ts.URL}
	b.watch()
	view := func(w, h int64) { b.do("viewport", chromedp.EmulateViewport(w, h)) }
	page := func(serial, lang string) string {
		return "/c/" + serial + "?k=" + e.checkCode(serial) + "&lang=" + lang
	}

	view(390, 844)
	for _, tc := range []struct {
		serial, lang, shot string
		want               []string
	}{
		{"S-ACT", "zh", "notice-01-recall-zh-390", []string{"召回通知", "请立即停止使用该充电器", "生效日期：2026年11月8日", "致电客服 400-668-9229"}},
		{"S-ACT", "en", "notice-02-recall-en-390", []string{"Recall notice", "Stop using the charger now", "In effect from 8 Nov 2026", "Call customer service 400-668-9229"}},
		{"S-FIX", "zh", "notice-03-advisory-zh-390", []string{"质量提示", "请使用随机附带的原装充电器充电", "生效日期：2026年11月1日"}},
	} {
		if st := b.open(page(tc.serial, tc.lang)); st != http.StatusOK {
			t.Fatalf("%s %s: %d", tc.serial, tc.lang, st)
		}
		b.want(tc.want...)
		// The banner comes first: above the status.
		if above := b.eval(`String(document.querySelector('.banner').getBoundingClientRect().bottom <= document.querySelector('.status').getBoundingClientRect().top)`); above != "true" {
			t.Errorf("%s: the notice is not above the status", tc.shot)
		}
		b.checkPublicPage(tc.shot, 390)
		b.shot(tc.shot)
	}

	view(1366, 900)
	b.open(page("S-ACT", "zh"))
	b.want("召回通知", "请立即停止使用该充电器")
	b.checkPublicPage("notice-recall-zh-1366", 1366)
	b.shot("notice-07-recall-zh-1366")
	b.open("/console/sign-in?lang=zh")
	b.signIn("lead", "lead's long password")
	b.open("/console/items/S-ACT")
	b.want("召回通知", "随机配件批次 CB2411", "自 2026-11-08 起生效", "请立即停止使用该充电器")
	b.shot("notice-04-desk-zh-1366")
	b.open("/console/batches/B1?lang=en")
	b.want("Batch notice", "Advisory", "Charge only with the original charger", "Update notice · Clear notice")
	b.shot("notice-05-batch-en-1366")
	b.do("open the notice form", chromedp.Click("#notice summary"))
	if f := b.eval(`document.querySelector('#n-text').value`); f != "请使用随机附带的原装充电器充电，以免影响电池寿命。" {
		t.Errorf("the form does not hold the notice's text: %q", f)
	}
	b.shot("notice-06-batch-form-en-1366")
	// The list of batches marks the batches under a notice.
	b.open("/console/batches?lang=zh")
	b.want("召回通知", "质量提示")
	b.shot("notice-08-batches-zh-1366")
}
