package bolt

import (
	"slices"
	"time"

	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// keyRec is a stored key: the SHA-256 of its secret, never the secret.
type keyRec struct {
	Name    string        `json:"name"`
	Role    registry.Role `json:"role"`
	Hash    []byte        `json:"hash"`
	Created time.Time     `json:"created"`
	Revoked time.Time     `json:"revoked,omitzero"`
}

func (k keyRec) key(id string) registry.Key {
	return registry.Key{ID: id, Name: k.Name, Role: k.Role, Created: k.Created, Revoked: k.Revoked}
}

// CreateKey creates an API key and returns it with its token "<id>.<secret>",
// which is shown once: only the secret's SHA-256 is stored.
// Errors: EInvalid for an empty or over-long name or an unknown role;
// EUnavailable when the database cannot be written.
func (db *DB) CreateKey(a registry.Actor, name string, role registry.Role) (registry.Key, string, error) {
	now := db.now()
	nk, err := registry.NewKey(name, role, now)
	if err != nil {
		return registry.Key{}, "", err
	}
	id, secret := nk.Key.ID, nk.Token[len(nk.Key.ID)+1:]
	rec := keyRec{Name: nk.Key.Name, Role: role, Hash: nk.Hash, Created: nk.Key.Created}
	err = db.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		if b.Get([]byte(id)) != nil {
			return registry.KeyCollision
		}
		v, err := encodeJSON(rec)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(id), v); err != nil {
			return err
		}
		db.keys.putOnCommit(tx, id, rec)
		return db.audit(tx, a, "key.create", id, string(role)+" key "+name, now)
	})
	if err != nil {
		return registry.Key{}, "", err
	}
	return rec.key(id), id + "." + secret, nil
}

// Keys lists every key, revoked ones included, oldest first. Errors: only
// internal ones.
func (db *DB) Keys() ([]registry.Key, error) {
	out := []registry.Key{}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(k, v []byte) error {
			var r keyRec
			if err := decodeJSON("key "+string(k), v, &r); err != nil {
				return err
			}
			out = append(out, r.key(string(k)))
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b registry.Key) int { return a.Created.Compare(b.Created) })
	return out, err
}

// RevokeKey revokes a key; revoking a revoked key changes nothing.
// Errors: ENotFound; EConflict when it is the last active admin key;
// EUnavailable when the database cannot be written.
func (db *DB) RevokeKey(a registry.Actor, id string) error {
	now := db.now()
	return db.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		r, err := getKey(b, id)
		if err != nil {
			return err
		}
		if !r.Revoked.IsZero() {
			return nil
		}
		if r.Role == registry.RoleAdmin {
			admins := 0
			err := b.ForEach(func(k, v []byte) error {
				var o keyRec
				if err := decodeJSON("key "+string(k), v, &o); err != nil {
					return err
				}
				if o.Role == registry.RoleAdmin && o.Revoked.IsZero() {
					admins++
				}
				return nil
			})
			if err != nil {
				return err
			}
			if admins <= 1 {
				return registry.LastAdmin(id)
			}
		}
		r.Revoked = now.UTC()
		v, err := encodeJSON(r)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(id), v); err != nil {
			return err
		}
		db.keys.putOnCommit(tx, id, r)
		if err := endOwnerSessions(tx, registry.KeySessions(id)); err != nil {
			return err
		}
		return db.audit(tx, a, "key.revoke", id, string(r.Role)+" key "+r.Name, now)
	})
}

func getKey(b *bbolt.Bucket, id string) (keyRec, error) {
	v := b.Get([]byte(id))
	if v == nil {
		return keyRec{}, registry.NoKey(id)
	}
	var r keyRec
	err := decodeJSON("key "+id, v, &r)
	return r, err
}

// KeyByID returns a key (revoked or not). Errors: ENotFound.
func (db *DB) KeyByID(id string) (registry.Key, error) {
	var k registry.Key
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		r, err := getKey(tx.Bucket(bucketKeys), id)
		k = r.key(id)
		return err
	})
	return k, err
}

// Authenticate returns the key of a token "<id>.<secret>", comparing the
// secret's SHA-256 in constant time. It reads the in-memory copy of the
// keys (keycache.go), not the file. Errors: EUnauthorized for a malformed
// token, an unknown id, a wrong secret or a revoked key.
func (db *DB) Authenticate(token string) (registry.Key, error) {
	return registry.VerifyToken(token, func(id string) (registry.Key, []byte, bool, error) {
		k := db.keys.get(id)
		if k == nil {
			return registry.Key{}, nil, false, nil
		}
		return k.key, k.hash, true, k.err
	})
}
