package registry

import (
	"fmt"

	"github.com/sanbao/sanbao/policy"
	bolt "go.etcd.io/bbolt"
)

// PutModel creates or replaces a model, validated and normalised with
// policy.CheckModel; the bool reports whether it was created. Re-putting
// identical data writes nothing and keeps UpdatedAt. Items already
// registered keep the terms copied from the model then.
// Errors: EInvalid naming the field; EUnavailable when the database cannot
// be written.
func (db *DB) PutModel(a Actor, m policy.Model) (policy.Model, bool, error) {
	m, err := db.policy.CheckModel(m)
	if err != nil {
		return policy.Model{}, false, err
	}
	now := db.now()
	created := false
	err = db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketModels)
		old, found, err := getModel(tx, m.SKU)
		if err != nil {
			return err
		}
		if found {
			m.UpdatedAt = old.UpdatedAt
			if m == old {
				return nil
			}
		}
		created = !found
		m.UpdatedAt = now.UTC()
		v, err := encodeJSON(m)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(m.SKU), v); err != nil {
			return err
		}
		action := "model.update"
		if created {
			action = "model.create"
			if err := addCounter(tx, countModels, 1); err != nil {
				return err
			}
		}
		months := fmt.Sprintf("%d months", m.WarrantyMonths)
		if m.WarrantyMonths == 0 {
			// 0 stands for the policy's period, which may change later.
			months = fmt.Sprintf("default warranty (%d months)", db.policy.Months(m.Kind))
		}
		detail := fmt.Sprintf("%s %q, %s", m.Kind, m.Name, months)
		if m.GTIN != "" {
			detail += ", GTIN " + m.GTIN
		}
		return db.audit(tx, a, action, m.SKU, detail, now)
	})
	if err != nil {
		return policy.Model{}, false, err
	}
	return m, created, nil
}

func getModel(tx *bolt.Tx, sku string) (policy.Model, bool, error) {
	v := tx.Bucket(bucketModels).Get([]byte(sku))
	if v == nil {
		return policy.Model{}, false, nil
	}
	var m policy.Model
	err := decodeJSON("model "+sku, v, &m)
	return m, err == nil, err
}

// Model returns one model. Errors: EInvalid for a malformed SKU; ENotFound.
func (db *DB) Model(sku string) (policy.Model, error) {
	sku, err := policy.Ident("sku", sku)
	if err != nil {
		return policy.Model{}, err
	}
	var m policy.Model
	err = db.bolt.View(func(tx *bolt.Tx) error {
		var found bool
		var err error
		m, found, err = getModel(tx, sku)
		if err == nil && !found {
			return policy.Errorf(policy.ENotFound, "sku", "no model %s", sku)
		}
		return err
	})
	return m, err
}

// Models returns every model in SKU order. Errors: only internal ones.
func (db *DB) Models() ([]policy.Model, error) {
	out := []policy.Model{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketModels).ForEach(func(k, v []byte) error {
			var m policy.Model
			if err := decodeJSON("model "+string(k), v, &m); err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
	})
	return out, err
}
