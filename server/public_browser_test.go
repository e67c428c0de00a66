package server

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/sanbao/sanbao/policy"
)

// a11yScript checks the page as WCAG 2.1 AA asks of it, from the computed
// styles: exactly one <h1>; every link, button and field at least 44×44 CSS
// pixels; every piece of visible text at a contrast of at least 4.5:1
// against the background it is drawn on (alpha layers blended over white).
// It answers the problems found, as a JSON list.
const a11yScript = `(() => {
  const problems = [];
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(h1 + ' h1 elements');
  for (const el of document.querySelectorAll('a, button, input:not([type=hidden]), select, textarea')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.height < 44 || r.width < 44) problems.push('tap target "' + (el.id || el.textContent.trim().slice(0, 30)) + '" ' + Math.round(r.width) + 'x' + Math.round(r.height));
  }
  const parse = s => { const m = s.match(/[\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
  const over = (c, base) => ({r: c.r * c.a + base.r * (1 - c.a), g: c.g * c.a + base.g * (1 - c.a), b: c.b * c.a + base.b * (1 - c.a)});
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let base = {r: 255, g: 255, b: 255};
    for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
    return base;
  };
  const seen = new Set();
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let checked = 0;
  while (walk.nextNode()) {
    const n = walk.currentNode, el = n.parentElement;
    if (!n.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    const st = getComputedStyle(el), r = el.getBoundingClientRect();
    if (st.visibility === 'hidden' || st.display === 'none' || r.width === 0) continue;
    const bg = background(el), fg = over(parse(st.color), bg);
    const a = lum(fg), b = lum(bg), ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    checked++;
    if (ratio < 4.5) problems.push('contrast ' + ratio.toFixed(2) + ':1 "' + n.textContent.trim().slice(0, 30) + '"');
  }
  if (checked < 5) problems.push('only ' + checked + ' texts checked');
  return JSON.stringify(problems);
})()`

// layoutScript measures how the page uses its width: the main column's
// width, and whether its two columns sit side by side.
const layoutScript = `(() => {
  const main = document.querySelector('main').getBoundingClientRect();
  const cols = [...document.querySelectorAll('.col')].map(c => c.getBoundingClientRect());
  const side = cols.length === 2 && cols[1].left >= cols[0].right;
  return JSON.stringify({main: Math.round(main.width), side: side, scroll: document.documentElement.scrollWidth});
})()`

// check runs the accessibility and layout checks on the open page at
// viewport width w.
func (b *tab) checkPublicPage(name string, w int) {
	b.t.Helper()
	var problems []string
	if err := json.Unmarshal([]byte(b.eval(a11yScript)), &problems); err != nil {
		b.t.Fatal(err)
	}
	for _, p := range problems {
		b.t.Errorf("%s at %d px: %s", name, w, p)
	}
	var l struct {
		Main   int  `json:"main"`
		Side   bool `json:"side"`
		Scroll int  `json:"scroll"`
	}
	if err := json.Unmarshal([]byte(b.eval(layoutScript)), &l); err != nil {
		b.t.Fatal(err)
	}
	if l.Scroll > w {
		b.t.Errorf("%s at %d px: the page scrolls sideways (%d px wide)", name, w, l.Scroll)
	}
	if w >= 1366 && (l.Main < 1000 || !l.Side) {
		b.t.Errorf("%s at %d px: main is %d px wide, columns side by side %v: the desk view must use its width", name, w, l.Main, l.Side)
	}
}

// wantBar fails unless the contact bar shows every text.
func (b *tab) wantBar(texts ...string) {
	b.t.Helper()
	bar := b.eval(`(document.querySelector('.contact-bar') || {innerText: ''}).innerText.replace(/\s+/g, ' ')`)
	for _, s := range texts {
		if !strings.Contains(bar, s) {
			b.t.Errorf("%s: the contact bar lacks %q: %q", b.location(), s, bar)
		}
	}
}

