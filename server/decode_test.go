package server

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// queryContext is an echo context of GET /c?raw.
func queryContext(raw string) echo.Context {
	r := httptest.NewRequest("GET", "/c", nil)
	r.URL.RawQuery = raw
	return echo.New().NewContext(r, httptest.NewRecorder())
}

func TestQueryParamReadsTheFirstValueAsURLParseQueryDoes(t *testing.T) {
	for _, tc := range []struct{ name, raw, want string }{
		{"absent", "lang=en", ""},
		{"plain", "k=ABCD2345&lang=en", "ABCD2345"},
		{"the first of two", "k=FIRST&k=SECOND", "FIRST"},
		{"escaped value", "k=A%2BB+C", "A+B C"},
		{"escaped key", "%6B=ESCAPEDKEY", "ESCAPEDKEY"},
		{"no value", "k", ""},
		{"empty pairs skipped", "&&k=AFTER&", "AFTER"},
		{"a pair with a semicolon is no pair", "k=A;B&k=SECOND", "SECOND"},
		{"a bad escape in the value skips the pair", "k=%zz&k=SECOND", "SECOND"},
		{"a bad escape in the key skips the pair", "k%zz=BAD&k=GOOD", "GOOD"},
		{"a longer name is another name", "kk=OTHER&k=MINE", "MINE"},
		{"names are case-sensitive", "K=UPPER", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := queryParam(queryContext(tc.raw), "k"); got != tc.want {
				t.Errorf("queryParam(%q, k) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
}

// FuzzQueryParamIsURLParseQuery: for any query (of fewer parameters than
// net/url's limit), queryParam answers what url.ParseQuery's Get does.
func FuzzQueryParamIsURLParseQuery(f *testing.F) {
	for _, s := range []string{"k=AB&lang=en", "k=%zz;&k", "%6b=1&k=2", "a=1&&k=+%20", "k=%", "lang=zh&lang=en"} {
		f.Add(s, "k")
		f.Add(s, "lang")
	}
	f.Fuzz(func(t *testing.T, raw, name string) {
		if strings.Count(raw, "&") >= 1000 {
			return
		}
		vs, _ := url.ParseQuery(raw)
		if got, want := queryParam(queryContext(raw), name), vs.Get(name); got != want {
			t.Errorf("queryParam(%q, %q) = %q; url.ParseQuery: %q", raw, name, got, want)
		}
	})
}
