package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/server/locale"
)

const noticePath = "/api/v1/batches/B1/notice"

// noticeState is what a refusal must leave untouched: the notices listed
// and the length of the audit log.
func (e *env) noticeState() (string, int) {
	e.t.Helper()
	ns := must(e.t, e.get("/api/v1/notices", e.admin), http.StatusOK)
	all := 0
	after := ""
	for {
		entries, next, err := e.db.Audit(after, registry.MaxLimit)
		if err != nil {
			e.t.Fatal(err)
		}
		all += len(entries)
		if next == "" {
			return string(ns.Body), all
		}
		after = next
	}
}

// TestPutNoticeRefusalsNameTheFieldAndWriteNothing: every bad request is
// answered with its status and field, and neither a notice nor an audit
// entry is written.
func TestPutNoticeRefusalsNameTheFieldAndWriteNothing(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	good := map[string]any{"severity": "recall", "text": "电池可能过热", "text_en": "The battery may overheat", "since": "2026-11-08"}
	withField := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	before, audit := e.noticeState()
	for _, c := range []struct {
		name   string
		path   string
		body   any
		status int
		code   string
		field  string
	}{
		{"a batch with no serials", "/api/v1/batches/B404/notice", good, 404, "not_found", "batch"},
		{"a malformed batch", "/api/v1/batches/B!1/notice", good, 400, "invalid_field", "batch"},
		{"malformed JSON", noticePath, `{"severity": "recall",`, 400, "bad_request", ""},
		{"an unknown field", noticePath, withField("colour", "red"), 400, "bad_request", "colour"},
		{"an empty body", noticePath, "", 400, "bad_request", ""},
		{"an unknown severity", noticePath, withField("severity", "warning"), 422, "invalid_field", "severity"},
		{"no severity", noticePath, withField("severity", nil), 422, "invalid_field", "severity"},
		{"a severity of the wrong type", noticePath, withField("severity", 1), 422, "invalid_field", "severity"},
		{"no text", noticePath, withField("text", nil), 422, "invalid_field", "text"},
		{"a blank text", noticePath, withField("text", "   "), 422, "invalid_field", "text"},
		{"a control character in the text", noticePath, withField("text", "召回\x07"), 422, "invalid_field", "text"},
		{"a bidirectional override in the text", noticePath, withField("text", "召回\u202e"), 422, "invalid_field", "text"},
		{"a text of 2001 characters", noticePath, withField("text", strings.Repeat("召", 2001)), 422, "invalid_field", "text"},
		{"an English text of 2001 characters", noticePath, withField("text_en", strings.Repeat("x", 2001)), 422, "invalid_field", "text_en"},
		{"a zero-width no-break space in the English text", noticePath, withField("text_en", "a\ufeffb"), 422, "invalid_field", "text_en"},
		{"no date", noticePath, withField("since", nil), 422, "invalid_field", "since"},
		{"an impossible date", noticePath, withField("since", "2026-02-30"), 422, "invalid_field", "since"},
		{"a date in another format", noticePath, withField("since", "18/11/2026"), 422, "invalid_field", "since"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(req{Method: "PUT", Path: c.path, Token: e.admin, Body: c.body})
			wantError(t, r, c.status, c.code, c.field)
			if after, n := e.noticeState(); after != before || n != audit {
				t.Fatalf("a refusal wrote: notices %s, %d audit entries (was %d)", after, n, audit)
			}
		})
	}
}

