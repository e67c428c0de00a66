package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"golang.org/x/text/encoding/simplifiedchinese"
)

var utf8BOM = []byte("\xEF\xBB\xBF")

// readBody reads the whole (size-limited) request body. Errors: ETooLarge
// (as *http.MaxBytesError), EBadRequest when the connection fails mid-body.
func readBody(c echo.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, bodyReadError(err)
	}
	return b, nil
}

func bodyReadError(err error) error {
	var (
		pe  *policy.Error
		mbe *http.MaxBytesError
	)
	if errors.As(err, &pe) || errors.As(err, &mbe) {
		return err
	}
	return policy.Errorf(policy.EBadRequest, "", "reading the request body failed: %v", err)
}

// decodeJSON decodes body into v strictly: exactly one JSON value, no
// unknown fields (a misspelt field is an error, not silently lost data).
// Errors: EBadRequest (malformed JSON with its byte offset, unknown field,
// empty body, trailing data), EInvalid (a value of the wrong JSON type,
// naming its field).
func decodeJSON(body []byte, v any) error {
	body = bytes.TrimPrefix(body, utf8BOM)
	if len(bytes.TrimSpace(body)) == 0 {
		return policy.Errorf(policy.EBadRequest, "", "the request body is empty; a JSON object was expected")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, dec.InputOffset())
	}
	if _, err := dec.Token(); err != io.EOF {
		return policy.Errorf(policy.EBadRequest, "", "unexpected data after the JSON value at offset %d", dec.InputOffset())
	}
	return nil
}

func jsonError(err error, offset int64) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		pe  *policy.Error
	)
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.As(err, &syn):
		return policy.Errorf(policy.EBadRequest, "", "malformed JSON at offset %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return policy.Errorf(policy.EBadRequest, "", "the body must be a JSON object, not %s", typ.Value)
		}
		return policy.Errorf(policy.EInvalid, typ.Field, "%s must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return policy.Errorf(policy.EBadRequest, "", "malformed JSON: the body ends at offset %d in the middle of a value", offset)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f, _ = strconv.Unquote(f)
		return policy.Errorf(policy.EBadRequest, f, "unknown field %q", f)
	}
	return policy.Errorf(policy.EBadRequest, "", "malformed JSON at offset %d: %s", offset, strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "ptr":
		return "a value of another type"
	}
	return "a number"
}

// Parameters of paths and queries. Their errors are 400 invalid_field.

// pathParam is a path parameter, percent-decoded when the router left it
// escaped.
func pathParam(c echo.Context, name string) string {
	v := c.Param(name)
	if strings.Contains(v, "%") {
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
	}
	return v
}

// queryParam is c.QueryParam(name): the first value of name in the query,
// as url.ParseQuery reads it (pairs split on &, a pair holding a semicolon
// or a bad escape skipped, key and value unescaped), "" when absent. It
// reads the raw query for the one name instead of building the map of
// them all, which echo's QueryParam does on first use: the public pages
// read one or two names on every view. (url.ParseQuery also refuses a
// query of more parameters than its limit, 10,000 by default; this has
// none, and net/http's limit on a request's header is what bounds it.)
func queryParam(c echo.Context, name string) string {
	for rest := c.Request().URL.RawQuery; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil || k != name {
			continue
		}
		if v, err = url.QueryUnescape(v); err == nil {
			return v
		}
	}
	return ""
}

// identParam is a serial, SKU, batch or order number of the path, trimmed
// and checked with policy.Ident. Errors: EInvalid (400).
func identParam(c echo.Context, name string) (string, error) {
	v, err := policy.Ident(name, pathParam(c, name))
	if err != nil {
		return "", badParam(name, err)
	}
	return v, nil
}

// queryDate is the YYYY-MM-DD query parameter name, or def when absent.
// Errors: EInvalid (400).
func queryDate(c echo.Context, name string, def policy.Date) (policy.Date, error) {
	if c.Request().URL.RawQuery == "" {
		return def, nil // most lookups have no query: nothing to parse
	}
	v := strings.TrimSpace(c.QueryParam(name))
	if v == "" {
		return def, nil
	}
	d, err := policy.ParseDate(v)
	if err != nil {
		return policy.Date{}, paramError{policy.BadDate(name, err)}
	}
	return d, nil
}

