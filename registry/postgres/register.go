package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// Register registers rows in one transaction, all or nothing, with the
// rules of registry.Registration. Two registrations of a new serial racing
// are settled by the primary key: the loser's transaction is retried and
// then finds the serial registered (unchanged, or a conflict).
// Errors: as registry.ItemStore.Register; EUnavailable.
func (s *Store) Register(a registry.Actor, rows []registry.Row, bad ...policy.RowError) (registry.RegisterResult, error) {
	if len(rows) == 0 {
		return registry.RegisterResult{}, policy.Errorf(policy.EInvalid, "items", "no rows to register").Keyed("rows.none", nil)
	}
	g, err := registry.NewRegistration(s.policy, s.now(), rows, bad...)
	if err != nil {
		return registry.RegisterResult{}, err
	}
	return s.commit(a, g, registry.ActionRegister, s.write)
}

// RegisterCSV registers the rows of a registration CSV, read and checked
// before the transaction begins, as Register does. Errors: as
// registry.ItemStore.RegisterCSV; EUnavailable.
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
	// An empty registry (a first import) holds none of the serials: a
	// million index probes are skipped. A registration committed meanwhile
	// makes the COPY fail on the primary key, and Register retries.
	items, err := count(ctx, tx, "items")
	if err != nil {
		return registry.RegisterResult{}, err
	}
	serials := g.Serials()
	if items == 0 {
		serials = nil
	}
	q, err := tx.Query(ctx, `SELECT `+itemCols+` FROM items i WHERE i.serial = ANY($1)`, serials)
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
// and their carrier entries (new too: their items are) into carriers, and
// adds to the counts.
func (s *Store) writeItems(ctx context.Context, tx pgx.Tx, g *registry.Registration) error {
	var carried [][]any
	type counts struct{ members, carriers int }
	batches := map[string]*counts{}
	count := func(b string) *counts {
		c := batches[b]
		if c == nil {
			c = &counts{}
			batches[b] = c
		}
		return c
	}
	// The items are built as COPY sends them, one row at a time: a list of
	// every row's values, boxed, would take more memory than the request
	// (issue 17 item 4).
	next, stop := iter.Pull(g.Items())
	defer stop()
	n := 0
	counters := registry.NewCounters()
	var tally policy.Tally
	row := make([]any, 8)
	rows := pgx.CopyFromFunc(func() ([]any, error) {
		it, ok := next()
		if !ok {
			return nil, nil
		}
		s.policy.TallyInto(&tally, *it, nil)
		counters.Add(*it, tally)
		var acc []byte
		if len(it.Accessories) > 0 {
			var err error
			if acc, err = json.Marshal(it.Accessories); err != nil {
				return nil, err
			}
			seen := map[string]bool{} // two accessories of one batch: one entry
			for _, x := range it.Accessories {
				if x.Batch != "" && !seen[x.Batch] {
					seen[x.Batch] = true
					carried = append(carried, []any{x.Batch, it.Serial})
					count(x.Batch).carriers++
				}
			}
		}
		row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] =
			it.Serial, it.SKU, string(it.Kind), it.WarrantyMonths, it.Batch, dateArg(it.ProducedOn), acc, it.RegisteredAt
		count(it.Batch).members++
		n++
		return row, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"items"},
		[]string{"serial", "sku", "kind", "warranty_months", "batch", "produced_on", "accessories", "registered_at"}, rows); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"carriers"}, []string{"batch", "serial"}, pgx.CopyFromRows(carried)); err != nil {
		return err
	}
	names := make([]string, 0, len(batches))
	members := make([]int64, 0, len(batches))
	carriers := make([]int64, 0, len(batches))
	for _, b := range slices.Sorted(maps.Keys(batches)) {
		names, members, carriers = append(names, b), append(members, int64(batches[b].members)), append(carriers, int64(batches[b].carriers))
	}
	if _, err := tx.Exec(ctx, `INSERT INTO batch_counts (batch, members, carriers)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) ORDER BY 1
		ON CONFLICT (batch) DO UPDATE SET members = batch_counts.members + excluded.members, carriers = batch_counts.carriers + excluded.carriers`,
		names, members, carriers); err != nil {
		return err
	}
	if err := addCounters(ctx, tx, counters); err != nil {
		return err
	}
	return addCount(ctx, tx, "items", n)
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
