package server

// Refusals in the page's language. The rules and the registry word their
// refusals in English for the API (policy.Error.Message), and name the
// sentence and its values (Key, Args) for pages: the catalogue's
// "problem.<key>" sentence in the page's language, with {name} standing
// for the value of Args["name"] shown as the language shows it.

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/server/locale"
)

// problemPrefix prefixes a refusal's key in the catalogue.
const problemPrefix = "problem."

// problem is a refusal's message in l, as the console shows it: the
// catalogue's sentence of its key with its values; for a refusal without a
// key (or a key the catalogue lacks), the catalogue's words for its code
// and field (console.problem.<code>.<field>) on a page not in English, else
// the rule's English message.
func problem(l *locale.Lang, err *policy.Error) string {
	if err == nil {
		return ""
	}
	if s, ok := keyedText(l, err.Key, err.Args, consoleDate); ok {
		return s
	}
	if k := "console.problem." + err.Code + "." + err.Field; l != locale.EN && l.Has(k) {
		return l.T(k)
	}
	return err.Message
}

// rowProblem is a rejected row's message in l, as problem words an error.
func rowProblem(l *locale.Lang, r policy.RowError) string {
	if s, ok := keyedText(l, r.Key, r.Args, consoleDate); ok {
		return s
	}
	return r.Message
}

// consoleDate is a date as the console shows it in l: 2026年11月2日 on a
// Chinese page, 2026-11-02 on an English one (the console's form
// everywhere, as typed in its date fields).
func consoleDate(l *locale.Lang, d policy.Date) string {
	if l == locale.EN || d.IsZero() {
		return d.String()
	}
	return dateText(l, d)
}

// keyedText is the catalogue's sentence problem.<key> in l with each {name}
// replaced by args[name] in words; false when key is empty or the
// catalogue lacks it. date shows a date.
func keyedText(l *locale.Lang, key string, args policy.Args, date func(*locale.Lang, policy.Date) string) (string, bool) {
	if key == "" || !l.Has(problemPrefix+key) {
		return "", false
	}
	msg := l.T(problemPrefix + key)
	if len(args) == 0 {
		return msg, true
	}
	pairs := make([]string, 0, 2*len(args))
	for name, v := range args {
		pairs = append(pairs, "{"+name+"}", argText(l, v, date))
	}
	msg = strings.NewReplacer(pairs...).Replace(msg)
	// A sentence may open with a value in words ("{field} is required").
	if first, n := utf8.DecodeRuneInString(msg); unicode.IsLower(first) {
		msg = string(unicode.ToUpper(first)) + msg[n:]
	}
	return msg, true
}

// argText is one value of a refusal in l's words: dates and instants in
// l's form, a field by its name on the page, a code of the contract (a
// named string type: event type, finding, kind, role, evidence) in words,
// a nested refusal as its own sentence, numbers and plain strings (serials,
// SKUs, names as recorded) as they are.
func argText(l *locale.Lang, v any, date func(*locale.Lang, policy.Date) string) string {
	switch x := v.(type) {
	case nil:
		return ""
	case policy.Date:
		return date(l, x)
	case time.Time:
		if l == locale.EN {
			return clockText(x)
		}
		return date(l, policy.DateOf(x, x.Location())) + " " + x.Format("15:04")
	case policy.Field:
		return fieldText(l, string(x))
	case policy.EventType:
		// An event as a thing done (出库, a dispatch), not as a state.
		if k := problemPrefix + "type." + string(x); l.Has(k) {
			return l.T(k)
		}
	case *policy.Error:
		if s, ok := keyedText(l, x.Key, x.Args, date); ok {
			return strings.TrimSuffix(strings.TrimSuffix(s, "。"), ".")
		}
		return x.Message
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case uint64:
		return strconv.FormatUint(x, 10)
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		// A code of the contract: its words sit inside a sentence.
		w := words(l, rv.String())
		if first, n := utf8.DecodeRuneInString(w); n > 0 {
			w = string(unicode.ToLower(first)) + w[n:]
		}
		return w
	}
	return fmt.Sprint(v)
}

// fieldText is a field's name as a page calls it (problem.field.<name>),
// the name itself when the catalogue has none.
func fieldText(l *locale.Lang, name string) string {
	if k := problemPrefix + "field." + name; l.Has(k) {
		return l.T(k)
	}
	return name
}
