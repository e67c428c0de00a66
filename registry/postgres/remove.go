package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// Order lists the serials dispatched under order (its effective dispatch),
// in serial order. Errors: EInvalid for a malformed order; ENotFound;
// EUnavailable.
func (s *Store) Order(order string) ([]registry.OrderLine, error) {
	order, err := policy.Ident("order", order)
	if err != nil {
		return nil, err
	}
	var out []registry.OrderLine
	err = s.read(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT serial, sku, kind, state, dispatched_on, received_on FROM items WHERE order_no = $1 ORDER BY serial`, order)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l registry.OrderLine
			var x itemScan
			if err := rows.Scan(&l.Serial, &l.SKU, &x.kind, &x.state, &x.dispatched, &x.recvd); err != nil {
				return err
			}
			l.Kind, l.State, l.DispatchedOn, l.ReceivedOn = policy.Kind(x.kind), policy.State(x.state), dateOf(x.dispatched), dateOf(x.recvd)
			out = append(out, l)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return registry.NothingUnderOrder(order)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteItem takes a serial registered by mistake out of the registry:
// its row, its carrier entries and their counts, its scan counts; the
// audit log records who and why. Errors: as registry.ItemStore.DeleteItem.
func (s *Store) DeleteItem(a registry.Actor, serial, reason string) error {
	serial, reason, err := registry.DeleteItemArgs(serial, reason)
	if err != nil {
		return err
	}
	return s.write(func(ctx context.Context, tx pgx.Tx) error {
		now := s.now()
		var x itemScan
		err := tx.QueryRow(ctx, `SELECT `+itemCols+` FROM items i WHERE i.serial = $1 FOR UPDATE`, serial).Scan(x.dest()...)
		if errors.Is(err, pgx.ErrNoRows) {
			return notRegistered(serial)
		} else if err != nil {
			return err
		}
		r, err := x.item()
		if err != nil {
			return err
		}
		if err := registry.Removable(r.Item, r.Seq); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM items WHERE serial = $1`, serial); err != nil {
			return err
		}
		if err := addBatchCount(ctx, tx, r.Batch, -1, 0); err != nil {
			return err
		}
		for _, acc := range r.Accessories {
			tag, err := tx.Exec(ctx, `DELETE FROM carriers WHERE batch = $1 AND serial = $2`, acc.Batch, serial)
			if err != nil {
				return err
			}
			if tag.RowsAffected() > 0 {
				if err := addBatchCount(ctx, tx, acc.Batch, 0, -1); err != nil {
					return err
				}
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM batch_counts WHERE batch = ANY($1) AND members = 0 AND carriers = 0`, batchesOf(r.Item)); err != nil {
			return err
		}
		if err := addCount(ctx, tx, "items", -1); err != nil {
			return err
		}
		if err := retally(ctx, tx, r.Item, s.policy.Tally(r.Item, nil), policy.Tally{}); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, registry.ItemDeleteAudit(r.Item, reason), now)
	})
}

func batchesOf(it policy.Item) []string {
	out := []string{it.Batch}
	for _, a := range it.Accessories {
		out = append(out, a.Batch)
	}
	return out
}

// DeleteModel deletes a model no item uses (as its own SKU or a bundled
// accessory's). The model row is locked; Register reads the models FOR
// SHARE, so no registration can use it meanwhile.
// Errors: as registry.ModelStore.DeleteModel.
func (s *Store) DeleteModel(a registry.Actor, sku string) error {
	sku, err := policy.Ident("sku", sku)
	if err != nil {
		return err
	}
	err = s.write(func(ctx context.Context, tx pgx.Tx) error {
		now := s.now()
		var raw []byte
		err := tx.QueryRow(ctx, `SELECT model FROM models WHERE sku = $1 FOR UPDATE`, sku).Scan(&raw)
		if errors.Is(err, pgx.ErrNoRows) {
			return policy.Errorf(policy.ENotFound, "sku", "no model %s", sku)
		} else if err != nil {
			return err
		}
		var m policy.Model
		if err := decodeModel(raw, &m); err != nil {
			return err
		}
		probe, err := json.Marshal([]map[string]string{{"sku": sku}})
		if err != nil {
			return err
		}
		var user string
		err = tx.QueryRow(ctx, `SELECT serial FROM items WHERE sku = $1 OR accessories @> $2::jsonb ORDER BY serial LIMIT 1`, sku, string(probe)).Scan(&user)
		switch {
		case err == nil:
			return registry.ModelInUse(sku, user)
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("items using model %s: %w", sku, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM models WHERE sku = $1`, sku); err != nil {
			return err
		}
		if err := addCount(ctx, tx, "models", -1); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, registry.ModelDeleteAudit(m), now)
	})
	if err == nil {
		s.modelCache.drop(sku)
	}
	return err
}