// queryBool is a true/false query parameter (also 1/0, yes/no), def when
// absent. Errors: EInvalid (400).
func queryBool(c echo.Context, name string, def bool) (bool, error) {
	v := strings.ToLower(strings.TrimSpace(c.QueryParam(name)))
	switch v {
	case "":
		return def, nil
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, paramErrorf(name, "%s must be true or false, not %q", name, c.QueryParam(name))
}

// queryLimit is a page size between 1 and max, def when absent.
// Errors: EInvalid (400).
func queryLimit(c echo.Context, def, max int) (int, error) {
	v := strings.TrimSpace(c.QueryParam("limit"))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, paramErrorf("limit", "limit must be a whole number from 1 to %d, not %q", max, v)
	}
	return n, nil
}

// queryIdent is an optional identifier query parameter ("" when absent).
// Errors: EInvalid (400).
func queryIdent(c echo.Context, name string) (string, error) {
	v := c.QueryParam(name)
	if strings.TrimSpace(v) == "" {
		return "", nil
	}
	id, err := policy.Ident(name, v)
	if err != nil {
		return "", badParam(name, err)
	}
	return id, nil
}

// queryText is an optional free-text query parameter of at most max
// characters. Errors: EInvalid (400).
func queryText(c echo.Context, name string, max int) (string, error) {
	v, err := policy.Text(name, c.QueryParam(name), max, false)
	if err != nil {
		return "", badParam(name, err)
	}
	return v, nil
}

// Body values. Their errors are 422 invalid_field.

// bodyDate parses an optional YYYY-MM-DD field ("" = zero Date).
func bodyDate(field, s string) (policy.Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return policy.Date{}, nil
	}
	d, err := policy.ParseDate(s)
	if err != nil {
		return policy.Date{}, policy.BadDate(field, err)
	}
	return d, nil
}

// bodyInstant parses an optional RFC 3339 field ("" = zero time), not
// before policy.EarliestDate in loc.
func bodyInstant(field, s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, policy.Errorf(policy.EInvalid, field, "%s must be an RFC 3339 instant such as 2026-11-05T14:30:00+08:00, not %q", field, s).
			Keyed("form.instant", policy.Args{"field": policy.Field(field), "value": s})
	}
	// Checked here too: the zero time given must not pass for an absent one.
	if err := policy.CheckInstant(field, t, loc); err != nil {
		return time.Time{}, err
	}
	return t, nil
}

// Registration bodies.

// registration is the JSON body of POST /api/v1/items.
type registration struct {
	Items *[]registrationRow `json:"items"`
}

type registrationRow struct {
	Serial      string      `json:"serial"`
	SKU         string      `json:"sku"`
	Batch       string      `json:"batch"`
	ProducedOn  string      `json:"produced_on"`
	Accessories []bundleRow `json:"accessories"`
}

type bundleRow struct {
	SKU   string `json:"sku"`
	Batch string `json:"batch"`
}

// csvCharset says whether a registration's Content-Type is CSV (text/csv
// or application/csv) and with which charset parameter. Errors:
// EBadRequest for a malformed Content-Type.
func csvCharset(contentType string) (charset string, csv bool, err error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		return "", false, policy.Errorf(policy.EBadRequest, "Content-Type", "Content-Type %q is malformed", contentType)
	}
	return params["charset"], mt == "text/csv" || mt == "application/csv", nil
}

