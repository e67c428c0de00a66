// Package locale is the message catalogue of sanbao's pages for people:
// the public coverage page and the staff console speak zh-CN (the default)
// and English from the same flat, dotted keys ("public.title",
// "console.nav.queue"). Each language's messages are the union of the
// embedded files messages/*.<tag>.json, one file per area so that areas
// grow without touching each other; a key may be defined once per language.
//
// Pages parse their templates once per language and bind that language's
// T as the template function "t", so a request only picks a *Lang.
package locale

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"golang.org/x/text/language"
)

//go:embed messages/*.json
var files embed.FS

// Lang is one language of the catalogue.
type Lang struct {
	// Tag is the BCP 47 tag, for Content-Language and <html lang>.
	Tag string
	// Param is the short ?lang= value (and cookie value) that selects it.
	Param string
	// Name is the language's own name, for the language switch.
	Name string
	msgs map[string]string
}

var (
	// ZH is Simplified Chinese as written in mainland China, the default.
	ZH = load("zh-CN", "zh", "中文")
	// EN is English.
	EN = load("en", "en", "English")
	// Langs lists every language, the default first.
	Langs = []*Lang{ZH, EN}

	matcher = language.NewMatcher([]language.Tag{language.MustParse(ZH.Tag), language.MustParse(EN.Tag)})
)

// load reads every messages/*.<tag>.json file. A malformed file or a key
// defined twice is a programming error caught at start (and by the tests).
func load(tag, param, name string) *Lang {
	l := &Lang{Tag: tag, Param: param, Name: name, msgs: map[string]string{}}
	names, err := fs.Glob(files, "messages/*."+tag+".json")
	if err != nil || len(names) == 0 {
		panic(fmt.Sprintf("locale: no message files for %s", tag))
	}
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			panic(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("locale: %s: %v", path.Base(n), err))
		}
		for k, v := range m {
			if _, dup := l.msgs[k]; dup {
				panic(fmt.Sprintf("locale: %s: key %q is defined twice for %s", path.Base(n), k, tag))
			}
			l.msgs[k] = v
		}
	}
	return l
}

// T is the message of key in l, formatted with args by fmt.Sprintf when
// there are any. A message "one|other" has an English singular form before
// the bar and a plural one after it: the first argument, an int, picks the
// form (1 → singular). A key missing from the catalogue is shown as itself,
// which the tests forbid in every page.
func (l *Lang) T(key string, args ...any) string {
	m, ok := l.msgs[key]
	if !ok {
		return key
	}
	if one, other, ok := strings.Cut(m, "|"); ok {
		m = other
		if len(args) > 0 {
			if n, isInt := args[0].(int); isInt && n == 1 {
				m = one
			}
		}
	}
	if len(args) == 0 {
		return m
	}
	return fmt.Sprintf(m, args...)
}

// Has reports whether key is in l's catalogue.
func (l *Lang) Has(key string) bool {
	_, ok := l.msgs[key]
	return ok
}

// Keys lists l's keys, sorted.
func (l *Lang) Keys() []string {
	keys := make([]string, 0, len(l.msgs))
	for k := range l.msgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ByParam is the language a ?lang= or cookie value names ("zh", "zh-CN",
// "en", any case), or nil.
func ByParam(v string) *Lang {
	for _, l := range Langs {
		if strings.EqualFold(v, l.Param) || strings.EqualFold(v, l.Tag) {
			return l
		}
	}
	return nil
}

// Pick chooses a page's language: an explicit ?lang= first, then the
// remembered choice (a cookie), then the best match of Accept-Language.
// Chinese is the default (no header, or "*"); a browser asking only for
// languages we lack (French, Japanese...) gets English, which its reader
// more likely knows than Chinese.
func Pick(param, remembered, acceptLanguage string) *Lang {
	if l := ByParam(param); l != nil {
		return l
	}
	if l := ByParam(remembered); l != nil {
		return l
	}
	return accepted(acceptLanguage)
}

// acceptCache remembers the language picked for an Accept-Language header:
// browsers send a handful of distinct values, and parsing and matching one
// cost more than the rest of a public page's language work. Bounded: past
// maxAccepted distinct headers the others are parsed each time.
var acceptCache = struct {
	sync.RWMutex
	m map[string]*Lang
}{m: map[string]*Lang{}}

const maxAccepted = 512

// accepted is the language an Accept-Language header asks for.
func accepted(acceptLanguage string) *Lang {
	acceptCache.RLock()
	l, ok := acceptCache.m[acceptLanguage]
	acceptCache.RUnlock()
	if ok {
		return l
	}
	l = matchAccept(acceptLanguage)
	acceptCache.Lock()
	if len(acceptCache.m) < maxAccepted {
		acceptCache.m[strings.Clone(acceptLanguage)] = l
	}
	acceptCache.Unlock()
	return l
}

func matchAccept(acceptLanguage string) *Lang {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 || tags[0] == language.Make("mul") {
		return Langs[0]
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return EN
	}
	return Langs[i]
}
