package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sanbao/sanbao/labels"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// testGTIN is M1's GTIN (EAN-13 4006381333931 padded to 14 digits).
const testGTIN = "04006381333931"

var testActor = registry.Actor{Name: "test"}

// at is an instant on testNow's day (or another) in China Standard Time.
func cstAt(day, hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hhmm, cst)
	if err != nil {
		panic(err)
	}
	return t
}

func mustDate(s string) policy.Date {
	d, err := policy.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// seedPublic registers one serial in each warranty situation the public
// page words differently, writing straight to the registry:
//
//	S-NEW    not_started, nothing known        S-SOON   not_started, estimated start ahead
//	S-ACT    active (courier), with a charger  S-EST    active, estimated from production
//	S-OLD    expired                           S-FIX    active, one free repair
//	S-VOID   void (tampered)                   S-RET    retired: replaced by S-RET2 (exchange basis)
//	S-REF    retired: returned                 L-1      a model without a GTIN
func (e *env) seedPublic() {
	e.t.Helper()
	for _, m := range []policy.Model{
		{SKU: "M1", Name: "IMASK Pro", Kind: policy.KindProduct, GTIN: testGTIN},
		{SKU: "M2", Name: "IMASK Lite", Kind: policy.KindProduct},
		{SKU: "CHG-1", Name: "Charger 20W", Kind: policy.KindAdapter},
	} {
		if _, _, err := e.db.PutModel(testActor, m); err != nil {
			e.t.Fatal(err)
		}
	}
	row := func(serial, sku, produced string) registry.Row {
		r := registry.Row{Serial: serial, SKU: sku, Batch: "B1"}
		if produced != "" {
			r.ProducedOn = mustDate(produced)
		}
		return r
	}
	act := row("S-ACT", "M1", "2026-10-01")
	act.Accessories = []registry.Bundle{{SKU: "CHG-1", Batch: "CB2411"}}
	rows := []registry.Row{row("S-NEW", "M1", ""), row("S-SOON", "M1", "2026-10-01"), act,
		row("S-EST", "M1", "2026-01-10"), row("S-OLD", "M1", "2025-05-01"), row("S-FIX", "M1", "2026-10-01"),
		row("S-VOID", "M1", "2026-10-01"), row("S-RET", "M1", "2026-10-01"), row("S-RET2", "M1", ""),
		row("S-REF", "M1", "2026-10-01"), row("L-1", "M2", "2026-10-01")}
	if _, err := e.db.Register(testActor, rows); err != nil {
		e.t.Fatal(err)
	}
	received := func(on string, ev policy.Evidence) policy.Event {
		return policy.Event{Type: policy.EvReceived, On: mustDate(on), Evidence: ev}
	}
	intake := policy.Event{Type: policy.EvIntake, At: cstAt("2026-11-06", "09:00"), Center: "SH-1", Complaint: "does not charge"}
	diagnosed := func(f policy.Finding) policy.Event {
		return policy.Event{Type: policy.EvDiagnosed, At: cstAt("2026-11-06", "11:00"), Finding: f}
	}
	for serial, evs := range map[string][]policy.Event{
		"S-ACT":  {received("2026-11-05", policy.Courier)},
		"S-OLD":  {received("2025-06-01", policy.Invoice)},
		"S-FIX":  {received("2026-11-01", policy.Courier), intake, diagnosed(policy.QualityProblem), {Type: policy.EvRepaired, At: cstAt("2026-11-07", "10:00"), Parts: []string{"battery"}}, {Type: policy.EvShipped, At: cstAt("2026-11-07", "15:00"), Tracking: "SF1"}},
		"S-VOID": {received("2026-11-05", policy.Courier), intake, diagnosed(policy.Tampered)},
		"S-RET":  {received("2026-11-05", policy.Courier), intake, diagnosed(policy.QualityProblem), {Type: policy.EvReplaced, At: cstAt("2026-11-06", "15:00"), NewSerial: "S-RET2"}},
		"S-REF":  {received("2026-11-05", policy.Courier), intake, diagnosed(policy.NoFault), {Type: policy.EvReturned, At: cstAt("2026-11-06", "15:00"), Amount: "999.00", Currency: "CNY"}},
		"L-1":    {received("2026-11-05", policy.Customer)},
	} {
		for _, ev := range evs {
			if _, err := e.db.Append(registry.Write{Actor: testActor}, serial, ev); err != nil {
				e.t.Fatalf("%s %s: %v", serial, ev.Type, err)
			}
		}
	}
}

// newPublicEnv is an env with the public routes unlimited (a test's many
// requests all come from 127.0.0.1 at one instant) and seedPublic's items.
func newPublicEnv(t *testing.T, mod ...func(*Config)) *env {
	e := newEnv(t, append([]func(*Config){func(c *Config) { c.PublicRate = -1 }}, mod...)...)
	e.seedPublic()
	return e
}

// checkCode is serial's check code.
func (e *env) checkCode(serial string) string {
	return labels.CheckCode(e.db.CheckSecrets()[0], serial)
}

// wrongCode is a well-formed code that is not serial's.
func (e *env) wrongCheckCode(serial string) string {
	c := []byte(e.checkCode(serial))
	if c[0] == 'A' {
		c[0] = 'B'
	} else {
		c[0] = 'A'
	}
	return string(c)
}

// fetch GETs path like a browser (redirects not followed) and validates the
// answer against openapi.json: JSON and successful answers with checkShape,
// HTML error pages by their status being documented as text/html.
func (e *env) publicGet(path string, header map[string]string) response {
	e.t.Helper()
	hr, err := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		hr.Header.Set(k, v)
	}
	client := *e.ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := response{Status: res.StatusCode, Header: res.Header, Body: b}
	if out.Status >= 400 && strings.HasPrefix(out.Header.Get("Content-Type"), "text/html") {
		checkHTMLDocumented(e.t, hr, out.Status)
	} else {
		checkShape(e.t, hr, out)
	}
	return out
}

