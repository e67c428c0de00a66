package registry

// Staff accounts: people who sign in to the console with a username and a
// password, beside the API keys of machines. Passwords are stored as
// argon2id hashes in the PHC string format, so each hash carries its own
// salt and parameters and the parameters can be raised later without
// breaking the hashes already stored.

import (
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
	MaxPassword = 1024 // hashing a megabyte would be a cheap way to burn CPU
	maxUsername = 64
	maxUserName = 100
)

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

// CheckUsername normalises a username (trimmed, lower case). Errors: EInvalid.
func CheckUsername(s string) (string, error) {
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

// CheckPassword enforces the length rule (exported, with HashPassword,
// CheckUsername and CheckUserFields, for registry/bolt). Errors: EInvalid.
func CheckPassword(p string) error {
	switch n := utf8.RuneCountInString(p); {
	case n < MinPassword:
		return policy.Errorf(policy.EInvalid, "password", "password must have at least %d characters", MinPassword).
			Keyed("user.password_short", policy.Args{"min": MinPassword})
	case len(p) > MaxPassword:
		return policy.Errorf(policy.EInvalid, "password", "password is longer than %d bytes", MaxPassword).
			Keyed("user.password_long", policy.Args{"max": MaxPassword})
	}
	return nil
}

// HashPassword is the PHC string of password's argon2id hash with a new
// random salt.
func HashPassword(password string) string {
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
var dummyPassword = sync.OnceValue(func() string { return HashPassword("no such user: a dummy password") })

// CheckUserFields checks and trims a user's name and centre and checks
// the role. Errors: EInvalid.
func CheckUserFields(name, center string, role Role) (string, string, error) {
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
