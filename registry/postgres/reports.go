package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// The report counters (migration 0004_reports.sql): the sum of every
// item's policy.Tally, kept by each write in its transaction with
// upserts that add (UPDATE … SET n = n + $1), never a recount.

// retally adds the change in an item's tally from old to t.
func retally(ctx context.Context, tx pgx.Tx, it policy.Item, old, t policy.Tally) error {
	d := t.Diff(old)
	// One order for every writer: two writes touching the same cells take
	// their row locks in the same order and do not deadlock.
	slices.SortFunc(d.Quality, func(a, b policy.QualityEntry) int { return compareCell(a.Cell, b.Cell) })
	slices.SortFunc(d.Findings, func(a, b policy.FindingEntry) int { return compareFinding(a.Cell, b.Cell) })
	if err := addQuality(ctx, tx, d.Quality); err != nil {
		return err
	}
	if err := addFindings(ctx, tx, d.Findings); err != nil {
		return err
	}
	if old.Expires == t.Expires {
		return nil
	}
	if t.Expires.IsZero() {
		_, err := tx.Exec(ctx, `DELETE FROM report_expiry WHERE serial = $1`, it.Serial)
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO report_expiry (serial, sku, batch, until) VALUES ($1, $2, $3, $4)
		ON CONFLICT (serial) DO UPDATE SET until = excluded.until`, it.Serial, it.SKU, it.Batch, dateArg(t.Expires))
	return err
}

func compareCell(a, b policy.QualityCell) int {
	if c := strings.Compare(a.SKU, b.SKU); c != 0 {
		return c
	}
	if c := strings.Compare(a.Batch, b.Batch); c != 0 {
		return c
	}
	return strings.Compare(a.Month, b.Month)
}

func compareFinding(a, b policy.FindingCell) int {
	if a.Kind != b.Kind {
		return int(a.Kind) - int(b.Kind)
	}
	if c := strings.Compare(a.SKU, b.SKU); c != 0 {
		return c
	}
	if c := strings.Compare(a.Month, b.Month); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// addQuality adds cells' counts, in one statement; rows left all zero go.
func addQuality(ctx context.Context, tx pgx.Tx, cells []policy.QualityEntry) error {
	if len(cells) == 0 {
		return nil
	}
	var sku, batch, month []string
	var n [7][]int64
	for _, e := range cells {
		sku, batch, month = append(sku, e.Cell.SKU), append(batch, e.Cell.Batch), append(month, e.Cell.Month)
		c := e.Counts
		for i, v := range []int64{c.Units, c.Received, c.Cases, c.FreeRepairs, c.Replacements, c.Returns, c.EarlyFailures} {
			n[i] = append(n[i], v)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO report_quality AS q (sku, batch, month, units, received, cases, free_repairs, replacements, returns, early_failures)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[])
		ON CONFLICT (sku, batch, month) DO UPDATE SET units = q.units + excluded.units, received = q.received + excluded.received,
			cases = q.cases + excluded.cases, free_repairs = q.free_repairs + excluded.free_repairs,
			replacements = q.replacements + excluded.replacements, returns = q.returns + excluded.returns,
			early_failures = q.early_failures + excluded.early_failures`,
		sku, batch, month, n[0], n[1], n[2], n[3], n[4], n[5], n[6]); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM report_quality q USING unnest($1::text[], $2::text[], $3::text[]) AS c(sku, batch, month)
		WHERE q.sku = c.sku AND q.batch = c.batch AND q.month = c.month AND q.units = 0 AND q.received = 0 AND q.cases = 0
			AND q.free_repairs = 0 AND q.replacements = 0 AND q.returns = 0 AND q.early_failures = 0`, sku, batch, month)
	return err
}

func addFindings(ctx context.Context, tx pgx.Tx, cells []policy.FindingEntry) error {
	if len(cells) == 0 {
		return nil
	}
	var kind, sku, month, name []string
	var n []int64
	for _, e := range cells {
		kind, sku, month, name, n = append(kind, string(e.Cell.Kind)), append(sku, e.Cell.SKU), append(month, e.Cell.Month), append(name, e.Cell.Name), append(n, e.N)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO report_findings AS f (kind, sku, month, name, n)
		SELECT k::"char", s, m, nm, x FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS u(k, s, m, nm, x)
		ON CONFLICT (kind, sku, month, name) DO UPDATE SET n = f.n + excluded.n`, kind, sku, month, name, n); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM report_findings f USING unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS c(kind, sku, month, name)
		WHERE f.kind = c.kind::"char" AND f.sku = c.sku AND f.month = c.month AND f.name = c.name AND f.n = 0`, kind, sku, month, name)
	return err
}

// addCounters adds many items' counters at once (a registration, a load).
func addCounters(ctx context.Context, tx pgx.Tx, c registry.Counters) error {
	q := make([]policy.QualityEntry, 0, len(c.Quality))
	for cell, n := range c.Quality {
		q = append(q, policy.QualityEntry{Cell: cell, Counts: n})
	}
	slices.SortFunc(q, func(a, b policy.QualityEntry) int { return compareCell(a.Cell, b.Cell) })
	if err := addQuality(ctx, tx, q); err != nil {
		return err
	}
	f := make([]policy.FindingEntry, 0, len(c.Findings))
	for cell, n := range c.Findings {
		f = append(f, policy.FindingEntry{Cell: cell, N: n})
	}
	slices.SortFunc(f, func(a, b policy.FindingEntry) int { return compareFinding(a.Cell, b.Cell) })
	if err := addFindings(ctx, tx, f); err != nil {
		return err
	}
	if len(c.Expiry) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(c.Expiry))
	for serial, e := range c.Expiry {
		rows = append(rows, []any{serial, e.SKU, e.Batch, dateArg(e.Until)})
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"report_expiry"}, []string{"serial", "sku", "batch", "until"}, pgx.CopyFromRows(rows))
	return err
}

func modelExists(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, sku string) error {
	if sku == "" {
		return nil
	}
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM models WHERE sku = $1`, sku).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return policy.Errorf(policy.ENotFound, "sku", "no model %s", sku)
	}
	return err
}

