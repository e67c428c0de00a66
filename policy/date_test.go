package policy

import (
	"encoding/json"
	"testing"
	"time"
)

// The day arithmetic must agree with time.Time's calendar everywhere.
func TestDayArithmeticAgreesWithTime(t *testing.T) {
	start := time.Date(1899, 12, 25, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 120000; i += 7 {
		tm := start.AddDate(0, 0, i)
		d := DateOf(tm, time.UTC)
		for _, n := range []int{0, 1, 7, 15, 90, 365, 366, -1, -400, 1461} {
			want := DateOf(tm.AddDate(0, 0, n), time.UTC)
			if got := d.AddDays(n); got != want {
				t.Fatalf("%s + %d days = %s, want %s", d, n, got, want)
			}
			if got := d.DaysUntil(want); got != n {
				t.Fatalf("%s until %s = %d days, want %d", d, want, got, n)
			}
		}
		for _, n := range []int{1, 6, 12, 13, 24, -1, -12, -13} {
			first := time.Date(d.Year, d.Month+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
			want := Date{first.Year(), first.Month(), min(d.Day, first.AddDate(0, 1, -1).Day())}
			if got := d.AddMonths(n); got != want {
				t.Fatalf("%s + %d months = %s, want %s", d, n, got, want)
			}
		}
		if got, want := d.String(), tm.Format(time.DateOnly); got != want {
			t.Fatalf("String = %s, want %s", got, want)
		}
		e := d.AddDays(1)
		if d.Compare(e) != -1 || e.Compare(d) != 1 || d.Compare(d) != 0 || !d.Before(e) || !e.After(d) {
			t.Fatalf("Compare %s %s", d, e)
		}
	}
}

func TestMonthEnds(t *testing.T) {
	for _, tc := range []struct {
		from   string
		months int
		want   string
	}{
		{"2024-02-29", 12, "2025-02-28"},
		{"2024-02-29", 48, "2028-02-29"},
		{"2026-01-31", 12, "2027-01-31"},
		{"2026-01-31", 1, "2026-02-28"},
		{"2025-08-31", 6, "2026-02-28"},
		{"2025-03-31", -1, "2025-02-28"},
	} {
		if got := day(tc.from).AddMonths(tc.months); got != day(tc.want) {
			t.Errorf("%s + %d months = %s, want %s", tc.from, tc.months, got, tc.want)
		}
	}
}

// The zone cache must give DateOf's answer, across DST changes and 1970 too.
func TestZoneDatesAgreeWithDateOf(t *testing.T) {
	for _, name := range []string{"Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		z := zone{loc: loc}
		for _, start := range []time.Time{time.Date(1969, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(1986, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), {}} {
			for i := 0; i < 3000; i++ {
				ev := Event{Type: EvIntake, At: start.Add(time.Duration(i) * 7 * time.Hour / 3)}
				if got, want := z.date(z.day(&ev, evIntake)), DateOf(ev.At, loc); got != want {
					t.Fatalf("%s: date of %v = %s, want %s", name, ev.At, got, want)
				}
			}
		}
	}
}

func TestDateTextAndJSON(t *testing.T) {
	for _, tc := range []struct {
		d          Date
		text, json string
	}{
		{Date{}, "", "null"},
		{Date{2026, 1, 2}, "2026-01-02", `"2026-01-02"`},
		{Date{12, 11, 30}, "0012-11-30", `"0012-11-30"`},
		{Date{10000, 1, 1}, "10000-01-01", `"10000-01-01"`},
	} {
		text, err := tc.d.AppendText([]byte("x"))
		if err != nil || string(text) != "x"+tc.text || tc.d.String() != tc.text {
			t.Errorf("%#v: AppendText %q, String %q, want %q", tc.d, text, tc.d.String(), tc.text)
		}
		j, err := json.Marshal(tc.d)
		if err != nil || string(j) != tc.json {
			t.Errorf("%#v: JSON %s, %v; want %s", tc.d, j, err, tc.json)
		}
		var back Date
		if err := json.Unmarshal(j, &back); tc.d.Year <= 9999 && (err != nil || back != tc.d) {
			t.Errorf("%s reads back as %#v, %v", j, back, err)
		}
	}
}

// Day numbers must hold over the whole range the day arithmetic claims, at
// its ends and at the year and leap-day boundaries in between.
func TestDayNumbersOverTheirRange(t *testing.T) {
	dates := []Date{{-32800, 3, 1}, {2906944, 12, 31}}
	for y := -32799; y <= 2906944; y += 997 {
		dates = append(dates, Date{y, 1, 1}, Date{y, 2, 28}, Date{y, 3, 1}, Date{y, 12, 31})
	}
	for _, d := range dates {
		want := int(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix() / 86400) // midnight: exact
		if got := d.days(); got != want {
			t.Fatalf("%#v: day number %d, want %d", d, got, want)
		}
		if got := dateOfDays(want); got != d {
			t.Fatalf("day number %d is %#v, want %#v", want, got, d)
		}
	}
}
