package policy

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Date is a calendar date (no time of day, no zone). The zero Date means
// "unknown" and marshals to JSON null.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses YYYY-MM-DD and rejects impossible dates such as
// 2025-02-30, saying which: the form, or a day the calendar does not have.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err == nil {
		return DateOf(t, time.UTC), nil
	}
	y, m, d, ok := dateFields(s)
	switch {
	case !ok:
		return Date{}, &dateError{msg: fmt.Sprintf("%q is not a date of the form YYYY-MM-DD", s), value: s}
	case m < 1 || m > 12:
		return Date{}, &dateError{msg: fmt.Sprintf("%s does not exist: there is no month %d", s, m), value: s, month: m, noMonth: true}
	default:
		days := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
		return Date{}, &dateError{msg: fmt.Sprintf("%s does not exist: %s %d has %d days, not %d", s, time.Month(m), y, days, d),
			value: s, year: y, month: m, days: days}
	}
}

// dateError is ParseDate's error: its English text and what BadDate needs
// to key the field's refusal: the value, and the month or the year and
// month when the calendar lacks the day (days > 0).
type dateError struct {
	msg               string
	value             string
	year, month, days int
	noMonth           bool
}

func (e *dateError) Error() string { return e.msg }

// BadDate is the refusal of field's value, which ParseDate refused with err:
// EInvalid "field: <err>", keyed when err is ParseDate's.
func BadDate(field string, err error) *Error {
	e := Errorf(EInvalid, field, "%s: %v", field, err)
	var de *dateError
	switch {
	case !errors.As(err, &de):
		return e
	case de.days > 0:
		return e.Keyed("date.no_day", Args{"field": Field(field), "value": de.value, "year": de.year, "month": de.month, "days": de.days})
	case de.noMonth:
		return e.Keyed("date.no_month", Args{"field": Field(field), "value": de.value, "month": de.month})
	}
	return e.Keyed("date.form", Args{"field": Field(field), "value": de.value})
}

// dateFields reads the numbers of s when it has the form YYYY-MM-DD (digits
// and dashes in their places), whatever their values.
func dateFields(s string) (y, m, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	num := func(t string) int {
		n := 0
		for i := 0; i < len(t); i++ {
			if t[i] < '0' || t[i] > '9' {
				ok = false
			}
			n = n*10 + int(t[i]-'0')
		}
		return n
	}
	ok = true
	y, m, d = num(s[:4]), num(s[5:7]), num(s[8:])
	return y, m, d, ok
}

// EarliestDate is the first day the registry accepts for something that
// happened (a production, a dispatch, a receipt, a service step): earlier
// ones are typing mistakes (0000-01-01, 0202-11-05), not history.
var EarliestDate = Date{2000, time.January, 1}

// CheckInstant checks t, the instant something happened, against the
// accepted lower bound: the start of EarliestDate in loc. The zero time
// (0001-01-01T00:00:00Z) is refused like any other: only an absent instant
// means now. The error is EInvalid naming field and the bound.
func CheckInstant(field string, t time.Time, loc *time.Location) error {
	if start := time.Date(EarliestDate.Year, EarliestDate.Month, EarliestDate.Day, 0, 0, 0, 0, loc); t.Before(start) {
		return Errorf(EInvalid, field, "%s %s is before %s: instants from %s on are accepted (leave %s out for now)",
			field, t.Format(time.RFC3339), EarliestDate, start.Format(time.RFC3339), field).
			Keyed("date.before_earliest", Args{"field": Field(field), "value": DateOf(t, loc), "earliest": EarliestDate})
	}
	return nil
}

// CheckDay checks d, the day something happened, against the accepted
// range: EarliestDate to today (no upper bound when today is zero). zone
// names today's time zone in the message. The error is EInvalid naming
// field and the range.
func CheckDay(field string, d, today Date, zone string) error {
	if d.Before(EarliestDate) {
		if today.IsZero() {
			return Errorf(EInvalid, field, "%s %s is before %s: dates from %s on are accepted", field, d, EarliestDate, EarliestDate).
				Keyed("date.before_earliest", Args{"field": Field(field), "value": d, "earliest": EarliestDate})
		}
		return Errorf(EInvalid, field, "%s %s is before %s: dates from %s to today (%s in %s) are accepted", field, d, EarliestDate, EarliestDate, today, zone).
			Keyed("date.before_earliest", Args{"field": Field(field), "value": d, "earliest": EarliestDate})
	}
	if !today.IsZero() && d.After(today) {
		return Errorf(EInvalid, field, "%s %s is in the future (today is %s in %s): dates from %s to today are accepted", field, d, today, zone, EarliestDate).
			Keyed("date.future", Args{"field": Field(field), "value": d, "today": today})
	}
	return nil
}

// DateOf is the calendar date of instant t in loc (17:30 UTC on 3 March is
// 4 March in Asia/Shanghai).
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{y, m, d}
}

