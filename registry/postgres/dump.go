package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

var _ interface {
	registry.Dumper
	registry.Loader
} = (*Store)(nil)

// Dump hands the database's contents to sink, read in one repeatable-read
// transaction (one snapshot). Errors: the sink's; EUnavailable; internal ones.
func (s *Store) Dump(sink registry.Sink) error {
	ctx := context.Background() // a dump may take minutes: not bounded by Options.Timeout
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var secret []byte
		if err := tx.QueryRow(ctx, `SELECT value FROM meta WHERE name = 'secret'`).Scan(&secret); err != nil {
			return err
		}
		if err := sink.Secret(secret); err != nil {
			return err
		}
		models, err := s.models(ctx, tx, false)
		if err != nil {
			return err
		}
		for _, m := range models {
			if err := sink.Model(m); err != nil {
				return err
			}
		}
		err = each(ctx, tx, `SELECT gtin, sku FROM gtins ORDER BY gtin`, func(rows pgx.Rows) error {
			var gtin, sku string
			if err := rows.Scan(&gtin, &sku); err != nil {
				return err
			}
			return sink.GTIN(gtin, sku)
		})
		if err != nil {
			return err
		}
		err = eachRecord(ctx, tx, `SELECT `+recordCols+recordFrom+` ORDER BY i.serial`, func(r itemRow, rec registry.Record) error {
			r.Derived.Carried = nil
			rec.Scans = s.scans.Merge(r.Serial, rec.Scans, 0)
			return sink.Item(registry.ItemDump{Item: r.Item, Derived: r.Derived, Seq: r.Seq, History: rec.History, Scans: rec.Scans})
		})
		if err != nil {
			return err
		}
		err = each(ctx, tx, `SELECT batch, serial FROM carriers ORDER BY batch, serial`, func(rows pgx.Rows) error {
			var b, serial string
			if err := rows.Scan(&b, &serial); err != nil {
				return err
			}
			return sink.Carrier(b, serial)
		})
		if err != nil {
			return err
		}
		err = each(ctx, tx, `SELECT `+keyCols+` FROM keys ORDER BY created, id`, func(rows pgx.Rows) error {
			k, hash, err := scanKey(rows)
			if err != nil {
				return err
			}
			return sink.Key(registry.KeyDump{Key: k, Hash: hash})
		})
		if err != nil {
			return err
		}
		err = each(ctx, tx, `SELECT `+userCols+` FROM users ORDER BY username`, func(rows pgx.Rows) error {
			u, hash, err := scanUser(rows)
			if err != nil {
				return err
			}
			return sink.User(registry.UserDump{User: u, Hash: hash})
		})
		if err != nil {
			return err
		}
		err = each(ctx, tx, `SELECT id::text, at, key_id, name, action, target, detail FROM audit ORDER BY id`, func(rows pgx.Rows) error {
			var e registry.AuditEntry
			if err := rows.Scan(&e.ID, &e.At, &e.KeyID, &e.Name, &e.Action, &e.Target, &e.Detail); err != nil {
				return err
			}
			e.At = e.At.UTC()
			return sink.Audit(e)
		})
		if err != nil {
			return err
		}
		err = each(ctx, tx, `SELECT caller, key, at, request_hash, answer FROM idempotency ORDER BY caller, key`, func(rows pgx.Rows) error {
			var k registry.IdempotencyDump
			if err := rows.Scan(&k.Caller, &k.Key, &k.At, &k.RequestHash, &k.Answer); err != nil {
				return err
			}
			k.At = k.At.UTC()
			return sink.Idempotency(k)
		})
		if err != nil {
			return err
		}
		if err := dumpWebhooks(ctx, tx, sink); err != nil {
			return err
		}
		return dumpNotices(ctx, tx, sink)
	})
	return s.storageErr(err)
}

