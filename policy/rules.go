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
	// Why asks for Entitlement.Why as well as the English reasons (a
	// page's claim; the API's sentences need no more).
	Why bool
}

// Entitlement is what the customer may choose for a claim.
type Entitlement struct {
	On         Date
	InWarranty bool
	Remedies   []Remedy // never nil
	PaidRepair bool
	Reasons    []string
	// Why is Reasons as codes and arguments, one for each sentence in the
	// same order, for pages that word them in another language; nil unless
	// the claim asked for it.
	Why           []Reason
	DeadlineHours int
}

// Reason is one rule that fired, for a page to word in its language: the
// kind of sentence (Code, one of ReasonKinds) and the values it names, each
// list in the order the English sentence names them. Words are shown as
// recorded (serials, parts, SKUs, batches); Terms are codes a page words
// in its language (a finding, a product or accessory kind, or what keeps a
// return from being allowed: not_intact, not_complete, not_intact_complete).
type Reason struct {
	Code  string
	Dates []Date
	Nums  []int
	Words []string
	Terms []string
}

// ReasonKind is a kind of reason and how many values of each sort it names.
type ReasonKind struct {
	Code                      string
	Dates, Nums, Words, Terms int
}

// ReasonKinds lists every kind of reason Entitlements gives, so that a
// page can check it has words for each.
func ReasonKinds() []ReasonKind { return append([]ReasonKind(nil), reasonKinds[:]...) }

// reasonKind indexes reasonKinds. The array is sized by the constants, so a
// new kind without its entry leaves an empty code, which the tests forbid.
type reasonKind int

const (
	whyReplaced reasonKind = iota
	whyRefunded
	whyVoid
	whyNoFault
	whyPaidRepair
	whyExcluded
	whyExcludedVoids
	whyBeforeExchange
	whyNoStart
	whyWarrantyEnded
	whyPartCovered
	whyPartNotCovered
	whyEstimated
	whyReplacementUnit
	whyReturn // the dispatch wording must follow each dayOf kind
	whyReturnDispatch
	whyNoReturn
	whyNoReturnDispatch
	whyReplaceWindow
	whyReplaceWindowDispatch
	whyBundleReplace
	whyBundleRefund
	whyFreeRepair
	whyRepairsThenReplace
	whyAccessoryEnded
	whyAccessoryNoFault
	whyAccessoryReplace
	whyAccessoryRefund
	nReasonKinds
)

var reasonKinds = [nReasonKinds]ReasonKind{
	whyReplaced:              {"replaced", 1, 0, 1, 0},
	whyRefunded:              {"refunded", 1, 0, 0, 0},
	whyVoid:                  {"void", 1, 0, 0, 1},
	whyNoFault:               {"no_fault", 0, 0, 0, 0},
	whyPaidRepair:            {"paid_repair", 0, 0, 0, 0},
	whyExcluded:              {"excluded", 0, 1, 0, 1},
	whyExcludedVoids:         {"excluded_voids", 0, 1, 0, 1},
	whyBeforeExchange:        {"before_exchange", 1, 0, 1, 0},
	whyNoStart:               {"no_start", 0, 0, 0, 0},
	whyWarrantyEnded:         {"warranty_ended", 1, 0, 0, 0},
	whyPartCovered:           {"part_covered", 3, 1, 1, 0},
	whyPartNotCovered:        {"part_not_covered", 1, 0, 1, 0},
	whyEstimated:             {"estimated", 1, 3, 0, 0},
	whyReplacementUnit:       {"replacement_unit", 1, 2, 1, 0},
	whyReturn:                {"return", 2, 2, 0, 0},
	whyReturnDispatch:        {"return_dispatch", 2, 2, 0, 0},
	whyNoReturn:              {"no_return", 2, 2, 0, 1},
	whyNoReturnDispatch:      {"no_return_dispatch", 2, 2, 0, 1},
	whyReplaceWindow:         {"replace_window", 2, 2, 0, 0},
	whyReplaceWindowDispatch: {"replace_window_dispatch", 2, 2, 0, 0},
	whyBundleReplace:         {"bundle_replace", 1, 0, 0, 1},
	whyBundleRefund:          {"bundle_refund", 0, 1, 0, 0},
	whyFreeRepair:            {"free_repair", 1, 0, 0, 0},
	whyRepairsThenReplace:    {"repairs_then_replace", 0, 1, 0, 0},
	whyAccessoryEnded:        {"accessory_ended", 1, 0, 2, 1},
	whyAccessoryNoFault:      {"accessory_no_fault", 0, 0, 2, 1},
	whyAccessoryReplace:      {"accessory_replace", 1, 0, 2, 1},
	whyAccessoryRefund:       {"accessory_refund", 0, 1, 1, 0},
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
