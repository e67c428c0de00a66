package registry

// Staff accounts: people who sign in to the console with a username and a
// password, beside the API keys of machines. Passwords are stored as
// argon2id hashes in the PHC string format, so each hash carries its own
// salt and parameters and the parameters can be raised later without
// breaking the hashes already stored.

import (
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sanbao/sanbao/policy"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/argon2"
)

// User is a staff account, never its password.
type User struct {
	Username, Name string
	Role           Role
	// Center is the service centre the person works at; it fills the
	// console's intake form.
	Center   string
	Disabled bool
	Created  time.Time
	Updated  time.Time
}

// UserPatch is a change to a user: nil fields stay as they are.
type UserPatch struct {
	Name, Center, Password *string
	Role                   *Role
	Disabled               *bool
}

// Limits of a user's fields.
const (
	MinPassword = 10
	maxPassword = 1024 // hashing a megabyte would be a cheap way to burn CPU
	maxUsername = 64
	maxUserName = 100
)

// userRec is a stored user: the argon2id hash of the password, never the
// password.
type userRec struct {
	Name     string    `json:"name,omitempty"`
	Role     Role      `json:"role"`
	Center   string    `json:"center,omitempty"`
	Disabled bool      `json:"disabled,omitempty"`
	Hash     string    `json:"hash"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
}

func (r userRec) user(username string) User {
	return User{Username: username, Name: r.Name, Role: r.Role, Center: r.Center, Disabled: r.Disabled,
		Created: r.Created, Updated: r.Updated}
}

// passwordParams are argon2id's costs: OWASP's recommended minimum (19 MiB,
// two passes, one lane), about 30 ms on one core. A sign-in flood is held
// off before hashing (the server's back-off), not by making each hash dear.
var passwordParams = struct {
	time, memory uint32
	threads      uint8
	keyLen       uint32
}{time: 2, memory: 19 * 1024, threads: 1, keyLen: 32}

// usernameRe: lower-case letters, digits and . _ - (typed at a sign-in
// form, shown in the audit log and on events).
var usernameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// checkUsername normalises a username (trimmed, lower case). Errors: EInvalid.
func checkUsername(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return "", policy.Errorf(policy.EInvalid, "username", "username is required").Keyed("user.username_required", nil)
	case len(s) > maxUsername:
		return "", policy.Errorf(policy.EInvalid, "username", "username is longer than %d characters", maxUsername).
			Keyed("user.username_long", policy.Args{"max": maxUsername})
	case !usernameRe.MatchString(s):
		return "", policy.Errorf(policy.EInvalid, "username", "username may hold only letters a-z, digits and . _ -, starting with a letter or digit, not %q", s).
			Keyed("user.username_chars", policy.Args{"value": s})
	}
	return s, nil
}

// checkPassword enforces the length rule. Errors: EInvalid.
func checkPassword(p string) error {
	switch n := utf8.RuneCountInString(p); {
	case n < MinPassword:
		return policy.Errorf(policy.EInvalid, "password", "password must have at least %d characters", MinPassword).
			Keyed("user.password_short", policy.Args{"min": MinPassword})
	case len(p) > maxPassword:
		return policy.Errorf(policy.EInvalid, "password", "password is longer than %d bytes", maxPassword).
			Keyed("user.password_long", policy.Args{"max": maxPassword})
	}
	return nil
}

// hashPassword is the PHC string of password's argon2id hash with a new
// random salt.
func hashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	p := passwordParams
	sum := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, p.keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
}

// passwordMatches hashes password with encoded's salt and parameters and
// compares in constant time. A malformed hash never matches.
func passwordMatches(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyPassword is hashed against when the username is unknown, so an
// unknown user costs what a wrong password does.
var dummyPassword = sync.OnceValue(func() string { return hashPassword("no such user: a dummy password") })

func checkUserFields(name, center string, role Role) (string, string, error) {
	name, err := policy.Text("name", name, maxUserName, false)
	if err != nil {
		return "", "", err
	}
	center, err = policy.Text("center", center, policy.MaxCenter, false)
	if err != nil {
		return "", "", err
	}
	if !role.Valid() {
		return "", "", policy.Errorf(policy.EInvalid, "role", "role must be admin, warehouse or service, not %q", role).
			Keyed("user.role_bad", policy.Args{"value": string(role)})
	}
	return name, center, nil
}

// CreateUser creates a staff account with password (hashed with argon2id).
// Errors: EInvalid naming the field (username, name, role, center,
// password); EConflict when the username is taken; EUnavailable when the
// database cannot be written.
func (db *DB) CreateUser(a Actor, u User, password string) (User, error) {
	username, err := checkUsername(u.Username)
	if err != nil {
		return User{}, err
	}
	name, center, err := checkUserFields(u.Name, u.Center, u.Role)
	if err != nil {
		return User{}, err
	}
	if err := checkPassword(password); err != nil {
		return User{}, err
	}
	now := db.now().UTC()
	rec := userRec{Name: name, Role: u.Role, Center: center, Hash: hashPassword(password), Created: now, Updated: now}
	err = db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b.Get([]byte(username)) != nil {
			return UserExists(username)
		}
		if err := putUser(b, username, rec); err != nil {
			return err
		}
		return db.audit(tx, a, "user.create", username, string(rec.Role)+" user "+cmp.Or(name, username), now)
	})
	if err != nil {
		return User{}, err
	}
	return rec.user(username), nil
}

func putUser(b *bolt.Bucket, username string, r userRec) error {
	v, err := encodeJSON(r)
	if err != nil {
		return err
	}
	return b.Put([]byte(username), v)
}

func getUser(b *bolt.Bucket, username string) (userRec, error) {
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
func (db *DB) Users() ([]User, error) {
	out := []User{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
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
func (db *DB) User(username string) (User, error) {
	var u User
	err := db.bolt.View(func(tx *bolt.Tx) error {
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
func (db *DB) UpdateUser(a Actor, username string, p UserPatch) (User, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	var hash string
	if p.Password != nil {
		if err := checkPassword(*p.Password); err != nil {
			return User{}, err
		}
		hash = hashPassword(*p.Password) // outside the transaction: 30 ms of CPU
	}
	now := db.now().UTC()
	var out User
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		r, err := getUser(b, username)
		if err != nil {
			return err
		}
		wasAdmin := r.Role == RoleAdmin && !r.Disabled
		u, changes, endSessions, err := ApplyUserPatch(r.user(username), p, hash != "")
		if err != nil {
			return err
		}
		r.Name, r.Center, r.Role, r.Disabled = u.Name, u.Center, u.Role, u.Disabled
		if hash != "" {
			r.Hash = hash
		}
		if wasAdmin && (r.Role != RoleAdmin || r.Disabled) {
			if n, err := activeAdmins(b); err != nil {
				return err
			} else if n <= 1 {
				return LastAdminUser(username)
			}
		}
		r.Updated = now
		if err := putUser(b, username, r); err != nil {
			return err
		}
		if endSessions {
			if err := endOwnerSessions(tx, userOwner(username)); err != nil {
				return err
			}
		}
		out = r.user(username)
		return db.audit(tx, a, "user.update", username, strings.Join(changes, ", "), now)
	})
	return out, err
}

func activeAdmins(b *bolt.Bucket) (int, error) {
	n := 0
	err := b.ForEach(func(k, v []byte) error {
		var o userRec
		if err := decodeJSON("user "+string(k), v, &o); err != nil {
			return err
		}
		if o.Role == RoleAdmin && !o.Disabled {
			n++
		}
		return nil
	})
	return n, err
}

// CheckPassword returns the user when password is theirs and the account
// is enabled. An unknown user costs one argon2id hash too, and every
// refusal is the same error, so neither the answer nor its time tells
// whether a username exists. The caller limits how often it is asked.
// Errors: EUnauthorized "wrong username or password".
func (db *DB) CheckPassword(username, password string) (User, error) {
	username = Username(username)
	var rec userRec
	found := false
	if username != "" && len(username) <= maxUsername && len(password) <= maxPassword {
		err := db.bolt.View(func(tx *bolt.Tx) error {
			r, err := getUser(tx.Bucket(bucketUsers), username)
			rec, found = r, err == nil
			return nil
		})
		if err != nil {
			return User{}, err
		}
	}
	return VerifyPassword(rec.user(username), rec.Hash, found, password)
}

// Record writes an audit entry of something done outside the registry's own
// writes (a console sign-in, a failed one, a sign-out). Errors:
// EUnavailable when the database cannot be written.
func (db *DB) Record(a Actor, action, target, detail string) error {
	now := db.now()
	return db.update(func(tx *bolt.Tx) error { return db.audit(tx, a, action, target, detail, now) })
}
