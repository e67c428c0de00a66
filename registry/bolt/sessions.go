package bolt

// Console sessions, kept in the file so that a restart (or another
// process on the same file) keeps people signed in. Only the SHA-256 of a
// session id is stored: a copy of the file signs nobody in. Each owner (a
// user, or an admin key signed in as such) has at most MaxSessionsPerOwner;
// a new one ends the oldest. There is no global cap that one owner could
// exhaust to sign everyone else out.

import (
	"bytes"
	"time"

	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// sessionRec is a stored session.
type sessionRec struct {
	Username string    `json:"username,omitempty"`
	KeyID    string    `json:"key_id,omitempty"`
	CSRF     string    `json:"csrf"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
	Flash    string    `json:"flash,omitempty"`
	Center   string    `json:"center,omitempty"`
}

func (r sessionRec) session(id string) registry.Session {
	return registry.Session{ID: id, Username: r.Username, KeyID: r.KeyID, CSRF: r.CSRF, Created: r.Created, Expires: r.Expires,
		Flash: r.Flash, Center: r.Center}
}

func (r sessionRec) owner() string {
	if r.Username != "" {
		return registry.UserSessions(r.Username)
	}
	return registry.KeySessions(r.KeyID)
}

// CreateSession starts a session for s.Username or s.KeyID lasting until
// s.Expires, with a new random id and form token, and returns it. The
// owner's expired sessions are dropped and, past MaxSessionsPerOwner, the
// oldest ends. Errors: EInvalid without an owner or expiry; EUnavailable
// when the database cannot be written.
func (db *DB) CreateSession(s registry.Session) (registry.Session, error) {
	now := db.now().UTC()
	s, h, err := registry.NewSession(s, now)
	if err != nil {
		return registry.Session{}, err
	}
	rec := sessionRec{Username: s.Username, KeyID: s.KeyID, CSRF: s.CSRF, Created: s.Created, Expires: s.Expires, Center: s.Center}
	id := s.ID
	err = db.update(func(tx *bbolt.Tx) error {
		byOwner, sessions := tx.Bucket(bucketOwnerSessions), tx.Bucket(bucketSessions)
		prefix := compositeKey(rec.owner(), nil)
		type held struct {
			hash    []byte
			created time.Time
		}
		var live []held
		c := byOwner.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			h := bytes.Clone(k[len(prefix):])
			var r sessionRec
			v := sessions.Get(h)
			if v != nil {
				if err := decodeJSON("session", v, &r); err != nil {
					return err
				}
			}
			if v == nil || !now.Before(r.Expires) {
				if err := dropSession(tx, h, rec.owner()); err != nil {
					return err
				}
				continue
			}
			live = append(live, held{h, r.Created})
		}
		for len(live) >= registry.MaxSessionsPerOwner {
			oldest := 0
			for i := range live {
				if live[i].created.Before(live[oldest].created) {
					oldest = i
				}
			}
			if err := dropSession(tx, live[oldest].hash, rec.owner()); err != nil {
				return err
			}
			live = append(live[:oldest], live[oldest+1:]...)
		}
		v, err := encodeJSON(rec)
		if err != nil {
			return err
		}
		if err := sessions.Put(h, v); err != nil {
			return err
		}
		return byOwner.Put(compositeKey(rec.owner(), h), nil)
	})
	if err != nil {
		return registry.Session{}, err
	}
	return rec.session(id), nil
}

// dropSession deletes one session (by hash) and its owner index entry.
// Cursor-safe: bbolt allows Delete of keys other than the cursor's.
func dropSession(tx *bbolt.Tx, hash []byte, owner string) error {
	if err := tx.Bucket(bucketSessions).Delete(hash); err != nil {
		return err
	}
	return tx.Bucket(bucketOwnerSessions).Delete(compositeKey(owner, hash))
}

// endOwnerSessions ends every session of an owner (a disabled user, a
// changed password, a revoked key).
func endOwnerSessions(tx *bbolt.Tx, owner string) error {
	prefix := compositeKey(owner, nil)
	var hashes [][]byte
	c := tx.Bucket(bucketOwnerSessions).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		hashes = append(hashes, bytes.Clone(k[len(prefix):]))
	}
	for _, h := range hashes {
		if err := dropSession(tx, h, owner); err != nil {
			return err
		}
	}
	return nil
}

// Session returns the live session with id. Errors: ENotFound when there
// is none or it has expired.
func (db *DB) Session(id string) (registry.Session, error) {
	var s registry.Session
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSessions)
		if b == nil {
			return registry.NoSession() // a read-only file written before sessions were kept
		}
		v := b.Get(registry.SessionHash(id))
		if v == nil {
			return registry.NoSession()
		}
		var r sessionRec
		if err := decodeJSON("session", v, &r); err != nil {
			return err
		}
		if !db.now().Before(r.Expires) {
			return registry.NoSession()
		}
		s = r.session(id)
		return nil
	})
	return s, err
}

// EndSession ends a session; an unknown one is already ended. Errors:
// EUnavailable when the database cannot be written.
func (db *DB) EndSession(id string) error {
	return db.update(func(tx *bbolt.Tx) error {
		h := registry.SessionHash(id)
		v := tx.Bucket(bucketSessions).Get(h)
		if v == nil {
			return nil
		}
		var r sessionRec
		if err := decodeJSON("session", v, &r); err != nil {
			return err
		}
		return dropSession(tx, h, r.owner())
	})
}

// UpdateSession changes a live session's flash message and centre through
// f (its owner, token and times stay). Errors: ENotFound; EUnavailable.
func (db *DB) UpdateSession(id string, f func(*registry.Session)) error {
	return db.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSessions)
		h := registry.SessionHash(id)
		v := b.Get(h)
		if v == nil {
			return registry.NoSession()
		}
		var r sessionRec
		if err := decodeJSON("session", v, &r); err != nil {
			return err
		}
		s := r.session(id)
		f(&s)
		r.Flash, r.Center = s.Flash, s.Center
		nv, err := encodeJSON(r)
		if err != nil {
			return err
		}
		return b.Put(h, nv)
	})
}
