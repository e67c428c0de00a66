package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// qualityFixture fills a registry as a quality team sees it: model M1 in
// batches B2409 (400 units received in July, 4 quality cases), B2410 (200
// in August, 3) and B2411 (60 in September, 6: flagged, as 60 units at
// M1's rate of 13 in 660 expect 1.18 cases and P(X ≥ 6) = 0.0014), each
// product with a charger of batch CB24xx; findings and parts on the cases.
func qualityFixture(t *testing.T, e *env) {
	t.Helper()
	a := registry.Actor{Name: "test"}
	must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/M1", Token: e.warehouse,
		Body: map[string]any{"name": "IMASK Pro 智能口罩", "kind": "product"}}), http.StatusCreated)
	must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/CHG-1", Token: e.warehouse,
		Body: map[string]any{"name": "Charger 20W 充电器", "kind": "adapter"}}), http.StatusCreated)
	parts := []string{"滤网 filter", "风扇 fan", "电池 battery"}
	for _, b := range []struct {
		batch, received string
		n, cases        int
	}{{"B2409", "2026-07-15", 400, 4}, {"B2410", "2026-08-20", 200, 3}, {"B2411", "2026-09-25", 60, 6}} {
		var rows []registry.Row
		var evs []registry.EventRow
		on, _ := policy.ParseDate(b.received)
		for i := range b.n {
			s := fmt.Sprintf("%s-%04d", b.batch, i)
			rows = append(rows, registry.Row{Serial: s, SKU: "M1", Batch: b.batch, Accessories: []registry.Bundle{{SKU: "CHG-1", Batch: "C" + b.batch}}})
			evs = append(evs, registry.EventRow{Serial: s, Event: policy.Event{Type: policy.EvReceived, On: on, Evidence: policy.Courier}})
		}
		if _, err := e.db.Register(a, rows); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.AppendMany(registry.Write{Actor: a}, evs); err != nil {
			t.Fatal(err)
		}
		for i := range b.cases + 1 {
			s := fmt.Sprintf("%s-%04d", b.batch, i)
			at := e.clock.Now().Add(-time.Duration(48+i) * time.Hour)
			finding := policy.QualityProblem
			if i == b.cases {
				finding = policy.NoFault // one visit more, nothing found
			}
			steps := []policy.Event{
				{Type: policy.EvIntake, At: at, Center: "上海服务网点"},
				{Type: policy.EvDiagnosed, At: at.Add(time.Hour), Finding: finding},
			}
			if finding == policy.QualityProblem {
				steps = append(steps, policy.Event{Type: policy.EvRepaired, At: at.Add(2 * time.Hour), Parts: []string{parts[i%len(parts)]}},
					policy.Event{Type: policy.EvShipped, At: at.Add(3 * time.Hour), Tracking: "SF" + s})
			}
			for _, ev := range steps {
				if _, err := e.db.Append(registry.Write{Actor: a}, s, ev); err != nil {
					t.Fatalf("%s %s: %v", s, ev.Type, err)
				}
			}
		}
	}
}

// TestQualityPageInABrowser: the warehouse opens Quality from the nav, in
// Chinese and in English: rates by batch with B2411 flagged in the chart
// and the table, the monthly trend, the findings and parts, every chart an
// inline SVG the strict CSP allows (no violation, no script), readable at
// 1366×768 without sideways scrolling, and at 390 px on a phone.
func TestQualityPageInABrowser(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("-short: the browser test takes about 10 s")
	}
	ctx := headless(t)
	e := newEnv(t)
	qualityFixture(t, e)
	must(t, e.post("/api/v1/users", e.admin, map[string]any{"username": "qa", "name": "质量部 周工", "role": "warehouse", "password": "quality password 1"}), http.StatusCreated)
	b := &tab{t: t, ctx: ctx, base: e.ts.URL}
	b.watch()

	b.open("/console/sign-in?lang=zh")
	b.signIn("qa", "quality password 1")
	b.click(`nav a[href="/console/quality"]`)
	if loc := b.location(); loc != "/console/quality" {
		t.Fatalf("the nav's Quality link led to %s", loc)
	}
	b.want("质量分析", "各批次故障率", "1 个批次异常", "月度趋势", "主要检测结论", "更换最多的配件", "滤网 filter", "质量问题")
	// The table beside the chart: B2411 flagged, 6 cases in 60 = 100.00 per 1,000.
	if row := b.eval(`document.querySelector('table.quality tr.flagged').innerText.replace(/\s+/g, ' ').trim()`); row != "B2411 异常 60 60 6 6 6 0 0 100.00" {
		t.Errorf("flagged row %q", row)
	}
	if n := b.eval(`String(document.querySelectorAll('svg.chart .bar.flagged').length)`); n != "1" {
		t.Errorf("%s flagged bars, want 1 (B2411)", n)
	}
	// One bar per batch (B2409, B2410, B2411 and the chargers' three) and one per month.
	if n := b.eval(`String(document.querySelectorAll('section[aria-labelledby="batch-h"] svg .bar').length)`); n != "6" {
		t.Errorf("%s batch bars, want 6", n)
	}
	if n := b.eval(`String(document.querySelectorAll('section[aria-labelledby="trend-h"] svg .bar').length)`); n != "3" {
		t.Errorf("%s month bars, want 3 (July, August, September)", n)
	}
	b.wantNoSidewaysScroll(1366)
	b.shot("quality-zh-1366")

	b.open("/console/quality?lang=en")
	b.want("Rates by batch", "1 FLAGGED", "Monthly trend", "Top findings", "Quality problem", "Top parts replaced")
	if bottom, _ := strconv.Atoi(b.eval(`String(Math.round(document.querySelector('section[aria-labelledby="batch-h"] figure').getBoundingClientRect().bottom))`)); bottom > 768 {
		t.Errorf("the batch chart ends at %d px, below the fold of 768", bottom)
	}
	// Every column of the batch table is in view at 1366 px: no scrolling inside it.
	if d := b.eval(`(() => { const s = document.querySelector('section[aria-labelledby="batch-h"] .scroll'); return String(s.scrollWidth - s.clientWidth) })()`); d != "0" {
		t.Errorf("the batch table scrolls sideways by %s px at 1366", d)
	}
	b.shot("quality-en-1366")

	// A month range with nothing in it, and one the wrong way round.
	b.open("/console/quality?lang=en&from=2026-10&to=2026-11")
	b.want("No units in this range.")
	b.open("/console/quality?lang=en&from=2026-11&to=2026-10")
	b.want("from (2026-11) is after to (2026-10)")

	b.do("phone viewport", chromedp.EmulateViewport(390, 844))
	b.open("/console/quality?lang=zh")
	b.wantNoSidewaysScroll(390)
	// Every chart's 12-unit text is drawn at 9 px or more on the phone.
	var sizes []float64
	if err := json.Unmarshal([]byte(b.eval(`JSON.stringify([...document.querySelectorAll('svg.chart')].map(s => 12 * s.getBoundingClientRect().width / s.viewBox.baseVal.width))`)), &sizes); err != nil || len(sizes) != 4 {
		t.Fatalf("chart text sizes %v (%v), want four charts", sizes, err)
	}
	for i, px := range sizes {
		if px < 9 {
			t.Errorf("chart %d draws its text at %.1f px on a phone, under 9", i+1, px)
		}
	}
	b.shot("quality-zh-390")
	if p := b.problems(); len(p) > 0 {
		t.Errorf("the browser reported:\n%s", strings.Join(p, "\n"))
	}
}
