package policy

import (
	"time"
)

// Kind is what an item is: a main unit, an accessory or an adapter. Each has
// its own warranty period in the policy.
type Kind string

// The item kinds.
const (
	KindProduct   Kind = "product"
	KindAccessory Kind = "accessory"
	KindAdapter   Kind = "adapter"
)

// Valid reports whether k is one of the three kinds.
func (k Kind) Valid() bool { return k == KindProduct || k == KindAccessory || k == KindAdapter }

// Bundleable reports whether items of kind k may ship bundled with a product,
// known only by their batch number.
func (k Kind) Bundleable() bool { return k == KindAccessory || k == KindAdapter }

// EventType names an entry of an item's append-only history.
type EventType string

// The event types of the contract.
const (
	EvDispatched        EventType = "dispatched"
	EvReceived          EventType = "received"
	EvTransferred       EventType = "transferred"
	EvIntake            EventType = "intake"
	EvDiagnosed         EventType = "diagnosed"
	EvQuoted            EventType = "quoted"
	EvPaid              EventType = "paid"
	EvDeclined          EventType = "declined"
	EvRepaired          EventType = "repaired"
	EvReplaced          EventType = "replaced"
	EvReturned          EventType = "returned"
	EvPaused            EventType = "paused"
	EvResumed           EventType = "resumed"
	EvShipped           EventType = "shipped"
	EvAccessoryReplaced EventType = "accessory_replaced"
	EvCorrected         EventType = "corrected"
)

// EventTypes lists every event type in the contract's order.
var EventTypes = []EventType{EvDispatched, EvReceived, EvTransferred, EvIntake, EvDiagnosed, EvQuoted,
	EvPaid, EvDeclined, EvRepaired, EvReplaced, EvReturned, EvPaused, EvResumed, EvShipped,
	EvAccessoryReplaced, EvCorrected}

// Dated reports whether events of type t carry a calendar date (`on`)
// rather than an instant (`at`). Corrections carry neither.
func (t EventType) Dated() bool { return codeOf(t).dated() }

// Finding is a service centre's diagnosis.
type Finding string

// The findings. Every one but quality_problem and no_fault is an exclusion.
const (
	QualityProblem     Finding = "quality_problem"
	NoFault            Finding = "no_fault"
	NormalWear         Finding = "normal_wear"
	HumanDamage        Finding = "human_damage"
	ImproperUse        Finding = "improper_use"
	Tampered           Finding = "tampered"
	UnauthorizedRepair Finding = "unauthorized_repair"
	ForceMajeure       Finding = "force_majeure"
)

// Findings lists every finding.
var Findings = []Finding{QualityProblem, NoFault, NormalWear, HumanDamage, ImproperUse, Tampered, UnauthorizedRepair, ForceMajeure}

// Valid reports whether f is a known finding.
func (f Finding) Valid() bool {
	for _, g := range Findings {
		if f == g {
			return true
		}
	}
	return false
}

// Excluded reports whether f is an exclusion (no free remedy).
func (f Finding) Excluded() bool { return f.Valid() && f != QualityProblem && f != NoFault }

// Voids reports whether f voids the free warranty for good.
func (f Finding) Voids() bool { return f == Tampered || f == UnauthorizedRepair }

// Remedy is a free remedy the customer may choose.
type Remedy string

// The three guarantees.
const (
	Return  Remedy = "return"
	Replace Remedy = "replace"
	Repair  Remedy = "repair"
)

// Evidence is how a receipt was confirmed, strongest first.
type Evidence string

// Evidence of receipt.
const (
	Courier  Evidence = "courier"
	Invoice  Evidence = "invoice"
	Customer Evidence = "customer"
)

// Valid reports whether e is one of the three kinds of receipt evidence.
func (e Evidence) Valid() bool { return e == Courier || e == Invoice || e == Customer }

// Supersedes reports whether a receipt with evidence e replaces one with
// evidence old on record: only stronger evidence does (courier > invoice >
// customer), and any evidence supersedes none.
func (e Evidence) Supersedes(old Evidence) bool { return e.weight() > old.weight() }

func (e Evidence) weight() int {
	switch e {
	case Courier:
		return 3
	case Invoice:
		return 2
	case Customer:
		return 1
	}
	return 0
}

// Channel is whom a unit was dispatched to. An event without one (all those
// recorded before channels existed) was dispatched directly.
type Channel string

// Dispatch channels.
const (
	// Direct is a dispatch to the customer: until a receipt is recorded,
	// its date stands in for the receipt's (a lower bound of the windows).
	Direct Channel = "direct"
	// Reseller is a dispatch to a reseller: the customer's receipt is
	// unknown, so the start is estimated from the production date.
	Reseller Channel = "reseller"
)

// Valid reports whether c is direct or reseller.
func (c Channel) Valid() bool { return c == Direct || c == Reseller }

// Basis is where a warranty's start date comes from: a receipt's evidence,
// an exchange (a replacement unit before its own receipt), a direct
// dispatch (no receipt yet), or an estimate from the production date.
type Basis string

