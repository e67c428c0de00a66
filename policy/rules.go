package policy

import "time"

// Coverage is what an item's history says on a date: its state, its warranty
// and the coverage of parts and bundled accessories. Zero Dates are unknown
// (JSON null).
type Coverage struct {
	On            Date
	State         State
	Status        Status
	Basis         Basis  // courier, invoice, customer, exchange, dispatched, estimated; "" when not started
	BasisText     string // e.g. "receipt confirmed by courier"
	Start         Date
	ReturnUntil   Date
	ReplaceUntil  Date
	WarrantyUntil Date // with repair days and the rest-day shift
	DaysLeft      int
	FreeRepairs   int // toward the two-repairs rule
	RepairDays    int
	DispatchedOn  Date
	Order         string
	ReceivedOn    Date
	Evidence      Evidence
	SupersededBy  string
	VoidedBy      uint64 // seq of the diagnosis that voided the warranty
	Parts         []PartCoverage
	Accessories   []AccessoryCoverage
	OpenCase      *Case
}

// PartCoverage is a part fitted in a repair. CoveredUntil is zero until the
// unit is shipped back.
type PartCoverage struct {
	Part         string
	ReplacedOn   Date
	CoveredUntil Date
	Paid         bool
	Case         uint64
}

// AccessoryCoverage is a bundled accessory's warranty.
type AccessoryCoverage struct {
	SKU           string
	Name          string
	Kind          Kind
	Batch         string // batch on record (changes with each exchange)
	Start         Date   // the product's start, or the date of the last exchange
	WarrantyUntil Date
	Replacements  int // every exchange
	// QualityReplacements are the exchanges made in a service case
	// diagnosed quality_problem: the ones rule 4's refund counts (an
	// exchange after no_fault or an exclusion is goodwill).
	QualityReplacements int
}

// Case is a service case: opened by `intake` (ID = its seq), closed by
// `shipped`, `replaced`, `returned`.
type Case struct {
	ID        uint64
	Center    string
	Complaint string
	Contact   string
	OpenedAt  time.Time
	Finding   Finding // latest diagnosis, "" before one
	Part      string
	// Stage is the last service step: intake, diagnosed, quoted, paid, declined,
	// repaired, paused (waiting on the customer), shipped, replaced, returned.
	Stage      string
	Paused     bool
	InWarranty bool
	DueAt      time.Time // zero while paused or once the clock has stopped
	Overdue    bool
	ClosedAt   time.Time
}

// Claim is what the service desk asks about.
type Claim struct {
	On        Date
	Finding   Finding // "" = the open case's diagnosis (EInvalid if none)
	Intact    bool
	Complete  bool
	Part      string
	Accessory string // SKU of a bundled accessory
}

// Entitlement is what the customer may choose for a claim.
type Entitlement struct {
	On            Date
	InWarranty    bool
	Remedies      []Remedy // never nil
	PaidRepair    bool
	Reasons       []string
	DeadlineHours int
}

// Check is what validation needs beyond the item: the current instant, for
// `replaced` the new serial's item and history (nil when not registered),
// and whether the customer is confirming their receipt.
type Check struct {
	Now                time.Time
	Replacement        *Item
	ReplacementHistory []Event
	// Customer marks the customer's own confirmation of receipt from the
	// public page: it must be a `received` event with evidence customer,
	// and CheckConfirmation applies as of the date of Now.
	Customer bool
}
