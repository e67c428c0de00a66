package postgres

import (
	"context"
	"encoding/json"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// Register registers rows in one transaction, all or nothing, with the
// rules of registry.Registration. Two registrations of a new serial racing
// are settled by the primary key: the loser's transaction is retried and
// then finds the serial registered (unchanged, or a conflict).
// Errors: as registry.DB.Register; EUnavailable.
func (s *Store) Register(a registry.Actor, rows []registry.Row) (registry.RegisterResult, error) {
	if len(rows) == 0 {
		return registry.RegisterResult{}, policy.Errorf(policy.EInvalid, "items", "no rows to register")
	}
	var res registry.RegisterResult
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		var err error
		res, err = s.register(ctx, tx, a, rows, registry.ActionRegister)
		return err
	})
	if err != nil {
		return registry.RegisterResult{}, err
	}
	return res, nil
}

// register checks, plans and writes rows inside tx, items by COPY.
func (s *Store) register(ctx context.Context, tx pgx.Tx, a registry.Actor, rows []registry.Row, action string) (registry.RegisterResult, error) {
	models, err := s.models(ctx, tx, true)
	if err != nil {
		return registry.RegisterResult{}, err
	}
	now := s.now()
	g := registry.NewRegistration(s.policy, now, models, rows)
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
	res, err := g.Plan(stored)
	if err != nil || res.Created == 0 {
		return res, err
	}
	if err := s.writeItems(ctx, tx, g); err != nil {
		return registry.RegisterResult{}, err
	}
	line := g.Audit(action, res)
	return res, s.audit(ctx, tx, a, line, now)
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

// Import registers the rows of a registration CSV (registry.ParseCSV): all
// checked first, then written in one transaction, the items by COPY.
// progress (may be nil) gets a line per phase.
// Errors: as Register; EBadRequest for a bad header; EUnavailable.
func (s *Store) Import(a registry.Actor, r io.Reader, progress io.Writer) (registry.RegisterResult, error) {
	rows, err := registry.ParseCSV(r)
	if err != nil {
		return registry.RegisterResult{}, err
	}
	if len(rows) == 0 {
		return registry.RegisterResult{}, policy.Errorf(policy.EInvalid, "csv", "the CSV has a header but no rows")
	}
	if progress != nil {
		fmtProgress(progress, "read %d rows", len(rows))
	}
	var res registry.RegisterResult
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// An import may take minutes: it is not bounded by Options.Timeout.
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		res, err = s.register(ctx, tx, a, rows, registry.ActionImport)
		return err
	})
	if err != nil {
		return registry.RegisterResult{}, s.storageErr(err)
	}
	if progress != nil {
		fmtProgress(progress, "imported: %d created, %d unchanged", res.Created, res.Unchanged)
	}
	return res, nil
}
