package server

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// seedDispatched registers serial of M1 dispatched directly to a customer
// on the given day, no receipt on record (unboxing day).
func (e *env) seedDispatched(serial, on string, channel policy.Channel) {
	e.t.Helper()
	if _, err := e.db.Register(testActor, []registry.Row{{Serial: serial, SKU: "M1", Batch: "B9", ProducedOn: mustDate("2026-10-01")}}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.Append(registry.Write{Actor: testActor}, serial, policy.Event{Type: policy.EvDispatched, On: mustDate(on), Order: "O-" + serial, Channel: channel}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) historyLen(serial string) int {
	e.t.Helper()
	rec, err := e.db.Get(serial)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(rec.History)
}

func TestCustomerConfirmsReceiptThroughTheAPI(t *testing.T) {
	e := newPublicEnv(t) // today is 2026-11-10 in Beijing
	e.seedDispatched("S-DSP", "2026-11-08", policy.Direct)
	code := e.checkCode("S-DSP")
	cov := must(t, e.publicJSON("S-DSP", code), http.StatusOK).JSON(t)
	for k, want := range map[string]any{"status": "active", "basis": "dispatched", "return_until": "2026-11-15", "replace_until": "2026-11-23", "warranty_until": "2027-11-08"} {
		if cov[k] != want {
			t.Errorf("before: %s = %v, want %v", k, cov[k], want)
		}
	}
	if r, _ := cov["can_confirm_receipt"].(map[string]any); r["from"] != "2026-11-08" || r["to"] != "2026-11-10" {
		t.Errorf("can_confirm_receipt %v, want 2026-11-08 to 2026-11-10", cov["can_confirm_receipt"])
	}
	if today, _ := cov["today"].([]any); len(today) != 3 {
		t.Errorf("today %v, want return, replace and repair", cov["today"])
	}
	post := func(body map[string]any, header map[string]string) response {
		return e.do(req{Method: "POST", Path: "/api/v1/public/receipt", Body: body, Header: header})
	}
	for _, tc := range []struct {
		name   string
		body   map[string]any
		header map[string]string
		status int
		code   string
		field  string
		words  []string
	}{
		{"a wrong code: the lookup's 404", map[string]any{"serial": "S-DSP", "k": e.wrongCheckCode("S-DSP"), "on": "2026-11-09"}, nil, 404, policy.ENotFound, "", []string{publicNotFound}},
		{"an unknown serial: the same 404", map[string]any{"serial": "S-NONE", "k": e.checkCode("S-NONE"), "on": "2026-11-09"}, nil, 404, policy.ENotFound, "", []string{publicNotFound}},
		{"before the dispatch: 422 naming the range", map[string]any{"serial": "S-DSP", "k": code, "on": "2026-11-07"}, nil, 422, policy.EInvalid, "on", []string{"2026-11-08", "2026-11-10"}},
		{"tomorrow: 422 naming the range", map[string]any{"serial": "S-DSP", "k": code, "on": "2026-11-11"}, nil, 422, policy.EInvalid, "on", []string{"2026-11-08", "2026-11-10"}},
		{"not a date", map[string]any{"serial": "S-DSP", "k": code, "on": "9 Nov"}, nil, 422, policy.EInvalid, "on", nil},
		{"no code", map[string]any{"serial": "S-DSP", "on": "2026-11-09"}, nil, 422, policy.EInvalid, "k", nil},
		{"a malformed serial", map[string]any{"serial": "S!", "k": code, "on": "2026-11-09"}, nil, 422, policy.EInvalid, "serial", nil},
		{"a cross-site browser post", map[string]any{"serial": "S-DSP", "k": code, "on": "2026-11-09"}, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, policy.EForbidden, "", nil},
		{"an older browser's foreign Origin", map[string]any{"serial": "S-DSP", "k": code, "on": "2026-11-09"}, map[string]string{"Origin": "https://evil.example"}, 403, policy.EForbidden, "", nil},
		{"a receipt on record already: 409", map[string]any{"serial": "S-ACT", "k": e.checkCode("S-ACT"), "on": "2026-11-09"}, nil, 409, policy.EConflict, "", []string{"receipt on record"}},
		{"a retired unit: 409", map[string]any{"serial": "S-RET", "k": e.checkCode("S-RET"), "on": "2026-11-09"}, nil, 409, policy.EConflict, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			serial, _ := tc.body["serial"].(string)
			before := 0
			if serial == "S-DSP" || serial == "S-ACT" || serial == "S-RET" {
				before = e.historyLen(serial)
			}
			r := post(tc.body, tc.header)
			wantError(t, r, tc.status, tc.code, tc.field)
			for _, w := range tc.words {
				if !strings.Contains(string(r.Body), w) {
					t.Errorf("message lacks %q: %s", w, r.Body)
				}
			}
			if before != 0 && e.historyLen(serial) != before {
				t.Errorf("a refused confirmation wrote an event")
			}
		})
	}
	r := must(t, post(map[string]any{"serial": "S-DSP", "k": code, "on": "2026-11-09"}, nil), http.StatusCreated).JSON(t)
	for k, want := range map[string]any{"basis": "customer", "return_until": "2026-11-16", "replace_until": "2026-11-24", "warranty_until": "2027-11-09", "can_confirm_receipt": nil} {
		if r[k] != want {
			t.Errorf("after: %s = %v, want %v", k, r[k], want)
		}
	}
	// Once per serial.
	wantError(t, post(map[string]any{"serial": "S-DSP", "k": code, "on": "2026-11-10"}, nil), http.StatusConflict, policy.EConflict, "")
	rec, err := e.db.Get("S-DSP")
	if err != nil {
		t.Fatal(err)
	}
	last := rec.History[len(rec.History)-1]
	if len(rec.History) != 2 || last.Type != policy.EvReceived || last.Evidence != policy.Customer || last.By != "customer" || last.On != mustDate("2026-11-09") {
		t.Errorf("history %+v, want one received event by the customer on 2026-11-09", rec.History)
	}
	entries, _, err := e.db.Audit("", 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range entries {
		if a.Target == "S-DSP" && a.Action == "event.received" {
			found = true
			if a.Name != "customer" || !strings.Contains(a.Detail, "127.0.0.0/24") || strings.Contains(a.Detail, "127.0.0.1") {
				t.Errorf("audit entry %+v, want by customer from 127.0.0.0/24 (never the full address)", a)
			}
		}
	}
	if !found {
		t.Error("the confirmation is not in the audit log")
	}
}

func TestCustomerConfirmsReceiptFromThePage(t *testing.T) {
	e := newPublicEnv(t)
	e.seedDispatched("S-DSP", "2026-11-08", policy.Direct)
	code := e.checkCode("S-DSP")
	page := must(t, e.publicPage("/c/S-DSP?k="+code, "zh-CN"), http.StatusOK)
	wantInBody(t, page, `action="/c/S-DSP/receipt" method="post"`, `min="2026-11-08"`, `max="2026-11-10"`, "确认收货",
		"7天无理由退货和15天质量问题换货从收货日期算起，保修期为收货日期起 12 个月", "可选 2026年11月8日 至 2026年11月10日",
		"尚无签收记录，按发货日期起算")
	form := func(v url.Values, header map[string]string) response {
		t.Helper()
		hr, err := http.NewRequest(http.MethodPost, e.ts.URL+"/c/S-DSP/receipt", strings.NewReader(v.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, x := range header {
			hr.Header.Set(k, x)
		}
		client := *e.ts.Client()
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		res, err := client.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		out := response{Status: res.StatusCode, Header: res.Header, Body: b}
		checkShape(t, hr, out)
		return out
	}
	bad := form(url.Values{"k": {code}, "on": {"2026-11-01"}, "lang": {"en"}}, nil)
	if bad.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a date before the dispatch: %d, want 422", bad.Status)
	}
	wantInBody(t, bad, "The date received must be between 8 Nov 2026 and 10 Nov 2026.", `aria-invalid="true"`)
	if e.historyLen("S-DSP") != 1 {
		t.Fatal("a refused confirmation wrote an event")
	}
	if r := form(url.Values{"k": {e.wrongCheckCode("S-DSP")}, "on": {"2026-11-09"}}, nil); r.Status != http.StatusNotFound {
		t.Errorf("a wrong code: %d, want the not-found page", r.Status)
	}
	if r := form(url.Values{"k": {code}, "on": {"2026-11-09"}}, map[string]string{"Sec-Fetch-Site": "cross-site"}); r.Status != http.StatusForbidden {
		t.Errorf("a cross-site post: %d, want 403", r.Status)
	}
	ok := form(url.Values{"k": {code}, "on": {"2026-11-09"}, "lang": {"en"}}, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if ok.Status != http.StatusSeeOther || ok.Header.Get("Location") != "/c/S-DSP?k="+code+"&lang=en" {
		t.Fatalf("confirmed: %d to %q", ok.Status, ok.Header.Get("Location"))
	}
	after := must(t, e.publicPage("/c/S-DSP?k="+code, "zh-CN"), http.StatusOK)
	wantInBody(t, after, "保修起始：2026年11月9日（您确认的收货日期）", "今天可 7天无理由退货（剩 6 天）", "至 2026年11月16日")
	wantNotInBody(t, after, `action="/c/S-DSP/receipt"`)
	again := form(url.Values{"k": {code}, "on": {"2026-11-09"}}, nil)
	if again.Status != http.StatusConflict {
		t.Fatalf("a second confirmation: %d, want 409", again.Status)
	}
	wantInBody(t, again, "已有收货记录，不能再确认。")
}

func TestClientNetworkKeepsNoFullAddress(t *testing.T) {
	for ip, want := range map[string]string{
		"203.0.113.77":          "203.0.113.0/24",
		"::ffff:203.0.113.77":   "203.0.113.0/24",
		"2001:db8:1:2:3:4:5:6":  "2001:db8:1::/48",
		"fe80::1%eth0":          "fe80::/48",
		"not an address at all": "unknown",
	} {
		if got := clientNetwork(ip); got != want {
			t.Errorf("clientNetwork(%q) = %q, want %q", ip, got, want)
		}
	}
}

// A confirmation the history refuses says why in the page's language, in
// the customer's words: not "a receipt is on record" for a unit that has
// none but was taken in for service.
func TestAReceiptRefusedByTheHistorySaysWhyInThePagesLanguage(t *testing.T) {
	e := newPublicEnv(t)
	e.seedDispatched("S-SVC", "2026-11-08", policy.Direct)
	if _, err := e.db.Append(registry.Write{Actor: testActor}, "S-SVC",
		policy.Event{Type: policy.EvIntake, At: cstAt("2026-11-09", "11:00"), Center: "SH-1", Complaint: "no power"}); err != nil {
		t.Fatal(err)
	}
	code := e.checkCode("S-SVC")
	for _, tc := range []struct{ lang, want string }{
		{"zh", "这件商品已有售后记录，不能再确认收货。如有疑问，请联系售后。"},
		{"en", "This item has been in service: its receipt can no longer be confirmed. Contact service with any question."},
	} {
		v := url.Values{"k": {code}, "on": {"2026-11-09"}, "lang": {tc.lang}}
		hr, err := http.NewRequest(http.MethodPost, e.ts.URL+"/c/S-SVC/receipt", strings.NewReader(v.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := e.ts.Client().Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusConflict || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s: %d, want 409 with %q:\n%s", tc.lang, res.StatusCode, tc.want, body)
		}
	}
	if e.historyLen("S-SVC") != 2 {
		t.Fatal("a refused confirmation wrote an event")
	}
}
