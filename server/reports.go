package server

import (
	"bytes"
	"encoding/csv"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// The maker's reports (issue 19): read from counters the registry keeps in
// every write, never by reading every item. Each answers JSON, or CSV
// (UTF-8 with a byte-order mark, so that Excel in Chinese opens it as
// UTF-8) when the Accept header asks for text/csv.

// qualityRowView is a row of the quality report as the contract names it.
type qualityRowView struct {
	Key           string  `json:"key"`
	Units         int64   `json:"units"`
	Received      int64   `json:"received"`
	Cases         int64   `json:"cases"`
	FreeRepairs   int64   `json:"free_repairs"`
	Replacements  int64   `json:"replacements"`
	Returns       int64   `json:"returns"`
	EarlyFailures int64   `json:"early_failures"`
	Per1000       float64 `json:"per_1000"`
	Flagged       bool    `json:"flagged"`
}

// reportQuery reads ?by=&sku=&from=&to=. Errors: EInvalid (400) for a
// malformed SKU; the rest are the store's to check (422).
func reportQuery(c echo.Context) (registry.ReportQuery, error) {
	sku, err := queryIdent(c, "sku")
	if err != nil {
		return registry.ReportQuery{}, err
	}
	return registry.ReportQuery{By: c.QueryParam("by"), SKU: sku, From: c.QueryParam("from"), To: c.QueryParam("to")}, nil
}

// qualityReport answers GET /api/v1/reports/quality?by=batch|model|month
// [&sku=][&from=][&to=]: {"rows": [qualityRowView]} in key order, or CSV.
// Codes: 200; 400 (malformed sku); 401; 403; 404 (unknown SKU); 422 (by;
// from or to not a month or date; from after to).
func (s *Server) qualityReport(c echo.Context) error {
	q, err := reportQuery(c)
	if err != nil {
		return err
	}
	rows, err := s.db.QualityReport(q)
	if err != nil {
		return err
	}
	out := make([]qualityRowView, len(rows))
	for i, r := range rows {
		out[i] = qualityRowOf(r)
	}
	if wantsCSV(c) {
		recs := [][]string{{"key", "units", "received", "cases", "free_repairs", "replacements", "returns", "early_failures", "per_1000", "flagged"}}
		for _, r := range out {
			recs = append(recs, []string{r.Key, itoa(r.Units), itoa(r.Received), itoa(r.Cases), itoa(r.FreeRepairs), itoa(r.Replacements),
				itoa(r.Returns), itoa(r.EarlyFailures), strconv.FormatFloat(r.Per1000, 'f', 2, 64), strconv.FormatBool(r.Flagged)})
		}
		return sendCSV(c, "quality-"+firstNonEmpty(q.By, registry.ByBatch)+".csv", recs)
	}
	return c.JSON(http.StatusOK, struct {
		Rows []qualityRowView `json:"rows"`
	}{out})
}

func qualityRowOf(r registry.QualityRow) qualityRowView {
	return qualityRowView{r.Key, r.Units, r.Received, r.Cases, r.FreeRepairs, r.Replacements, r.Returns, r.EarlyFailures, r.Per1000, r.Flagged}
}

// findingsReport answers GET /api/v1/reports/findings?sku=&from=&to=:
// {"findings": [{"finding", "count"}], "parts": [{"part", "count"}]},
// most frequent first, or CSV (kind,name,count). Codes: 200; 400
// (malformed sku); 401; 403; 404 (unknown SKU); 422 (from, to).
func (s *Server) findingsReport(c echo.Context) error {
	q, err := reportQuery(c)
	if err != nil {
		return err
	}
	if c.QueryParam("by") != "" {
		return paramErrorf("by", "the findings report has no grouping: by is not a parameter of it")
	}
	f, err := s.db.FindingsReport(q)
	if err != nil {
		return err
	}
	if wantsCSV(c) {
		recs := [][]string{{"kind", "name", "count"}}
		for _, x := range f.Findings {
			recs = append(recs, []string{"finding", x.Name, itoa(x.Count)})
		}
		for _, x := range f.Parts {
			recs = append(recs, []string{"part", x.Name, itoa(x.Count)})
		}
		return sendCSV(c, "findings.csv", recs)
	}
	type finding struct {
		Finding string `json:"finding"`
		Count   int64  `json:"count"`
	}
	type part struct {
		Part  string `json:"part"`
		Count int64  `json:"count"`
	}
	out := struct {
		Findings []finding `json:"findings"`
		Parts    []part    `json:"parts"`
	}{[]finding{}, []part{}}
	for _, x := range f.Findings {
		out.Findings = append(out.Findings, finding{x.Name, x.Count})
	}
	for _, x := range f.Parts {
		out.Parts = append(out.Parts, part{x.Name, x.Count})
	}
	return c.JSON(http.StatusOK, out)
}

// expiringReport answers GET /api/v1/reports/expiring?within=30[&sku=]
// [&after=][&limit=]: the serials whose warranty ends today or within
// `within` days (1–3660, default 30), by end date then serial:
// {"items": [{"serial", "sku", "batch", "warranty_until", "days_left"}],
// "next"}, or CSV (the page's cursor in the Next-Cursor header).
// Codes: 200; 400 (malformed sku or limit); 401; 403; 404 (unknown SKU);
// 422 (within, after).
func (s *Server) expiringReport(c echo.Context) error {
	within := 30
	if v := strings.TrimSpace(c.QueryParam("within")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return policy.Errorf(policy.EInvalid, "within", "within must be a whole number of days from 1 to %d, not %q", registry.MaxWithin, v)
		}
		within = n
	}
	sku, err := queryIdent(c, "sku")
	if err != nil {
		return err
	}
	limit, err := queryLimit(c, registry.DefaultLimit, registry.MaxLimit)
	if err != nil {
		return err
	}
	p, err := s.db.Expiring(within, sku, c.QueryParam("after"), limit)
	if err != nil {
		return err
	}
	if wantsCSV(c) {
		recs := [][]string{{"serial", "sku", "batch", "warranty_until", "days_left"}}
		for _, it := range p.Items {
			recs = append(recs, []string{it.Serial, it.SKU, it.Batch, it.WarrantyUntil.String(), strconv.Itoa(it.DaysLeft)})
		}
		if p.Next != "" {
			c.Response().Header().Set("Next-Cursor", p.Next)
		}
		return sendCSV(c, "expiring.csv", recs)
	}
	type item struct {
		Serial        string      `json:"serial"`
		SKU           string      `json:"sku"`
		Batch         string      `json:"batch"`
		WarrantyUntil policy.Date `json:"warranty_until"`
		DaysLeft      int         `json:"days_left"`
	}
	out := struct {
		Items []item     `json:"items"`
		Next  nullString `json:"next"`
	}{Items: []item{}, Next: nullString(p.Next)}
	for _, it := range p.Items {
		out.Items = append(out.Items, item{it.Serial, it.SKU, it.Batch, it.WarrantyUntil, it.DaysLeft})
	}
	return c.JSON(http.StatusOK, out)
}

// wantsCSV reports whether the Accept header names text/csv (with a
// non-zero q).
func wantsCSV(c echo.Context) bool {
	for _, part := range strings.Split(c.Request().Header.Get(echo.HeaderAccept), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && mt == "text/csv" && params["q"] != "0" && !strings.HasPrefix(params["q"], "0.0") {
			return true
		}
	}
	return false
}

// sendCSV answers records as a CSV file named name: UTF-8 with a BOM.
func sendCSV(c echo.Context, name string, records [][]string) error {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	for _, r := range records {
		for i, cell := range r {
			// A part name is free text: one Excel would read as a formula
			// is written as text.
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				r[i] = "'" + cell
			}
		}
	}
	if err := w.WriteAll(records); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	h.Set("Vary", echo.HeaderAccept)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b.Bytes())
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