// QualityReport reads the quality counters of q's SKU (all when none)
// and months. Errors: EInvalid naming by, sku, from or to; ENotFound for
// an unknown SKU; EUnavailable.
func (s *Store) QualityReport(q registry.ReportQuery) ([]registry.QualityRow, error) {
	q, err := registry.ReportArgs(q, true)
	if err != nil {
		return nil, err
	}
	var cells []policy.QualityEntry
	err = s.read(func(ctx context.Context) error {
		if err := modelExists(ctx, s.pool, q.SKU); err != nil {
			return err
		}
		rows, err := s.pool.Query(ctx, `SELECT sku, batch, month, units, received, cases, free_repairs, replacements, returns, early_failures
			FROM report_quality WHERE ($1 = '' OR sku = $1)`, q.SKU)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e policy.QualityEntry
			c := &e.Counts
			if err := rows.Scan(&e.Cell.SKU, &e.Cell.Batch, &e.Cell.Month, &c.Units, &c.Received, &c.Cases, &c.FreeRepairs, &c.Replacements, &c.Returns, &c.EarlyFailures); err != nil {
				return err
			}
			if q.InMonths(e.Cell.Month) {
				cells = append(cells, e)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return registry.QualityRows(q.By, cells), nil
}

// FindingsReport counts the findings and parts of q's SKU in cases
// opened in q's months, most frequent first. Errors: EInvalid naming sku,
// from or to; ENotFound for an unknown SKU; EUnavailable.
func (s *Store) FindingsReport(q registry.ReportQuery) (registry.FindingsReport, error) {
	q, err := registry.ReportArgs(q, false)
	if err != nil {
		return registry.FindingsReport{}, err
	}
	var cells []policy.FindingEntry
	err = s.read(func(ctx context.Context) error {
		if err := modelExists(ctx, s.pool, q.SKU); err != nil {
			return err
		}
		rows, err := s.pool.Query(ctx, `SELECT kind::text, sku, month, name, n FROM report_findings WHERE ($1 = '' OR sku = $1)`, q.SKU)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e policy.FindingEntry
			var kind string
			if err := rows.Scan(&kind, &e.Cell.SKU, &e.Cell.Month, &e.Cell.Name, &e.N); err != nil {
				return err
			}
			if kind != "" {
				e.Cell.Kind = policy.FindingKind(kind[0])
			}
			if q.InMonths(e.Cell.Month) {
				cells = append(cells, e)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return registry.FindingsReport{}, err
	}
	return registry.FindingsOf(cells), nil
}

// Expiring lists the serials whose warranty ends today or within `within`
// days, by end date then serial, after the cursor after. Errors: EInvalid
// naming within, after or limit; ENotFound for an unknown SKU; EUnavailable.
func (s *Store) Expiring(within int, sku, after string, limit int) (registry.ExpiringPage, error) {
	fromDate, fromSerial, n, err := registry.ExpiringArgs(within, after, limit)
	if err != nil {
		return registry.ExpiringPage{}, err
	}
	if sku != "" {
		if sku, err = policy.Ident("sku", sku); err != nil {
			return registry.ExpiringPage{}, err
		}
	}
	today := s.policy.Today(s.now())
	page := registry.ExpiringPage{Items: []registry.ExpiringItem{}}
	err = s.read(func(ctx context.Context) error {
		if err := modelExists(ctx, s.pool, sku); err != nil {
			return err
		}
		if fromDate.IsZero() {
			fromDate = today
		}
		rows, err := s.pool.Query(ctx, `SELECT serial, sku, batch, until FROM report_expiry
			WHERE ($1 = '' OR sku = $1) AND until >= $2 AND until <= $3 AND (until, serial) > ($4, $5)
			ORDER BY until, serial LIMIT $6`, sku, dateArg(today), dateArg(today.AddDays(within)), dateArg(fromDate), fromSerial, n+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var it registry.ExpiringItem
			var until pgtype.Date
			if err := rows.Scan(&it.Serial, &it.SKU, &it.Batch, &until); err != nil {
				return err
			}
			it.WarrantyUntil = dateOf(until)
			it.DaysLeft = today.DaysUntil(it.WarrantyUntil)
			if len(page.Items) == n {
				page.Next = registry.ExpiringCursor(page.Items[n-1])
				break
			}
			page.Items = append(page.Items, it)
		}
		return rows.Err()
	})
	return page, err
}

// recount sums every item's tally.
func (s *Store) recount(ctx context.Context, tx pgx.Tx) (registry.Counters, error) {
	out := registry.NewCounters()
	err := eachRecord(ctx, tx, `SELECT `+recordCols+recordFrom, func(_ itemRow, rec registry.Record) error {
		out.Add(rec.Item, s.policy.Tally(rec.Item, rec.History))
		return nil
	})
	return out, err
}

func storedCounters(ctx context.Context, tx pgx.Tx) (registry.Counters, error) {
	out := registry.NewCounters()
	rows, err := tx.Query(ctx, `SELECT sku, batch, month, units, received, cases, free_repairs, replacements, returns, early_failures FROM report_quality`)
	if err != nil {
		return out, err
	}
	for rows.Next() {
		var cell policy.QualityCell
		var c policy.QualityCounts
		if err := rows.Scan(&cell.SKU, &cell.Batch, &cell.Month, &c.Units, &c.Received, &c.Cases, &c.FreeRepairs, &c.Replacements, &c.Returns, &c.EarlyFailures); err != nil {
			rows.Close()
			return out, err
		}
		out.Quality[cell] = c
	}
	if rows.Close(); rows.Err() != nil {
		return out, rows.Err()
	}
	rows, err = tx.Query(ctx, `SELECT kind::text, sku, month, name, n FROM report_findings`)
	if err != nil {
		return out, err
	}
	for rows.Next() {
		var cell policy.FindingCell
		var kind string
		var n int64
		if err := rows.Scan(&kind, &cell.SKU, &cell.Month, &cell.Name, &n); err != nil {
			rows.Close()
			return out, err
		}
		if kind != "" {
			cell.Kind = policy.FindingKind(kind[0])
		}
		out.Findings[cell] = n
	}
	if rows.Close(); rows.Err() != nil {
		return out, rows.Err()
	}
	rows, err = tx.Query(ctx, `SELECT serial, sku, batch, until FROM report_expiry`)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var serial string
		var e registry.ExpiryEntry
		var until pgtype.Date
		if err := rows.Scan(&serial, &e.SKU, &e.Batch, &until); err != nil {
			return out, err
		}
		e.Until = dateOf(until)
		out.Expiry[serial] = e
	}
	return out, rows.Err()
}

// VerifyCounters recounts the report counters from every item and
// returns those that differ; with fix it replaces the counters with the
// recount in the same transaction (which locks out writers of items while
// it runs). Errors: EUnavailable; internal.
func (s *Store) VerifyCounters(fix bool) ([]registry.CounterFix, error) {
	var fixes []registry.CounterFix
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		if fix {
			// A write between the recount and the rewrite would be lost.
			if _, err := tx.Exec(ctx, `LOCK TABLE items, events, report_quality, report_findings, report_expiry IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
		}
		recount, err := s.recount(ctx, tx)
		if err != nil {
			return err
		}
		stored, err := storedCounters(ctx, tx)
		if err != nil {
			return err
		}
		if fixes = registry.Compare(stored, recount); len(fixes) == 0 || !fix {
			return nil
		}
		return rebuildCounters(ctx, tx, recount)
	})
	return fixes, err
}

func rebuildCounters(ctx context.Context, tx pgx.Tx, c registry.Counters) error {
	if _, err := tx.Exec(ctx, `DELETE FROM report_quality; DELETE FROM report_findings; DELETE FROM report_expiry`); err != nil {
		return fmt.Errorf("clearing the report counters: %w", err)
	}
	return addCounters(ctx, tx, c)
}

// buildReports fills the report counters of a database migrated to
// schema 4 from the items it holds.
func (s *Store) buildReports(ctx context.Context, tx pgx.Tx) error {
	c, err := s.recount(ctx, tx)
	if err != nil {
		return err
	}
	return rebuildCounters(ctx, tx, c)
}
