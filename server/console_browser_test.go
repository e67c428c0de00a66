package server

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// shotsDir receives this run's screenshots (and diffs), to look at.
const shotsDir = "/tmp/console-shots"

// chromiumPath finds the browser: $CHROMIUM, else chromium on the PATH.
// Without one the test is skipped, except under CI (env CI set), where a
// missing browser fails the run rather than hiding the end-to-end test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is required under CI: install it (apt-get install chromium) or set CHROMIUM to its path")
	}
	t.Skip("chromium not found (set CHROMIUM or install chromium): the console's browser test needs a real headless browser")
	return ""
}

// headless starts a headless Chromium on a fresh profile, viewport
// 1366×768, and returns its context. Running as root needs --no-sandbox;
// background networking and component updates are off (no internet here).
func headless(t *testing.T) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	profile, err := os.MkdirTemp("", "sanbao-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1366, 768),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		defer ccancel()
		chromedp.Cancel(cctx)
		cancel()
		cancelAlloc()
		// Chrome's helpers may still write into the profile for a moment.
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 768)); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return ctx
}

// tab drives one browser tab against the test server, each step bounded.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu       sync.Mutex
	messages []string // CSP violations and script errors the console reported
}

// watch collects the console's messages that show a broken page: an
// uncaught exception, or a refusal by the Content Security Policy.
func (b *tab) watch() {
	msgs := chromedp.Console(b.ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Source == "security" || strings.Contains(m.Text, "Content Security Policy") {
				b.mu.Lock()
				b.messages = append(b.messages, m.String())
				b.mu.Unlock()
			}
		}
	}()
}

func (b *tab) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.messages...)
}

func (b *tab) bounded() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 20*time.Second)
}

// do runs actions that do not navigate.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.bounded()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v\n%s", what, err, b.text())
	}
}

// nav runs actions that load a page (a link, a form) and returns the
// document's response.
func (b *tab) nav(what string, actions ...chromedp.Action[chromedp.Void]) *network.Response {
	b.t.Helper()
	ctx, cancel := b.bounded()
	defer cancel()
	res, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		b.t.Fatalf("%s: %v\n%s", what, err, b.text())
	}
	return res
}

// open loads a console path and returns its status.
func (b *tab) open(path string) int64 {
	b.t.Helper()
	return b.nav("open "+path, chromedp.Navigate(b.base+path)).Status
}

// submit presses Enter in a field: the keyboard's way to send a form.
func (b *tab) submit(sel, text string) int64 {
	b.t.Helper()
	return b.nav("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text+kb.Enter)).Status
}

// click clicks a button that sends a form.
func (b *tab) click(sel string) int64 {
	b.t.Helper()
	return b.nav("click "+sel, chromedp.Click(chromedp.CSS(sel))).Status
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	ctx, cancel := b.bounded()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// text is the visible text of the page's main region ("" when it cannot be read).
// wantNoSidewaysScroll fails the test when the page is wider than the
// viewport's width (px): nothing may make a reader scroll sideways.
func (b *tab) wantNoSidewaysScroll(width int) {
	b.t.Helper()
	if w := b.eval(`String(document.documentElement.scrollWidth)`); w != strconv.Itoa(width) {
		b.t.Errorf("%s scrolls sideways at %d px: %s px wide", b.location(), width, w)
	}
}

func (b *tab) text() string {
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('main') || document.body || {innerText: ''}).innerText`))
	return s
}

func (b *tab) location() string { return b.eval(`location.pathname + location.search`) }

// focusOn waits up to two seconds for the element with id to have the
// focus (the script that moves it runs as the page loads) and returns the
// id of the element that has it.
func (b *tab) focusOn(id string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.activeElement && document.activeElement.id === `+strconv.Quote(id),
		chromedp.WithPollingInterval(20*time.Millisecond)))
	return b.eval(`document.activeElement ? document.activeElement.id : ''`)
}

// want fails unless the page shows every text.
func (b *tab) want(texts ...string) {
	b.t.Helper()
	page := b.text()
	for _, s := range texts {
		if !strings.Contains(page, s) {
			b.t.Fatalf("%s lacks %q:\n%s", b.location(), s, page)
		}
	}
}

// updateShots rewrites the reviewed screenshots the browser test compares
// against: look at every file it writes before committing them.
var updateShots = flag.Bool("update-shots", false, "rewrite testdata/shots/*.png from this run (review them before committing)")

