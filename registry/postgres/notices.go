package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// Batch notices on PostgreSQL: the same answers as the bbolt store's
// (registry/notices.go), one row per batch in the notices table.

const noticeCols = `batch, severity, text, text_en, since, set_at, set_by`

// scanNotice reads a row of noticeCols.
func scanNotice(row pgx.Row) (registry.Notice, error) {
	var n registry.Notice
	var severity string
	var since pgtype.Date
	if err := row.Scan(&n.Batch, &severity, &n.Text, &n.TextEN, &since, &n.SetAt, &n.SetBy); err != nil {
		return registry.Notice{}, err
	}
	n.Severity, n.Since, n.SetAt = registry.Severity(severity), dateOf(since), n.SetAt.UTC()
	return n, nil
}

// PutNotice sets a batch's notice. Errors: as registry.NoticeStore.PutNotice.
func (s *Store) PutNotice(a registry.Actor, n registry.Notice) (registry.Notice, bool, error) {
	n, err := registry.CheckNotice(n)
	if err != nil {
		return registry.Notice{}, false, err
	}
	var out registry.Notice
	created := false
	err = s.write(func(ctx context.Context, tx pgx.Tx) error {
		now := s.now()
		out, created = n, false
		out.SetAt, out.SetBy = now, a.Name
		var members, carriers int64
		err := tx.QueryRow(ctx, `SELECT members, carriers FROM batch_counts WHERE batch = $1`, n.Batch).Scan(&members, &carriers)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && members == 0 && carriers == 0 {
			return registry.NoSuchBatch(n.Batch)
		} else if err != nil {
			return err
		}
		var old *registry.Notice
		o, err := scanNotice(tx.QueryRow(ctx, `SELECT `+noticeCols+` FROM notices WHERE batch = $1 FOR UPDATE`, n.Batch))
		switch {
		case err == nil:
			old = &o
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if old != nil && old.Severity == n.Severity && old.Text == n.Text && old.TextEN == n.TextEN && old.Since == n.Since {
			out = *old
			return nil
		}
		created = old == nil
		if _, err := tx.Exec(ctx, `INSERT INTO notices (`+noticeCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (batch) DO UPDATE SET severity = excluded.severity, text = excluded.text, text_en = excluded.text_en,
				since = excluded.since, set_at = excluded.set_at, set_by = excluded.set_by`,
			out.Batch, string(out.Severity), out.Text, out.TextEN, dateArg(out.Since), out.SetAt, out.SetBy); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, registry.AuditLine{Action: registry.NoticeAction(old), Target: out.Batch, Detail: registry.NoticeDetail(out)}, now)
	})
	if err != nil {
		return registry.Notice{}, false, err
	}
	return out, created, nil
}

// DeleteNotice clears a batch's notice. Errors: as registry.NoticeStore.DeleteNotice.
func (s *Store) DeleteNotice(a registry.Actor, batch string) error {
	batch, err := policy.Ident("batch", batch)
	if err != nil {
		return err
	}
	return s.write(func(ctx context.Context, tx pgx.Tx) error {
		old, err := scanNotice(tx.QueryRow(ctx, `DELETE FROM notices WHERE batch = $1 RETURNING `+noticeCols, batch))
		if errors.Is(err, pgx.ErrNoRows) {
			return registry.NoNotice(batch)
		} else if err != nil {
			return err
		}
		return s.audit(ctx, tx, a, registry.AuditLine{Action: "notice.clear", Target: batch, Detail: registry.NoticeDetail(old)}, s.now())
	})
}

// Notices lists every notice in batch order. Errors: EUnavailable;
// internal ones.
func (s *Store) Notices() ([]registry.Notice, error) {
	return s.queryNotices(`SELECT ` + noticeCols + ` FROM notices ORDER BY batch`)
}

// BatchNotices returns the notices of the batches given, in batch order.
// Errors: EUnavailable; internal ones.
func (s *Store) BatchNotices(batches []string) ([]registry.Notice, error) {
	if len(batches) == 0 {
		return []registry.Notice{}, nil
	}
	return s.queryNotices(`SELECT `+noticeCols+` FROM notices WHERE batch = ANY ($1::text[]) ORDER BY batch`, batches)
}

func (s *Store) queryNotices(sql string, args ...any) ([]registry.Notice, error) {
	out := []registry.Notice{}
	err := s.read(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = out[:0]
		for rows.Next() {
			n, err := scanNotice(rows)
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	return out, err
}

// dumpNotices hands every notice to sink, in the dump's transaction.
func dumpNotices(ctx context.Context, tx pgx.Tx, sink registry.Sink) error {
	return each(ctx, tx, `SELECT `+noticeCols+` FROM notices ORDER BY batch`, func(rows pgx.Rows) error {
		n, err := scanNotice(rows)
		if err != nil {
			return err
		}
		return sink.Notice(n)
	})
}

// noticeRow is a notice as Load copies it in.
func noticeRow(n registry.Notice) []any {
	return []any{n.Batch, string(n.Severity), n.Text, n.TextEN, dateArg(n.Since), n.SetAt, n.SetBy}
}
