package bolt

import (
	"bytes"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// keyCache holds every API key (role, name, times, the SHA-256 of its
// secret) in memory, so Authenticate, which runs on every API request,
// neither reads a page nor decodes a record. It is loaded at Open and
// changed only by a commit that wrote a key (Tx.OnCommit, so a rolled-back
// write never shows). Only the process holding the file's lock can write
// keys, so nothing changes them behind its back.
//
// Readers load one immutable map; a writer copies it (keys are few).
type keyCache struct {
	mu   sync.Mutex // one writer at a time
	keys atomic.Pointer[map[string]*cachedKey]
}

// cachedKey is a key as Authenticate needs it; err is set instead when
// the stored record could not be decoded, and is what Authenticate returns,
// as it did when it read the record itself.
type cachedKey struct {
	key  registry.Key
	hash []byte
	err  error
}

// load reads every key of the keys bucket.
func (c *keyCache) load(tx *bbolt.Tx) error {
	m := map[string]*cachedKey{}
	err := tx.Bucket(bucketKeys).ForEach(func(k, v []byte) error {
		id := string(k)
		var r keyRec
		if err := decodeJSON("key "+id, v, &r); err != nil {
			m[id] = &cachedKey{err: err}
			return nil
		}
		m[id] = newCachedKey(id, r)
		return nil
	})
	if err != nil {
		return err
	}
	c.keys.Store(&m)
	return nil
}

func newCachedKey(id string, r keyRec) *cachedKey {
	return &cachedKey{key: r.key(id), hash: bytes.Clone(r.Hash)}
}

// get returns the key with id, nil when there is none.
func (c *keyCache) get(id string) *cachedKey {
	if m := c.keys.Load(); m != nil {
		return (*m)[id]
	}
	return nil
}

// putOnCommit makes r the cached key id once tx has committed.
func (c *keyCache) putOnCommit(tx *bbolt.Tx, id string, r keyRec) {
	k := newCachedKey(id, r)
	tx.OnCommit(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		m := map[string]*cachedKey{}
		if old := c.keys.Load(); old != nil {
			m = maps.Clone(*old)
		}
		m[id] = k
		c.keys.Store(&m)
	})
}
