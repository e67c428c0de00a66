package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// Register registers rows in one transaction, all or nothing, with the
// rules of registry.Registration. Two registrations of a new serial racing
// are settled by the primary key: the loser's transaction is retried and
// then finds the serial registered (unchanged, or a conflict).
// Errors: as registry.DB.Register; EUnavailable.
func (s *Store) Register(a registry.Actor, rows []registry.Row, bad ...policy.RowError) (registry.RegisterResult, error) {
	if len(rows) == 0 {
		return registry.RegisterResult{}, policy.Errorf(policy.EInvalid, "items", "no rows to register")
	}
	g, err := registry.NewRegistration(s.policy, s.now(), rows, bad...)
	if err != nil {
		return registry.RegisterResult{}, err
	}
	return s.commit(a, g, registry.ActionRegister, s.write)
}

// RegisterCSV registers the rows of a registration CSV, read and checked
// before the transaction begins, as Register does. Errors: as
// registry.DB.RegisterCSV; EUnavailable.
func (s *Store) RegisterCSV(a registry.Actor, r io.Reader) (registry.RegisterResult, error) {
	g, err := registry.NewCSVRegistration(s.policy, s.now(), r, registry.MaxRegisterRows)
	if err != nil {
		return registry.RegisterResult{}, err
	}
	return s.commit(a, g, registry.ActionRegister, s.write)
}

// commit plans g against the database and writes its new items, in one
// transaction run by write.
func (s *Store) commit(a registry.Actor, g *registry.Registration, action string, write func(func(context.Context, pgx.Tx) error) error) (registry.RegisterResult, error) {
	var res registry.RegisterResult
	err := write(func(ctx context.Context, tx pgx.Tx) error {
		var err error
		res, err = s.register(ctx, tx, a, g, action)
		return err
	})
	if err != nil {
		return registry.RegisterResult{}, err
	}
	return res, nil
}

// register plans g against the models and items of tx and writes the new
// items by COPY.
func (s *Store) register(ctx context.Context, tx pgx.Tx, a registry.Actor, g *registry.Registration, action string) (registry.RegisterResult, error) {
	models, err := s.models(ctx, tx, true)
	if err != nil {
		return registry.RegisterResult{}, err
	}
	stored := map[string]policy.Item{}
	q, err := tx.Query(ctx, `SELECT `+itemCols+` FROM items i WHERE i.serial = ANY($1)`, g.Serials())
	if err != nil {
		return registry.RegisterResult{}, err
	}
	for q.Next() {
		var x itemScan
		if err := q.Scan(x.dest()...); err != nil {
			q.Close()
			return registry.RegisterResult{}, err
		}
		r, err := x.item()
		if err != nil {
			q.Close()
			return registry.RegisterResult{}, err
		}
		stored[r.Serial] = r.Item
	}
	q.Close()
	if err := q.Err(); err != nil {
		return registry.RegisterResult{}, err
	}
	res, err := g.Plan(models, stored)
	if err != nil || res.Created == 0 {
		return res, err
	}
	if err := s.writeItems(ctx, tx, g); err != nil {
		return registry.RegisterResult{}, err
	}
	return res, s.audit(ctx, tx, a, g.Audit(action, res), s.now())
}

// writeItems copies the new items of a planned registration into items,
// with their carrier entries and the counts.
func (s *Store) writeItems(ctx context.Context, tx pgx.Tx, g *registry.Registration) error {
	var items [][]any
	members := map[string]int{}
	type carrier struct{ batch, serial string }
	var carried []carrier
	var ferr error
	g.Items(func(it *policy.Item) {
		var acc []byte
		if len(it.Accessories) > 0 {
			acc, ferr = json.Marshal(it.Accessories)
			for _, x := range it.Accessories {
				if x.Batch != "" {
					carried = append(carried, carrier{x.Batch, it.Serial})
				}
			}
		}
		items = append(items, []any{it.Serial, it.SKU, string(it.Kind), it.WarrantyMonths, it.Batch, dateArg(it.ProducedOn), acc, it.RegisteredAt})
		members[it.Batch]++
	})
	if ferr != nil {
		return ferr
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"items"},
		[]string{"serial", "sku", "kind", "warranty_months", "batch", "produced_on", "accessories", "registered_at"},
		pgx.CopyFromRows(items)); err != nil {
		return err
	}
	for b, n := range members {
		if err := addBatchCount(ctx, tx, b, n, 0); err != nil {
			return err
		}
	}
	for _, c := range carried {
		if err := carry(ctx, tx, c.batch, c.serial); err != nil {
			return err
		}
	}
	return addCount(ctx, tx, "items", len(items))
}

// Import registers the rows of a registration CSV (registry.ParseCSV), of
// any size: all read and checked first, then written in one transaction,
// the items by COPY. progress (may be nil) gets a line per phase.
// Errors: as Register; EBadRequest for a bad header; EUnavailable.
func (s *Store) Import(a registry.Actor, r io.Reader, progress io.Writer) (registry.RegisterResult, error) {
	if progress == nil {
		progress = io.Discard
	}
	start := time.Now()
	g, err := registry.NewCSVRegistration(s.policy, s.now(), r, 0)
	if err != nil {
		return registry.RegisterResult{}, err
	}
	fmt.Fprintf(progress, "read and sorted %d rows (%.1fs)\n", len(g.Serials()), time.Since(start).Seconds())
	// An import may take minutes: it is not bounded by Options.Timeout.
	res, err := s.commit(a, g, registry.ActionImport, func(fn func(context.Context, pgx.Tx) error) error {
		ctx := context.Background()
		return s.storageErr(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(ctx, tx) }))
	})
	if err != nil {
		return registry.RegisterResult{}, err
	}
	fmt.Fprintf(progress, "imported: %d created, %d unchanged (%.1fs)\n", res.Created, res.Unchanged, time.Since(start).Seconds())
	return res, nil
}
