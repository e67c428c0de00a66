package bolt

import (
	"bytes"
	"sync"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// bucketGTINs indexes every GTIN a model has had (GTIN -> SKU), so a GS1
// Digital Link printed under a model's earlier GTIN keeps resolving and no
// two models share one. Files made before it have none: it is built from
// the models' current GTINs by the first model write (gtinIndex), and read
// from them until then (ModelByGTIN).
var bucketGTINs = []byte("gtins")

// PutModel creates or replaces a model, validated and normalised with
// policy.CheckModel; the bool reports whether it was created. Re-putting
// identical data writes nothing and keeps UpdatedAt. Items already
// registered keep the terms copied from the model then. A GTIN, once a
// model's, stays that model's.
// Errors: EInvalid naming the field; EConflict when the GTIN is (or was)
// another model's; EUnavailable when the database cannot be written.
func (db *DB) PutModel(a registry.Actor, m policy.Model) (policy.Model, bool, error) {
	m, err := db.policy.CheckModel(m)
	if err != nil {
		return policy.Model{}, false, err
	}
	now := db.now()
	created := false
	err = db.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketModels)
		old, found, err := getModel(tx, m.SKU)
		if err != nil {
			return err
		}
		gtins, err := gtinIndex(tx)
		if err != nil {
			return err
		}
		if m.GTIN != "" {
			if owner := gtins.Get([]byte(m.GTIN)); owner != nil && string(owner) != m.SKU {
				return registry.GTINTaken(m.GTIN, string(owner))
			}
			if err := gtins.Put([]byte(m.GTIN), []byte(m.SKU)); err != nil {
				return err
			}
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
		if created {
			if err := addCounter(tx, countModels, 1); err != nil {
				return err
			}
		}
		line := registry.ModelAudit(db.policy, m, created)
		return db.audit(tx, a, line.Action, line.Target, line.Detail, now)
	})
	if err != nil {
		return policy.Model{}, false, err
	}
	return m, created, nil
}

func getModel(tx *bbolt.Tx, sku string) (policy.Model, bool, error) {
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
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		var found bool
		var err error
		m, found, err = db.cachedModel(tx, sku)
		if err == nil && !found {
			return policy.Errorf(policy.ENotFound, "sku", "no model %s", sku).Keyed("model.none", policy.Args{"sku": sku})
		}
		return err
	})
	return m, err
}

// cachedModel is getModel through the cache of decoded models.
func (db *DB) cachedModel(tx *bbolt.Tx, sku string) (policy.Model, bool, error) {
	v := tx.Bucket(bucketModels).Get([]byte(sku))
	if v == nil {
		return policy.Model{}, false, nil
	}
	if m, ok := db.models.get(sku, v); ok {
		return m, true, nil
	}
	var m policy.Model
	if err := decodeJSON("model "+sku, v, &m); err != nil {
		return policy.Model{}, false, err
	}
	db.models.put(sku, v, m)
	return m, true, nil
}

// modelCache keeps models decoded by SKU together with the stored bytes
// they were decoded from: every public page and lookup reads its item's
// model, and decoding its JSON cost more than reading it. An entry is used
// only while the stored bytes are still the same, so a model changed (by
// this process or, read-only, by another) is decoded afresh; no write has
// to remember the cache.
type modelCache struct {
	mu sync.RWMutex
	m  map[string]cachedModel
}

type cachedModel struct {
	stored []byte
	model  policy.Model
}

// maxCachedModels bounds the cache; models are few, and past the bound
// the others are decoded on each read as before.
const maxCachedModels = 4096

func (c *modelCache) get(sku string, stored []byte) (policy.Model, bool) {
	c.mu.RLock()
	e, ok := c.m[sku]
	c.mu.RUnlock()
	if !ok || !bytes.Equal(e.stored, stored) {
		return policy.Model{}, false
	}
	return e.model, true
}

func (c *modelCache) put(sku string, stored []byte, m policy.Model) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedModel{}
	}
	if _, ok := c.m[sku]; !ok && len(c.m) >= maxCachedModels {
		return
	}
	c.m[sku] = cachedModel{stored: bytes.Clone(stored), model: m}
}

// Models returns every model in SKU order. Errors: only internal ones.
func (db *DB) Models() ([]policy.Model, error) {
	out := []policy.Model{}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
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

// gtinIndex is the GTIN index, created and filled from the models' current
// GTINs in a file that has none yet.
func gtinIndex(tx *bbolt.Tx) (*bbolt.Bucket, error) {
	if b := tx.Bucket(bucketGTINs); b != nil {
		return b, nil
	}
	b, err := tx.CreateBucket(bucketGTINs)
	if err != nil {
		return nil, err
	}
	err = tx.Bucket(bucketModels).ForEach(func(k, v []byte) error {
		var m policy.Model
		if err := decodeJSON("model "+string(k), v, &m); err != nil {
			return err
		}
		if m.GTIN == "" {
			return nil
		}
		return b.Put([]byte(m.GTIN), k)
	})
	return b, err
}

// ModelByGTIN returns the SKU of the model that has (or had) gtin, a
// 14-digit GTIN. Errors: ENotFound.
func (db *DB) ModelByGTIN(gtin string) (string, error) {
	sku := ""
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(bucketGTINs); b != nil {
			sku = string(b.Get([]byte(gtin)))
			return nil
		}
		return tx.Bucket(bucketModels).ForEach(func(k, v []byte) error {
			var m policy.Model
			if err := decodeJSON("model "+string(k), v, &m); err != nil {
				return err
			}
			if m.GTIN == gtin {
				sku = string(k)
			}
			return nil
		})
	})
	if err == nil && sku == "" {
		err = registry.NoGTIN(gtin)
	}
	return sku, err
}