func checkHTMLDocumented(t testing.TB, hr *http.Request, status int) {
	t.Helper()
	router, err := openapiRouter()
	if err != nil {
		t.Fatal(err)
	}
	route, _, err := router.FindRoute(hr)
	if err != nil {
		t.Fatalf("%s: not in openapi.json: %v", hr.URL.Path, err)
	}
	r := route.Operation.Responses.Status(status)
	if r == nil || r.Value == nil || r.Value.Content.Get("text/html") == nil {
		t.Errorf("%s %s: HTML answer %d is not documented in openapi.json", hr.Method, route.Path, status)
	}
}

// page GETs an HTML page in language lang (an Accept-Language value).
func (e *env) publicPage(path, lang string) response {
	e.t.Helper()
	return e.publicGet(path, map[string]string{"Accept-Language": lang})
}

func (e *env) publicJSON(serial, code string) response {
	e.t.Helper()
	return e.publicGet("/api/v1/public/coverage?serial="+serial+"&k="+code, nil)
}

func wantInBody(t *testing.T, r response, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(string(r.Body), w) {
			t.Errorf("page lacks %q:\n%s", w, mainPart(r.Body))
		}
	}
}

func wantNotInBody(t *testing.T, r response, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(string(r.Body), w) {
			t.Errorf("page shows %q:\n%s", w, mainPart(r.Body))
		}
	}
}

// mainPart is a page without its head (the stylesheet), for failure messages.
func mainPart(b []byte) string {
	s := string(b)
	if _, after, ok := strings.Cut(s, "</head>"); ok {
		return after
	}
	return s
}

