package registry

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"slices"
	"strings"
	"time"

	"github.com/sanbao/sanbao/policy"
	bolt "go.etcd.io/bbolt"
)

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleWarehouse || r == RoleService }

// keyRec is a stored key: the SHA-256 of its secret, never the secret.
type keyRec struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Hash    []byte    `json:"hash"`
	Created time.Time `json:"created"`
	Revoked time.Time `json:"revoked,omitzero"`
}

func (k keyRec) key(id string) Key {
	return Key{ID: id, Name: k.Name, Role: k.Role, Created: k.Created, Revoked: k.Revoked}
}

// Key ids are 12 and secrets 52 characters of lowercase base32.
const (
	keyIDLen     = 12
	keySecretLen = 32 // random bytes
	maxKeyName   = 100
)

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// CreateKey creates an API key and returns it with its token "<id>.<secret>",
// which is shown once: only the secret's SHA-256 is stored.
// Errors: EInvalid for an empty or over-long name or an unknown role;
// EUnavailable when the database cannot be written.
func (db *DB) CreateKey(a Actor, name string, role Role) (Key, string, error) {
	now := db.now()
	nk, err := NewKey(name, role, now)
	if err != nil {
		return Key{}, "", err
	}
	id, secret := nk.Key.ID, nk.Token[len(nk.Key.ID)+1:]
	rec := keyRec{Name: nk.Key.Name, Role: role, Hash: nk.Hash, Created: nk.Key.Created}
	err = db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		if b.Get([]byte(id)) != nil {
			return KeyCollision
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
		return Key{}, "", err
	}
	return rec.key(id), id + "." + secret, nil
}

// Keys lists every key, revoked ones included, oldest first. Errors: only
// internal ones.
func (db *DB) Keys() ([]Key, error) {
	out := []Key{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(k, v []byte) error {
			var r keyRec
			if err := decodeJSON("key "+string(k), v, &r); err != nil {
				return err
			}
			out = append(out, r.key(string(k)))
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b Key) int { return a.Created.Compare(b.Created) })
	return out, err
}

// RevokeKey revokes a key; revoking a revoked key changes nothing.
// Errors: ENotFound; EConflict when it is the last active admin key;
// EUnavailable when the database cannot be written.
func (db *DB) RevokeKey(a Actor, id string) error {
	now := db.now()
	return db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		r, err := getKey(b, id)
		if err != nil {
			return err
		}
		if !r.Revoked.IsZero() {
			return nil
		}
		if r.Role == RoleAdmin {
			admins := 0
			err := b.ForEach(func(k, v []byte) error {
				var o keyRec
				if err := decodeJSON("key "+string(k), v, &o); err != nil {
					return err
				}
				if o.Role == RoleAdmin && o.Revoked.IsZero() {
					admins++
				}
				return nil
			})
			if err != nil {
				return err
			}
			if admins <= 1 {
				return LastAdmin(id)
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
		if err := endOwnerSessions(tx, keyOwner(id)); err != nil {
			return err
		}
		return db.audit(tx, a, "key.revoke", id, string(r.Role)+" key "+r.Name, now)
	})
}

func getKey(b *bolt.Bucket, id string) (keyRec, error) {
	v := b.Get([]byte(id))
	if v == nil {
		return keyRec{}, NoKey(id)
	}
	var r keyRec
	err := decodeJSON("key "+id, v, &r)
	return r, err
}

// KeyByID returns a key (revoked or not). Errors: ENotFound.
func (db *DB) KeyByID(id string) (Key, error) {
	var k Key
	err := db.bolt.View(func(tx *bolt.Tx) error {
		r, err := getKey(tx.Bucket(bucketKeys), id)
		k = r.key(id)
		return err
	})
	return k, err
}

// NewKeyData is a new API key: the key, its token "<id>.<secret>" (shown
// once) and the SHA-256 of the secret, which is all a store keeps.
type NewKeyData struct {
	Key   Key
	Token string
	Hash  []byte
}

// NewKey checks a new key's name and role and draws its id and secret.
// Errors: EInvalid for an empty or over-long name or an unknown role.
func NewKey(name string, role Role, now time.Time) (NewKeyData, error) {
	name, err := policy.Line("name", name, maxKeyName, true)
	if err != nil {
		return NewKeyData{}, err
	}
	if !role.Valid() {
		return NewKeyData{}, policy.Errorf(policy.EInvalid, "role", "role must be admin, warehouse or service, not %q", role)
	}
	idBytes := make([]byte, 8)
	rand.Read(idBytes)
	id := keyEncoding.EncodeToString(idBytes)[:keyIDLen]
	secretBytes := make([]byte, keySecretLen)
	rand.Read(secretBytes)
	secret := keyEncoding.EncodeToString(secretBytes)
	sum := sha256.Sum256([]byte(secret))
	return NewKeyData{Key: Key{ID: id, Name: name, Role: role, Created: Instant(now)}, Token: id + "." + secret, Hash: sum[:]}, nil
}

// KeyCollision is CreateKey's EConflict when the drawn id exists (2^-60 per pair).
var KeyCollision = policy.Errorf(policy.EConflict, "", "key id collision; try again")

// LastAdmin is RevokeKey's EConflict for the last active admin key.
func LastAdmin(id string) error {
	return policy.Errorf(policy.EConflict, "", "key %s is the last active admin key and cannot be revoked; create another admin key first", id)
}

// NoKey is the ENotFound of a key id.
func NoKey(id string) error { return policy.Errorf(policy.ENotFound, "id", "no key %q", id) }

// VerifyToken checks a token "<id>.<secret>" against the key found by
// lookup (found false when there is none; err, the stored record's error),
// comparing the secret's SHA-256 in constant time, a wrong id costing as
// much as a wrong secret. Errors: EUnauthorized for a malformed token, an
// unknown id, a wrong secret or a revoked key.
func VerifyToken(token string, lookup func(id string) (k Key, hash []byte, found bool, err error)) (Key, error) {
	id, secret, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok || len(id) != keyIDLen || secret == "" {
		return Key{}, policy.Errorf(policy.EUnauthorized, "", "malformed API key: expected <id>.<secret>")
	}
	// Hashed from a stack buffer: the conversion of a secret longer than 32
	// bytes would allocate on every request.
	var buf [96]byte
	sum := sha256.Sum256(append(buf[:0], secret...))
	k, hash, found, err := lookup(id)
	if err != nil {
		return Key{}, err
	}
	want := dummyHash
	if found {
		want = hash
	}
	if subtle.ConstantTimeCompare(sum[:], want) != 1 || !found {
		return Key{}, policy.Errorf(policy.EUnauthorized, "", "invalid API key")
	}
	if !k.Revoked.IsZero() {
		return Key{}, policy.Errorf(policy.EUnauthorized, "", "API key %s was revoked", id)
	}
	return k, nil
}

// dummyHash is compared against when the key id is unknown, so a wrong id
// costs the same as a wrong secret.
var dummyHash = make([]byte, sha256.Size)

// Authenticate returns the key of a token "<id>.<secret>", comparing the
// secret's SHA-256 in constant time. It reads the in-memory copy of the
// keys (keycache.go), not the file. Errors: EUnauthorized for a malformed
// token, an unknown id, a wrong secret or a revoked key.
func (db *DB) Authenticate(token string) (Key, error) {
	return VerifyToken(token, func(id string) (Key, []byte, bool, error) {
		k := db.keys.get(id)
		if k == nil {
			return Key{}, nil, false, nil
		}
		return k.key, k.hash, true, k.err
	})
}
