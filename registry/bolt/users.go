package bolt

// Staff accounts: people who sign in to the console with a username and a
// password, beside the API keys of machines. Passwords are stored as
// argon2id hashes in the PHC string format, so each hash carries its own
// salt and parameters and the parameters can be raised later without
// breaking the hashes already stored.

import (
	"cmp"
	"strings"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// userRec is a stored user: the argon2id hash of the password, never the
// password.
type userRec struct {
	Name     string        `json:"name,omitempty"`
	Role     registry.Role `json:"role"`
	Center   string        `json:"center,omitempty"`
	Disabled bool          `json:"disabled,omitempty"`
	Hash     string        `json:"hash"`
	Created  time.Time     `json:"created"`
	Updated  time.Time     `json:"updated"`
}

func (r userRec) user(username string) registry.User {
	return registry.User{Username: username, Name: r.Name, Role: r.Role, Center: r.Center, Disabled: r.Disabled,
		Created: r.Created, Updated: r.Updated}
}

// CreateUser creates a staff account with password (hashed with argon2id).
// Errors: EInvalid naming the field (username, name, role, center,
// password); EConflict when the username is taken; EUnavailable when the
// database cannot be written.
func (db *DB) CreateUser(a registry.Actor, u registry.User, password string) (registry.User, error) {
	username, err := registry.CheckUsername(u.Username)
	if err != nil {
		return registry.User{}, err
	}
	name, center, err := registry.CheckUserFields(u.Name, u.Center, u.Role)
	if err != nil {
		return registry.User{}, err
	}
	if err := registry.CheckPassword(password); err != nil {
		return registry.User{}, err
	}
	now := db.now().UTC()
	rec := userRec{Name: name, Role: u.Role, Center: center, Hash: registry.HashPassword(password), Created: now, Updated: now}
	err = db.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b.Get([]byte(username)) != nil {
			return registry.UserExists(username)
		}
		if err := putUser(b, username, rec); err != nil {
			return err
		}
		return db.audit(tx, a, "user.create", username, string(rec.Role)+" user "+cmp.Or(name, username), now)
	})
	if err != nil {
		return registry.User{}, err
	}
	return rec.user(username), nil
}

func putUser(b *bbolt.Bucket, username string, r userRec) error {
	v, err := encodeJSON(r)
	if err != nil {
		return err
	}
	return b.Put([]byte(username), v)
}

func getUser(b *bbolt.Bucket, username string) (userRec, error) {
	var v []byte
	if b != nil { // nil: a read-only file written before users existed
		v = b.Get([]byte(username))
	}
	if v == nil {
		return userRec{}, policy.Errorf(policy.ENotFound, "username", "no user %q", username).Keyed("user.none", policy.Args{"username": username})
	}
	var r userRec
	err := decodeJSON("user "+username, v, &r)
	return r, err
}

// Users lists every user, disabled ones included, by username. Errors: only
// internal ones.
func (db *DB) Users() ([]registry.User, error) {
	out := []registry.User{}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b == nil {
			return nil // a read-only file written before users existed
		}
		return b.ForEach(func(k, v []byte) error {
			var r userRec
			if err := decodeJSON("user "+string(k), v, &r); err != nil {
				return err
			}
			out = append(out, r.user(string(k)))
			return nil
		})
	})
	return out, err
}

// User returns one user. Errors: ENotFound (also for a malformed username).
func (db *DB) User(username string) (registry.User, error) {
	var u registry.User
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		r, err := getUser(tx.Bucket(bucketUsers), strings.ToLower(strings.TrimSpace(username)))
		u = r.user(strings.ToLower(strings.TrimSpace(username)))
		return err
	})
	return u, err
}

// UpdateUser changes a user's name, role, centre, password or disabled
// flag. Disabling a user or changing their password ends all their console
// sessions in the same transaction. Errors: ENotFound; EInvalid naming the
// field; EConflict when the change would leave no active admin user while
// it is one; EUnavailable when the database cannot be written.
func (db *DB) UpdateUser(a registry.Actor, username string, p registry.UserPatch) (registry.User, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	var hash string
	if p.Password != nil {
		if err := registry.CheckPassword(*p.Password); err != nil {
			return registry.User{}, err
		}
		hash = registry.HashPassword(*p.Password) // outside the transaction: 30 ms of CPU
	}
	now := db.now().UTC()
	var out registry.User
	err := db.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		r, err := getUser(b, username)
		if err != nil {
			return err
		}
		wasAdmin := r.Role == registry.RoleAdmin && !r.Disabled
		u, changes, endSessions, err := registry.ApplyUserPatch(r.user(username), p, hash != "")
		if err != nil {
			return err
		}
		r.Name, r.Center, r.Role, r.Disabled = u.Name, u.Center, u.Role, u.Disabled
		if hash != "" {
			r.Hash = hash
		}
		if wasAdmin && (r.Role != registry.RoleAdmin || r.Disabled) {
			if n, err := activeAdmins(b); err != nil {
				return err
			} else if n <= 1 {
				return registry.LastAdminUser(username)
			}
		}
		r.Updated = now
		if err := putUser(b, username, r); err != nil {
			return err
		}
		if endSessions {
			if err := endOwnerSessions(tx, registry.UserSessions(username)); err != nil {
				return err
			}
		}
		out = r.user(username)
		return db.audit(tx, a, "user.update", username, strings.Join(changes, ", "), now)
	})
	return out, err
}

func activeAdmins(b *bbolt.Bucket) (int, error) {
	n := 0
	err := b.ForEach(func(k, v []byte) error {
		var o userRec
		if err := decodeJSON("user "+string(k), v, &o); err != nil {
			return err
		}
		if o.Role == registry.RoleAdmin && !o.Disabled {
			n++
		}
		return nil
	})
	return n, err
}

// registry.CheckPassword returns the user when password is theirs and the account
// is enabled. An unknown user costs one argon2id hash too, and every
// refusal is the same error, so neither the answer nor its time tells
// whether a username exists. The caller limits how often it is asked.
// Errors: EUnauthorized "wrong username or password".
func (db *DB) CheckPassword(username, password string) (registry.User, error) {
	username = registry.Username(username)
	var rec userRec
	found := false
	if username != "" && len(username) <= registry.MaxUsername && len(password) <= registry.MaxPassword {
		err := db.bolt.View(func(tx *bbolt.Tx) error {
			r, err := getUser(tx.Bucket(bucketUsers), username)
			rec, found = r, err == nil
			return nil
		})
		if err != nil {
			return registry.User{}, err
		}
	}
	return registry.VerifyPassword(rec.user(username), rec.Hash, found, password)
}

// Record writes an audit entry of something done outside the registry's own
// writes (a console sign-in, a failed one, a sign-out). Errors:
// EUnavailable when the database cannot be written.
func (db *DB) Record(a registry.Actor, action, target, detail string) error {
	now := db.now()
	return db.update(func(tx *bbolt.Tx) error { return db.audit(tx, a, action, target, detail, now) })
}
