package registry

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// The maker's reports (issue 19): every store keeps the sum of every
// item's policy.Tally in counters updated in the same transaction as each
// write (registration, every event, corrections included, deletion), so a
// report reads counters, never every item. What follows is the part every
// store shares: the queries' checks, the rows built from counter cells,
// and the recount that `sanbao verify` compares the counters with.

// ReportStore answers the maker's reports.
type ReportStore interface {
	// QualityReport is the quality report of q. Errors: EInvalid naming
	// by, from or to; ENotFound for an unknown SKU.
	QualityReport(q ReportQuery) ([]QualityRow, error)
	// FindingsReport counts findings and parts, most frequent first.
	// Errors: EInvalid naming from or to; ENotFound for an unknown SKU.
	FindingsReport(q ReportQuery) (FindingsReport, error)
	// Expiring lists the serials whose warranty ends within `within` days
	// of today, by end date then serial, one page after the cursor after.
	// Errors: EInvalid naming within, after or limit; ENotFound for an
	// unknown SKU.
	Expiring(within int, sku, after string, limit int) (ExpiringPage, error)
	// VerifyCounters recounts every report counter from the items and
	// their histories and returns each one that differs; with fix, it
	// writes the recounted values in the same transaction. Errors:
	// EUnavailable; internal.
	VerifyCounters(fix bool) ([]CounterFix, error)
}

// Report groupings.
const (
	ByBatch = "batch"
	ByModel = "model"
	ByMonth = "month"
)

// NoReceipt is the month key of units with no receipt on record, in a
// report by month.
const NoReceipt = "none"

// MaxWithin is the longest horizon of the expiring report, in days (ten
// years and a leap day or so).
const MaxWithin = 3660

// ReportQuery is what a report is asked for: a grouping (quality report
// only), a model, and the months From and To ("2006-01", both included;
// "" = open): of receipt in the quality report, of the case's opening in
// the findings report.
type ReportQuery struct {
	By, SKU, From, To string
}

// QualityRow is one row of the quality report.
type QualityRow struct {
	Key string
	policy.QualityCounts
	Per1000 float64
	Flagged bool
}

// FindingCount is a finding or part and how often it was recorded.
type FindingCount struct {
	Name  string
	Count int64
}

// FindingsReport lists findings (cases by their latest diagnosis) and
// parts (fitted in repairs), most frequent first, then by name.
type FindingsReport struct {
	Findings, Parts []FindingCount
}

// ExpiringItem is a serial of the expiring report.
type ExpiringItem struct {
	Serial, SKU, Batch string
	WarrantyUntil      policy.Date
	DaysLeft           int
}

// ExpiringPage is one page of the expiring report; Next is the cursor of
// the following page, "" on the last.
type ExpiringPage struct {
	Items []ExpiringItem
	Next  string
}

// CounterFix is a report counter `sanbao verify` found wrong: which one,
// what the store held and what a recount gives.
type CounterFix struct {
	Counter, Key      string
	Stored, Recounted string
}

func (f CounterFix) String() string {
	return fmt.Sprintf("%s %s: %s, recounted %s", f.Counter, f.Key, f.Stored, f.Recounted)
}

// ReportArgs checks a report query: by (quality report only, "" for the
// others) batch, model or month, default batch; from and to as months
// (2006-01) or dates (2006-01-02, taken as their month), from not after
// to; sku an identifier. Errors: EInvalid naming by, sku, from or to.
func ReportArgs(q ReportQuery, quality bool) (ReportQuery, error) {
	if quality {
		switch q.By {
		case "":
			q.By = ByBatch
		case ByBatch, ByModel, ByMonth:
		default:
			return q, policy.Errorf(policy.EInvalid, "by", "by must be batch, model or month, not %q", q.By)
		}
	}
	if q.SKU != "" {
		s, err := policy.Ident("sku", q.SKU)
		if err != nil {
			return q, err
		}
		q.SKU = s
	}
	var err error
	if q.From, err = reportMonth("from", q.From); err != nil {
		return q, err
	}
	if q.To, err = reportMonth("to", q.To); err != nil {
		return q, err
	}
	if q.From != "" && q.To != "" && q.From > q.To {
		return q, policy.Errorf(policy.EInvalid, "from", "from (%s) is after to (%s)", q.From, q.To)
	}
	return q, nil
}

