package server

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/server/locale"
)

// Keys the page builds from a value: every value must have its words.
func TestEveryBuiltKeyIsInBothLanguages(t *testing.T) {
	var keys []string
	for _, st := range []string{"received", "diagnosed", "quoted", "paid", "repaired", "shipped"} {
		keys = append(keys, "public.case.stage."+st)
	}
	for _, b := range []string{"courier", "invoice", "customer", "exchange", "estimated", "dispatched"} {
		keys = append(keys, "public.basis."+b)
	}
	for _, k := range []string{"accessory", "adapter", "product"} {
		keys = append(keys, "public.kind."+k)
	}
	for _, r := range []string{"replace", "repair"} {
		keys = append(keys, "public.remedy."+r)
	}
	for _, k := range keys {
		for _, l := range locale.Langs {
			if !l.Has(k) {
				t.Errorf("%q is not in %s", k, l.Tag)
			}
		}
	}
	for _, st := range caseStages {
		if !locale.ZH.Has("public.case.stage." + st) {
			t.Errorf("stage %q has no words", st)
		}
	}
}

var rawPublicKey = regexp.MustCompile(`\b(public|common)\.[a-z_]+(\.[a-z_]+)*`)

// No page shows a message key instead of its words (T shows a missing key
// as itself).
func TestNoPublicPageShowsARawKey(t *testing.T) {
	e := newPublicEnv(t)
	paths := []string{"/c", "/c?serial=&k=", "/c/S%21", "/c/S-ACT", "/c/S-NONE?k=" + e.checkCode("S-NONE")}
	for _, s := range []string{"S-NEW", "S-SOON", "S-ACT", "S-EST", "S-OLD", "S-FIX", "S-VOID", "S-RET", "S-RET2", "S-REF", "L-1"} {
		paths = append(paths, "/c/"+s+"?k="+e.checkCode(s))
	}
	for _, l := range locale.Langs {
		for _, p := range paths {
			r := e.publicPage(p, l.Tag)
			if r.Status >= 500 {
				t.Errorf("%s %s: %d", l.Tag, p, r.Status)
			}
			if k := rawPublicKey.FindString(mainPart(r.Body)); k != "" {
				t.Errorf("%s %s shows the raw key %q", l.Tag, p, k)
			}
		}
	}
	// The rate-limited page too.
	lim := newEnv(t, func(c *Config) { c.PublicBurst = 1 })
	lim.seedPublic()
	lim.publicPage("/c", "en")
	for _, l := range locale.Langs {
		r := lim.publicPage("/c/S-ACT?k=ABCDEFGH", l.Tag)
		if r.Status != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429", r.Status)
		}
		if k := rawPublicKey.FindString(mainPart(r.Body)); k != "" {
			t.Errorf("%s rate-limited page shows the raw key %q", l.Tag, k)
		}
	}
}

func TestPublicDatesAndTimesInEachLanguage(t *testing.T) {
	india, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 5, 6, 3, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, got, want string
	}{
		{"Chinese date", dateText(locale.ZH, policy.Date{Year: 2026, Month: 11, Day: 5}), "2026年11月5日"},
		{"English date", dateText(locale.EN, policy.Date{Year: 2026, Month: 11, Day: 5}), "5 Nov 2026"},
		{"Chinese time in China: Beijing time", instantText(locale.ZH, at, cst), "2026年11月5日 14:03（北京时间）"},
		{"English time in China", instantText(locale.EN, at, cst), "5 Nov 2026, 14:03 (Beijing time)"},
		{"another zone names its offset", instantText(locale.ZH, at, india), "2026年11月5日 11:33（UTC+5:30）"},
		{"a zone west of UTC", instantText(locale.EN, at, time.FixedZone("", -(3*3600+1800))), "5 Nov 2026, 02:33 (UTC-3:30)"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

// The language switch is remembered: ?lang= sets a cookie that later
// visits (a new scan, without ?lang=) follow over the browser's language.
func TestPublicLanguageSwitchIsRemembered(t *testing.T) {
	e := newPublicEnv(t)
	page := "/c/S-ACT?k=" + e.checkCode("S-ACT")
	r := must(t, e.publicPage(page+"&lang=en", "zh-CN"), http.StatusOK)
	var ck *http.Cookie
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == langCookie {
			ck = c
		}
	}
	if ck == nil || ck.Value != "en" || ck.Path != "/" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge <= 0 {
		t.Fatalf("language cookie %+v, want sanbao_lang=en for the whole site, lasting", ck)
	}
	for _, tc := range []struct {
		name, path, cookie, want string
		sets                     bool
	}{
		{"a later scan follows the remembered choice", page, "en", "en", false},
		{"the switch still wins, and is remembered", page + "&lang=zh", "en", "zh-CN", true},
		{"a remembered choice repeated sets nothing", page + "&lang=en", "en", "en", false},
		{"a cookie naming no language is ignored", page, "xx", "zh-CN", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.publicGet(tc.path, map[string]string{"Accept-Language": "zh-CN", "Cookie": langCookie + "=" + tc.cookie})
			wantInBody(t, r, `<html lang="`+tc.want+`">`)
			if sets := r.Header.Get("Set-Cookie") != ""; sets != tc.sets {
				t.Errorf("Set-Cookie %q, want set %v", r.Header.Get("Set-Cookie"), tc.sets)
			}
		})
	}
}