// each runs fn on every row of a query.
func each(ctx context.Context, tx pgx.Tx, sql string, fn func(pgx.Rows) error) error {
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Load writes what fill hands it into this database, which must hold no
// model, item, key or user, in one transaction, tables by COPY; the counters are
// recomputed from what was written. Errors: EConflict when the database is
// not empty; fill's; EUnavailable.
func (s *Store) Load(fill func(registry.Sink) error) error {
	ctx := context.Background() // a load may take minutes: not bounded by Options.Timeout
	var secret []byte
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var used bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM models) OR EXISTS (SELECT 1 FROM items) OR EXISTS (SELECT 1 FROM keys) OR EXISTS (SELECT 1 FROM users)`).Scan(&used); err != nil {
			return err
		}
		if used {
			return registry.NotEmpty("database at " + s.host)
		}
		var models, gtins, items, events, carriers, keys, users, audit, idem, hooks, deliveries, notices [][]any
		counters := registry.NewCounters()
		err := fill(registry.Sink{
			Secret: func(b []byte) error { secret = b; return nil },
			Model: func(m policy.Model) error {
				v, err := json.Marshal(m)
				models = append(models, []any{m.SKU, v})
				return err
			},
			GTIN: func(gtin, sku string) error { gtins = append(gtins, []any{gtin, sku}); return nil },
			Item: func(it registry.ItemDump) error {
				var acc []byte
				if len(it.Item.Accessories) > 0 {
					var err error
					if acc, err = json.Marshal(it.Item.Accessories); err != nil {
						return err
					}
				}
				d := it.Derived
				items = append(items, []any{it.Item.Serial, it.Item.SKU, string(it.Item.Kind), it.Item.WarrantyMonths, it.Item.Batch,
					dateArg(it.Item.ProducedOn), acc, it.Item.RegisteredAt, textArg(it.Item.Replaces), dateArg(it.Item.ExchangedOn),
					it.Item.Exchanges, string(d.State), dateArg(d.DispatchedOn), textArg(d.Order), dateArg(d.ReceivedOn),
					textArg(string(d.Evidence)), textArg(d.SupersededBy), int64(it.Seq), int64(d.OpenCase),
					int64(it.Scans.Count), timeArg(it.Scans.Count, it.Scans.First), timeArg(it.Scans.Count, it.Scans.Last)})
				for _, ev := range it.History {
					v, err := json.Marshal(ev)
					if err != nil {
						return err
					}
					events = append(events, []any{it.Item.Serial, int64(ev.Seq), v})
				}
				// The report counters are no part of a dump: rebuilt here.
				counters.Add(it.Item, s.policy.Tally(it.Item, it.History))
				return nil
			},
			Carrier: func(batch, serial string) error { carriers = append(carriers, []any{batch, serial}); return nil },
			Key: func(k registry.KeyDump) error {
				revoked := pgtype.Timestamptz{Time: k.Key.Revoked, Valid: !k.Key.Revoked.IsZero()}
				keys = append(keys, []any{k.Key.ID, k.Key.Name, string(k.Key.Role), k.Hash, k.Key.Created, revoked})
				return nil
			},
			User: func(u registry.UserDump) error {
				x := u.User
				users = append(users, []any{x.Username, x.Name, string(x.Role), x.Center, x.Disabled, u.Hash, x.Created, x.Updated})
				return nil
			},
			Audit: func(e registry.AuditEntry) error {
				audit = append(audit, []any{e.At, e.KeyID, e.Name, e.Action, e.Target, e.Detail})
				return nil
			},
			Idempotency: func(k registry.IdempotencyDump) error {
				idem = append(idem, []any{k.Caller, k.Key, k.At, k.RequestHash, k.Answer})
				return nil
			},
			Webhook: func(w registry.Subscription) error {
				hooks = append(hooks, []any{w.ID, w.URL, w.Events, w.Secret, w.Created})
				return nil
			},
			Delivery: func(d registry.Delivery) error {
				row, err := deliveryRow(d)
				deliveries = append(deliveries, row)
				return err
			},
			Notice: func(n registry.Notice) error { notices = append(notices, noticeRow(n)); return nil },
		})
		if err != nil {
			return err
		}
		for _, c := range []struct {
			table string
			cols  []string
			rows  [][]any
		}{
			{"models", []string{"sku", "model"}, models},
			{"gtins", []string{"gtin", "sku"}, gtins},
			{"items", []string{"serial", "sku", "kind", "warranty_months", "batch", "produced_on", "accessories", "registered_at",
				"replaces", "exchanged_on", "exchanges", "state", "dispatched_on", "order_no", "received_on", "evidence",
				"superseded_by", "seq", "open_case", "scan_count", "scan_first", "scan_last"}, items},
			{"events", []string{"serial", "seq", "event"}, events},
			{"carriers", []string{"batch", "serial"}, carriers},
			{"keys", []string{"id", "name", "role", "hash", "created", "revoked"}, keys},
			{"users", []string{"username", "name", "role", "center", "disabled", "hash", "created", "updated"}, users},
			{"audit", []string{"at", "key_id", "name", "action", "target", "detail"}, audit},
			{"idempotency", []string{"caller", "key", "at", "request_hash", "answer"}, idem},
			{"webhooks", []string{"id", "url", "events", "secret", "created"}, hooks},
			{"webhook_deliveries", []string{"n", "webhook", "serial", "seq", "type", "status", "attempts", "last_error",
				"created", "since", "next_attempt", "delivered_at"}, deliveries},
			{"notices", []string{"batch", "severity", "text", "text_en", "since", "set_at", "set_by"}, notices},
		} {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
				return err
			}
		}
		for _, q := range []string{
			`INSERT INTO counts (name, stripe, n) VALUES ('items', 0, (SELECT count(*) FROM items)),
				('models', 0, (SELECT count(*) FROM models)), ('open_cases', 0, (SELECT count(*) FROM items WHERE open_case <> 0))
				ON CONFLICT (name, stripe) DO UPDATE SET n = counts.n + excluded.n`, // an empty registry's counters sum to 0
			`SELECT setval(pg_get_serial_sequence('webhook_deliveries', 'n'), coalesce(max(n), 0) + 1, false) FROM webhook_deliveries`,
			`INSERT INTO batch_counts (batch, members, carriers)
				SELECT batch, sum(m), sum(c) FROM (SELECT batch, 1 AS m, 0 AS c FROM items UNION ALL SELECT batch, 0, 1 FROM carriers) x GROUP BY batch`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		if err := addCounters(ctx, tx, counters); err != nil {
			return err
		}
		if secret == nil {
			return errors.New("postgres: the source handed over no check-code secret")
		}
		_, err = tx.Exec(ctx, `UPDATE meta SET value = $1 WHERE name = 'secret'`, secret)
		return err
	})
	if err != nil {
		return s.storageErr(err)
	}
	s.secrets[0] = secret
	ctx2, cancel := s.ctx()
	defer cancel()
	return s.storageErr(s.keys.load(ctx2))
}

// timeArg is a scan instant as a column value: NULL when the item was
// never viewed (count 0), as the columns are when no view was written.
func timeArg(count uint64, t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: count > 0}
}
