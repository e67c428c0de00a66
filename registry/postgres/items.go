package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// itemCols are the columns of an item as itemRow scans them.
const itemCols = `i.serial, i.sku, i.kind, i.warranty_months, i.batch, i.produced_on, i.accessories, i.registered_at,
	i.replaces, i.exchanged_on, i.exchanges, i.state, i.dispatched_on, i.order_no, i.received_on, i.evidence,
	i.superseded_by, i.seq, i.open_case`

// recordCols are itemCols plus the history (a JSON array, oldest first;
// not looked for when the item has no event, as most of a large registry)
// and the scan counts: a record in one query.
const recordCols = itemCols + `,
	CASE WHEN i.seq = 0 THEN '[]'::json ELSE
		(SELECT coalesce(json_agg(e.event ORDER BY e.seq), '[]') FROM events e WHERE e.serial = i.serial) END,
	nullif(i.scan_count, 0), i.scan_first, i.scan_last`

const recordFrom = ` FROM items i`

// itemRow is an item as stored: the terms and the derived fields.
type itemRow struct {
	policy.Item
	registry.Derived
	Seq uint64
}

// scanArgs are the destinations of itemCols.
type itemScan struct {
	row                                    itemRow
	produced, exchanged, dispatched, recvd pgtype.Date
	acc                                    []byte
	replaces, order, evidence, superseded  pgtype.Text
	months, exchanges                      int32
	seq, open                              int64
	kind, state                            string
}

func (x *itemScan) dest() []any {
	r := &x.row
	return []any{&r.Serial, &r.SKU, &x.kind, &x.months, &r.Batch, &x.produced, &x.acc, &r.RegisteredAt,
		&x.replaces, &x.exchanged, &x.exchanges, &x.state, &x.dispatched, &x.order, &x.recvd, &x.evidence,
		&x.superseded, &x.seq, &x.open}
}

func (x *itemScan) item() (itemRow, error) {
	r := x.row
	r.Kind, r.WarrantyMonths, r.Exchanges = policy.Kind(x.kind), int(x.months), int(x.exchanges)
	r.ProducedOn, r.ExchangedOn, r.DispatchedOn, r.ReceivedOn = dateOf(x.produced), dateOf(x.exchanged), dateOf(x.dispatched), dateOf(x.recvd)
	r.Replaces, r.Order, r.Evidence, r.SupersededBy = x.replaces.String, x.order.String, policy.Evidence(x.evidence.String), x.superseded.String
	r.State, r.Seq, r.OpenCase = policy.State(x.state), uint64(x.seq), uint64(x.open)
	r.RegisteredAt = r.RegisteredAt.UTC()
	r.Accessories = nil
	if len(x.acc) > 0 {
		if err := json.Unmarshal(x.acc, &r.Accessories); err != nil {
			return itemRow{}, fmt.Errorf("accessories of %s: %w", r.Serial, err)
		}
	}
	return r, nil
}

// recordScan adds the history and the scans to itemScan.
type recordScan struct {
	itemScan
	hist        []byte
	count       pgtype.Int8
	first, last pgtype.Timestamptz
}

func (x *recordScan) dest() []any {
	return append(x.itemScan.dest(), &x.hist, &x.count, &x.first, &x.last)
}

func (x *recordScan) record() (registry.Record, error) {
	r, err := x.item()
	if err != nil {
		return registry.Record{}, err
	}
	var hist []policy.Event
	if string(x.hist) != "[]" { // most items of a large registry have no event
		if err := json.Unmarshal(x.hist, &hist); err != nil {
			return registry.Record{}, fmt.Errorf("history of %s: %w", r.Serial, err)
		}
		if len(hist) == 0 {
			hist = nil
		}
	}
	rec := registry.Record{Item: r.Item, History: hist}
	if x.count.Valid {
		rec.Scans = registry.Scans{Count: uint64(x.count.Int64), First: x.first.Time.UTC(), Last: x.last.Time.UTC()}
	}
	return rec, nil
}

// eachRecord calls fn with each item and record a query of recordCols
// returns.
func eachRecord(ctx context.Context, q querier, sql string, fn func(r itemRow, rec registry.Record) error) error {
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var x recordScan
		if err := rows.Scan(x.dest()...); err != nil {
			return err
		}
		rec, err := x.record()
		if err != nil {
			return err
		}
		r, err := x.item()
		if err != nil {
			return err
		}
		if err := fn(r, rec); err != nil {
			return err
		}
	}
	return rows.Err()
}