// TestPublicPageInABrowser opens the customer's page in headless Chromium,
// as a phone (390 px) and a desk (1366 px), in Chinese and English: unboxing
// day (dispatched, no receipt: scan, confirm receipt, the return window
// from that date), a unit in repair, expired, void, not found and rate
// limited. Every page has one h1, 44-pixel tap targets and AA contrast; the
// desk view uses its width. Screenshots are compared with reviewed goldens
// (testdata/shots/public-*.png).
func TestPublicPageInABrowser(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("-short: the browser test takes about 30 s")
	}
	ctx := headless(t)
	p := policy.Default()
	p.Contact.Hours = "9:00–21:00"
	p.Contact.Web = "https://www.imask.com.cn"
	e := newPublicEnv(t, func(c *Config) { c.Policy = p })
	e.seedDispatched("S-BOX", "2026-11-08", policy.Direct)
	e.seedDispatched("S-BOX-EN", "2026-11-08", policy.Direct)
	e.seedInRepair("S-REP")
	must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M1", Token: e.warehouse,
		Body: map[string]any{"name": "IMASK 智能口罩 Pro", "name_en": "IMASK Smart Mask Pro", "kind": "product", "gtin": testGTIN}}), http.StatusOK)
	b := &tab{t: t, ctx: ctx, base: e.ts.URL}
	b.watch()
	widths := []int{390, 1366}
	view := func(w int) {
		b.do("viewport", chromedp.EmulateViewport(int64(w), map[int]int64{390: 844, 1366: 900}[w]))
	}
	page := func(serial, lang string) string {
		return "/c/" + serial + "?k=" + e.checkCode(serial) + "&lang=" + lang
	}

	// Unboxing day, in each language: the page says what may be done today
	// and offers to confirm receipt; confirmed, the windows run from that date.
	for _, tc := range []struct {
		serial, lang string
		before       []string
		after        []string
	}{
		{"S-BOX", "zh", []string{"今天可 7天无理由退货（剩 5 天）", "确认收货", "尚无签收记录，按发货日期起算", "IMASK 智能口罩 Pro"},
			[]string{"今天可 7天无理由退货（剩 6 天）", "保修起始：2026年11月9日（您确认的收货日期）", "至 2027年11月9日"}},
		{"S-BOX-EN", "en", []string{"Today: 7-day return, no reason needed (5 days left)", "Confirm your receipt", "IMASK Smart Mask Pro"},
			[]string{"Today: 7-day return, no reason needed (6 days left)", "Warranty start: 9 Nov 2026 (receipt date you confirmed)", "until 9 Nov 2027"}},
	} {
		for _, w := range widths {
			view(w)
			if st := b.open(page(tc.serial, tc.lang)); st != http.StatusOK {
				t.Fatalf("%s: %d", tc.serial, st)
			}
			b.want(tc.before...)
			b.wantBar(map[string][]string{"zh": {"客服电话 400-668-9229", "服务时间 9:00–21:00", "邮箱 service@imask.com.cn", "网站 www.imask.com.cn"},
				"en": {"Call 400-668-9229", "Hours 9:00–21:00", "Email service@imask.com.cn"}}[tc.lang]...)
			b.checkPublicPage("unboxing "+tc.lang, w)
			b.shot("public-01-unboxing-" + tc.lang + "-" + strconv.Itoa(w))
		}
		b.do("pick the date received", chromedp.SetValue(chromedp.CSS("#on"), "2026-11-09"))
		if st := b.click(`form[action$="/receipt"] button[type=submit]`); st != http.StatusOK {
			t.Fatalf("confirming receipt: %d", st)
		}
		b.want(tc.after...)
		if loc := b.location(); loc != "/c/"+tc.serial+"?k="+e.checkCode(tc.serial)+"&lang="+tc.lang {
			t.Errorf("after confirming: at %s", loc)
		}
		if n := b.eval(`String(document.querySelectorAll('form[action$="/receipt"]').length)`); n != "0" {
			t.Errorf("the confirmation form is still offered")
		}
		for _, w := range widths {
			view(w)
			b.open(page(tc.serial, tc.lang))
			b.checkPublicPage("confirmed "+tc.lang, w)
			b.shot("public-02-confirmed-" + tc.lang + "-" + strconv.Itoa(w))
		}
	}

	for _, tc := range []struct {
		name, path string
		status     int64
		zh, en     []string
	}{
		{"in-repair", "S-REP", 200, []string{"维修中", "已检测完毕，待处理", "承诺 2026年11月10日 11:00（北京时间） 前处理完毕", "保修期内免费维修的天数顺延保修期。"},
			[]string{"In repair", "Checked: next step pending", "Due back by 10 Nov 2026, 11:00 (Beijing time)", "Days spent in a free repair are added to your warranty."}},
		{"expired", "S-OLD", 200, []string{"已过保修期", "保修已于 2026年6月1日 结束"}, []string{"Warranty expired", "The warranty ended on 1 Jun 2026."}},
		{"void", "S-VOID", 200, []string{"保修已失效", "可提供付费维修"}, []string{"Warranty void", "Paid repair is available."}},
	} {
		for _, lang := range []string{"zh", "en"} {
			want := tc.zh
			if lang == "en" {
				want = tc.en
			}
			for _, w := range widths {
				view(w)
				if st := b.open(page(tc.path, lang)); st != tc.status {
					t.Fatalf("%s %s: %d", tc.name, lang, st)
				}
				b.want(want...)
				b.checkPublicPage(tc.name+" "+lang, w)
				b.shot("public-03-" + tc.name + "-" + lang + "-" + strconv.Itoa(w))
			}
		}
	}

	// The terms, opened from the coverage page's link: exclusions beside the
	// return conditions on a desk, and a way back.
	for _, lang := range []string{"zh", "en"} {
		for _, w := range widths {
			view(w)
			b.open(page("S-REP", lang))
			if st := b.click(`.terms a`); st != http.StatusOK {
				t.Fatalf("terms %s: %d", lang, st)
			}
			b.want(map[string][]string{
				"zh": {"保修范围与退货条件", "以下情况不在免费保修范围内", "人为损坏，例如摔落、进水、挤压、划伤", "退货与付费维修", "返回查询结果"},
				"en": {"Warranty exclusions and return conditions", "Not covered by the free warranty", "Returns and paid repair", "Back to the coverage page"},
			}[lang]...)
			b.wantBar("400-668-9229", "service@imask.com.cn")
			if back := b.eval(`document.querySelector('main a').getAttribute('href')`); back != page("S-REP", lang) {
				t.Errorf("terms %s: the way back goes to %q", lang, back)
			}
			b.checkPublicPage("terms "+lang, w)
			b.shot("public-07-terms-" + lang + "-" + strconv.Itoa(w))
		}
	}

	// Not found keeps what was typed and offers the form to retry.
	for _, lang := range []string{"zh", "en"} {
		for _, w := range widths {
			view(w)
			if st := b.open("/c/S-NONE?k=ABCD2345&lang=" + lang); st != http.StatusNotFound {
				t.Fatalf("not found: %d", st)
			}
			b.want(map[string]string{"zh": "查询不到这件商品", "en": "No item with this serial and code"}[lang])
			b.wantBar("400-668-9229", "service@imask.com.cn")
			if v := b.eval(`document.getElementById('serial').value + ' ' + document.getElementById('k').value`); v != "S-NONE ABCD2345" {
				t.Errorf("not found: the form holds %q, want what was asked", v)
			}
			b.checkPublicPage("not found "+lang, w)
			b.shot("public-04-not-found-" + lang + "-" + strconv.Itoa(w))
		}
	}

	// Rate limited, on a server of its own with a small burst.
	lim := newEnv(t, func(c *Config) { c.Policy, c.PublicRate, c.PublicBurst = p, 0.001, 2 })
	lim.seedPublic()
	lb := &tab{t: t, ctx: ctx, base: lim.ts.URL}
	asked := "/c/S-ACT?k=" + lim.checkCode("S-ACT")
	// (Each URL differs: the browser may reuse a page it has for a minute.)
	lb.open(asked + "&n=1")
	lb.open(asked + "&n=2")
	for _, lang := range []string{"zh", "en"} {
		for _, w := range widths {
			view(w)
			url := asked + "&lang=" + lang + "&w=" + strconv.Itoa(w)
			if st := lb.open(url); st != http.StatusTooManyRequests {
				t.Fatalf("rate limited: %d", st)
			}
			lb.want(map[string]string{"zh": "查询过于频繁", "en": "Too many checks"}[lang])
			lb.wantBar("400-668-9229", "service@imask.com.cn")
			if v := lb.eval(`document.getElementById('serial').value`); v != "S-ACT" {
				t.Errorf("rate limited: the form holds serial %q", v)
			}
			if href := lb.eval(`document.querySelector('.status a.button').getAttribute('href')`); href != url {
				t.Errorf("rate limited: retry goes to %q", href)
			}
			lb.checkPublicPage("rate limited "+lang, w)
			lb.shot("public-05-rate-limited-" + lang + "-" + strconv.Itoa(w))
		}
	}

	// The form itself.
	for _, w := range widths {
		view(w)
		b.open("/c?lang=zh")
		b.checkPublicPage("form", w)
		b.shot("public-06-form-zh-" + strconv.Itoa(w))
	}
	if msgs := b.problems(); len(msgs) > 0 {
		t.Errorf("the browser reported: %s", strings.Join(msgs, "\n"))
	}
}