// Bases that are not receipt evidence.
const (
	BasisExchange   Basis = "exchange"
	BasisDispatched Basis = "dispatched"
	BasisEstimated  Basis = "estimated"
)

// Status is the warranty status of an item on a date.
type Status string

// Warranty statuses.
const (
	NotStarted Status = "not_started"
	Active     Status = "active"
	Expired    Status = "expired"
	Void       Status = "void"
	Retired    Status = "retired"
)

// State is where a unit is in its life.
type State string

// Item states.
const (
	Registered State = "registered"
	Dispatched State = "dispatched"
	InUse      State = "in_use"
	InService  State = "in_service"
	Replaced   State = "replaced"
	Returned   State = "returned"
)

// Model is a SKU the maker sells. WarrantyMonths 0 means the policy's
// period for the kind.
type Model struct {
	SKU            string    `json:"sku"`
	Name           string    `json:"name"`
	NameEN         string    `json:"name_en,omitempty"` // English name; "" = use Name
	Kind           Kind      `json:"kind"`
	GTIN           string    `json:"gtin,omitempty"` // normalised to 14 digits
	WarrantyMonths int       `json:"warranty_months,omitempty"`
	UpdatedAt      time.Time `json:"updated_at,omitzero"`
}

// Item is a registered serial with the terms fixed at registration: kind and
// warranty months are copied from the model and the policy then, so later
// edits never change coverage already sold.
type Item struct {
	Serial         string      `json:"serial"`
	SKU            string      `json:"sku"`
	Kind           Kind        `json:"kind"`
	WarrantyMonths int         `json:"warranty_months"`
	Batch          string      `json:"batch"`
	ProducedOn     Date        `json:"produced_on,omitzero"`
	Accessories    []Accessory `json:"accessories,omitempty"`
	RegisteredAt   time.Time   `json:"registered_at,omitzero"`
	// Replaces and ExchangedOn are set on a replacement unit, in the same
	// transaction as the old unit's `replaced` event.
	Replaces    string `json:"replaces,omitempty"`
	ExchangedOn Date   `json:"exchanged_on,omitzero"`
	// Exchanges counts the free replacements in this unit's line, before
	// it, that followed a quality_problem diagnosis (SuccessorExchanges):
	// 0 for an original unit. It lets a stand-alone accessory reach the
	// refund after two replacements (rule 4); goodwill exchanges after
	// no_fault or an exclusion do not count.
	Exchanges int `json:"exchanges,omitempty"`
}

// Accessory is a bundled accessory or adapter known only by its batch number,
// with its terms copied at registration. It is serviced through the product.
type Accessory struct {
	SKU            string `json:"sku"`
	Batch          string `json:"batch"`
	Name           string `json:"name,omitempty"`
	Kind           Kind   `json:"kind"`
	WarrantyMonths int    `json:"warranty_months"`
}

// Event is one entry of an item's append-only history. Dated types use On;
// the others At (converted to the policy zone before a date is taken). A
// `corrected` event names the event it corrects in Corrects and carries only
// the fields it replaces. Seq, By, KeyID and RecordedAt are set by the registry.
type Event struct {
	Seq       uint64    `json:"seq"`
	Type      EventType `json:"type"`
	On        Date      `json:"on,omitzero"`
	At        time.Time `json:"at,omitzero"`
	Order     string    `json:"order,omitempty"`
	Channel   Channel   `json:"channel,omitempty"` // dispatched: "" reads as direct
	Evidence  Evidence  `json:"evidence,omitempty"`
	Note      string    `json:"note,omitempty"`
	Center    string    `json:"center,omitempty"`
	Complaint string    `json:"complaint,omitempty"`
	Contact   string    `json:"contact,omitempty"` // staff-only: never on public views
	Finding   Finding   `json:"finding,omitempty"`
	Part      string    `json:"part,omitempty"`
	Amount    string    `json:"amount,omitempty"` // decimal text, e.g. "120.50"
	Currency  string    `json:"currency,omitempty"`
	Paid      bool      `json:"paid,omitempty"`
	Parts     []string  `json:"parts,omitempty"`
	NewSerial string    `json:"new_serial,omitempty"`
	Tracking  string    `json:"tracking,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	SKU       string    `json:"sku,omitempty"`       // accessory_replaced: which bundled accessory
	NewBatch  string    `json:"new_batch,omitempty"` // accessory_replaced
	Corrects  uint64    `json:"corrects,omitempty"`  // corrected: the target's seq
	// Fields lists, on a `corrected` event, the JSON names of the fields it
	// replaces, zero values included (so `paid` can become false and a
	// part can be cleared). When empty, its non-zero fields are replaced.
	Fields     []string  `json:"fields,omitempty"`
	By         string    `json:"by,omitempty"` // the key's name
	KeyID      string    `json:"key_id,omitempty"`
	RecordedAt time.Time `json:"recorded_at,omitzero"`
}
