package server

import (
	"bytes"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/server/locale"
)

// hostileTexts are values a page might be given that try to leave the text
// or attribute they are written into.
var hostileTexts = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`' onmouseover='alert(1)`,
	`a&b+c=d&amp;`,
	"nul\x00byte",
	`</title><style>*{}</style>`,
	`javascript:alert(1)`,
	"口罩 <b>Pro</b> & “引号”",
}

// coverageCases are the views the page tests render: every item of
// seedPublic plus one in repair and paused, over several days (windows open,
// closing and closed), each with its own check code.
func coverageCases(t testing.TB, e *env) []publicView {
	t.Helper()
	if _, err := e.db.Register(testActor, []registry.Row{{Serial: "S-CASE", SKU: "M1", Batch: "B1", ProducedOn: mustDate("2026-10-01")}}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []policy.Event{
		{Type: policy.EvReceived, On: mustDate("2026-11-05"), Evidence: policy.Courier},
		{Type: policy.EvIntake, At: cstAt("2026-11-08", "09:00"), Center: "SH-1", Complaint: "no power"},
		{Type: policy.EvDiagnosed, At: cstAt("2026-11-08", "10:00"), Finding: policy.QualityProblem},
		{Type: policy.EvPaused, At: cstAt("2026-11-08", "11:00"), Reason: "parts"},
	} {
		if _, err := e.db.Append(registry.Write{Actor: testActor}, "S-CASE", ev); err != nil {
			t.Fatal(err)
		}
	}
	var out []publicView
	for _, days := range []int{0, 3, 12, 40, 400} {
		now := e.clock.Now().Add(time.Duration(days) * 24 * time.Hour)
		for _, serial := range []string{"S-NEW", "S-SOON", "S-ACT", "S-EST", "S-OLD", "S-FIX", "S-VOID", "S-RET", "S-RET2", "S-REF", "L-1", "S-CASE"} {
			item, ok, err := e.srv.lookupChecked(serial, e.checkCode(serial), "")
			if !ok || err != nil {
				t.Fatalf("%s: %v %v", serial, ok, err)
			}
			v := e.srv.publicView(item, now, days%2 == 0)
			out = append(out, v)
		}
	}
	return out
}

// oraclePage renders page data through server/testdata/public_coverage.html
// and the frame as the coverage page had them before public_render.go.
func oraclePage(t *testing.T, s *Server, l *locale.Lang, v publicView, code, confirmError string) string {
	t.Helper()
	src, err := os.ReadFile("testdata/public_coverage.html")
	if err != nil {
		t.Fatal(err)
	}
	tpl := publicTemplateOf(l, string(embeddedFile(publicFS, "web/public/base.html")), string(src))
	f := s.publicFrame(nil, l, "/c/"+url.PathEscape(v.Coverage.Serial), url.Values{"k": {code}})
	page := s.publicCoveragePageData(v, l, f, code)
	if page.Confirm != nil {
		page.Confirm.Error = confirmError
	} else {
		page.Refused = confirmError
	}
	var b bytes.Buffer
	if err := tpl.ExecuteTemplate(&b, "base", page); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// fastPage renders the same through writeCoveragePage.
func fastPage(s *Server, l *locale.Lang, v publicView, code, confirmError string) (string, int, int) {
	page := s.publicCoveragePageData(v, l, publicFrame{L: l, Home: s.shells[l].home}, code)
	if page.Confirm != nil {
		page.Confirm.Error = confirmError
	} else {
		page.Refused = confirmError
	}
	w := &pageBuf{}
	from, to := s.writeCoveragePage(w, l, &page, code)
	return string(w.b), from, to
}

// TestCoveragePageIsItsTemplate: the coverage page written by hand is, byte
// for byte, what html/template makes of server/testdata/public_coverage.html
// with base.html, for every kind of item in both languages, with and
// without a refused confirmation, a batch notice of each severity, and
// hostile text in every value the page shows (html/template's contextual
// escaping is the reference for the hand-written escaping).
func TestCoveragePageIsItsTemplate(t *testing.T) {
	e := newPublicEnv(t)
	views := coverageCases(t, e)
	n := 0
	check := func(name string, v publicView, code, confirmError string) {
		t.Helper()
		for _, l := range locale.Langs {
			want := oraclePage(t, e.srv, l, v, code, confirmError)
			got, _, _ := fastPage(e.srv, l, v, code, confirmError)
			if got != want {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("%s %s: pages differ at byte %d:\nhand:     %q\ntemplate: %q", name, l.Tag, i,
					got[max(i-80, 0):min(i+80, len(got))], want[max(i-80, 0):min(i+80, len(want))])
			}
			n++
		}
	}
	for _, v := range views {
		code := e.checkCode(v.Coverage.Serial)
		check(v.Coverage.Serial, v, code, "")
		check(v.Coverage.Serial+" refused", v, code, "该日期不在可选范围内")
	}
	for _, h := range hostileTexts {
		for _, v := range views[:12] {
			v.Coverage.Model, v.Coverage.ModelEN = h, h
			v.Coverage.Serial = h
			for i := range v.Accessories {
				v.Accessories[i].Name = h
			}
			v.Coverage.Notice = &publicNotice{Severity: "recall", Text: h, Since: mustDate("2026-11-01")}
			check("hostile "+h, v, h, h)
			v.Coverage.Notice = &publicNotice{Severity: h, Text: h, Since: mustDate("2026-11-01")}
			check("hostile severity "+h, v, "CODE", "")
		}
	}
	if n < 200 {
		t.Fatalf("only %d pages compared", n)
	}
}

// TestCoveragePageKeepsHostileTextAsText: whatever a model name, accessory
// name, serial, check code, notice or refusal says, the page's markup is
// the same as with plain words: no element, attribute or quote added.
func TestCoveragePageKeepsHostileTextAsText(t *testing.T) {
	e := newPublicEnv(t)
	views := coverageCases(t, e)
	for _, h := range hostileTexts {
		for _, v := range []publicView{views[2], views[11], views[4]} { // active with an accessory, in repair, expired
			checkMarkupUnchanged(t, e.srv, v, h)
		}
	}
}

// FuzzCoveragePageEscapes is TestCoveragePageKeepsHostileTextAsText for any
// text: go test -fuzz FuzzCoveragePageEscapes ./server/
func FuzzCoveragePageEscapes(f *testing.F) {
	for _, h := range hostileTexts {
		f.Add(h)
	}
	e := newEnv(f, func(c *Config) { c.PublicRate = -1 })
	e.seedPublic()
	views := coverageCases(f, e)
	f.Fuzz(func(t *testing.T, h string) {
		checkMarkupUnchanged(t, e.srv, views[2], h)
	})
}

// checkMarkupUnchanged renders v with h in every shown value, and with
// plain letters instead (an empty text with an empty one), and wants the
// same markup characters (< > " ') in both.
func checkMarkupUnchanged(t *testing.T, s *Server, v publicView, h string) {
	t.Helper()
	with := func(text string) publicView {
		v := v
		v.Coverage.Model, v.Coverage.ModelEN, v.Coverage.Serial = text, text, text
		v.Accessories = append([]publicAccessory(nil), v.Accessories...)
		for i := range v.Accessories {
			v.Accessories[i].Name = text
		}
		v.Coverage.Notice = &publicNotice{Severity: "recall", Text: text, Since: mustDate("2026-11-01")}
		return v
	}
	plainText := "x"
	if h == "" {
		plainText = "" // an empty refusal or notice text leaves its block out
	}
	for _, l := range locale.Langs {
		bad, _, _ := fastPage(s, l, with(h), h, h)
		plain, _, _ := fastPage(s, l, with(plainText), plainText, plainText)
		for _, c := range []string{"<", ">", `"`, "'"} {
			if strings.Count(bad, c) != strings.Count(plain, c) {
				t.Errorf("%s %q: %d of %q in the page, %d with plain text", l.Tag, h, strings.Count(bad, c), c, strings.Count(plain, c))
			}
		}
		if strings.Contains(bad, "\x00") {
			t.Errorf("%s %q: a NUL byte in the page", l.Tag, h)
		}
	}
}

// TestCoverageWordsAreInBothLanguages: every fixed text the hand-written
// page shows is in the catalogue in every language.
func TestCoverageWordsAreInBothLanguages(t *testing.T) {
	for i, k := range coverageWordKeys {
		if k == "" {
			t.Errorf("coverage word %d has no key", i)
		}
		for _, l := range locale.Langs {
			if !l.Has(k) {
				t.Errorf("%s lacks %q", l.Tag, k)
			}
		}
	}
}

// TestWordMemoWordsAsTheCatalogueDoes: a remembered text is the one the
// catalogue words for the same language, key and arguments, the first time
// and the next; dates and instants as dateText and instantText word them;
// and the memo stays bounded.
func TestWordMemoWordsAsTheCatalogueDoes(t *testing.T) {
	w, loc := newWordMemo(), policy.Default().Location()
	at := time.Date(2026, 11, 10, 10, 0, 59, 0, loc)
	for range 2 {
		for _, l := range locale.Langs {
			for _, tc := range []struct{ got, want string }{
				{w.tn(l, "common.days_left", 1), l.T("common.days_left", 1)},
				{w.tn(l, "common.days_left", 300), l.T("common.days_left", 300)},
				{w.tn(l, "public.confirm.intro", 7, 15, 12), l.T("public.confirm.intro", 7, 15, 12)},
				{w.ts(l, "public.confirm.range", "a", "b"), l.T("public.confirm.range", "a", "b")},
				{w.ts(l, "public.confirm.range", "b", "a"), l.T("public.confirm.range", "b", "a")},
				{w.tk(l, "public.kind.", "adapter"), l.T("public.kind.adapter")},
				{w.date(l, mustDate("2026-02-03")), dateText(l, mustDate("2026-02-03"))},
				{w.instant(l, at, loc), instantText(l, at, loc)},
				{w.instant(l, at.Add(time.Second), loc), instantText(l, at.Add(time.Second), loc)},
				{w.instant(l, time.Time{}, loc), ""},
			} {
				if tc.got != tc.want {
					t.Errorf("%s: %q, want %q", l.Tag, tc.got, tc.want)
				}
			}
		}
	}
	for i := range 2 * maxMemoWords {
		w.tn(locale.ZH, "public.checks.count", i)
	}
	if n := len(w.m); n > maxMemoWords {
		t.Errorf("%d texts remembered, at most %d", n, maxMemoWords)
	}
}