// TestNoticeIsSetChangedListedAndCleared: 201 for a new notice, 200 for a
// change or the same again, listed with its batch (GET /notices and GET
// /batches/{batch}), cleared with 204 (then 404), and every change in the
// audit log with the key that made it.
func TestNoticeIsSetChangedListedAndCleared(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2")
	if b := must(t, e.get("/api/v1/batches/B1", e.warehouse), 200).JSON(t); b["notice"] != nil {
		t.Fatalf("notice before any: %v", b["notice"])
	}
	body := map[string]any{"severity": "recall", "text": " 电池可能过热，请停止使用。 ", "since": "2026-11-08"}
	set := must(t, e.do(req{Method: "PUT", Path: noticePath, Token: e.admin, Body: body}), http.StatusCreated).JSON(t)
	want := map[string]any{"batch": "B1", "severity": "recall", "text": "电池可能过热，请停止使用。", "text_en": nil, "since": "2026-11-08",
		"set_at": "2026-11-10T10:00:00+08:00", "set_by": "root"}
	if !sameJSON(set, want) {
		t.Fatalf("PUT = %v, want %v", set, want)
	}
	must(t, e.do(req{Method: "PUT", Path: noticePath, Token: e.admin, Body: body}), http.StatusOK)
	body["severity"], body["text_en"] = "advisory", "Use the new charger"
	changed := must(t, e.do(req{Method: "PUT", Path: noticePath, Token: e.admin, Body: body}), http.StatusOK).JSON(t)
	if changed["severity"] != "advisory" || changed["text_en"] != "Use the new charger" {
		t.Fatalf("changed = %v", changed)
	}
	list := must(t, e.get("/api/v1/notices", e.service), http.StatusOK).JSON(t)
	if ns, _ := list["notices"].([]any); len(ns) != 1 || !sameJSON(ns[0], changed) {
		t.Fatalf("GET /notices = %v", list)
	}
	if b := must(t, e.get("/api/v1/batches/B1", e.warehouse), 200).JSON(t); !sameJSON(b["notice"], changed) {
		t.Fatalf("GET /batches/B1 notice = %v, want %v", b["notice"], changed)
	}
	must(t, e.do(req{Method: "DELETE", Path: noticePath, Token: e.admin}), http.StatusNoContent)
	wantError(t, e.do(req{Method: "DELETE", Path: noticePath, Token: e.admin}), 404, "not_found", "batch")
	wantError(t, e.do(req{Method: "DELETE", Path: "/api/v1/batches/B!1/notice", Token: e.admin}), 400, "invalid_field", "batch")
	if list := must(t, e.get("/api/v1/notices", e.admin), 200).JSON(t); !sameJSON(list["notices"], []any{}) {
		t.Fatalf("after clearing: %v", list)
	}

	entries, _, err := e.db.Audit("", registry.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range entries {
		if strings.HasPrefix(a.Action, "notice.") {
			got = append(got, a.Name+" "+a.Action+" "+a.Target+" "+a.Detail)
		}
	}
	wantAudit := []string{
		"root notice.set B1 recall since 2026-11-08: 电池可能过热，请停止使用。",
		"root notice.change B1 advisory since 2026-11-08: 电池可能过热，请停止使用。",
		"root notice.clear B1 advisory since 2026-11-08: 电池可能过热，请停止使用。",
	}
	if strings.Join(got, "\n") != strings.Join(wantAudit, "\n") {
		t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantAudit, "\n"))
	}
}

// coverageNotice is the notice of serial's public coverage JSON asked in
// language lang ("" for no Accept-Language).
func (e *env) coverageNotice(serial, lang string) any {
	e.t.Helper()
	h := map[string]string{}
	if lang != "" {
		h["Accept-Language"] = lang
	}
	r := must(e.t, e.do(req{Method: "GET", Path: "/api/v1/public/coverage?serial=" + serial + "&k=" + e.checkCode(serial), Header: h}), 200)
	return r.JSON(e.t)["notice"]
}

func (e *env) putNotice(batch string, body map[string]any) {
	e.t.Helper()
	r := e.do(req{Method: "PUT", Path: "/api/v1/batches/" + batch + "/notice", Token: e.admin, Body: body})
	if r.Status != 200 && r.Status != 201 {
		e.t.Fatalf("PUT notice on %s: %s", batch, r)
	}
}

