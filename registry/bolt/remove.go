package bolt

// Registration mistakes (contract, "Registration mistakes"): a serial
// registered by error is taken out again while nothing has happened to it;
// a model defined by error is deleted while no item uses it. Both leave a
// line in the audit log, which is never pruned.

import (
	"bytes"
	"fmt"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// Order lists the serials dispatched under order (its last dispatch, after
// corrections), in serial order. Errors: EInvalid for a malformed order;
// ENotFound when nothing is dispatched under it.
func (db *DB) Order(order string) ([]registry.OrderLine, error) {
	order, err := policy.Ident("order", order)
	if err != nil {
		return nil, err
	}
	var out []registry.OrderLine
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		p := prefix(order)
		c := tx.Bucket(bucketOrders).Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			r, err := getItem(tx, string(k[len(p):]))
			if err != nil {
				return fmt.Errorf("order index: %w", err)
			}
			out = append(out, registry.OrderLine{Serial: r.Serial, SKU: r.SKU, Kind: r.Kind, State: r.State,
				DispatchedOn: r.DispatchedOn, ReceivedOn: r.ReceivedOn})
		}
		if len(out) == 0 {
			return registry.NothingUnderOrder(order)
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
func (db *DB) DeleteItem(a registry.Actor, serial, reason string) error {
	serial, reason, err := registry.DeleteItemArgs(serial, reason)
	if err != nil {
		return err
	}
	now := db.now()
	return db.update(func(tx *bbolt.Tx) error {
		r, err := getItem(tx, serial)
		if err != nil {
			return err
		}
		if err := registry.Removable(r.Item, r.Seq); err != nil {
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
		line := registry.ItemDeleteAudit(r.Item, reason)
		return db.audit(tx, a, line.Action, line.Target, line.Detail, now)
	})
}

// unindexBatch clears flag from serial's entry under batch, removing the
// entry when no flag is left, and keeps the batch's counts. Clearing a flag
// already clear changes nothing (a product carrying two accessories of one
// batch has one carrier entry).
func unindexBatch(tx *bbolt.Tx, batch, serial string, flag byte) error {
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
func (db *DB) DeleteModel(a registry.Actor, sku string) error {
	sku, err := policy.Ident("sku", sku)
	if err != nil {
		return err
	}
	now := db.now()
	return db.update(func(tx *bbolt.Tx) error {
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
			return registry.ModelInUse(sku, user)
		}
		if err := tx.Bucket(bucketModels).Delete([]byte(sku)); err != nil {
			return err
		}
		if err := addCounter(tx, countModels, -1); err != nil {
			return err
		}
		line := registry.ModelDeleteAudit(m)
		return db.audit(tx, a, line.Action, line.Target, line.Detail, now)
	})
}

func itemUsing(tx *bbolt.Tx, sku string) (string, error) {
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