func TestPublicCoverageOfEveryStatus(t *testing.T) {
	e := newPublicEnv(t)
	type want struct {
		status, basis          string
		warranty, ret, replace string // "" = null
		daysLeft, repairs      int
		zh, en                 []string // on the page
		zhAbsent               []string
	}
	for _, tc := range []struct {
		name, serial string
		want         want
	}{
		{"no receipt and no production date: not started, no dates", "S-NEW", want{status: "not_started",
			zh: []string{"保修尚未开始", "保修自您收到商品之日起计算"}, en: []string{"Warranty not started", "The warranty starts on the day you receive the item."},
			zhAbsent: []string{"重要日期"}}},
		{"estimated start still ahead: active on the estimate, never not started", "S-SOON", want{status: "active", basis: "estimated",
			warranty: "2027-12-30", daysLeft: 415,
			zh: []string{"在保修期内", "免费保修至 2027年12月30日，还剩 415 天", "没有收货记录时，保修起始按生产日期推算"},
			en: []string{"Free repair until 30 Dec 2027 · 415 days left"}, zhAbsent: []string{"保修尚未开始"}}},
		{"received by courier five days ago: active with both windows open", "S-ACT", want{status: "active", basis: "courier",
			warranty: "2027-11-05", ret: "2026-11-12", replace: "2026-11-20", daysLeft: 360,
			zh: []string{"在保修期内", "今天可 7天无理由退货（剩 2 天）", "今天可以", "至 2026年11月12日", "剩 2 天",
				"质量问题换货", "至 2026年11月20日", "剩 10 天", "至 2027年11月5日", "剩 360 天", "保修起始：2026年11月5日（快递签收）",
				`Charger 20W · <span class="nowrap">适配器</span>`, "保修期内免费维修的天数顺延保修期。"},
			en: []string{"Covered", "Today: 7-day return, no reason needed (2 days left)", "What you can do today", "until 12 Nov 2026", "2 days left",
				"Replacement for a fault", "until 20 Nov 2026", "10 days left", "Warranty start: 5 Nov 2026 (delivery confirmed by the courier)",
				`Charger 20W · <span class="nowrap">Adapter</span>`},
			zhAbsent: []string{"CB2411", "B1", "没有收货记录时，保修起始按生产日期推算", "已免费维修 0 次", "UTC"}}},
		{"no receipt, produced long ago: active on the estimate, repair only", "S-EST", want{status: "active", basis: "estimated",
			warranty: "2027-04-10", daysLeft: 151,
			zh: []string{"在保修期内", "2027年4月10日", "没有收货记录时，保修起始按生产日期推算", "无收货记录，按生产日期推算"},
			en: []string{"10 Apr 2027", "With no receipt on record the start is estimated"}, zhAbsent: []string{"天内可退货"}}},
		{"received last year: expired", "S-OLD", want{status: "expired", basis: "invoice", warranty: "2026-06-01",
			ret: "2025-06-08", replace: "2025-06-16",
			zh: []string{"已过保修期", "保修已于 2026年6月1日 结束", "已结束"},
			en: []string{"The warranty ended on 1 Jun 2026. Paid repair is available.", "ended"}, zhAbsent: []string{"天内可退货"}}},
		{"one free repair: counted, warranty extended by the repair day", "S-FIX", want{status: "active", basis: "courier",
			warranty: "2027-11-02", ret: "2026-11-08", replace: "2026-11-16", daysLeft: 357, repairs: 1,
			zh: []string{"保修期内因质量问题已免费维修 1 次", "免费维修 2 次后仍不能正常使用的，可以换货。", "已结束", "今天可 质量问题换货（剩 6 天）", "至 2027年11月2日"},
			en: []string{"Free repairs of faults so far: 1"}}},
		{"tampered: void", "S-VOID", want{status: "void", basis: "courier", warranty: "2027-11-05", ret: "2026-11-12", replace: "2026-11-20",
			zh: []string{"保修已失效", "检修发现批号或防拆标签被破坏"}, en: []string{"Warranty void"},
			zhAbsent: []string{"重要日期"}}},
		{"exchanged: retired", "S-RET", want{status: "retired", basis: "courier", warranty: "2027-11-05", ret: "2026-11-12", replace: "2026-11-20",
			zh: []string{"已换新，此序列号已停用", "本机已换为新机"}, en: []string{"Exchanged: this serial is retired"},
			zhAbsent: []string{"S-RET2", "重要日期"}}},
		{"the replacement unit: active from the exchange, no new windows", "S-RET2", want{status: "active", basis: "exchange",
			warranty: "2027-11-06", daysLeft: 361,
			zh: []string{"在保修期内", "保修起始：2026年11月6日（换新日期", "2027年11月6日"}, en: []string{"6 Nov 2027"},
			zhAbsent: []string{"天内可退货", "S-RET<"}}},
		{"returned: retired", "S-REF", want{status: "retired", basis: "courier", warranty: "2027-11-05", ret: "2026-11-12", replace: "2026-11-20",
			zh: []string{"已退货，此序列号已停用", "本机已办理退货退款。"}, en: []string{"Returned: this serial is retired"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.want
			m := must(t, e.publicJSON(tc.serial, e.checkCode(tc.serial)), http.StatusOK).JSON(t)
			nullable := func(s string) any {
				if s == "" {
					return nil
				}
				return s
			}
			for k, v := range map[string]any{"serial": tc.serial, "model": "IMASK Pro", "kind": "product", "status": w.status,
				"basis": nullable(w.basis), "warranty_until": nullable(w.warranty), "return_until": nullable(w.ret),
				"replace_until": nullable(w.replace), "days_left": float64(w.daysLeft), "repairs": float64(w.repairs)} {
				if m[k] != v {
					t.Errorf("%s = %#v, want %#v", k, m[k], v)
				}
			}
			zh := must(t, e.publicPage("/c/"+tc.serial+"?k="+e.checkCode(tc.serial), "zh-CN"), http.StatusOK)
			wantInBody(t, zh, append(w.zh, "IMASK Pro", tc.serial)...)
			// The check code in the page's links is random letters and
			// digits: it may hold "B1" by chance.
			zhAbsent := zh
			zhAbsent.Body = []byte(strings.ReplaceAll(string(zh.Body), e.checkCode(tc.serial), "CODE"))
			wantNotInBody(t, zhAbsent, w.zhAbsent...)
			en := must(t, e.publicPage("/c/"+tc.serial+"?k="+e.checkCode(tc.serial), "en-US,en;q=0.9"), http.StatusOK)
			wantInBody(t, en, w.en...)
		})
	}
}

func TestPublicJSONHasExactlyTheContractKeys(t *testing.T) {
	e := newPublicEnv(t)
	r := must(t, e.publicJSON("S-ACT", e.checkCode("S-ACT")), http.StatusOK)
	m := r.JSON(t)
	keys := slices.Sorted(maps.Keys(m))
	want := []string{"basis", "can_confirm_receipt", "case", "contact", "days_left", "kind", "model", "model_en", "notice", "repairs", "replace_until", "return_until", "scans", "serial", "status", "today", "warranty_until"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v, want exactly %v", keys, want)
	}
	scans, _ := m["scans"].(map[string]any)
	if keys := slices.Sorted(maps.Keys(scans)); !slices.Equal(keys, []string{"count", "first"}) {
		t.Errorf("scans keys %v, want count and first", keys)
	}
	contact, _ := m["contact"].(map[string]any)
	def := policy.Default().Contact
	if contact["mailbox"] != def.Mailbox || contact["phone"] != def.Phone || contact["company"] != def.Company {
		t.Errorf("contact %v, want the policy's %+v", contact, def)
	}
	// Nothing of the batch, the history, the keys or the customer.
	for _, secret := range []string{"B1", "CB2411", "test", "SH-1", "does not charge", "history", "batch"} {
		if strings.Contains(string(r.Body), secret) {
			t.Errorf("public answer reveals %q: %s", secret, r.Body)
		}
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestPublicPageByBothURLForms(t *testing.T) {
	e := newPublicEnv(t)
	code := e.checkCode("S-ACT")
	short := must(t, e.publicPage("/c/S-ACT?k="+code, "zh-CN"), http.StatusOK)
	for name, path := range map[string]string{
		"GS1 Digital Link with the GTIN-14":          "/01/" + testGTIN + "/21/S-ACT?k=" + code,
		"GS1 Digital Link with the GTIN-13 unpadded": "/01/4006381333931/21/S-ACT?k=" + code,
		"code typed in lower case with a hyphen":     "/c/S-ACT?k=" + strings.ToLower(code[:4]+"-"+code[4:]),
		"serial with the spaces a scanner adds":      "/c/%20S-ACT%0A?k=" + code,
	} {
		t.Run(name, func(t *testing.T) {
			r := must(t, e.publicPage(path, "zh-CN"), http.StatusOK)
			// The pages differ only in their language links and the link to
			// the terms (which keep k as given) and the check count.
			re := regexp.MustCompile(`<nav class="langs".*?</nav>|<section class="card terms">.*?</section>|<p class="count">.*?</p>`)
			if a, b := re.ReplaceAll(r.Body, nil), re.ReplaceAll(short.Body, nil); string(a) != string(b) {
				t.Errorf("page differs from /c/S-ACT's")
			}
		})
	}
	notFound := must(t, e.publicPage("/c/S-ACT?k="+e.wrongCheckCode("S-ACT"), "zh-CN"), http.StatusNotFound)
	want := withoutAsked(notFound.Body, "S-ACT", e.wrongCheckCode("S-ACT"))
	for name, tc := range map[string]struct{ serial, gtin, code string }{
		"another valid GTIN":                       {"S-ACT", "00012345600012", code},
		"a malformed GTIN":                         {"S-ACT", "4006381333932", code},
		"a model without a GTIN":                   {"L-1", testGTIN, e.checkCode("L-1")},
		"the right GTIN with a wrong code":         {"S-ACT", testGTIN, e.wrongCheckCode("S-ACT")},
		"the right GTIN with an unknown serial":    {"S-NONE", testGTIN, code},
		"the model's GTIN on another model's item": {"L-1", testGTIN, e.checkCode("L-1")},
	} {
		t.Run("not found: "+name, func(t *testing.T) {
			r := e.publicPage("/01/"+tc.gtin+"/21/"+tc.serial+"?k="+tc.code, "zh-CN")
			if r.Status != http.StatusNotFound || withoutAsked(r.Body, tc.serial, tc.code) != want {
				t.Errorf("%d, want the one not-found page:\n%s", r.Status, r.Body)
			}
		})
	}
	// The item without a GTIN has its page under /c.
	must(t, e.publicPage("/c/L-1?k="+e.checkCode("L-1"), "en"), http.StatusOK)
}

// asked is the serial and check code of a public path.
func asked(path string) [2]string {
	u, err := url.Parse(path)
	if err != nil {
		panic(err)
	}
	serial := u.Query().Get("serial")
	if serial == "" {
		serial = u.Path[strings.LastIndex(u.Path, "/")+1:]
	}
	return [2]string{serial, u.Query().Get("k")}
}

// withoutAsked is a not-found page with the serial and code it keeps
// replaced by placeholders, so answers to different questions compare.
func withoutAsked(b []byte, serial, code string) string {
	return strings.NewReplacer(serial, "{serial}", code, "{code}").Replace(string(b))
}

// TestPublicUnknownSerialAndWrongCodeAnswerAlike: whether a serial exists
// must not show: the same status, the same bytes, the same headers.
func TestPublicUnknownSerialAndWrongCodeAnswerAlike(t *testing.T) {
	e := newPublicEnv(t)
	for _, tc := range []struct {
		name           string
		unknown, wrong string
	}{
		{"JSON", "/api/v1/public/coverage?serial=S-NONE&k=" + e.checkCode("S-NONE"), "/api/v1/public/coverage?serial=S-ACT&k=" + e.wrongCheckCode("S-ACT")},
		{"page", "/c/S-NONE?k=" + e.checkCode("S-NONE"), "/c/S-ACT?k=" + e.wrongCheckCode("S-ACT")},
		{"Digital Link page", "/01/" + testGTIN + "/21/S-NONE?k=" + e.checkCode("S-NONE"), "/01/" + testGTIN + "/21/S-ACT?k=" + e.wrongCheckCode("S-ACT")},
		{"a code of another serial", "/c/S-NONE?k=" + e.checkCode("S-ACT"), "/c/S-OLD?k=" + e.checkCode("S-ACT")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := e.publicPage(tc.unknown, "zh-CN"), e.publicPage(tc.wrong, "zh-CN")
			if a.Status != http.StatusNotFound || b.Status != http.StatusNotFound {
				t.Fatalf("statuses %d and %d, want 404 both", a.Status, b.Status)
			}
			// An HTML page keeps the serial and code asked about, and
			// nothing else differs.
			ua, ub := asked(tc.unknown), asked(tc.wrong)
			if withoutAsked(a.Body, ua[0], ua[1]) != withoutAsked(b.Body, ub[0], ub[1]) {
				t.Errorf("bodies differ:\n%s\n---\n%s", a.Body, b.Body)
			}
			ha, hb := a.Header.Clone(), b.Header.Clone()
			for _, h := range []http.Header{ha, hb} {
				h.Del("X-Request-Id")
				h.Del("Date")
			}
			if !reflect.DeepEqual(ha, hb) {
				t.Errorf("headers differ:\n%v\n%v", ha, hb)
			}
			if tc.name != "JSON" {
				wantInBody(t, a, `value="`+ua[0]+`"`, `value="`+ua[1]+`"`)
			}
		})
	}
	if e.publicJSON("S-NONE", "x").ErrorCode() != policy.ENotFound {
		t.Error("a malformed code of an unknown serial is not the same not_found")
	}
	rec, err := e.db.Get("S-ACT")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Scans.Count != 0 {
		t.Errorf("wrong codes were counted as checks: %d", rec.Scans.Count)
	}
}

// With the registry closed every lookup fails with a 500, so a wrong code
// answering the same 404 proves it was refused before any lookup: a wrong
// code for a real serial and a guess at an unknown one do the same work.
func TestPublicWrongCodeNeverReachesTheDatabase(t *testing.T) {
	e := newPublicEnv(t)
	wrong, right := "/c/S-ACT?k="+e.wrongCheckCode("S-ACT"), "/c/S-ACT?k="+e.checkCode("S-ACT")
	before := e.publicPage(wrong, "zh-CN")
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	after := e.publicPage(wrong, "zh-CN")
	if after.Status != http.StatusNotFound || string(after.Body) != string(before.Body) {
		t.Errorf("wrong code with the database closed: %d, want the same 404 as before", after.Status)
	}
	if r := e.publicPage(right, "zh-CN"); r.Status != http.StatusInternalServerError {
		t.Errorf("right code with the database closed: %d, want 500 (the lookup must run)", r.Status)
	}
}

func TestPublicMalformedSerialIs400NamingTheField(t *testing.T) {
	e := newPublicEnv(t)
	long := strings.Repeat("A", 33)
	for name, serial := range map[string]string{"a character outside the set": "S%21ACT", "33 characters": long, "empty": "%20"} {
		t.Run("JSON: "+name, func(t *testing.T) {
			wantError(t, e.publicJSON(serial, "ABCDEFGH"), http.StatusBadRequest, policy.EInvalid, "serial")
		})
	}
	wantError(t, e.publicJSON("S-ACT", ""), http.StatusBadRequest, policy.EInvalid, "k")
	for _, path := range []string{"/c/S%21ACT?k=ABCDEFGH", "/c/" + long + "?k=ABCDEFGH", "/01/" + testGTIN + "/21/S%21ACT?k=ABCDEFGH"} {
		t.Run("page "+path, func(t *testing.T) {
			r := e.publicPage(path, "en")
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", r.Status)
			}
			wantInBody(t, r, "Not a serial number", "That is not a serial number: 1 to 32 letters, digits, - . or _.", `id="serial"`, `aria-invalid="true"`)
		})
	}
}

func TestPublicLanguage(t *testing.T) {
	e := newPublicEnv(t)
	base := "/c/S-ACT?k=" + e.checkCode("S-ACT")
	for _, tc := range []struct {
		name, path, accept, want string
	}{
		{"Chinese browser", base, "zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"},
		{"Taiwanese browser reads Chinese", base, "zh-TW", "zh-CN"},
		{"English browser", base, "en-GB,en;q=0.9", "en"},
		{"browser of a language we lack reads English", base, "fr-FR,fr;q=0.9", "en"},
		{"English refused", base, "en;q=0, zh;q=0.5", "zh-CN"},
		{"no Accept-Language: Chinese", base, "", "zh-CN"},
		{"switch to English over a Chinese browser", base + "&lang=en", "zh-CN", "en"},
		{"switch to Chinese over an English browser", base + "&lang=zh", "en-US", "zh-CN"},
		{"unknown ?lang falls back on the header", base + "&lang=xx", "en-US", "en"},
		{"the form", "/c?lang=en", "zh-CN", "en"},
		{"the not-found page", "/c/S-NONE?k=ABCDEFGH", "en", "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.publicPage(tc.path, tc.accept)
			if r.Status != http.StatusOK && r.Status != http.StatusNotFound {
				t.Fatalf("status %d", r.Status)
			}
			if !slices.Contains(r.Header.Values("Vary"), "Accept-Language") || !slices.Contains(r.Header.Values("Vary"), "Cookie") {
				t.Errorf("Vary %q lacks Accept-Language or Cookie", r.Header.Values("Vary"))
			}
			wantInBody(t, r, `<html lang="`+tc.want+`">`)
		})
	}
	// The switch keeps the code and names the other language.
	zh := must(t, e.publicPage(base, "zh-CN"), http.StatusOK)
	wantInBody(t, zh, `href="/c/S-ACT?k=`+e.checkCode("S-ACT")+`&amp;lang=en"`, `<span aria-current="true" lang="zh-CN">中文</span>`)
	en := must(t, e.publicPage(base+"&lang=en", "zh-CN"), http.StatusOK)
	wantInBody(t, en, `href="/c/S-ACT?k=`+e.checkCode("S-ACT")+`&amp;lang=zh"`, `<span aria-current="true" lang="en">English</span>`)
	if zh.Header.Get("ETag") == en.Header.Get("ETag") {
		t.Error("the two languages share an ETag")
	}
}