// TestPublicCoverageShowsTheNoticeOfTheUnitsBatches: the public JSON shows
// the notice of the unit's batch or of its bundled accessory's, in the
// answer's language (English text when given, else the Chinese), a recall
// before an advisory, the latest first, none before its date; a unit of
// another batch shows none.
func TestPublicCoverageShowsTheNoticeOfTheUnitsBatches(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1") // with a CB2411 charger
	must(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []map[string]any{
		{"serial": "S9", "sku": "M1", "batch": "B9", "produced_on": "2026-10-01"}}}), http.StatusCreated)

	if n := e.coverageNotice("S1", ""); n != nil {
		t.Fatalf("no notice yet: %v", n)
	}
	e.putNotice("B1", map[string]any{"severity": "advisory", "text": "请使用原装充电器", "text_en": "Use the original charger", "since": "2026-11-01"})
	for _, c := range []struct{ lang, text string }{{"", "请使用原装充电器"}, {"zh-CN", "请使用原装充电器"}, {"en", "Use the original charger"}} {
		want := map[string]any{"severity": "advisory", "text": c.text, "since": "2026-11-01"}
		if got := e.coverageNotice("S1", c.lang); !sameJSON(got, want) {
			t.Errorf("Accept-Language %q: notice %v, want %v", c.lang, got, want)
		}
	}
	byParam := must(t, e.do(req{Method: "GET", Path: "/api/v1/public/coverage?serial=S1&lang=en&k=" + e.checkCode("S1"),
		Header: map[string]string{"Accept-Language": "zh-CN"}}), 200)
	if n, _ := byParam.JSON(t)["notice"].(map[string]any); n["text"] != "Use the original charger" || byParam.Header.Get("Content-Language") != "en" {
		t.Errorf("?lang=en over Accept-Language zh-CN: %v, Content-Language %q", n, byParam.Header.Get("Content-Language"))
	}
	// A recall on the charger's batch wins over the unit's own advisory,
	// and English readers get the Chinese text when there is no English.
	e.putNotice("CB2411", map[string]any{"severity": "recall", "text": "充电器召回", "since": "2026-10-20"})
	if got, want := e.coverageNotice("S1", "en"), map[string]any{"severity": "recall", "text": "充电器召回", "since": "2026-10-20"}; !sameJSON(got, want) {
		t.Errorf("with a recall on the charger's batch: %v, want %v", got, want)
	}
	if n := e.coverageNotice("S9", "en"); n != nil {
		t.Errorf("a unit of another batch: %v", n)
	}
	// A notice from tomorrow (today is 2026-11-10) is not shown yet.
	must(t, e.do(req{Method: "DELETE", Path: "/api/v1/batches/CB2411/notice", Token: e.admin}), 204)
	e.putNotice("B1", map[string]any{"severity": "recall", "text": "明日起召回", "since": "2026-11-11"})
	if n := e.coverageNotice("S1", "zh-CN"); n != nil {
		t.Errorf("a notice from tomorrow shows today: %v", n)
	}
	e.clock.Add(24 * 3600 * 1e9)
	if got, want := e.coverageNotice("S1", "zh-CN"), map[string]any{"severity": "recall", "text": "明日起召回", "since": "2026-11-11"}; !sameJSON(got, want) {
		t.Errorf("on its day: %v, want %v", got, want)
	}
}

// TestPublicPageAndDeskShowTheNotice: the public page shows the recall as
// a banner in its language with the date and a call button; the desk of a
// product carrying the recalled charger says it is the accessory's batch.
func TestPublicPageAndDeskShowTheNotice(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	e.putNotice("CB2411", map[string]any{"severity": "recall", "text": "该批次充电器可能过热，请立即停止使用。", "text_en": "Chargers of this batch may overheat: stop using them now.", "since": "2026-11-08"})

	for _, c := range []struct {
		lang  *locale.Lang
		texts []string
	}{
		{locale.ZH, []string{`class="banner recall"`, "召回通知", "该批次充电器可能过热，请立即停止使用。", "生效日期：2026年11月8日", `class="notice-call" href="tel:`}},
		{locale.EN, []string{`class="banner recall"`, "Recall notice", "Chargers of this batch may overheat: stop using them now.", "In effect from 8 Nov 2026"}},
	} {
		r := must(t, e.do(req{Method: "GET", Path: "/c/S1?k=" + e.checkCode("S1") + "&lang=" + c.lang.Param}), 200)
		for _, s := range c.texts {
			if !strings.Contains(string(r.Body), s) {
				t.Errorf("%s page lacks %q", c.lang.Tag, s)
			}
		}
	}

	b := e.browser()
	b.mustSignIn(e.admin)
	wantPage(t, b.get("/console/items/S1"), 200, `class="notice-banner recall"`, "batch CB2411 of a bundled accessory", "Chargers of this batch may overheat")
	b.lang = "zh-CN"
	wantPage(t, b.get("/console/items/S1"), 200, "随机配件批次 CB2411", "该批次充电器可能过热")
}

