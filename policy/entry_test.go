package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestIdentifiersMadeOnlyOfDotsAreRefused(t *testing.T) {
	for _, s := range []string{".", "..", "...", " .. "} {
		_, err := Ident("serial", s)
		var e *Error
		if !errors.As(err, &e) || e.Code != EInvalid || e.Field != "serial" || !strings.Contains(e.Message, "only of dots") {
			t.Errorf("Ident(%q) = %v, want invalid_field naming serial and the dots", s, err)
		}
	}
	for _, s := range []string{".a", "a.", "1.0", "_.", "-"} {
		if got, err := Ident("batch", s); err != nil || got != s {
			t.Errorf("Ident(%q) = %q, %v; want it accepted", s, got, err)
		}
	}
}

func TestParseDateSaysWhetherTheFormOrTheDayIsWrong(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2026-02-30", "2026-02-30 does not exist: February 2026 has 28 days, not 30"},
		{"2024-02-30", "2024-02-30 does not exist: February 2024 has 29 days, not 30"},
		{"2026-04-31", "2026-04-31 does not exist: April 2026 has 30 days, not 31"},
		{"2026-13-01", "2026-13-01 does not exist: there is no month 13"},
		{"2026-00-10", "2026-00-10 does not exist: there is no month 0"},
		{"2026-1-5", `"2026-1-5" is not a date of the form YYYY-MM-DD`},
		{"2026/01/05", `"2026/01/05" is not a date of the form YYYY-MM-DD`},
		{"20x6-01-05", `"20x6-01-05" is not a date of the form YYYY-MM-DD`},
	} {
		_, err := ParseDate(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParseDate(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestDaysOutsideTheAcceptedRangeAreRefusedNamingTheRange(t *testing.T) {
	today := Date{2026, 12, 4}
	for _, tc := range []struct {
		d    Date
		want string // "" = accepted
	}{
		{Date{0, 1, 1}, "produced_on 0000-01-01 is before 2000-01-01: dates from 2000-01-01 to today (2026-12-04 in Asia/Shanghai) are accepted"},
		{Date{1999, 12, 31}, "produced_on 1999-12-31 is before 2000-01-01: dates from 2000-01-01 to today (2026-12-04 in Asia/Shanghai) are accepted"},
		{Date{2000, 1, 1}, ""},
		{Date{2026, 12, 4}, ""},
		{Date{2026, 12, 5}, "produced_on 2026-12-05 is in the future (today is 2026-12-04 in Asia/Shanghai): dates from 2000-01-01 to today are accepted"},
		{Date{9999, 12, 31}, "produced_on 9999-12-31 is in the future (today is 2026-12-04 in Asia/Shanghai): dates from 2000-01-01 to today are accepted"},
	} {
		err := CheckDay("produced_on", tc.d, today, "Asia/Shanghai")
		var e *Error
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s refused: %v", tc.d, err)
		case tc.want != "" && (!errors.As(err, &e) || e.Field != "produced_on" || e.Message != tc.want):
			t.Errorf("%s: %v, want %q", tc.d, err, tc.want)
		}
	}
}

func TestTheZeroInstantIsRefusedNotTakenForNow(t *testing.T) {
	err := CheckInstant("at", time.Time{}, time.UTC)
	var e *Error
	if !errors.As(err, &e) || e.Field != "at" || e.Message != "at 0001-01-01T00:00:00Z is before 2000-01-01: instants from 2000-01-01T00:00:00Z on are accepted (leave at out for now)" {
		t.Errorf("CheckInstant(zero) = %v", err)
	}
	if err := CheckInstant("at", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC); err != nil {
		t.Errorf("the first instant of 2000 refused: %v", err)
	}
}

func TestEventDatesBefore2000AreRefused(t *testing.T) {
	p := Default()
	for _, ev := range []Event{
		{Type: EvReceived, On: Date{1999, 12, 31}, Evidence: Courier},
		{Type: EvIntake, At: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), Center: "c", Complaint: "x"},
	} {
		_, err := p.Validate(product(), nil, ev, Check{Now: now})
		var e *Error
		if !errors.As(err, &e) || e.Code != EInvalid || !strings.Contains(e.Message, "is before 2000-01-01") {
			t.Errorf("%s: %v, want a refusal naming 2000-01-01", ev.Type, err)
		}
	}
}

func TestArticlesFollowTheSound(t *testing.T) {
	for in, want := range map[string]string{"adapter": "an adapter", "accessory": "an accessory", "product": "a product",
		"intake": "an intake", "admin": "an admin", "service": "a service", "array": "an array"} {
		if got := WithArticle(in); got != want {
			t.Errorf("WithArticle(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOneTextRuleForEveryFreeTextField(t *testing.T) {
	for _, tc := range []struct {
		s          string
		text, line bool // accepted by Text, by Line
	}{
		{"维修中心 上海 · Shanghai", true, true},
		{"IMASK 😷 Pro", true, true}, // printability is the labels' question
		{"two\nlines\tand a tab", true, false},
		{"nul\x00", false, false},
		{"del\x7f", false, false},
		{"c1\u0085c1", false, false},
		{"csi\u009b", false, false},
		{"sep\u2028sep", false, false},
		{"para\u2029para", false, false},
		{"\u202eevil", false, false},
		{"\u2066iso", false, false},
		{"lrm\u200e", false, false},
		{"alm\u061c", false, false},
		{"bom\ufeff", false, false},
		{"non\ufdd0", false, false},
		{"non\U0001fffe", false, false},
		{"bad\xff", false, false},
	} {
		if _, err := Text("note", tc.s, 100, false); (err == nil) != tc.text {
			t.Errorf("Text(%q) = %v, want accepted %v", tc.s, err, tc.text)
		}
		if _, err := Line("name", tc.s, 100, false); (err == nil) != tc.line {
			t.Errorf("Line(%q) = %v, want accepted %v", tc.s, err, tc.line)
		} else if err != nil && !strings.Contains(err.Error(), "name") {
			t.Errorf("Line(%q) = %v, want the field named", tc.s, err)
		}
	}
	p := Default()
	for field, ev := range map[string]Event{
		"center":   {Type: EvIntake, At: now, Center: "SH\n1", Complaint: "x"},
		"tracking": {Type: EvShipped, At: now, Tracking: "SF\u202e1"},
	} {
		_, err := p.Validate(product(), nil, ev, Check{Now: now})
		var e *Error
		if !errors.As(err, &e) || e.Field != field {
			t.Errorf("%s: %v, want a refusal naming %s", field, err, field)
		}
	}
}

func TestThePolicyContactIsASingleLine(t *testing.T) {
	for _, body := range []string{`{"contact": {"phone": "400-668\n9229"}}`, `{"contact": {"mailbox": "a@b\u2028c"}}`} {
		_, err := Load(strings.NewReader(body))
		var e *Error
		if !errors.As(err, &e) || !strings.HasPrefix(e.Field, "contact.") {
			t.Errorf("%s: %v, want a refusal naming the contact field", body, err)
		}
	}
	if _, err := Load(strings.NewReader(`{"contact": {"phone": "400-668-9229", "mailbox": "service@imask.com.cn"}}`)); err != nil {
		t.Errorf("a single-line contact refused: %v", err)
	}
}