// IsZero reports whether d is the unknown date.
func (d Date) IsZero() bool { return d == Date{} }

// String formats d as YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	var b [10]byte
	return string(d.appendTo(b[:0]))
}

// AppendText appends d as String writes it (encoding.TextAppender): YYYY-MM-DD,
// nothing for the zero Date. It never fails.
func (d Date) AppendText(b []byte) ([]byte, error) {
	if d.IsZero() {
		return b, nil
	}
	return d.appendTo(b), nil
}

// appendTo appends d as YYYY-MM-DD to b.
func (d Date) appendTo(b []byte) []byte {
	if d.Year < 0 || d.Year > 9999 {
		return fmt.Appendf(b, "%04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	return append(b, '0'+byte(d.Year/1000), '0'+byte(d.Year/100%10), '0'+byte(d.Year/10%10), '0'+byte(d.Year%10), '-',
		'0'+byte(d.Month/10), '0'+byte(d.Month%10), '-', '0'+byte(d.Day/10), '0'+byte(d.Day%10))
}

// Day arithmetic is done on day numbers (days since 1970-01-01 in the
// proleptic Gregorian calendar): it runs for every event of every view, where
// time.Time conversions were the cost. Both directions are C. Neri and
// L. Schneider's Euclidean affine functions ("Euclidean affine functions and
// their application to calendar algorithms", 2022): unsigned 32-bit
// arithmetic whose divisions by constants compile to multiplications and
// shifts. Counting from 1 March of year -civilYears keeps every value
// unsigned; the conversions hold from 1 March -32800 to the end of year
// 2,906,944, far beyond any date the registry accepts (ParseDate reads years
// 0000 to 9999).
const (
	civilYears = 400 * 82           // a whole number of 400-year cycles, so the calendar repeats
	civilDays  = 719468 + 146097*82 // days from 1 March of year -civilYears to 1970-01-01
)

// days is d's day number.
func (d Date) days() int {
	y, m := uint32(d.Year+civilYears), uint32(d.Month)
	if m <= 2 {
		// January and February end the computational year, which starts in March.
		y, m = y-1, m+12
	}
	c := y / 100
	n := 1461*y/4 - c + c/4 + (979*m-2919)/32 + uint32(d.Day) - 1
	return int(int32(n - civilDays))
}

// dateOfDays is the Date of day number z.
func dateOfDays(z int) Date {
	n := uint32(z) + civilDays
	// The century and the day within it.
	n1 := 4*n + 3
	c := n1 / 146097
	nc := n1 % 146097 / 4
	// The year within the century and the day within that year.
	p := 2939745 * uint64(4*nc+3)
	y := 100*c + uint32(p>>32)
	ny := uint32(p) / 2939745 / 4
	// The month (March = 3 to February = 14) and the day.
	n3 := 2141*ny + 197913
	m, day := n3>>16, n3&0xffff/2141+1
	if ny >= 306 {
		y, m = y+1, m-12
	}
	return Date{int(y) - civilYears, time.Month(m), int(day)}
}

// AddDays returns d moved n days (n may be negative).
func (d Date) AddDays(n int) Date { return dateOfDays(d.days() + n) }

// AddMonths returns the same day-of-month n months later; where that day does
// not exist it is the last day of that month (2024-02-29 + 12 = 2025-02-28),
// as the Civil Code counts periods.
func (d Date) AddMonths(n int) Date {
	m := int(d.Month) - 1 + n
	y := d.Year + m/12
	if m %= 12; m < 0 {
		m += 12
		y--
	}
	month := time.Month(m + 1)
	return Date{y, month, min(d.Day, daysIn(y, month))}
}

// daysIn is the number of days of month m in year y.
func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	default:
		return 31
	}
}

// DaysUntil is the number of days from d to e (negative when e is earlier).
func (d Date) DaysUntil(e Date) int { return e.days() - d.days() }

// Compare returns -1, 0 or +1 as d is before, equal to or after e. It
// compares the fields (no time.Time on this hot path), so both dates must be
// real calendar dates, as ParseDate, DateOf and the Add methods return.
func (d Date) Compare(e Date) int { return cmp.Compare(d.key(), e.key()) }

// key orders dates as one integer (month and day fit in 9 bits).
func (d Date) key() int { return d.Year<<9 | int(d.Month)<<5 | d.Day }

// Before reports whether d is strictly before e.
func (d Date) Before(e Date) bool { return d.key() < e.key() }

// After reports whether d is strictly after e.
func (d Date) After(e Date) bool { return d.key() > e.key() }

// Start is the first instant of d in loc.
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// MarshalJSON writes "YYYY-MM-DD", or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 12)
	b = append(d.appendTo(append(b, '"')), '"')
	return b, nil
}

// UnmarshalJSON reads "YYYY-MM-DD"; null and "" leave the zero Date.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a date must be a string of the form YYYY-MM-DD")
	}
	if s == nil || *s == "" {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(*s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
