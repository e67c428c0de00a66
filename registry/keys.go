package registry

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"strings"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleWarehouse || r == RoleService }

// Key ids are 12 and secrets 52 characters of lowercase base32.
const (
	keyIDLen     = 12
	keySecretLen = 32 // random bytes
	maxKeyName   = 100
)

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

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
