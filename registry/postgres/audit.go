package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// auditLock is the advisory lock that orders audit ids: every writer holds
// it shared from drawing its entry's id until it commits; Audit takes it
// exclusive for a moment, so when it reads, every id drawn is committed
// (or rolled back) and any later one is larger. Writers never wait on each
// other for it.
const auditLock = 7247300102

// audit records a mutation in the write's transaction.
func (s *Store) audit(ctx context.Context, tx pgx.Tx, a registry.Actor, l registry.AuditLine, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit (at, key_id, name, action, target, detail)
		SELECT $1, $2, $3, $4, $5, $6 FROM pg_advisory_xact_lock_shared(`+strconv.Itoa(auditLock)+`)`,
		now, a.KeyID, a.Name, l.Action, l.Target, l.Detail)
	return err
}

// Audit lists audit entries oldest first (in id order, which is commit
// order for entries a reader can see), starting after the entry whose ID
// is after ("" = from the first). The string returned is the next page's
// cursor, "" on the last. Errors: EInvalid for a malformed cursor or a
// negative limit; EUnavailable.
func (s *Store) Audit(after string, limit int) ([]registry.AuditEntry, string, error) {
	limit, err := registry.PageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	var from int64
	if after != "" {
		if from, err = strconv.ParseInt(after, 10, 64); err != nil || from < 1 || strconv.FormatInt(from, 10) != after {
			return nil, "", policy.Errorf(policy.EInvalid, "after", "after must be the id of an audit entry")
		}
	}
	out := []registry.AuditEntry{}
	next := ""
	err = s.read(func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+strconv.Itoa(auditLock)+`)`); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `SELECT id, at, key_id, name, action, target, detail FROM audit WHERE id > $1 ORDER BY id LIMIT $2`, from, limit+1)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				var e registry.AuditEntry
				if err := rows.Scan(&id, &e.At, &e.KeyID, &e.Name, &e.Action, &e.Target, &e.Detail); err != nil {
					return err
				}
				if len(out) == limit {
					next = out[len(out)-1].ID
					break
				}
				e.ID, e.At = strconv.FormatInt(id, 10), e.At.UTC()
				out = append(out, e)
			}
			return rows.Err()
		})
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}