func dateOf(d pgtype.Date) policy.Date {
	if !d.Valid {
		return policy.Date{}
	}
	return policy.Date{Year: d.Time.Year(), Month: d.Time.Month(), Day: d.Time.Day()}
}

// dateArg is a policy.Date as a query argument: NULL when zero.
func dateArg(d policy.Date) pgtype.Date {
	if d.IsZero() {
		return pgtype.Date{}
	}
	return pgtype.Date{Time: time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC), Valid: true}
}

func textArg(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

func notRegistered(serial string) error {
	return policy.Errorf(policy.ENotFound, "serial", "serial %s is not registered", serial).Keyed("serial.not_registered", policy.Args{"serial": serial})
}

// Get returns an item's record (one statement, so one snapshot: item,
// history, stored scan counts) with this process's buffered views added.
// Errors: EInvalid for a malformed serial; ENotFound; EUnavailable.
func (s *Store) Get(serial string) (registry.Record, error) {
	serial, err := policy.Ident("serial", serial)
	if err != nil {
		return registry.Record{}, err
	}
	var rec registry.Record
	err = s.read(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, getSQL, binaryResults, serial)
		if err != nil {
			return err
		}
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return notRegistered(serial)
		}
		if rec, err = decodeRecord(serial, rows.RawValues()); err != nil {
			return err
		}
		rows.Close()
		return rows.Err()
	})
	if err != nil {
		return registry.Record{}, err
	}
	rec.Scans = s.scans.Merge(serial, rec.Scans, 0)
	return rec, nil
}

// ItemView is Get, Model of the item's SKU (from the replica's cache) and
// BatchNotices of its batches (registry.ItemStore), in separate statements,
// not one snapshot: a model deleted or a notice set between them reads as
// it would a moment later. Errors: as Get's (EInvalid for a malformed
// serial; ENotFound); EUnavailable.
func (s *Store) ItemView(serial string) (registry.ItemView, error) {
	rec, err := s.Get(serial)
	if err != nil {
		return registry.ItemView{}, err
	}
	v := registry.ItemView{Record: rec}
	v.Model, err = s.Model(rec.Item.SKU)
	switch {
	case err == nil:
		v.HasModel = true
	case policy.ErrorCode(err) != policy.ENotFound:
		return registry.ItemView{}, err
	}
	ns, err := s.BatchNotices(registry.NoticeBatches(rec))
	if err != nil {
		return registry.ItemView{}, err
	}
	if len(ns) > 0 {
		v.Notices = ns
	}
	return v, nil
}

// OpenCases returns the records of the items with an open service case,
// in serial order. Errors: EUnavailable; internal ones.
func (s *Store) OpenCases() ([]registry.Record, error) {
	out := []registry.Record{}
	err := s.read(func(ctx context.Context) error {
		return eachRecord(ctx, s.pool, `SELECT `+recordCols+recordFrom+` WHERE i.open_case <> 0 ORDER BY i.serial`,
			func(_ itemRow, rec registry.Record) error {
				out = append(out, rec)
				return nil
			})
	})
	for i := range out {
		out[i].Scans = s.scans.Merge(out[i].Item.Serial, out[i].Scans, 0)
	}
	return out, err
}

