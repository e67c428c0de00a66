package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sanbao/sanbao/registry"
)

// Scan counts one public view of serial at instant at in this process's
// memory (registry.ScanBuffer): each replica counts its own views and adds
// them to the database every few seconds; Get includes this process's
// buffered views. A crash loses at most the views not yet written.
func (s *Store) Scan(serial string, at time.Time) { s.scans.Add(serial, at) }

// writeScans adds a batch of buffered views to the items' scan columns,
// serials not registered skipped. The rows are locked first in serial
// order, as appends lock theirs (lockItems), so a flush and an append of
// two items wait on each other instead of deadlocking; a flush is one
// transaction every few seconds, and an append waits at most for it.
func (s *Store) writeScans(serials []string, batch map[string]registry.Scans, _ func(uint64)) error {
	counts := make([]int64, len(serials))
	firsts := make([]time.Time, len(serials))
	lasts := make([]time.Time, len(serials))
	for i, k := range serials {
		counts[i], firsts[i], lasts[i] = int64(batch[k].Count), batch[k].First, batch[k].Last
	}
	return s.write(func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM items WHERE serial = ANY($1) ORDER BY serial FOR UPDATE`, serials); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE items i SET scan_count = i.scan_count + v.count,
				scan_first = CASE WHEN i.scan_count = 0 THEN v.first_at ELSE least(i.scan_first, v.first_at) END,
				scan_last = CASE WHEN i.scan_count = 0 THEN v.last_at ELSE greatest(i.scan_last, v.last_at) END
			FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS v(serial, count, first_at, last_at)
			WHERE i.serial = v.serial`,
			serials, counts, firsts, lasts)
		return err
	})
}
