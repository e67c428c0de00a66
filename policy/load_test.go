package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExamplePolicyFileIsTheDefault(t *testing.T) {
	p, err := LoadFile(filepath.Join("testdata", "imask.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := Default(); !reflect.DeepEqual(p, want) {
		t.Errorf("testdata/imask.json =\n%+v\nwant Default()\n%+v", p, want)
	}
}

func TestLoadKeepsDefaultsForMissingFields(t *testing.T) {
	p, err := Load(strings.NewReader(`{"return_days": 10, "warranty_months": {"adapter": 6}, "contact": {"phone": "400-000-0000", "hours": " 9:00–21:00 "},
		"rest_days": [{"from": "2026-10-01", "to": "2026-10-07", "name": "National Day"}, {"from": "2026-05-01", "to": "2026-05-05"}],
		"time_zone": "Asia/Hong_Kong"}`))
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if p.ReturnDays != 10 || p.ReplaceDays != d.ReplaceDays || p.Months(KindAdapter) != 6 || p.Months(KindProduct) != 12 ||
		p.Contact.Phone != "400-000-0000" || p.Contact.Hours != "9:00–21:00" || p.Contact.Mailbox != d.Contact.Mailbox || p.Location().String() != "Asia/Hong_Kong" {
		t.Errorf("policy = %+v", p)
	}
	if len(p.RestDays) != 2 || p.RestDays[0].From != day("2026-05-01") || p.RestDays[1].Name != "National Day" {
		t.Errorf("rest days not sorted: %+v", p.RestDays)
	}
	// Every number takes effect.
	p, err = Load(strings.NewReader(`{"return_days": 3, "replace_days": 4, "repairs_before_replacement": 1, "replacements_before_refund": 1,
		"part_coverage_days": 30, "estimated_start_days": 0, "service_hours": 48, "warranty_months": {"product": 24}}`))
	if err != nil {
		t.Fatal(err)
	}
	item := product()
	item.WarrantyMonths = 0
	cv := p.Coverage(item, seq(received("2025-03-03")), day("2025-03-04"))
	if cv.ReturnUntil != day("2025-03-06") || cv.ReplaceUntil != day("2025-03-07") || cv.WarrantyUntil != day("2027-03-03") {
		t.Errorf("coverage under a changed policy = %+v", cv)
	}
	h := concat(seq(received("2025-03-03")), freeCase("2025-04-01", "2025-04-02", "fan"))
	e, _ := p.Entitlements(item, h, Claim{On: day("2025-06-01"), Finding: QualityProblem})
	if remedies(e.Remedies) != "replace,repair" || e.DeadlineHours != 48 {
		t.Errorf("one repair before replacement: %+v", e)
	}
	est := product()
	est.ProducedOn = day("2025-01-01")
	if cv := p.Coverage(est, nil, day("2025-01-01")); cv.Start != day("2025-01-01") || cv.Status != Active {
		t.Errorf("estimated start 0 days after production = %+v", cv)
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	for _, tc := range []struct {
		name, json, field string
	}{
		{"unknown field", `{"return_dayz": 7}`, "return_dayz"},
		{"unknown nested field", `{"contact": {"fax": "1"}}`, "contact.fax"},
		{"unknown rest-day field", `{"rest_days": [{"from": "2026-10-01", "to": "2026-10-02", "holiday": true}]}`, "rest_days[0].holiday"},
		{"unknown kind", `{"warranty_months": {"gadget": 12}}`, "warranty_months.gadget"},
		{"negative return days", `{"return_days": -1}`, "return_days"},
		{"zero replace days", `{"replace_days": 0}`, "replace_days"},
		{"replace window shorter than return window", `{"return_days": 10, "replace_days": 9}`, "replace_days"},
		{"zero repairs before replacement", `{"repairs_before_replacement": 0}`, "repairs_before_replacement"},
		{"zero replacements before refund", `{"replacements_before_refund": 0}`, "replacements_before_refund"},
		{"zero part coverage", `{"part_coverage_days": 0}`, "part_coverage_days"},
		{"negative estimated start", `{"estimated_start_days": -90}`, "estimated_start_days"},
		{"zero service hours", `{"service_hours": 0}`, "service_hours"},
		{"zero warranty months", `{"warranty_months": {"product": 0}}`, "warranty_months.product"},
		{"warranty months too long", `{"warranty_months": {"accessory": 121}}`, "warranty_months.accessory"},
		{"warranty months null", `{"warranty_months": null}`, "warranty_months.product"},
		{"fractional days", `{"return_days": 7.5}`, "return_days"},
		{"days as a string", `{"return_days": "7"}`, "return_days"},
		{"bad zone", `{"time_zone": "Mars/Olympus"}`, "time_zone"},
		{"empty zone", `{"time_zone": ""}`, "time_zone"},
		{"machine-local zone", `{"time_zone": "Local"}`, "time_zone"},
		{"rest-day range from after to", `{"rest_days": [{"from": "2026-10-07", "to": "2026-10-01"}]}`, "rest_days[0].from"},
		{"rest-day range without to", `{"rest_days": [{"from": "2026-10-07"}]}`, "rest_days.to"},
		{"rest-day impossible date", `{"rest_days": [{"from": "2026-02-30", "to": "2026-03-01"}]}`, "rest_days.from"},
		{"rest-day not an object", `{"rest_days": ["2026-10-01"]}`, "rest_days"},
		{"contact with a control character", `{"contact": {"phone": "400\u0007"}}`, "contact.phone"},
		{"service hours too long", `{"contact": {"hours": "` + strings.Repeat("9", 201) + `"}}`, "contact.hours"},
		{"no way to reach service", `{"contact": {"mailbox": "", "phone": "", "web": ""}}`, "contact"},
		{"malformed JSON", `{"return_days": 7,}`, ""},
		{"truncated JSON", `{"return_days": 7`, ""},
		{"empty file", ``, ""},
		{"not an object", `[1, 2]`, ""},
		{"null", `null`, ""},
		{"two values", `{} {}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Load(strings.NewReader(tc.json))
			if p != nil {
				t.Errorf("policy returned with an error")
			}
			wantCode(t, err, EInvalid, tc.field)
		})
	}
}

func TestLoadFileNamesThePath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.json")
	_, err := LoadFile(missing)
	wantCode(t, err, EInvalid, "")
	if !strings.Contains(err.Error(), missing) {
		t.Errorf("err = %v, want the path named", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{\n  \"service_hours\": -1\n}"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(bad)
	wantCode(t, err, EInvalid, "service_hours")
	if !strings.Contains(err.Error(), bad) {
		t.Errorf("err = %v, want the path named", err)
	}
}

func TestLoadReportsWhereJSONBreaks(t *testing.T) {
	_, err := Load(strings.NewReader("{\n  \"return_days\": 7,\n}"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("err = %v, want the line named", err)
	}
}
