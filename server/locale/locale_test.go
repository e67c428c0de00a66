package locale

import (
	"regexp"
	"slices"
	"strconv"
	"testing"
)

func TestEveryKeyIsInEveryLanguage(t *testing.T) {
	for _, l := range Langs[1:] {
		for _, k := range ZH.Keys() {
			if !l.Has(k) {
				t.Errorf("%s lacks %q", l.Tag, k)
			}
		}
		for _, k := range l.Keys() {
			if !ZH.Has(k) {
				t.Errorf("%s lacks %q", ZH.Tag, k)
			}
		}
	}
}

var verb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// A message's arguments are filled by the same call in every language, so
// each translation takes the same verbs in the same order, and no message
// is empty.
func TestTranslationsTakeTheSameArguments(t *testing.T) {
	for _, k := range ZH.Keys() {
		want := verb.FindAllString(ZH.msgs[k], -1)
		for _, l := range Langs {
			m := l.msgs[k]
			if m == "" {
				t.Errorf("%s %q is empty", l.Tag, k)
			}
			for _, form := range regexp.MustCompile(`\|`).Split(m, -1) {
				if got := verb.FindAllString(form, -1); !slices.Equal(got, want) {
					t.Errorf("%s %q takes %v, zh-CN takes %v", l.Tag, k, got, want)
				}
			}
		}
	}
}

func TestKeysAreDotted(t *testing.T) {
	key := regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)
	for _, k := range ZH.Keys() {
		if !key.MatchString(k) {
			t.Errorf("key %q is not lower-case dotted words", k)
		}
	}
}

func TestPickChoosesTheLanguage(t *testing.T) {
	for _, tc := range []struct {
		name, param, cookie, accept string
		want                        *Lang
	}{
		{"nothing said: Chinese", "", "", "", ZH},
		{"any language: Chinese", "", "", "*", ZH},
		{"a Chinese browser", "", "", "zh-CN,zh;q=0.9,en;q=0.8", ZH},
		{"a Taiwanese browser still reads Chinese", "", "", "zh-TW", ZH},
		{"an English browser", "", "", "en-US,en;q=0.9", EN},
		{"a language we lack: English", "", "", "fr-FR,fr;q=0.9", EN},
		{"a malformed header: Chinese", "", "", ";;;q=x", ZH},
		{"the remembered choice beats the browser", "", "en", "zh-CN", EN},
		{"the link's choice beats the remembered one", "zh", "en", "en", ZH},
		{"the tag works as a parameter", "zh-CN", "", "en", ZH},
		{"parameters ignore case", "EN", "", "", EN},
		{"an unknown parameter is ignored", "fr", "", "en", EN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Pick(tc.param, tc.cookie, tc.accept); got != tc.want {
				t.Errorf("Pick(%q, %q, %q) = %s, want %s", tc.param, tc.cookie, tc.accept, got.Tag, tc.want.Tag)
			}
		})
	}
}

func TestT(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    *Lang
		key  string
		args []any
		want string
	}{
		{"Chinese has one form", ZH, "common.days_left", []any{1}, "还剩 1 天"},
		{"English singular", EN, "common.days_left", []any{1}, "1 day left"},
		{"English plural", EN, "common.days_left", []any{3}, "3 days left"},
		{"English zero is plural", EN, "common.days_left", []any{0}, "0 days left"},
		{"no arguments: the message as it is", ZH, "common.language", nil, "语言"},
		{"a missing key shows itself", EN, "no.such.key", nil, "no.such.key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.l.T(tc.key, tc.args...); got != tc.want {
				t.Errorf("T(%q, %v) = %q, want %q", tc.key, tc.args, got, tc.want)
			}
		})
	}
}

// The language picked for an Accept-Language header is remembered: asked
// again, and after the cache is full of other headers, the answer is the
// one parsing gives.
func TestPickRemembersHeadersAndStaysRight(t *testing.T) {
	headers := map[string]*Lang{"zh-CN,zh;q=0.9": ZH, "en-US,en;q=0.9": EN, "fr-FR": EN, ";;;q=x": ZH, "en;q=0, zh;q=0.5": ZH}
	for range 2 {
		for h, want := range headers {
			if got := Pick("", "", h); got != want {
				t.Errorf("Pick(%q) = %s, want %s", h, got.Tag, want.Tag)
			}
		}
	}
	for i := range 2 * maxAccepted {
		Pick("", "", "x-"+strconv.Itoa(i))
	}
	if got := Pick("", "", "en-GB,en;q=0.8"); got != EN {
		t.Errorf("with the cache full: %s, want en", got.Tag)
	}
	if n := len(acceptCache.m); n > maxAccepted {
		t.Errorf("%d headers remembered, at most %d", n, maxAccepted)
	}
}
