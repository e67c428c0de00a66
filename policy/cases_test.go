package policy

import (
	"testing"
	"time"
)

func TestServiceClocks(t *testing.T) {
	inWarranty := seq(received("2025-03-03"))
	expired := seq(received("2023-03-03"))
	type want struct {
		stage      string
		paused     bool
		inWarranty bool
		due        string // "" = no running clock
		overdue    bool
	}
	for _, tc := range []struct {
		name    string
		history []Event
		now     string
		want    want
	}{
		{"in warranty: 24 hours from intake", concat(inWarranty, []Event{intake("2025-06-01 10:00")}), "2025-06-02 09:59",
			want{"intake", false, true, "2025-06-02 10:00", false}},
		{"in warranty: overdue a minute after the deadline", concat(inWarranty, []Event{intake("2025-06-01 10:00")}), "2025-06-02 10:01",
			want{"intake", false, true, "2025-06-02 10:00", true}},
		{"at the deadline itself it is not overdue yet", concat(inWarranty, []Event{intake("2025-06-01 10:00")}), "2025-06-02 10:00",
			want{"intake", false, true, "2025-06-02 10:00", false}},
		{"24 clock hours run through the weekend", concat(inWarranty, []Event{intake("2025-06-06 18:00")}), "2025-06-07 12:00",
			want{"intake", false, true, "2025-06-07 18:00", false}},
		{"in warranty: the clock runs through diagnosis and repair", concat(inWarranty, []Event{intake("2025-06-01 10:00"),
			diagnosed("2025-06-01 12:00", QualityProblem, ""), repaired("2025-06-02 08:00", false, "battery")}), "2025-06-02 09:00",
			want{"repaired", false, true, "2025-06-02 10:00", false}},
		{"paused: no running clock while waiting on the customer", concat(inWarranty, []Event{intake("2025-06-01 10:00"), paused("2025-06-01 12:00")}), "2025-06-05 12:00",
			want{"paused", true, true, "", false}},
		{"a pause is excluded from the 24 hours", concat(inWarranty, []Event{intake("2025-06-01 10:00"), paused("2025-06-01 12:00"), resumed("2025-06-01 15:00")}), "2025-06-02 12:00",
			want{"intake", false, true, "2025-06-02 13:00", false}},
		{"two pauses are both excluded", concat(inWarranty, []Event{intake("2025-06-01 10:00"), diagnosed("2025-06-01 11:00", QualityProblem, ""),
			paused("2025-06-01 12:00"), resumed("2025-06-01 13:00"), paused("2025-06-01 14:00"), resumed("2025-06-01 16:00")}), "2025-06-02 12:00",
			want{"diagnosed", false, true, "2025-06-02 13:00", false}},
		{"shipped: the case is closed, no clock", concat(inWarranty, freeCase("2025-06-01", "2025-06-02")), "2025-06-09 10:00",
			want{"shipped", false, true, "", false}},
		{"out of warranty: first clock from intake to the quotation", concat(expired, []Event{intake("2025-06-01 10:00"), diagnosed("2025-06-01 11:00", QualityProblem, "")}), "2025-06-02 11:00",
			want{"diagnosed", false, false, "2025-06-02 10:00", true}},
		{"out of warranty: quoted, the clock waits for payment", concat(expired, []Event{intake("2025-06-01 10:00"), diagnosed("2025-06-01 11:00", QualityProblem, ""), quoted("2025-06-01 12:00")}), "2025-06-09 10:00",
			want{"quoted", false, false, "", false}},
		{"out of warranty: second clock of 24 hours from payment", concat(expired, []Event{intake("2025-06-01 10:00"), quoted("2025-06-01 12:00"), paid("2025-06-03 09:00")}), "2025-06-04 08:00",
			want{"paid", false, false, "2025-06-04 09:00", false}},
		{"out of warranty: second clock overdue", concat(expired, []Event{intake("2025-06-01 10:00"), quoted("2025-06-01 12:00"), paid("2025-06-03 09:00"), repaired("2025-06-03 10:00", true)}), "2025-06-04 09:30",
			want{"repaired", false, false, "2025-06-04 09:00", true}},
		{"out of warranty: only pauses after payment extend the second clock", concat(expired, []Event{intake("2025-06-01 10:00"), paused("2025-06-01 11:00"), resumed("2025-06-01 13:00"),
			quoted("2025-06-01 14:00"), paused("2025-06-01 15:00"), resumed("2025-06-02 15:00"), paid("2025-06-03 09:00"), paused("2025-06-03 10:00"), resumed("2025-06-03 11:30")}), "2025-06-04 10:00",
			want{"paid", false, false, "2025-06-04 10:30", false}},
		{"out of warranty: a pause before the quotation extends the first clock", concat(expired, []Event{intake("2025-06-01 10:00"), paused("2025-06-01 11:00"), resumed("2025-06-01 13:00")}), "2025-06-02 11:00",
			want{"intake", false, false, "2025-06-02 12:00", false}},
		{"declined: the unit goes back unrepaired within 24 hours of the refusal", concat(expired, []Event{intake("2025-06-01 10:00"), quoted("2025-06-01 12:00"), declined("2025-06-02 08:00")}), "2025-06-02 09:00",
			want{"declined", false, false, "2025-06-03 08:00", false}},
		{"excluded finding in warranty runs on the two clocks", concat(inWarranty, []Event{intake("2025-06-01 10:00"), diagnosed("2025-06-01 11:00", HumanDamage, ""), quoted("2025-06-01 13:00")}), "2025-06-03 10:00",
			want{"quoted", false, false, "", false}},
		{"excluded finding before the quotation: the first clock runs", concat(inWarranty, []Event{intake("2025-06-01 10:00"), diagnosed("2025-06-01 11:00", HumanDamage, "")}), "2025-06-02 10:30",
			want{"diagnosed", false, false, "2025-06-02 10:00", true}},
		{"no fault in warranty: one clock to shipping", concat(inWarranty, []Event{intake("2025-06-01 10:00"), diagnosed("2025-06-01 11:00", NoFault, "")}), "2025-06-02 09:00",
			want{"diagnosed", false, true, "2025-06-02 10:00", false}},
		{"paused after resuming returns to the step before the pause", concat(inWarranty, []Event{intake("2025-06-01 10:00"), diagnosed("2025-06-01 11:00", QualityProblem, ""),
			paused("2025-06-01 12:00"), resumed("2025-06-01 13:00"), paused("2025-06-01 14:00")}), "2025-06-02 12:00",
			want{"paused", true, true, "", false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Default()
			cases := p.Cases(product(), tc.history, ts(tc.now))
			if len(cases) == 0 {
				t.Fatal("no case")
			}
			c := cases[len(cases)-1]
			var due time.Time
			if tc.want.due != "" {
				due = ts(tc.want.due)
			}
			if c.Stage != tc.want.stage || c.Paused != tc.want.paused || c.InWarranty != tc.want.inWarranty || !c.DueAt.Equal(due) || c.Overdue != tc.want.overdue {
				t.Errorf("case = stage %s paused %v in_warranty %v due %v overdue %v, want %+v", c.Stage, c.Paused, c.InWarranty, c.DueAt.In(cst), c.Overdue, tc.want)
			}
			open := p.OpenCase(product(), tc.history, ts(tc.now))
			if c.ClosedAt.IsZero() != (open != nil) {
				t.Errorf("open case = %v, case closed at %v", open, c.ClosedAt)
			}
			if open != nil && *open != c {
				t.Errorf("OpenCase = %+v, last of Cases = %+v", *open, c)
			}
		})
	}
}

