package registry

import (
	"strings"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// The rules of staff accounts and console sessions that every store
// applies (users.go and sessions.go hold the rest, registry/bolt's the
// bbolt store's own).

// CheckNewUser checks and normalises a new user and its password and
// returns the password's argon2id hash (PHC string). Errors: EInvalid
// naming the field (username, name, role, center, password).
func CheckNewUser(u User, password string) (User, string, error) {
	username, err := CheckUsername(u.Username)
	if err != nil {
		return User{}, "", err
	}
	name, center, err := CheckUserFields(u.Name, u.Center, u.Role)
	if err != nil {
		return User{}, "", err
	}
	if err := CheckPassword(password); err != nil {
		return User{}, "", err
	}
	return User{Username: username, Name: name, Role: u.Role, Center: center}, HashPassword(password), nil
}

// HashNewPassword checks a new password and returns its hash. Errors: EInvalid.
func HashNewPassword(password string) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	return HashPassword(password), nil
}

// Username normalises a username as every lookup does (trimmed, lower case).
func Username(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ApplyUserPatch applies p to u (newPassword: p's password is being set)
// and returns the user, the changes for the audit log and whether the
// user's console sessions end (disabled, or a new password). Errors:
// EInvalid naming the field.
func ApplyUserPatch(u User, p UserPatch, newPassword bool) (User, []string, bool, error) {
	var changes []string
	if p.Name != nil {
		u.Name = *p.Name
		changes = append(changes, "name")
	}
	if p.Center != nil {
		u.Center = *p.Center
		changes = append(changes, "center")
	}
	if p.Role != nil {
		u.Role = *p.Role
		changes = append(changes, "role "+string(u.Role))
	}
	var err error
	if u.Name, u.Center, err = CheckUserFields(u.Name, u.Center, u.Role); err != nil {
		return User{}, nil, false, err
	}
	endSessions := false
	if p.Disabled != nil && *p.Disabled != u.Disabled {
		u.Disabled = *p.Disabled
		endSessions = u.Disabled
		changes = append(changes, map[bool]string{true: "disabled", false: "enabled"}[u.Disabled])
	}
	if newPassword {
		endSessions = true
		changes = append(changes, "password")
	}
	return u, changes, endSessions, nil
}

// UserExists is CreateUser's EConflict.
func UserExists(username string) error {
	return policy.Errorf(policy.EConflict, "username", "user %s already exists", username).Keyed("user.exists", policy.Args{"username": username})
}

// LastAdminUser is UpdateUser's EConflict for the last active admin user.
func LastAdminUser(username string) error {
	return policy.Errorf(policy.EConflict, "", "%s is the last active admin user and must stay an active admin; make another admin first", username).
		Keyed("user.last_admin", policy.Args{"username": username})
}

// NoUser is the ENotFound of a username.
func NoUser(username string) error {
	return policy.Errorf(policy.ENotFound, "username", "no user %q", username).Keyed("user.none", policy.Args{"username": username})
}

// VerifyPassword checks password against the stored hash of a user found
// (found false: an unknown username, hashed against a dummy all the same).
// Errors: EUnauthorized "wrong username or password", alike for every
// refusal.
func VerifyPassword(u User, hash string, found bool, password string) (User, error) {
	refused := policy.Errorf(policy.EUnauthorized, "", "wrong username or password")
	if len(password) > MaxPassword {
		return User{}, refused
	}
	if !found {
		hash = dummyPassword()
	}
	if !passwordMatches(hash, password) || !found || u.Disabled {
		return User{}, refused
	}
	return u, nil
}

// MaxUsername bounds a username; a longer one is not looked up.
const MaxUsername = maxUsername

// SessionOwner is whose a session is, as the stores index it: "u:" and
// the username, or "k:" and the admin key's id.
func SessionOwner(s Session) string {
	if s.Username != "" {
		return userOwner(s.Username)
	}
	return keyOwner(s.KeyID)
}

// UserSessions and KeySessions are the owners of a user's and of a key's
// sessions (ended when the user is disabled or the key revoked).
func UserSessions(username string) string { return userOwner(username) }

// KeySessions: see UserSessions.
func KeySessions(id string) string { return keyOwner(id) }

// NewSession checks a session to create (one owner, an expiry) and fills
// in its id, form token and times; hash is the SHA-256 of the id, all a
// store keeps of it. Errors: EInvalid without an owner or expiry.
func NewSession(s Session, now time.Time) (Session, []byte, error) {
	if (s.Username == "") == (s.KeyID == "") || s.Expires.IsZero() {
		return Session{}, nil, policy.Errorf(policy.EInvalid, "", "a session needs one owner (a user or a key) and an expiry")
	}
	s.ID, s.CSRF, s.Created, s.Expires, s.Flash = sessionToken(), sessionToken(), now.UTC(), s.Expires.UTC(), ""
	return s, sessionHash(s.ID), nil
}

// SessionHash is what a store keeps of a session id.
func SessionHash(id string) []byte { return sessionHash(id) }

// NoSession is the ENotFound of a session that does not exist or has expired.
func NoSession() error { return errNoSession }
