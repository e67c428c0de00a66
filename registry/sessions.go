package registry

// Console sessions, kept in the file so that a restart (or another
// process on the same file) keeps people signed in. Only the SHA-256 of a
// session id is stored: a copy of the file signs nobody in. Each owner (a
// user, or an admin key signed in as such) has at most MaxSessionsPerOwner;
// a new one ends the oldest. There is no global cap that one owner could
// exhaust to sign everyone else out.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// MaxSessionsPerOwner bounds the sessions of one user or key.
const MaxSessionsPerOwner = 20

// Session is one signed-in browser. ID is known only to the browser and to
// CreateSession's caller; the file keeps its hash.
type Session struct {
	ID string
	// Username is the person signed in; KeyID the admin key instead.
	Username, KeyID string
	CSRF            string // the form token of the session's pages
	Created         time.Time
	Expires         time.Time
	Flash           string // one-time message shown by the next page
	Center          string // the last service centre used at the desk
}

func userOwner(username string) string { return "u:" + username }
func keyOwner(id string) string        { return "k:" + id }

// sessionToken is 32 random bytes, base64url (43 characters).
func sessionToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func sessionHash(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return sum[:]
}

var errNoSession = policy.Errorf(policy.ENotFound, "", "no such session")
