package registry

// Registration mistakes (contract, "Registration mistakes"): a serial
// registered by error is taken out again while nothing has happened to it;
// a model defined by error is deleted while no item uses it. Both leave a
// line in the audit log, which is never pruned.

import (
	"bytes"
	"fmt"

	"github.com/sanbao/sanbao/policy"
	bolt "go.etcd.io/bbolt"
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

// Order lists the serials dispatched under order (its last dispatch, after
// corrections), in serial order. Errors: EInvalid for a malformed order;
// ENotFound when nothing is dispatched under it.
func (db *DB) Order(order string) ([]OrderLine, error) {
	order, err := policy.Ident("order", order)
	if err != nil {
		return nil, err
	}
	var out []OrderLine
	err = db.bolt.View(func(tx *bolt.Tx) error {
		p := prefix(order)
		c := tx.Bucket(bucketOrders).Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			r, err := getItem(tx, string(k[len(p):]))
			if err != nil {
				return fmt.Errorf("order index: %w", err)
			}
			out = append(out, OrderLine{Serial: r.Serial, SKU: r.SKU, Kind: r.Kind, State: r.State,
				DispatchedOn: r.DispatchedOn, ReceivedOn: r.ReceivedOn})
		}
		if len(out) == 0 {
			return NothingUnderOrder(order)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteItem takes a serial registered by mistake out of the registry: its
// record, its batch index entries (as a member of its batch and as the
// carrier of its bundled accessories' batches, with their counts) and its
// scan counts go; the audit log records who did it and why.
// Errors: EInvalid for a malformed serial or a missing or over-long
// reason (field "reason"); ENotFound; EConflict when the serial has any
// event on record or is the replacement of another unit; EUnavailable.
func (db *DB) DeleteItem(a Actor, serial, reason string) error {
	serial, reason, err := DeleteItemArgs(serial, reason)
	if err != nil {
		return err
	}
	now := db.now()
	return db.update(func(tx *bolt.Tx) error {
		r, err := getItem(tx, serial)
		if err != nil {
			return err
		}
		if err := Removable(r.Item, r.Seq); err != nil {
			return err
		}
		if err := tx.Bucket(bucketItems).Delete([]byte(serial)); err != nil {
			return err
		}
		if err := unindexBatch(tx, r.Batch, serial, flagMember); err != nil {
			return err
		}
		for _, acc := range r.Accessories {
			if err := unindexBatch(tx, acc.Batch, serial, flagCarrier); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketScans).Delete([]byte(serial)); err != nil {
			return err
		}
		if err := addCounter(tx, countItems, -1); err != nil {
			return err
		}
		if err := retally(tx, r.Item, db.policy.Tally(r.Item, nil), policy.Tally{}); err != nil {
			return err
		}
		line := ItemDeleteAudit(r.Item, reason)
		return db.audit(tx, a, line.Action, line.Target, line.Detail, now)
	})
}

// unindexBatch clears flag from serial's entry under batch, removing the
// entry when no flag is left, and keeps the batch's counts. Clearing a flag
// already clear changes nothing (a product carrying two accessories of one
// batch has one carrier entry).
func unindexBatch(tx *bolt.Tx, batch, serial string, flag byte) error {
	b := tx.Bucket(bucketBatches)
	k := compositeKey(batch, []byte(serial))
	v := b.Get(k)
	if len(v) == 0 || v[0]&flag == 0 {
		return nil
	}
	left := v[0] &^ flag
	var err error
	if left == 0 {
		err = b.Delete(k)
	} else {
		err = b.Put(k, []byte{left})
	}
	if err != nil {
		return err
	}
	dm, dc := 0, 0
	if flag&flagMember != 0 {
		dm = -1
	}
	if flag&flagCarrier != 0 {
		dc = -1
	}
	if err := addBatchCount(tx, batch, dm, dc); err != nil {
		return err
	}
	if m, c := batchCount(tx, batch); m == 0 && c == 0 {
		return tx.Bucket(bucketBatchCounts).Delete([]byte(batch))
	}
	return nil
}

// DeleteModel deletes a model defined by mistake. It reads every item
// record to be sure none uses the model (as its own SKU or a bundled
// accessory's): a rare administrative act, so no index is kept for it.
// Errors: EInvalid for a malformed SKU; ENotFound; EConflict naming a
// serial that uses the model; EUnavailable.
func (db *DB) DeleteModel(a Actor, sku string) error {
	sku, err := policy.Ident("sku", sku)
	if err != nil {
		return err
	}
	now := db.now()
	return db.update(func(tx *bolt.Tx) error {
		m, found, err := getModel(tx, sku)
		if err != nil {
			return err
		}
		if !found {
			return policy.Errorf(policy.ENotFound, "sku", "no model %s", sku)
		}
		if user, err := itemUsing(tx, sku); err != nil {
			return err
		} else if user != "" {
			return ModelInUse(sku, user)
		}
		if err := tx.Bucket(bucketModels).Delete([]byte(sku)); err != nil {
			return err
		}
		if err := addCounter(tx, countModels, -1); err != nil {
			return err
		}
		line := ModelDeleteAudit(m)
		return db.audit(tx, a, line.Action, line.Target, line.Detail, now)
	})
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

func itemUsing(tx *bolt.Tx, sku string) (string, error) {
	needle := []byte(sku)
	c := tx.Bucket(bucketItems).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if !bytes.Contains(v, needle) {
			continue
		}
		r, err := decodeItem(string(k), v)
		if err != nil {
			return "", err
		}
		if r.SKU == sku {
			return r.Serial, nil
		}
		for _, acc := range r.Accessories {
			if acc.SKU == sku {
				return r.Serial, nil
			}
		}
	}
	return "", nil
}
