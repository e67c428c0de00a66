package postgres

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sanbao/sanbao/registry"
)

// CreateKey creates an API key and returns it with its token, shown once
// (only the secret's SHA-256 is stored). Errors: EInvalid for the name or
// role; EUnavailable.
func (s *Store) CreateKey(a registry.Actor, name string, role registry.Role) (registry.Key, string, error) {
	now := s.now()
	nk, err := registry.NewKey(name, role, now)
	if err != nil {
		return registry.Key{}, "", err
	}
	k := nk.Key
	err = s.write(func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO keys (id, name, role, hash, created) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			k.ID, k.Name, string(k.Role), nk.Hash, k.Created)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return registry.KeyCollision
		}
		return s.audit(ctx, tx, a, registry.AuditLine{Action: "key.create", Target: k.ID, Detail: string(role) + " key " + k.Name}, now)
	})
	if err != nil {
		return registry.Key{}, "", err
	}
	s.keys.put(k, nk.Hash)
	return k, nk.Token, nil
}

const keyCols = `id, name, role, hash, created, revoked`

func scanKey(row pgx.Row) (registry.Key, []byte, error) {
	var k registry.Key
	var role string
	var hash []byte
	var revoked pgtype.Timestamptz
	if err := row.Scan(&k.ID, &k.Name, &role, &hash, &k.Created, &revoked); err != nil {
		return registry.Key{}, nil, err
	}
	k.Role, k.Created = registry.Role(role), k.Created.UTC()
	if revoked.Valid {
		k.Revoked = revoked.Time.UTC()
	}
	return k, hash, nil
}

// Keys lists every key, revoked ones included, oldest first.
// Errors: EUnavailable; internal ones.
func (s *Store) Keys() ([]registry.Key, error) {
	out := []registry.Key{}
	err := s.read(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT `+keyCols+` FROM keys ORDER BY created, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			k, _, err := scanKey(rows)
			if err != nil {
				return err
			}
			out = append(out, k)
		}
		return rows.Err()
	})
	return out, err
}

// KeyByID returns a key, revoked or not. Errors: ENotFound; EUnavailable.
func (s *Store) KeyByID(id string) (registry.Key, error) {
	var k registry.Key
	err := s.read(func(ctx context.Context) error {
		var err error
		k, _, err = scanKey(s.pool.QueryRow(ctx, `SELECT `+keyCols+` FROM keys WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return registry.NoKey(id)
		}
		return err
	})
	return k, err
}

// RevokeKey revokes a key; revoking a revoked key changes nothing. The
// active admin keys are locked while counting, so two revocations racing
// never leave none. Errors: ENotFound; EConflict for the last active admin
// key; EUnavailable.
func (s *Store) RevokeKey(a registry.Actor, id string) error {
	var k registry.Key
	var hash []byte
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		now := s.now()
		var err error
		k, hash, err = scanKey(tx.QueryRow(ctx, `SELECT `+keyCols+` FROM keys WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return registry.NoKey(id)
		}
		if err != nil || !k.Revoked.IsZero() {
			return err
		}
		if k.Role == registry.RoleAdmin {
			var admins int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT id FROM keys WHERE role = 'admin' AND revoked IS NULL FOR UPDATE) x`).Scan(&admins); err != nil {
				return err
			}
			if admins <= 1 {
				return registry.LastAdmin(id)
			}
		}
		k.Revoked = now
		if _, err := tx.Exec(ctx, `UPDATE keys SET revoked = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE owner = $1`, registry.KeySessions(id)); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, registry.AuditLine{Action: "key.revoke", Target: id, Detail: string(k.Role) + " key " + k.Name}, now)
	})
	if err == nil {
		s.keys.put(k, hash)
	}
	return err
}

// Authenticate returns the key of a token "<id>.<secret>" from this
// process's copy of the keys: a key created through another replica is
// read from the database on first use, a revocation through another
// replica is seen within Options.KeyRefresh. Errors: EUnauthorized;
// EUnavailable when an unknown id cannot be looked up.
func (s *Store) Authenticate(token string) (registry.Key, error) {
	return registry.VerifyToken(token, s.keys.get)
}

// keyCache is this process's copy of the API keys, reloaded every
// refresh; an id it does not hold is looked up at once.
type keyCache struct {
	s       *Store
	mu      sync.Mutex // one writer of keys at a time
	keys    atomic.Pointer[map[string]cachedKey]
	stop    chan struct{}
	stopped sync.WaitGroup
}

type cachedKey struct {
	key  registry.Key
	hash []byte
}

func newKeyCache(s *Store, refresh time.Duration) *keyCache {
	c := &keyCache{s: s, stop: make(chan struct{})}
	c.stopped.Add(1)
	go func() {
		defer c.stopped.Done()
		t := time.NewTicker(refresh)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				ctx, cancel := s.ctx()
				c.load(ctx) // a failure keeps the last copy until the next round
				cancel()
			}
		}
	}()
	return c
}

func (c *keyCache) close() {
	close(c.stop)
	c.stopped.Wait()
}

// load replaces the copy with every key of the database.
func (c *keyCache) load(ctx context.Context) error {
	rows, err := c.s.pool.Query(ctx, `SELECT `+keyCols+` FROM keys`)
	if err != nil {
		return err
	}
	defer rows.Close()
	m := map[string]cachedKey{}
	for rows.Next() {
		k, hash, err := scanKey(rows)
		if err != nil {
			return err
		}
		m[k.ID] = cachedKey{k, hash}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.keys.Store(&m)
	c.mu.Unlock()
	return nil
}

func (c *keyCache) put(k registry.Key, hash []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]cachedKey{}
	if old := c.keys.Load(); old != nil {
		for id, v := range *old {
			m[id] = v
		}
	}
	m[k.ID] = cachedKey{k, hash}
	c.keys.Store(&m)
}

// get is registry.VerifyToken's lookup.
func (c *keyCache) get(id string) (registry.Key, []byte, bool, error) {
	if m := c.keys.Load(); m != nil {
		if k, ok := (*m)[id]; ok {
			return k.key, k.hash, true, nil
		}
	}
	var k registry.Key
	var hash []byte
	err := c.s.read(func(ctx context.Context) error {
		var err error
		k, hash, err = scanKey(c.s.pool.QueryRow(ctx, `SELECT `+keyCols+` FROM keys WHERE id = $1`, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return registry.Key{}, nil, false, nil
	}
	if err != nil {
		return registry.Key{}, nil, false, err
	}
	c.put(k, hash)
	return k, hash, true, nil
}
