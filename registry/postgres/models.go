package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// PutModel creates or replaces a model, validated with policy.CheckModel;
// the bool reports creation. Identical data writes nothing and keeps
// UpdatedAt. Errors: EInvalid naming the field; EUnavailable.
func (s *Store) PutModel(a registry.Actor, m policy.Model) (policy.Model, bool, error) {
	m, err := s.policy.CheckModel(m)
	if err != nil {
		return policy.Model{}, false, err
	}
	var out policy.Model
	var created bool
	err = s.write(func(ctx context.Context, tx pgx.Tx) error {
		now := s.now()
		out, created = m, false
		if m.GTIN != "" {
			// Concurrent claims of one GTIN wait on each other's row here.
			if _, err := tx.Exec(ctx, `INSERT INTO gtins (gtin, sku) VALUES ($1, $2) ON CONFLICT (gtin) DO NOTHING`, m.GTIN, m.SKU); err != nil {
				return err
			}
			var owner string
			if err := tx.QueryRow(ctx, `SELECT sku FROM gtins WHERE gtin = $1`, m.GTIN).Scan(&owner); err != nil {
				return err
			}
			if owner != m.SKU {
				return registry.GTINTaken(m.GTIN, owner)
			}
		}
		var raw []byte
		err := tx.QueryRow(ctx, `SELECT model FROM models WHERE sku = $1 FOR UPDATE`, m.SKU).Scan(&raw)
		switch {
		case err == pgx.ErrNoRows:
			created = true
		case err != nil:
			return err
		default:
			var old policy.Model
			if err := json.Unmarshal(raw, &old); err != nil {
				return fmt.Errorf("model %s: %w", m.SKU, err)
			}
			old.UpdatedAt = old.UpdatedAt.UTC()
			out.UpdatedAt = old.UpdatedAt
			if out == old {
				return nil
			}
		}
		out.UpdatedAt = now
		v, err := json.Marshal(out)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO models (sku, model) VALUES ($1, $2) ON CONFLICT (sku) DO UPDATE SET model = $2`, m.SKU, v); err != nil {
			return err
		}
		if created {
			if err := addCount(ctx, tx, "models", 1); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, a, registry.ModelAudit(s.policy, out, created), now)
	})
	if err != nil {
		return policy.Model{}, false, err
	}
	s.modelCache.drop(out.SKU)
	return out, created, nil
}

// Model returns one model, from this process's copy of the models when it
// holds it (every lookup of an item reads its model): a model changed
// through another replica is seen here within Options.KeyRefresh, its own
// changes at once. Errors: EInvalid for a malformed SKU; ENotFound;
// EUnavailable.
func (s *Store) Model(sku string) (policy.Model, error) {
	sku, err := policy.Ident("sku", sku)
	if err != nil {
		return policy.Model{}, err
	}
	if m, ok := s.modelCache.get(sku, s.now()); ok {
		return m, nil
	}
	var m policy.Model
	err = s.read(func(ctx context.Context) error {
		var raw []byte
		if err := s.pool.QueryRow(ctx, `SELECT model FROM models WHERE sku = $1`, sku).Scan(&raw); err == pgx.ErrNoRows {
			return policy.Errorf(policy.ENotFound, "sku", "no model %s", sku).Keyed("model.none", policy.Args{"sku": sku})
		} else if err != nil {
			return err
		}
		return decodeModel(raw, &m)
	})
	if err == nil {
		s.modelCache.put(m, s.now())
	}
	return m, err
}

// ModelByGTIN returns the SKU of the model that has (or had) gtin.
// Errors: ENotFound; EUnavailable.
func (s *Store) ModelByGTIN(gtin string) (string, error) {
	var sku string
	err := s.read(func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, `SELECT sku FROM gtins WHERE gtin = $1`, gtin).Scan(&sku)
		if errors.Is(err, pgx.ErrNoRows) {
			return registry.NoGTIN(gtin)
		}
		return err
	})
	return sku, err
}

// modelCache holds models read by Model, each for at most ttl.
type modelCache struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[string]cachedModel
}

type cachedModel struct {
	model policy.Model
	until time.Time
}

func (c *modelCache) get(sku string, now time.Time) (policy.Model, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cm, ok := c.m[sku]
	return cm.model, ok && now.Before(cm.until)
}

func (c *modelCache) put(m policy.Model, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedModel{}
	}
	c.m[m.SKU] = cachedModel{m, now.Add(c.ttl)}
}

func (c *modelCache) drop(sku string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, sku)
}

// Models returns every model in SKU order. Errors: EUnavailable; internal ones.
func (s *Store) Models() ([]policy.Model, error) {
	var out []policy.Model
	err := s.read(func(ctx context.Context) error {
		var err error
		out, err = s.models(ctx, s.pool, false)
		return err
	})
	if out == nil {
		out = []policy.Model{}
	}
	return out, err
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// models reads every model; share (a registration) locks them FOR SHARE:
// no model the registration relies on is deleted before it commits.
func (s *Store) models(ctx context.Context, q querier, share bool) ([]policy.Model, error) {
	lockClause := ""
	if share {
		lockClause = " FOR SHARE"
	}
	rows, err := q.Query(ctx, `SELECT model FROM models ORDER BY sku`+lockClause)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []policy.Model
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var m policy.Model
		if err := decodeModel(raw, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func decodeModel(raw []byte, m *policy.Model) error {
	if err := json.Unmarshal(raw, m); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	m.UpdatedAt = m.UpdatedAt.UTC()
	return nil
}