// TestConsoleSetsAndClearsANotice: an admin sets a notice from the batch
// page (a refusal shows the form again, naming the field, and writes
// nothing), sees it listed there, and clears it; a warehouse key sees the
// notice but no form.
func TestConsoleSetsAndClearsANotice(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	b := e.browser()
	b.mustSignIn(e.admin)
	wantPage(t, b.get("/console/batches/B1"), 200, "No notice on this batch.", `action="/console/batches/B1/notice"`)

	p := b.post("/console/batches/B1/notice", url.Values{"severity": {"recall"}, "text": {""}, "since": {"2026-11-08"}})
	wantPage(t, p, 422, "Notice text is required.", `aria-invalid="true"`)
	if ns, _ := e.db.Notices(); len(ns) != 0 {
		t.Fatalf("a refused form wrote %+v", ns)
	}
	p = b.post("/console/batches/B1/notice", url.Values{"severity": {"recall"}, "text": {"电池召回"}, "text_en": {"Battery recall"}, "since": {"2026-11-32"}})
	wantPage(t, p, 422, `id="n-since"`, "电池召回", "Battery recall")

	p = b.post("/console/batches/B1/notice", url.Values{"severity": {"recall"}, "text": {"电池召回"}, "text_en": {"Battery recall"}, "since": {"2026-11-08"}})
	wantPage(t, b.follow(p), 200, "Recall notice published for batch B1.", `class="notice-banner recall"`, "电池召回", "Battery recall", "Clear notice")
	ns, err := e.db.Notices()
	if err != nil || len(ns) != 1 || ns[0].Severity != registry.SeverityRecall || ns[0].SetBy != "root" {
		t.Fatalf("notices %+v, %v", ns, err)
	}

	w := e.browser()
	w.mustSignIn(e.warehouse)
	page := w.get("/console/batches/B1")
	wantPage(t, page, 200, "电池召回")
	if strings.Contains(page.Body, `action="/console/batches/B1/notice"`) {
		t.Error("a warehouse key is offered the notice form")
	}
	// The list of batches marks the batch under recall, and only it.
	e.register("B2", "S2")
	list := w.get("/console/batches")
	wantPage(t, list, 200, `<a href="/console/batches/B1">B1</a> <span class="badge notice-recall">Recall</span>`)
	if strings.Count(list.Body, "badge notice-") != 1 {
		t.Errorf("the list marks batches without a notice:\n%s", list.Body)
	}

	wantPage(t, b.follow(b.post("/console/batches/B1/notice/clear", nil)), 200, "Notice on batch B1 cleared.", "No notice on this batch.")
	wantPage(t, b.post("/console/batches/B1/notice/clear", nil), 404)
	if ns, _ := e.db.Notices(); len(ns) != 0 {
		t.Fatalf("after clearing: %+v", ns)
	}
}

// TestNoticeWordsAreInBothLanguages: the words built from a severity exist
// in every language.
func TestNoticeWordsAreInBothLanguages(t *testing.T) {
	for _, sev := range []string{"recall", "advisory"} {
		for _, k := range []string{"public.notice." + sev, "console.notice." + sev} {
			for _, l := range locale.Langs {
				if !l.Has(k) {
					t.Errorf("%s lacks %q", l.Tag, k)
				}
			}
		}
	}
}