// shot compares a full-page screenshot with its reviewed golden under
// testdata/shots, tolerantly: anti-aliasing, a blinking caret or a font
// hinting difference change a few pixels, a broken layout changes many. The
// screenshot (and, on a mismatch, a diff) is also written to shotsDir.
func (b *tab) shot(name string) {
	b.t.Helper()
	ctx, cancel := b.bounded()
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	golden := filepath.Join("testdata", "shots", name+".png")
	if *updateShots {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			b.t.Fatal(err)
		}
		return
	}
	os.MkdirAll(shotsDir, 0o755)
	os.WriteFile(filepath.Join(shotsDir, name+".png"), got, 0o644)
	want, err := os.ReadFile(golden)
	if err != nil {
		b.t.Errorf("screenshot %s has no reviewed golden (%v): run with -update-shots, look at %s, commit it", name, err, golden)
		return
	}
	if msg := compareShots(want, got, filepath.Join(shotsDir, name+".diff.png")); msg != "" {
		b.t.Errorf("screenshot %s differs from %s: %s (this run's is in %s)", name, golden, msg, shotsDir)
	}
}

// compareShots compares two PNG screenshots: same size, and at most 0.5 %
// of the pixels differing by more than a quarter of the range in a channel.
// It writes a diff (differing pixels red on a faded copy) to diffPath when
// they differ, and returns what differs ("" when they match).
func compareShots(want, got []byte, diffPath string) string {
	a, err := png.Decode(bytes.NewReader(want))
	if err != nil {
		return "golden: " + err.Error()
	}
	g, err := png.Decode(bytes.NewReader(got))
	if err != nil {
		return "screenshot: " + err.Error()
	}
	if a.Bounds().Size() != g.Bounds().Size() {
		return fmt.Sprintf("%v instead of %v", g.Bounds().Size(), a.Bounds().Size())
	}
	diff := image.NewRGBA(g.Bounds())
	differ := 0
	for y := g.Bounds().Min.Y; y < g.Bounds().Max.Y; y++ {
		for x := g.Bounds().Min.X; x < g.Bounds().Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := g.At(x, y).RGBA()
			if max(absDiff(r1, r2), absDiff(g1, g2), absDiff(b1, b2)) > 0x4000 {
				differ++
				diff.Set(x, y, color.RGBA{R: 255, A: 255})
				continue
			}
			l := uint8((r2+g2+b2)/3>>8)/4 + 192
			diff.Set(x, y, color.RGBA{R: l, G: l, B: l, A: 255})
		}
	}
	total := g.Bounds().Dx() * g.Bounds().Dy()
	if differ*200 <= total {
		return ""
	}
	var buf bytes.Buffer
	if png.Encode(&buf, diff) == nil {
		os.WriteFile(diffPath, buf.Bytes(), 0o644)
	}
	return fmt.Sprintf("%d of %d pixels (%.2f %%) differ; diff in %s", differ, total, 100*float64(differ)/float64(total), diffPath)
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestConsoleInABrowser drives the console in headless Chromium, from the
// keyboard where a person would: the warehouse defines a model, registers a
// batch from a CSV file, downloads its label sheet and dispatches it; the
// service desk scans a serial and takes a case from intake to shipment
// while the queue follows; a form without its token and a warehouse page
// opened with a service key are refused.
func TestConsoleInABrowser(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("-short: the browser test takes about 20 s")
	}
	ctx := headless(t)
	e := newEnv(t)
	// The charger's model comes through the API; the product's through
	// the console's form below.
	must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/CHG-1", Token: e.warehouse,
		Body: map[string]any{"name": "Charger 20W", "kind": "adapter"}}), http.StatusCreated)
	for _, u := range []map[string]any{{"username": "dock-1", "role": "warehouse", "password": "dock password"},
		{"username": "desk-sh", "role": "service", "password": "desk password"}} {
		must(t, e.post("/api/v1/users", e.admin, u), http.StatusCreated)
	}
	b := &tab{t: t, ctx: ctx, base: e.ts.URL}
	b.watch()

	// Signing in, typed into the focused field; English chosen with the
	// switch (?lang=en) and remembered from then on.
	b.open("/console?lang=en")
	if loc := b.location(); !strings.HasPrefix(loc, "/console/sign-in") {
		t.Fatalf("a visitor without a session is at %s", loc)
	}
	b.open("/console/sign-in?lang=en")
	if f := b.focusOn("username"); f != "username" {
		t.Fatalf("focus on %q, want the username field", f)
	}
	b.shot("01-sign-in")
	b.signIn("dock-1", "dock password")
	b.want("Register a batch")

	// A model, from the keyboard.
	b.open("/console/models")
	b.do("fill the model form",
		chromedp.SendKeys(chromedp.CSS("#m-sku"), "M1"),
		chromedp.SendKeys(chromedp.CSS("#m-name"), "IMASK Pro 智能口罩"),
		chromedp.SetValue(chromedp.CSS("#m-kind"), "product"),
		chromedp.SendKeys(chromedp.CSS("#m-gtin"), "6901234567892"))
	b.submit("#m-months", "12")
	b.want("Model M1 (IMASK Pro 智能口罩) created.", "06901234567892")
	b.shot("08-models")

	// A batch from a CSV file.
	csv := filepath.Join(t.TempDir(), "B2411.csv")
	os.WriteFile(csv, []byte("serial,sku,batch,produced_on,accessories\n"+
		"SN0001,M1,B2411,2026-10-01,CHG-1:CB2411\nSN0002,M1,B2411,2026-10-01,CHG-1:CB2411\nSN0003,M1,B2411,2026-10-01,CHG-1:CB2412\n"), 0o644)
	b.open("/console/batches")
	b.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS("#csv"), []string{csv}))
	b.click(`form[action="/console/batches"] button[type=submit]`)
	b.want("Registered 3 new serials in batch B2411.", "SN0001", "SN0003")
	if loc := b.location(); loc != "/console/batches/B2411" {
		t.Fatalf("after the upload: %s", loc)
	}

	// The label sheet, fetched by the page with its session cookie.
	head := b.evalAsync(`fetch(document.getElementById('f-labels').action + '?format=pdf').then(async r =>
		r.status + ' ' + r.headers.get('content-type') + ' ' + String.fromCharCode(...new Uint8Array(await r.arrayBuffer()).slice(0, 5)))`)
	if head != "200 application/pdf %PDF-" {
		t.Fatalf("PDF labels: %q", head)
	}

	// Dispatch of the whole batch from its page.
	b.do("fill the dispatch form", chromedp.SendKeys(chromedp.CSS("#d-order"), "SO-7781"), chromedp.SetValue(chromedp.CSS("#d-on"), "2026-11-03"))
	b.shot("03-batch")
	b.click(`form[action="/console/dispatch"] button[type=submit]`)
	b.want("Dispatched 3 serials under order SO-7781.")

	// A scanned list with a refused line: nothing is written, the lines are named.
	b.open("/console/dispatch")
	b.do("scan a list", chromedp.SendKeys(chromedp.CSS("#d-serials"), "SN0001\nSN0009\n"), chromedp.SendKeys(chromedp.CSS("#d-order"), "SO-7790"))
	if st := b.nav("send with Ctrl+Enter", chromedp.Focus(chromedp.CSS("#d-serials")),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(kb.ModifierCtrl))).Status; st != 409 && st != 422 {
		t.Fatalf("a refused dispatch list: %d", st)
	}
	b.want("2 row(s) rejected; nothing was written", "SN0001 was already dispatched on 2026-11-03", "Serial SN0009 is not registered")
	b.shot("09-dispatch-refused")
	b.open("/console/batches")
	b.shot("02-warehouse")

	// Other cases in the queue: one overdue, one due later today.
	must(t, e.do(req{Method: "POST", Path: "/api/v1/items", Token: e.warehouse, Body: map[string]any{"items": []map[string]any{
		{"serial": "SN0101", "sku": "M1", "batch": "B2410"}, {"serial": "SN0102", "sku": "M1", "batch": "B2410"}}}}), http.StatusCreated)
	must(t, e.event("SN0101", e.service, map[string]any{"type": "intake", "center": "Shanghai", "at": "2026-11-09T08:30:00+08:00", "complaint": "strap broken"}), http.StatusCreated)
	must(t, e.event("SN0102", e.service, map[string]any{"type": "intake", "center": "Beijing", "at": "2026-11-10T09:15:00+08:00"}), http.StatusCreated)

	// Sign out; the service desk signs in.
	b.click(`form.who button`)
	b.want("You are signed out.")
	b.signIn("desk-sh", "desk password")
	if loc := b.location(); loc != "/console/desk" {
		t.Fatalf("service home: %s", loc)
	}
	if f := b.focusOn("scan"); f != "scan" {
		t.Fatalf("focus on %q, want the scan field", f)
	}
	b.want("2 open cases, 1 overdue")
	b.shot("00-desk")

	// A service key cannot open the warehouse pages.
	if st := b.open("/console/batches"); st != 403 {
		t.Fatalf("service key on /console/batches: %d", st)
	}
	b.want("403", "The role Service centre may not use the warehouse pages")
	b.shot("07-forbidden")

	// Scan: the serial and Enter, as a USB scanner types it.
	b.open("/console/desk")
	b.submit("#scan", "SN0001")
	b.want("SN0001", "IMASK Pro 智能口罩", "CB2411", "Bundled accessories")
	if f := b.focusOn("scan"); f != "scan" {
		t.Fatalf("focus on %q on the item page, want the scan field", f)
	}
	// Esc brings the focus back to the scan field from anywhere.
	b.do("focus a field, then Esc", chromedp.Focus(chromedp.CSS("#c-part")), chromedp.KeyEvent(kb.Escape))
	if f := b.focusOn("scan"); f != "scan" {
		t.Fatalf("focus on %q after Esc", f)
	}

	// Receipt, intake, diagnosis, free repair, shipment.
	b.do("open the receipt form", chromedp.Click(chromedp.CSS("#a-received > summary")), chromedp.SetValue(chromedp.CSS("#f-received-on"), "2026-11-05"))
	b.click("#f-received button[type=submit]")
	b.want("Receipt recorded (event #2).")
	b.do("describe the intake", chromedp.SendKeys(chromedp.CSS("#f-intake-complaint"), "不开机 / does not power on"),
		chromedp.SendKeys(chromedp.CSS("#f-intake-contact"), "Ms Li 138 0013 8000"))
	b.submit("#f-intake-center", "Shanghai")
	b.want("Intake recorded (event #3). Case SN0001 #3 is due 2026-11-11 10:00.")
	b.do("choose the finding", chromedp.SetValue(chromedp.CSS("#f-diagnosed-finding"), "quality_problem"))
	b.submit("#f-diagnosed-part", "battery")
	b.want("Diagnosis recorded (event #4).")

	// The entitlement panel for the diagnosis on record.
	b.do("ask about the claim", chromedp.Click(chromedp.CSS("#c-intact")), chromedp.Click(chromedp.CSS("#c-complete")))
	b.click("#f-claim button[type=submit]")
	b.want("In warranty", "Return (refund)", "Replacement", "Free repair", "day 5 of 7")
	b.do("the answer comes into view", chromedp.Poll[chromedp.Void](`document.getElementById('verdict').getBoundingClientRect().top < innerHeight`,
		chromedp.WithPollingTimeout(3*time.Second)))
	if f := b.focusOn("scan"); f != "scan" {
		t.Errorf("focus on %q with the entitlement answer, want the scan field", f)
	}

	// The queue shows the case, soonest due first, the overdue one marked.
	b.open("/console/queue")
	b.want("SN0101", "SN0102", "SN0001", "overdue by")
	if got := b.eval(`[...document.querySelectorAll('table.queue tbody tr')].map(r => r.querySelector('a').textContent + (r.classList.contains('overdue') ? '!' : '')).join(' ')`); got != "SN0101! SN0102 SN0001" {
		t.Fatalf("queue order %q", got)
	}
	b.shot("05-queue")
	b.nav("follow the queue to the item", chromedp.Click(chromedp.CSS(`table.queue a[href="/console/items/SN0001"]`)))

	// Repair (the form the desk opens next) and shipment.
	b.submit("#f-repaired-parts", "battery")
	b.want("Repair recorded (event #5).")
	b.shot("04-desk-item")
	b.submit("#f-shipped-tracking", "SF1234567890")
	b.want("Shipped back recorded (event #6). The case is closed.", "SF1234567890", "Free repairs\n1")
	b.open("/console/queue")
	b.want("SN0101", "SN0102")
	if strings.Contains(b.text(), "SN0001") {
		t.Fatal("the shipped case is still in the queue")
	}

	// A form whose token was taken out is refused, and nothing is written.
	b.open("/console/items/SN0102")
	b.do("remove the token", chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-diagnosed input[name=csrf]').remove()`),
		chromedp.SetValue(chromedp.CSS("#f-diagnosed-finding"), "no_fault"))
	if st := b.click("#f-diagnosed button[type=submit]"); st != 403 {
		t.Fatalf("a form without its token: %d", st)
	}
	b.want("security token is missing or stale")
	rec, err := e.db.Get("SN0102")
	if err != nil || len(rec.History) != 1 {
		t.Fatalf("SN0102 after a refused form: %+v %v", rec.History, err)
	}

	// The desk on a tablet, portrait.
	b.open("/console/items/SN0001")
	b.do("tablet viewport", chromedp.EmulateViewport(820, 1180))
	b.wantNoSidewaysScroll(820)
	b.shot("06-desk-tablet")
	b.do("desk viewport", chromedp.EmulateViewport(1366, 768))
	b.wantNoSidewaysScroll(1366)

	// The browser reported no CSP violation and no script error on the way.
	if p := b.problems(); len(p) > 0 {
		t.Errorf("the browser's console reported:\n%s", strings.Join(p, "\n"))
	}
}

// signIn types a username and password into the sign-in form, Enter sends it.
func (b *tab) signIn(username, password string) int64 {
	b.t.Helper()
	b.do("type the username", chromedp.Evaluate[chromedp.Void](`document.getElementById('username').value = ''`),
		chromedp.SendKeys(chromedp.CSS("#username"), username))
	return b.submit("#password", password)
}

// evalAsync evaluates a promise and returns its string value.
func (b *tab) evalAsync(js string) string {
	b.t.Helper()
	ctx, cancel := b.bounded()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		var ee *chromedp.ExceptionError
		if errors.As(err, &ee) {
			b.t.Fatalf("%s: %v", js, ee)
		}
		b.t.Fatalf("%s: %v", js, err)
	}
	return v
}
