package server

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/server/locale"
)

// rawKey is a catalogue key shown as itself: what T returns for a key the
// catalogue lacks.
var rawKey = regexp.MustCompile(`\b(console|common|public)\.[a-z_]+\.[a-z0-9_.]*[a-z0-9_]\b`)

// TestNoPageShowsARawKey renders every console page in both languages
// (item pages with a case, a refused form and an answer included) and
// looks for a key left untranslated, and for the page's language in <html lang>.
func TestNoPageShowsARawKey(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2")
	must(t, e.event("S2", e.service, map[string]any{"type": "intake", "center": "上海服务网点", "at": "2026-11-09T08:00:00+08:00", "complaint": "不开机"}), http.StatusCreated)
	must(t, e.post("/api/v1/users", e.admin, map[string]any{"username": "li", "role": "service", "center": "上海服务网点", "password": "correct horse"}), http.StatusCreated)
	for _, l := range locale.Langs {
		t.Run(l.Tag, func(t *testing.T) {
			anon, admin := e.browser(), e.browser()
			anon.lang, admin.lang = l.Tag, l.Tag
			admin.mustSignIn(e.admin)
			pages := map[string]pageRes{
				"sign-in":         anon.get("/console/sign-in"),
				"sign-in refused": anon.post("/console/sign-in", url.Values{"username": {"li"}, "password": {"nope nope nope"}}),
				"unknown page":    anon.get("/console/nope"),
			}
			for _, path := range []string{"/console/desk", "/console/desk?serial=NOPE", "/console/items/S1", "/console/items/S2",
				"/console/items/S2/entitlements?finding=human_damage", "/console/items/S1/entitlements?on=bad", "/console/queue",
				"/console/queue?overdue=true", "/console/models", "/console/models/M1", "/console/batches", "/console/batches/B1",
				"/console/dispatch", "/console/users", "/console/items/NOPE"} {
				pages[path] = admin.follow(admin.get(path))
			}
			pages["refused event"] = admin.post("/console/items/S2/events", url.Values{"type": {"quoted"}, "amount": {"x"}})
			pages["refused user"] = admin.post("/console/users", url.Values{"username": {"wang"}, "role": {"service"}, "password": {"short"}})
			for name, p := range pages {
				if p.Status >= 500 {
					t.Errorf("%s: %s", name, p)
				}
				if m := rawKey.FindString(p.Body); m != "" {
					t.Errorf("%s shows the raw key %q", name, m)
				}
				if !strings.Contains(p.Body, `<html lang="`+l.Tag+`">`) {
					t.Errorf("%s is not <html lang=%q>", name, l.Tag)
				}
			}
		})
	}
}

func TestRefusalsAreTranslatedByCodeAndField(t *testing.T) {
	notFound := policy.Errorf(policy.ENotFound, "serial", "serial X1-9 is not registered")
	odd := policy.Errorf(policy.EConflict, "", "X1-9 was already dispatched on 2026-11-03")
	for _, tc := range []struct {
		name string
		l    *locale.Lang
		err  *policy.Error
		want string
	}{
		{"Chinese words for a known code and field", locale.ZH, notFound, "系统里没有这个序列号，请核对后重新扫码。"},
		{"English keeps the rule's message, which names the serial", locale.EN, notFound, "serial X1-9 is not registered"},
		{"an unknown code and field fall back to the message", locale.ZH, odd, "X1-9 was already dispatched on 2026-11-03"},
		{"no refusal, no words", locale.ZH, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := problem(tc.l, tc.err); got != tc.want {
				t.Errorf("problem = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestEveryKeyInTheCodeIsInBothLanguages reads the console's Go files for
// the catalogue keys they name in full (titles, flashes, form labels made
// in Go) and checks each is in both languages.
func TestEveryKeyInTheCodeIsInBothLanguages(t *testing.T) {
	files, err := filepath.Glob("console*.go")
	if err != nil {
		t.Fatal(err)
	}
	notKeys := map[string]bool{"console.css": true, "console.js": true, // static files
		"console.signin": true, "console.signin.failed": true, "console.signout": true} // audit actions
	key := regexp.MustCompile(`"(console\.[a-z0-9_.]*[a-z0-9_])"`)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range key.FindAllStringSubmatch(string(src), -1) {
			if notKeys[m[1]] {
				continue
			}
			n++
			for _, l := range locale.Langs {
				if !l.Has(m[1]) {
					t.Errorf("%s: %s lacks %q", f, l.Tag, m[1])
				}
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d keys found in the console's Go files", n)
	}
}

func TestTheLanguageSwitchKeepsThePageAndIsRemembered(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.lang = "zh-CN,zh;q=0.9"
	p := b.get("/console/sign-in?next=%2Fconsole%2Fqueue")
	wantPage(t, p, http.StatusOK, `<html lang="zh-CN">`, `href="/console/sign-in?lang=en&amp;next=%2Fconsole%2Fqueue"`)
	p = b.get("/console/sign-in?lang=en&next=%2Fconsole%2Fqueue")
	wantPage(t, p, http.StatusOK, `<html lang="en">`, `value="/console/queue"`)
	if ck := setCookie(t, p, langCookie); ck.Value != "en" || ck.Path != "/" || ck.MaxAge < 30*24*3600 {
		t.Errorf("the language cookie: %+v", ck)
	}
	// Remembered over the browser's Chinese.
	wantPage(t, b.get("/console/sign-in"), http.StatusOK, `<html lang="en">`, "Sign in")
}
