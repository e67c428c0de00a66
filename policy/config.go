package policy

import (
	"time"
	_ "time/tzdata" // Asia/Shanghai must load in a minimal container image
)

// Policy holds every number of the warranty policy. Default returns the
// IMASK terms; a policy file (see Load) may change any of them.
type Policy struct {
	TimeZone string `json:"time_zone"`
	// WarrantyMonths per kind; a model may set its own.
	WarrantyMonths map[Kind]int `json:"warranty_months"`
	// ReturnDays and ReplaceDays are the 7- and 15-day windows after receipt.
	ReturnDays  int `json:"return_days"`
	ReplaceDays int `json:"replace_days"`
	// RepairsBeforeReplacement free quality repairs after which a product may be replaced.
	RepairsBeforeReplacement int `json:"repairs_before_replacement"`
	// ReplacementsBeforeRefund free replacements after which an accessory may be returned.
	ReplacementsBeforeRefund int `json:"replacements_before_refund"`
	// PartCoverageDays after the unit is back for parts fitted in a repair.
	PartCoverageDays int `json:"part_coverage_days"`
	// EstimatedStartDays after production is the assumed start when no receipt is on record.
	EstimatedStartDays int `json:"estimated_start_days"`
	// ConfirmWithinDays bounds the date a customer may give for their own
	// receipt: at most this many days before today, and after a direct
	// dispatch at most this many days after it.
	ConfirmWithinDays int `json:"confirm_within_days"`
	// ServiceHours is the service commitment (24 clock hours).
	ServiceHours int `json:"service_hours"`
	// RestDays are public-holiday periods: a window ending inside one ends on the day after it.
	RestDays []DateRange `json:"rest_days"`
	Contact  Contact     `json:"contact"`

	loc *time.Location
}

// DateRange is an inclusive range of calendar dates, optionally named
// ("National Day").
type DateRange struct {
	From Date   `json:"from"`
	To   Date   `json:"to"`
	Name string `json:"name,omitempty"`
}

// Contact is how a customer reaches after-sales service.
type Contact struct {
	Company string `json:"company"`
	Mailbox string `json:"mailbox"`
	Phone   string `json:"phone"`
	Web     string `json:"web,omitempty"`
	// Hours are when the phone is answered, as the page prints them
	// ("9:00–21:00"), in the policy's time zone; "" prints none.
	Hours string `json:"hours,omitempty"`
}

// Default returns the IMASK policy: 12 months for every kind, 7/15-day
// windows, two repairs, two replacements, 90 days of part coverage, an
// estimated start 90 days after production, customer confirmations of
// receipt within 15 days, 24 service hours, China
// Standard Time, no rest days.
func Default() *Policy {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err) // unreachable: time/tzdata is embedded
	}
	return &Policy{
		TimeZone:                 "Asia/Shanghai",
		WarrantyMonths:           map[Kind]int{KindProduct: 12, KindAccessory: 12, KindAdapter: 12},
		ReturnDays:               7,
		ReplaceDays:              15,
		RepairsBeforeReplacement: 2,
		ReplacementsBeforeRefund: 2,
		PartCoverageDays:         90,
		EstimatedStartDays:       90,
		ConfirmWithinDays:        15,
		ServiceHours:             24,
		Contact:                  Contact{Company: "IMASK", Mailbox: "service@imask.com.cn", Phone: "400-668-9229"},
		loc:                      loc,
	}
}

// Location is the policy's time zone.
func (p *Policy) Location() *time.Location { return p.loc }

// Today is the calendar date of now in the policy's time zone.
func (p *Policy) Today(now time.Time) Date { return DateOf(now, p.loc) }

// Months is the warranty period of kind k under this policy.
func (p *Policy) Months(k Kind) int { return p.WarrantyMonths[k] }