func reportMonth(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) == len("2006-01") {
		if t, err := time.Parse("2006-01", s); err == nil {
			return t.Format("2006-01"), nil
		}
	} else if d, err := policy.ParseDate(s); err == nil {
		return policy.Month(d), nil
	}
	return "", policy.Errorf(policy.EInvalid, field, "%s must be a month (2026-03) or a date (2026-03-15), not %q", field, s)
}

// InMonths reports whether month is within q's From and To; a unit with
// no receipt ("") is outside any range given.
func (q ReportQuery) InMonths(month string) bool {
	if q.From == "" && q.To == "" {
		return true
	}
	return month != "" && (q.From == "" || month >= q.From) && (q.To == "" || month <= q.To)
}

// QualityRows builds the quality report's rows from the counter cells
// the query selects (its SKU and months), in key order. A batch is
// flagged (policy.QualityFlagged) against the cases its received units
// would have at its model's rate over the same cells; a batch of more
// than one model expects the sum over its models.
func QualityRows(by string, cells []policy.QualityEntry) []QualityRow {
	type model struct{ cases, received int64 }
	models := map[string]*model{}
	rows := map[string]*QualityRow{}
	expected := map[string]float64{}
	for _, e := range cells {
		m := models[e.Cell.SKU]
		if m == nil {
			m = &model{}
			models[e.Cell.SKU] = m
		}
		m.cases += e.Counts.Cases
		m.received += e.Counts.Received
	}
	for _, e := range cells {
		var key string
		switch by {
		case ByModel:
			key = e.Cell.SKU
		case ByMonth:
			key = cmp.Or(e.Cell.Month, NoReceipt)
		default:
			key = e.Cell.Batch
		}
		r := rows[key]
		if r == nil {
			r = &QualityRow{Key: key}
			rows[key] = r
		}
		r.QualityCounts.Add(e.Counts, 1)
		if m := models[e.Cell.SKU]; m.received > 0 {
			expected[key] += float64(e.Counts.Received) * float64(m.cases) / float64(m.received)
		}
	}
	out := make([]QualityRow, 0, len(rows))
	for _, k := range slices.Sorted(maps.Keys(rows)) {
		r := rows[k]
		r.Per1000 = policy.Per1000(r.Cases, r.Received)
		r.Flagged = by == ByBatch && policy.QualityFlagged(r.Cases, expected[k])
		out = append(out, *r)
	}
	return out
}

// FindingsOf sums finding cells into the report, most frequent first.
func FindingsOf(cells []policy.FindingEntry) FindingsReport {
	f, p := map[string]int64{}, map[string]int64{}
	for _, e := range cells {
		if e.Cell.Kind == policy.CountPart {
			p[e.Cell.Name] += e.N
		} else {
			f[e.Cell.Name] += e.N
		}
	}
	list := func(m map[string]int64) []FindingCount {
		out := []FindingCount{}
		for k, n := range m {
			if n > 0 {
				out = append(out, FindingCount{k, n})
			}
		}
		slices.SortFunc(out, func(a, b FindingCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Name, b.Name))
		})
		return out
	}
	return FindingsReport{Findings: list(f), Parts: list(p)}
}

// ExpiringArgs checks the expiring report's arguments and returns the
// cursor parsed (zero when none) and the page size. Errors: EInvalid
// naming within, after or limit.
func ExpiringArgs(within int, after string, limit int) (policy.Date, string, int, error) {
	if within < 1 || within > MaxWithin {
		return policy.Date{}, "", 0, policy.Errorf(policy.EInvalid, "within", "within must be between 1 and %d days, not %d", MaxWithin, within)
	}
	n, err := pageLimit(limit)
	if err != nil {
		return policy.Date{}, "", 0, err
	}
	if after == "" {
		return policy.Date{}, "", n, nil
	}
	ds, serial, ok := strings.Cut(after, "/")
	d, err := policy.ParseDate(ds)
	if !ok || err != nil || serial == "" {
		return policy.Date{}, "", 0, policy.Errorf(policy.EInvalid, "after", "after must be the next cursor of a previous page")
	}
	return d, serial, n, nil
}