// decodeRegistration decodes a JSON registration body. Identifiers are
// left for the registry to check, and the rows with a malformed date are
// returned with their errors (bad) for the registry to report with its own,
// so that one answer lists every bad row.
// Errors: EBadRequest (malformed body), EInvalid ("items" missing or
// empty), ETooLarge (more than registry.MaxRegisterRows items).
func decodeRegistration(body []byte) ([]registry.Row, []policy.RowError, error) {
	var reg registration
	if err := decodeJSON(body, &reg); err != nil {
		return nil, nil, err
	}
	if reg.Items == nil || len(*reg.Items) == 0 {
		return nil, nil, policy.Errorf(policy.EInvalid, "items", "items must list at least one item")
	}
	if len(*reg.Items) > registry.MaxRegisterRows {
		return nil, nil, registry.TooManyRows() // before any row is looked at
	}
	rows := make([]registry.Row, len(*reg.Items))
	var bad []policy.RowError
	// The rows naming one SKU or batch share one copy of it, so that the
	// decoder's copy of each row's goes with the decoded body.
	names := map[string]string{}
	intern := func(s string) string {
		if c, ok := names[s]; ok {
			return c
		}
		if len(names) < 1<<16 {
			names[s] = s
		}
		return s
	}
	for i, r := range *reg.Items {
		d, err := bodyDate("produced_on", r.ProducedOn)
		if err != nil {
			bad = append(bad, rowError(i+1, strings.TrimSpace(r.Serial), err))
		}
		rows[i] = registry.Row{Serial: r.Serial, SKU: intern(r.SKU), Batch: intern(r.Batch), ProducedOn: d}
		for _, a := range r.Accessories {
			rows[i].Accessories = append(rows[i].Accessories, registry.Bundle{SKU: intern(a.SKU), Batch: intern(a.Batch)})
		}
	}
	return rows, bad, nil
}

// csvReader transcodes a registration CSV of a Chinese charset (gbk,
// gb2312 or gb18030, as Chinese Excel writes) to UTF-8. Errors:
// EBadRequest for another charset.
func csvReader(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "", "utf-8", "utf8", "us-ascii":
		return r, nil
	case "gbk", "gb2312", "cp936", "x-gbk", "windows-936":
		return simplifiedchinese.GBK.NewDecoder().Reader(r), nil
	case "gb18030":
		return simplifiedchinese.GB18030.NewDecoder().Reader(r), nil
	}
	return nil, policy.Errorf(policy.EBadRequest, "charset", "charset %q is not supported; use utf-8 or gbk", charset).
		Keyed("csv.charset", policy.Args{"charset": charset})
}

// decodeCSV decodes registration CSV with registry.ParseCSV (header names,
// BOM, unknown columns and the accessories column are handled there) after
// transcoding a Chinese charset to UTF-8.
func decodeCSV(charset string, body []byte) ([]registry.Row, error) {
	r, err := csvReader(charset, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	rows, err := registry.ParseCSV(r)
	if err != nil {
		return nil, bodyReadError(err)
	}
	if len(rows) == 0 {
		return nil, policy.Errorf(policy.EInvalid, "items", "the CSV has a header but no rows").Keyed("csv.no_rows", nil)
	}
	return rows, nil
}

// rowError makes a RowError of err for a 1-based row.
func rowError(row int, serial string, err error) policy.RowError {
	re := policy.RowError{Row: row, Serial: serial, Code: policy.ErrorCode(err), Message: err.Error()}
	var pe *policy.Error
	if errors.As(err, &pe) {
		re.Field, re.Message = pe.Field, pe.Message
	}
	return re
}

// decodeAmount accepts an amount as a JSON string or number and returns its
// text ("" when absent); the policy checks it is a decimal.
func decodeAmount(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] != '"' {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", policy.Errorf(policy.EInvalid, "amount", "amount must be a decimal number such as \"120.50\"").
				Keyed("amount.form", policy.Args{"field": policy.Field("amount"), "value": string(raw)})
		}
		return n.String(), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", policy.Errorf(policy.EInvalid, "amount", "amount must be a decimal number such as \"120.50\"").
			Keyed("amount.form", policy.Args{"field": policy.Field("amount"), "value": string(raw)})
	}
	return strings.TrimSpace(s), nil
}

// decodeParts accepts the parts of a repair as an array of names or a single
// name.
func decodeParts(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	if raw[0] == '"' {
		var one string
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, policy.Errorf(policy.EInvalid, "parts", "parts must be an array of part names")
		}
		return []string{one}, nil
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, policy.Errorf(policy.EInvalid, "parts", "parts must be an array of part names")
	}
	return list, nil
}
