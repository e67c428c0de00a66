package registry

// Registration mistakes (contract, "Registration mistakes"): a serial
// registered by error is taken out again while nothing has happened to it;
// a model defined by error is deleted while no item uses it. Both leave a
// line in the audit log, which is never pruned.

import (
	"fmt"

	"github.com/sanbao/sanbao/policy"
)

// maxReason bounds the reason of a removal, kept in the audit log.
const maxReason = 500

// OrderLine is one serial dispatched under an order, with where it stands.
type OrderLine struct {
	Serial       string
	SKU          string
	Kind         policy.Kind
	State        policy.State
	DispatchedOn policy.Date
	ReceivedOn   policy.Date
}

// itemUsing is the first serial whose item is of model sku or bundles an
// accessory of it, "" when none does. A record whose bytes do not hold the
// SKU cannot use it and is not decoded.
// DeleteItemArgs checks DeleteItem's arguments and returns them trimmed.
// Errors: EInvalid naming serial or reason.
func DeleteItemArgs(serial, reason string) (string, string, error) {
	serial, err := policy.Ident("serial", serial)
	if err != nil {
		return "", "", err
	}
	reason, err = policy.Text("reason", reason, maxReason, true)
	return serial, reason, err
}

// Removable says whether an item with seq events on record may be
// unregistered. Errors: EConflict when it has events or replaced a unit.
func Removable(it policy.Item, seq uint64) error {
	if seq > 0 {
		return policy.Errorf(policy.EConflict, "serial", "serial %s has %d events on record; only a serial with none may be unregistered (record a corrected event instead)", it.Serial, seq)
	}
	if it.Replaces != "" {
		return policy.Errorf(policy.EConflict, "serial", "serial %s is the replacement of %s, recorded by its replaced event; it cannot be unregistered", it.Serial, it.Replaces)
	}
	return nil
}

// ItemDeleteAudit is the audit line of DeleteItem.
func ItemDeleteAudit(it policy.Item, reason string) AuditLine {
	return AuditLine{"item.delete", it.Serial, fmt.Sprintf("%s of batch %s unregistered: %s", it.SKU, it.Batch, reason)}
}

// ModelInUse is DeleteModel's EConflict naming a serial using the model.
func ModelInUse(sku, serial string) error {
	return policy.Errorf(policy.EConflict, "sku", "model %s is used by serial %s (and maybe others); a model may be deleted only while no item uses it", sku, serial)
}

// ModelDeleteAudit is the audit line of DeleteModel.
func ModelDeleteAudit(m policy.Model) AuditLine {
	return AuditLine{"model.delete", m.SKU, fmt.Sprintf("%s %q", m.Kind, m.Name)}
}

// NothingUnderOrder is Order's ENotFound.
func NothingUnderOrder(order string) error {
	return policy.Errorf(policy.ENotFound, "order", "nothing is dispatched under order %s", order)
}