// ExpiringCursor is the cursor of the page after item.
func ExpiringCursor(it ExpiringItem) string { return it.WarrantyUntil.String() + "/" + it.Serial }

// Counters are the report counters, as a store holds them or as a
// recount gives them.
type Counters struct {
	Quality  map[policy.QualityCell]policy.QualityCounts
	Findings map[policy.FindingCell]int64
	Expiry   map[string]ExpiryEntry // by serial
}

// ExpiryEntry is a serial's entry in the expiring index.
type ExpiryEntry struct {
	SKU, Batch string
	Until      policy.Date
}

// NewCounters returns empty counters.
func NewCounters() Counters {
	return Counters{Quality: map[policy.QualityCell]policy.QualityCounts{}, Findings: map[policy.FindingCell]int64{}, Expiry: map[string]ExpiryEntry{}}
}

// Add adds an item's tally to c.
func (c Counters) Add(it policy.Item, t policy.Tally) {
	for _, e := range t.Quality {
		n := c.Quality[e.Cell]
		n.Add(e.Counts, 1)
		c.Quality[e.Cell] = n
	}
	for _, e := range t.Findings {
		c.Findings[e.Cell] += e.N
	}
	if !t.Expires.IsZero() {
		c.Expiry[it.Serial] = ExpiryEntry{it.SKU, it.Batch, t.Expires}
	}
}

// Compare lists every counter of stored that differs from recount, in a
// stable order.
func Compare(stored, recount Counters) []CounterFix {
	var out []CounterFix
	for _, cell := range slices.SortedFunc(maps.Keys(union(stored.Quality, recount.Quality)), compareQualityCell) {
		if s, r := stored.Quality[cell], recount.Quality[cell]; s != r {
			out = append(out, CounterFix{"quality", cell.SKU + "/" + cell.Batch + "/" + cmp.Or(cell.Month, NoReceipt), fmt.Sprintf("%+v", s), fmt.Sprintf("%+v", r)})
		}
	}
	for _, cell := range slices.SortedFunc(maps.Keys(union(stored.Findings, recount.Findings)), compareFindingCell) {
		if s, r := stored.Findings[cell], recount.Findings[cell]; s != r {
			out = append(out, CounterFix{"findings", string(cell.Kind) + "/" + cell.SKU + "/" + cell.Month + "/" + cell.Name, fmt.Sprint(s), fmt.Sprint(r)})
		}
	}
	for _, serial := range slices.Sorted(maps.Keys(union(stored.Expiry, recount.Expiry))) {
		s, sok := stored.Expiry[serial]
		r, rok := recount.Expiry[serial]
		if s != r || sok != rok {
			out = append(out, CounterFix{"expiry", serial, expiryText(s, sok), expiryText(r, rok)})
		}
	}
	return out
}

func expiryText(e ExpiryEntry, ok bool) string {
	if !ok {
		return "none"
	}
	return e.Until.String()
}

func union[K comparable, V any](a, b map[K]V) map[K]V {
	out := maps.Clone(a)
	if out == nil {
		out = map[K]V{}
	}
	maps.Copy(out, b)
	return out
}

func compareQualityCell(a, b policy.QualityCell) int {
	return cmp.Or(strings.Compare(a.SKU, b.SKU), strings.Compare(a.Batch, b.Batch), strings.Compare(a.Month, b.Month))
}

func compareFindingCell(a, b policy.FindingCell) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), strings.Compare(a.SKU, b.SKU), strings.Compare(a.Month, b.Month), strings.Compare(a.Name, b.Name))
}