func TestPublicSecurityHeaders(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PublicBurst = 12 })
	e.seedPublic()
	answers := map[string]response{
		"page":           must(t, e.publicPage("/c/S-ACT?k="+e.checkCode("S-ACT"), "zh-CN"), http.StatusOK),
		"not-found page": must(t, e.publicPage("/c/S-ACT?k="+e.wrongCheckCode("S-ACT"), "zh-CN"), http.StatusNotFound),
		"bad serial":     must(t, e.publicPage("/c/S%21?k=AAAAAAAA", "zh-CN"), http.StatusBadRequest),
		"form":           must(t, e.publicPage("/c", "zh-CN"), http.StatusOK),
		"redirect":       must(t, e.publicPage("/c?serial=S-ACT&k=AAAAAAAA", "zh-CN"), http.StatusSeeOther),
		"JSON":           must(t, e.publicJSON("S-ACT", e.checkCode("S-ACT")), http.StatusOK),
		"JSON not found": must(t, e.publicJSON("S-ACT", e.wrongCheckCode("S-ACT")), http.StatusNotFound),
	}
	for range 12 {
		e.publicPage("/c", "zh-CN")
	}
	answers["rate limited page"] = must(t, e.publicPage("/c", "zh-CN"), http.StatusTooManyRequests)
	answers["rate limited JSON"] = must(t, e.publicJSON("S-ACT", e.checkCode("S-ACT")), http.StatusTooManyRequests)
	for name, r := range answers {
		t.Run(name, func(t *testing.T) {
			csp := r.Header.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'none'", "style-src 'self';", "img-src 'self' data:", "form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("CSP %q lacks %q", csp, d)
				}
			}
			if strings.Contains(csp, "unsafe") || strings.Contains(csp, "script") {
				t.Errorf("CSP %q allows inline code or scripts", csp)
			}
			if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options: %q, want nosniff", got)
			}
			if r.Status == http.StatusSeeOther {
				return // no page: the next request's referrer is the form's, under the form's policy
			}
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
				// JSON has no <head> to state its referrer policy.
				for h, v := range map[string]string{"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
					if got := r.Header.Get(h); got != v {
						t.Errorf("%s: %q, want %q", h, got, v)
					}
				}
				return
			}
			body := string(r.Body)
			// A page states its referrer policy itself, before anything
			// it links to: the URL holds the check code.
			if head, _, _ := strings.Cut(body, "<link"); !strings.Contains(head, `<meta name="referrer" content="no-referrer">`) {
				t.Errorf("no no-referrer policy before the page's first link:\n%s", head)
			}
			// Eight keys at most: Go keeps a header map of up to eight in
			// one group, and a ninth makes every page allocate a table,
			// which net/http then copies again (see publicRoute).
			if name == "page" && len(r.Header)-len(r.Header.Values("Date")) > 8 { // Date is net/http's, not in the handler's table
				t.Errorf("%d headers on the coverage page, want at most 8: %v", len(r.Header), slices.Sorted(maps.Keys(r.Header)))
			}
			// The one stylesheet is a file of this origin (style-src
			// 'self'), named by its content's hash and cached for a year.
			m := regexp.MustCompile(`<link rel="stylesheet" href="(/static/public\.([0-9a-f]{12})\.css)">`).FindAllStringSubmatch(body, -1)
			if len(m) != 1 {
				t.Fatalf("%d stylesheet links, want 1", len(m))
			}
			css := e.publicGet(m[0][1], nil)
			sum := sha256.Sum256(css.Body)
			if css.Status != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") ||
				hex.EncodeToString(sum[:6]) != m[0][2] || !bytes.Contains(css.Body, []byte(".card")) {
				t.Errorf("stylesheet %s: %d %q, content hash %x", m[0][1], css.Status, css.Header.Get("Content-Type"), sum[:6])
			}
			if cc := css.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
				t.Errorf("stylesheet Cache-Control %q", cc)
			}
			for _, bad := range []string{"<script", "<style", " style=", "http://", "https://", "<img", "<iframe"} {
				if strings.Contains(body, bad) {
					t.Errorf("page contains %q", bad)
				}
			}
		})
	}
	if got := answers["rate limited page"].Header.Get("Retry-After"); got == "" {
		t.Error("429 without Retry-After")
	}
}

