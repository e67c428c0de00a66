package policy

import "testing"

// policy.md "Counting": a window whose last day falls inside a rest-day
// period ends on the first day after it. "Inside" includes both ends of the
// period; the days just outside it are not moved. The expectations are the
// calendar worked out by hand for National Day 2026-10-01..2026-10-07.

func nationalDay() *Policy {
	p := Default()
	p.RestDays = []DateRange{{From: day("2026-10-01"), To: day("2026-10-07"), Name: "National Day"}}
	return p
}

func TestRestDayShiftOfWarrantyAndWindows(t *testing.T) {
	p := nationalDay()
	for _, tc := range []struct {
		name                                     string
		received                                 string
		returnUntil, replaceUntil, warrantyUntil string
	}{
		{"12 months ending the day before the period: not moved", "2025-09-30", "2025-10-07", "2025-10-15", "2026-09-30"},
		{"12 months ending on the period's first day: moved past it", "2025-10-01", "2025-10-08", "2025-10-16", "2026-10-08"},
		{"12 months ending on the period's last day: moved past it", "2025-10-07", "2025-10-14", "2025-10-22", "2026-10-08"},
		{"12 months ending the day after the period: not moved", "2025-10-08", "2025-10-15", "2025-10-23", "2026-10-08"},
		{"7 days ending on the period's last day: moved; 15 days after it: not", "2026-09-30", "2026-10-08", "2026-10-15", "2027-09-30"},
		{"7 days ending on the period's first day: moved", "2026-09-24", "2026-10-08", "2026-10-09", "2027-09-24"},
		{"15 days ending on the period's last day: moved", "2026-09-22", "2026-09-29", "2026-10-08", "2027-09-22"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cv := p.Coverage(product(), seq(received(tc.received)), day(tc.received))
			for _, f := range []struct {
				what string
				got  Date
				want string
			}{{"return_until", cv.ReturnUntil, tc.returnUntil}, {"replace_until", cv.ReplaceUntil, tc.replaceUntil}, {"warranty_until", cv.WarrantyUntil, tc.warrantyUntil}} {
				if f.got != day(f.want) {
					t.Errorf("%s = %s, want %s", f.what, f.got, f.want)
				}
			}
		})
	}
}

// TestPartCoverageEndingInARestPeriodIsMovedPastIt: a part fitted in a paid
// repair is covered 90 days after the unit is back (policy.md "Parts fitted
// in a paid repair"); when the 90th day falls inside a rest period, the
// coverage ends on the first day after it.
func TestPartCoverageEndingInARestPeriodIsMovedPastIt(t *testing.T) {
	p := nationalDay()
	for _, tc := range []struct {
		name, back, want string
	}{
		{"back 2026-07-01: day 90 is 2026-09-29, before the period", "2026-07-01", "2026-09-29"},
		{"back 2026-07-03: day 90 is 2026-10-01, the first rest day", "2026-07-03", "2026-10-08"},
		{"back 2026-07-05: day 90 is 2026-10-03, inside the period", "2026-07-05", "2026-10-08"},
		{"back 2026-07-09: day 90 is 2026-10-07, the last rest day", "2026-07-09", "2026-10-08"},
		{"back 2026-07-10: day 90 is 2026-10-08, after the period", "2026-07-10", "2026-10-08"},
		{"back 2026-07-11: day 90 is 2026-10-09", "2026-07-11", "2026-10-09"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			history := seq(received("2026-06-01"),
				intake(tc.back+" 08:00"), diagnosed(tc.back+" 08:30", HumanDamage, "screen"),
				quoted(tc.back+" 09:00"), paid(tc.back+" 09:30"),
				repaired(tc.back+" 10:00", true, "screen"), shipped(tc.back+" 11:00"))
			cv := p.Coverage(product(), history, day(tc.back))
			if len(cv.Parts) != 1 || cv.Parts[0].Part != "screen" || !cv.Parts[0].Paid {
				t.Fatalf("parts = %+v, want the paid screen", cv.Parts)
			}
			if got := cv.Parts[0].CoveredUntil; got != day(tc.want) {
				t.Errorf("screen covered_until = %s, want %s", got, tc.want)
			}
		})
	}
}
