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

// writeScans adds a batch of buffered views to the scans table in one
// statement, in serial order; serials not registered are skipped.
func (s *Store) writeScans(serials []string, batch map[string]registry.Scans, _ func(uint64)) error {
	counts := make([]int64, len(serials))
	firsts := make([]time.Time, len(serials))
	lasts := make([]time.Time, len(serials))
	for i, k := range serials {
		counts[i], firsts[i], lasts[i] = int64(batch[k].Count), batch[k].First, batch[k].Last
	}
	return s.write(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO scans (serial, count, first_at, last_at)
			SELECT v.serial, v.count, v.first_at, v.last_at
			FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS v(serial, count, first_at, last_at)
			WHERE EXISTS (SELECT 1 FROM items i WHERE i.serial = v.serial)
			ORDER BY v.serial
			ON CONFLICT (serial) DO UPDATE SET count = scans.count + excluded.count,
				first_at = least(scans.first_at, excluded.first_at), last_at = greatest(scans.last_at, excluded.last_at)`,
			serials, counts, firsts, lasts)
		return err
	})
}