func TestPublicETagRevalidationStillCounts(t *testing.T) {
	e := newPublicEnv(t)
	path := "/c/S-ACT?k=" + e.checkCode("S-ACT")
	first := must(t, e.publicPage(path, "zh-CN"), http.StatusOK)
	tag := first.Header.Get("ETag")
	if !strings.HasPrefix(tag, `W/"`) {
		t.Fatalf("ETag %q, want a weak tag", tag)
	}
	if cc := first.Header.Get("Cache-Control"); cc != "private, max-age=60" {
		t.Errorf("Cache-Control %q", cc)
	}
	// Each check below comes more than ten minutes after the one before,
	// so each counts (one client's checks count once per ten minutes).
	e.clock.Add(scanWindow)
	again := must(t, e.publicGet(path, map[string]string{"Accept-Language": "zh-CN", "If-None-Match": tag}), http.StatusNotModified)
	if len(again.Body) != 0 || again.Header.Get("ETag") != tag {
		t.Errorf("304 with body %q and ETag %q", again.Body, again.Header.Get("ETag"))
	}
	for _, inm := range []string{`"other", ` + tag, strings.TrimPrefix(tag, "W/"), "*"} {
		e.clock.Add(scanWindow)
		must(t, e.publicGet(path, map[string]string{"Accept-Language": "zh-CN", "If-None-Match": inm}), http.StatusNotModified)
	}
	// Each of those counted; the count is not in the tag, so it still matches.
	e.clock.Add(scanWindow)
	third := must(t, e.publicPage(path, "zh-CN"), http.StatusOK)
	wantInBody(t, third, "此查询码已被查询 6 次（含本次）")
	if third.Header.Get("ETag") != tag {
		t.Errorf("ETag changed with the check count: %q then %q", tag, third.Header.Get("ETag"))
	}
	e.clock.Add(scanWindow)
	j := must(t, e.publicJSON("S-ACT", e.checkCode("S-ACT")), http.StatusOK)
	jtag := j.Header.Get("ETag")
	if jtag == tag || jtag == "" {
		t.Errorf("JSON ETag %q (page's %q)", jtag, tag)
	}
	e.clock.Add(scanWindow)
	must(t, e.publicGet("/api/v1/public/coverage?serial=S-ACT&k="+e.checkCode("S-ACT"), map[string]string{"If-None-Match": jtag}), http.StatusNotModified)
	rec, err := e.db.Get("S-ACT")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Scans.Count != 8 {
		t.Errorf("%d checks counted, want 8 (304s included)", rec.Scans.Count)
	}
	// What the page shows changes: the tag changes.
	if _, err := e.db.Append(registry.Write{Actor: testActor}, "S-ACT", policy.Event{Type: policy.EvIntake, At: e.clock.Now(), Center: "SH-1", Complaint: "x"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(24 * time.Hour)
	changed := e.publicGet(path, map[string]string{"Accept-Language": "zh-CN", "If-None-Match": tag})
	if changed.Status != http.StatusOK {
		t.Errorf("status %d after a new day, want 200 with a fresh page", changed.Status)
	}
	// Not-found answers are not cached.
	nf := e.publicGet("/c/S-ACT?k="+e.wrongCheckCode("S-ACT"), map[string]string{"If-None-Match": "*"})
	if nf.Status != http.StatusNotFound || nf.Header.Get("ETag") != "" || nf.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("not-found answer %d, ETag %q, Cache-Control %q", nf.Status, nf.Header.Get("ETag"), nf.Header.Get("Cache-Control"))
	}
}

func TestPublicViewsAreCountedWithTheFirstTime(t *testing.T) {
	e := newPublicEnv(t)
	path := "/c/S-ACT?k=" + e.checkCode("S-ACT")
	one := must(t, e.publicPage(path, "zh-CN"), http.StatusOK)
	wantInBody(t, one, "此查询码已被查询 1 次（含本次）", "首次查询时间：<strong>2026年11月10日 10:00（北京时间）</strong>")
	e.clock.Add(3*time.Hour + 25*time.Minute)
	m := must(t, e.publicJSON("S-ACT", e.checkCode("S-ACT")), http.StatusOK).JSON(t)
	scans := m["scans"].(map[string]any)
	if scans["count"] != float64(2) || scans["first"] != "2026-11-10T10:00:00+08:00" {
		t.Errorf("scans %v, want count 2 first 2026-11-10T10:00:00+08:00", scans)
	}
	e.restart() // the buffered counts survive a restart
	three := must(t, e.publicPage(path, "en"), http.StatusOK)
	wantInBody(t, three, "This code has been checked 3 times, this check included", "First checked: <strong>10 Nov 2026, 10:00 (Beijing time)</strong>")
	// Another serial's checks are its own.
	other := must(t, e.publicPage("/c/S-OLD?k="+e.checkCode("S-OLD"), "en"), http.StatusOK)
	wantInBody(t, other, "This code has been checked 1 time, this check included<", "First checked: <strong>10 Nov 2026, 13:25 (Beijing time)</strong>")
}

func TestPublicForm(t *testing.T) {
	e := newPublicEnv(t)
	form := must(t, e.publicPage("/c", "zh-CN"), http.StatusOK)
	wantInBody(t, form, `<form action="/c" method="get"`, `name="serial"`, `name="k"`, `name="lang" value="zh"`, "序列号", "查询码")
	code := e.checkCode("S-ACT")
	for _, tc := range []struct {
		name, query, location string
	}{
		{"serial and code", "serial=S-ACT&k=" + code, "/c/S-ACT?k=" + code},
		{"as typed: spaces, hyphen, lower case", "serial=+S-ACT+&k=" + strings.ToLower(code[:4]) + "-" + code[4:] + "+", "/c/S-ACT?k=" + code},
		{"the page's language kept", "serial=S-ACT&k=" + code + "&lang=en", "/c/S-ACT?k=" + code + "&lang=en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := must(t, e.publicPage("/c?"+tc.query, "zh-CN"), http.StatusSeeOther)
			if got := r.Header.Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
		})
	}
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"no serial", "serial=&k=" + code, []string{"Enter the serial number.", `aria-describedby="serial-error"`, `value="` + code + `"`}},
		{"bad serial", "serial=S%21ACT&k=" + code, []string{"That is not a serial number: 1 to 32 letters, digits, - . or _.", `value="S!ACT"`}},
		{"no code", "serial=S-ACT&k=", []string{"Enter the 8-character check code from the certificate.", `aria-describedby="k-error"`, `value="S-ACT"`}},
		{"markup in the serial is escaped", "serial=%3Cb%3E&k=", []string{`value="&lt;b&gt;"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.publicPage("/c?"+tc.query, "en")
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", r.Status)
			}
			wantInBody(t, r, tc.want...)
			wantNotInBody(t, r, "<b>")
		})
	}
	// Opened without the code, the page asks for it with the serial filled in.
	r := must(t, e.publicPage("/c/S-ACT", "en"), http.StatusOK)
	wantInBody(t, r, `value="S-ACT"`, "Check your warranty")
	rec, _ := e.db.Get("S-ACT")
	if rec.Scans.Count != 0 {
		t.Errorf("the form counted %d checks", rec.Scans.Count)
	}
}

func TestPublicRateLimit(t *testing.T) {
	burst := 5
	limited := func(c *Config) { c.PublicRate, c.PublicBurst = 1, burst }
	exhaust := func(t *testing.T, e *env, xff string) {
		t.Helper()
		for i := range burst {
			if r := e.publicGet("/c", map[string]string{"X-Forwarded-For": xff}); r.Status != http.StatusOK {
				t.Fatalf("request %d from %s: %d", i+1, xff, r.Status)
			}
		}
	}
	status := func(e *env, xff string) int {
		return e.publicGet("/c", map[string]string{"X-Forwarded-For": xff}).Status
	}

	t.Run("429 with Retry-After after the burst, JSON and HTML, refilled in time", func(t *testing.T) {
		e := newEnv(t, limited)
		e.seedPublic()
		exhaust(t, e, "")
		r := e.publicJSON("S-ACT", e.checkCode("S-ACT"))
		wantError(t, r, http.StatusTooManyRequests, policy.ERateLimited, "")
		if r.Header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After %q, want 1", r.Header.Get("Retry-After"))
		}
		p := e.publicPage("/c/S-ACT?k="+e.checkCode("S-ACT"), "en")
		if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") != "1" || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("page: %d, Retry-After %q, %s", p.Status, p.Header.Get("Retry-After"), p.Header.Get("Content-Type"))
		}
		wantInBody(t, p, "Too many checks", "Please try again in 1 second.")
		// The staff API is not limited by the public routes' buckets.
		must(t, e.get("/api/v1/items/S-ACT", e.service), http.StatusOK)
		e.clock.Add(time.Second)
		must(t, e.publicJSON("S-ACT", e.checkCode("S-ACT")), http.StatusOK)
		rec, _ := e.db.Get("S-ACT")
		if rec.Scans.Count != 1 {
			t.Errorf("refused requests were counted as checks: %d", rec.Scans.Count)
		}
	})
	t.Run("X-Forwarded-For from an untrusted peer is ignored", func(t *testing.T) {
		e := newEnv(t, limited, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
		exhaust(t, e, "203.0.113.1")
		if got := status(e, "203.0.113.2"); got != http.StatusTooManyRequests {
			t.Errorf("a forged X-Forwarded-For gave a fresh bucket: %d", got)
		}
	})
	t.Run("X-Forwarded-For from a trusted proxy: one bucket per client, IPv6 by /64", func(t *testing.T) {
		e := newEnv(t, limited, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
		exhaust(t, e, "203.0.113.1")
		for _, tc := range []struct {
			xff  string
			want int
		}{
			{"203.0.113.1", http.StatusTooManyRequests},
			{"198.51.100.7, 203.0.113.1", http.StatusTooManyRequests}, // the client's own claim on the left changes nothing
			{"::ffff:203.0.113.1", http.StatusTooManyRequests},
			{"203.0.113.2", http.StatusOK},
		} {
			if got := status(e, tc.xff); got != tc.want {
				t.Errorf("X-Forwarded-For %q: %d, want %d", tc.xff, got, tc.want)
			}
		}
		exhaust(t, e, "2001:db8:1:2::1")
		for _, tc := range []struct {
			xff  string
			want int
		}{
			{"2001:db8:1:2::1", http.StatusTooManyRequests},
			{"2001:db8:1:2:ffff:ffff:ffff:ffff", http.StatusTooManyRequests},
			{"2001:db8:1:3::1", http.StatusOK},
		} {
			if got := status(e, tc.xff); got != tc.want {
				t.Errorf("X-Forwarded-For %q: %d, want %d", tc.xff, got, tc.want)
			}
		}
	})
	t.Run("negative rate: no limit", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.PublicRate = -1 })
		for range 3 * DefaultPublicBurst {
			must(t, e.publicGet("/c", nil), http.StatusOK)
		}
	})
}

// TestPublicJSONResponseIsValidated makes sure a successful public JSON
// answer went through checkShape (TestMain wants every route's).
func TestPublicJSONDecodesIntoTheContractShape(t *testing.T) {
	e := newPublicEnv(t)
	r := must(t, e.do(req{Method: "GET", Path: "/api/v1/public/coverage?serial=S-ACT&k=" + e.checkCode("S-ACT")}), http.StatusOK)
	var v struct {
		Serial        string  `json:"serial"`
		Basis         *string `json:"basis"`
		WarrantyUntil string  `json:"warranty_until"`
		Scans         struct {
			Count int       `json:"count"`
			First time.Time `json:"first"`
		} `json:"scans"`
	}
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.Serial != "S-ACT" || v.Basis == nil || *v.Basis != "courier" || v.Scans.Count != 1 || !v.Scans.First.Equal(testNow) {
		t.Errorf("%+v", v)
	}
}