// Batch returns one page of a batch: its members (items registered in it)
// and its carriers (products carrying a bundled accessory of it) in one
// serial order after `after`. Errors: EInvalid for a malformed batch, after
// or a negative limit; ENotFound; EUnavailable.
func (s *Store) Batch(batch, after string, limit int) (registry.BatchPage, error) {
	batch, err := policy.Ident("batch", batch)
	if err != nil {
		return registry.BatchPage{}, err
	}
	if after != "" {
		if after, err = policy.Ident("after", after); err != nil {
			return registry.BatchPage{}, err
		}
	}
	limit, err = registry.PageLimit(limit)
	if err != nil {
		return registry.BatchPage{}, err
	}
	page := registry.BatchPage{Batch: batch, Serials: []string{}, CarriedBy: []string{}}
	err = s.read(func(ctx context.Context) error {
		var members, carriers int64
		err := s.pool.QueryRow(ctx, `SELECT members, carriers FROM batch_counts WHERE batch = $1`, batch).Scan(&members, &carriers)
		if err == pgx.ErrNoRows || err == nil && members == 0 && carriers == 0 {
			return policy.Errorf(policy.ENotFound, "batch", "batch %s has no registered serials and no bundled accessories", batch).
				Keyed("batch.empty", policy.Args{"batch": batch})
		} else if err != nil {
			return err
		}
		page.Count, page.Carriers = int(members), int(carriers)
		rows, err := s.pool.Query(ctx, `SELECT serial, bool_or(member), bool_or(carrier) FROM (
				(SELECT serial, true AS member, false AS carrier FROM items WHERE batch = $1 AND serial > $2 ORDER BY serial LIMIT $3)
				UNION ALL
				(SELECT serial, false, true FROM carriers WHERE batch = $1 AND serial > $2 ORDER BY serial LIMIT $3)
			) x GROUP BY serial ORDER BY serial LIMIT $3`, batch, after, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		n, last := 0, ""
		for rows.Next() {
			var serial string
			var member, carrier bool
			if err := rows.Scan(&serial, &member, &carrier); err != nil {
				return err
			}
			if n == limit {
				page.Next = last
				break
			}
			n++
			if member {
				page.Serials = append(page.Serials, serial)
			}
			if carrier {
				page.CarriedBy = append(page.CarriedBy, serial)
			}
			last = serial
		}
		return rows.Err()
	})
	return page, err
}

// Batches lists every batch with its member and carrier counts, in batch
// order, from the counts table. Errors: EUnavailable; internal ones.
func (s *Store) Batches() ([]registry.BatchCount, error) {
	out := []registry.BatchCount{}
	err := s.read(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT batch, members, carriers FROM batch_counts WHERE members > 0 OR carriers > 0 ORDER BY batch`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b registry.BatchCount
			var m, c int64
			if err := rows.Scan(&b.Batch, &m, &c); err != nil {
				return err
			}
			b.Count, b.Carriers = int(m), int(c)
			out = append(out, b)
		}
		return rows.Err()
	})
	return out, err
}

// Stats returns the counters every write keeps. Errors: EUnavailable;
// internal ones.
func (s *Store) Stats() (registry.Stats, error) {
	var st registry.Stats
	err := s.read(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT name, sum(n)::bigint FROM counts GROUP BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				return err
			}
			switch name {
			case "items":
				st.Items = int(n)
			case "models":
				st.Models = int(n)
			case "open_cases":
				st.OpenCases = int(n)
			}
		}
		return rows.Err()
	})
	return st, err
}

// countStripes is how many rows a counter is spread over.
const countStripes = 16

// addCount adds delta to a counter of the counts table, on a stripe drawn
// at random: two writers changing a counter at once rarely wait on each
// other's row lock until commit.
func addCount(ctx context.Context, tx pgx.Tx, name string, delta int) error {
	if delta == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO counts (name, stripe, n) VALUES ($1, $2, $3)
		ON CONFLICT (name, stripe) DO UPDATE SET n = counts.n + $3`, name, rand.IntN(countStripes), delta)
	return err
}

// count reads a counter.
func count(ctx context.Context, q pgx.Tx, name string) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT coalesce(sum(n), 0) FROM counts WHERE name = $1`, name).Scan(&n)
	return n, err
}

// addBatchCount adds to a batch's member and carrier counts.
func addBatchCount(ctx context.Context, tx pgx.Tx, batch string, members, carriers int) error {
	_, err := tx.Exec(ctx, `INSERT INTO batch_counts (batch, members, carriers) VALUES ($1, $2, $3)
		ON CONFLICT (batch) DO UPDATE SET members = batch_counts.members + $2, carriers = batch_counts.carriers + $3`, batch, members, carriers)
	return err
}

// carry records serial as a carrier of batch (once) and counts it.
func carry(ctx context.Context, tx pgx.Tx, batch, serial string) error {
	tag, err := tx.Exec(ctx, `INSERT INTO carriers (batch, serial) VALUES ($1, $2) ON CONFLICT DO NOTHING`, batch, serial)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	return addBatchCount(ctx, tx, batch, 0, 1)
}