func TestCasesListsEveryCaseOldestFirst(t *testing.T) {
	p := Default()
	h := concat(seq(received("2025-03-03")), freeCase("2025-04-01", "2025-04-02"), []Event{{Type: EvIntake, At: ts("2025-05-01 10:00"), Center: "Wuhan", Complaint: "no power", Contact: "138"}})
	cases := p.Cases(product(), h, ts("2025-05-01 11:00"))
	if len(cases) != 2 || cases[0].ID != 2 || cases[1].ID != 6 {
		t.Fatalf("cases = %+v", cases)
	}
	first, second := cases[0], cases[1]
	if !first.ClosedAt.Equal(ts("2025-04-02 10:00")) || first.Finding != QualityProblem || first.Stage != "shipped" || !first.DueAt.IsZero() {
		t.Errorf("closed case = %+v", first)
	}
	if second.Center != "Wuhan" || second.Complaint != "no power" || second.Contact != "138" || !second.OpenedAt.Equal(ts("2025-05-01 10:00")) || !second.ClosedAt.IsZero() {
		t.Errorf("open case = %+v", second)
	}
	if got := p.Cases(product(), nil, ts("2025-05-01 11:00")); got == nil || len(got) != 0 {
		t.Errorf("Cases of an empty history = %#v, want an empty list", got)
	}
	if p.OpenCase(product(), seq(received("2025-03-03")), ts("2025-05-01 11:00")) != nil {
		t.Error("OpenCase without a case is not nil")
	}
}

func TestCoverageOpenCaseIsAsOfTheEndOfTheDay(t *testing.T) {
	p := Default()
	h := concat(seq(received("2025-03-03")), []Event{intake("2025-06-01 10:00")})
	if c := p.Coverage(product(), h, day("2025-06-01")).OpenCase; c == nil || c.Overdue || !c.DueAt.Equal(ts("2025-06-02 10:00")) {
		t.Errorf("open case on the day of intake = %+v", c)
	}
	if c := p.Coverage(product(), h, day("2025-06-02")).OpenCase; c == nil || !c.Overdue {
		t.Errorf("open case a day later = %+v, want overdue", c)
	}
	if c := p.Coverage(product(), h, day("2025-05-31")).OpenCase; c != nil {
		t.Errorf("open case before the intake = %+v", c)
	}
}

func TestServiceHoursFromThePolicy(t *testing.T) {
	p := Default()
	p.ServiceHours = 48
	h := concat(seq(received("2025-03-03")), []Event{intake("2025-06-01 10:00")})
	if c := p.OpenCase(product(), h, ts("2025-06-02 11:00")); c == nil || !c.DueAt.Equal(ts("2025-06-03 10:00")) || c.Overdue {
		t.Errorf("open case = %+v, want due after 48 hours", c)
	}
	e, err := p.Entitlements(product(), h, Claim{On: day("2025-06-01"), Finding: QualityProblem})
	if err != nil || e.DeadlineHours != 48 {
		t.Errorf("deadline hours = %d, %v", e.DeadlineHours, err)
	}
}
