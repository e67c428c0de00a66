package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"
)

// MaxPolicyFile bounds a policy file; a real one is well under a kilobyte.
const MaxPolicyFile = 1 << 20

// Load reads a JSON policy file. Fields left out keep their Default values;
// an unknown field or a bad value is an *Error EInvalid naming the field
// (e.g. "return_days", "contact.phone", "rest_days[2].to"). Malformed JSON is
// EInvalid without a field, its message giving the line and column.
func Load(r io.Reader) (*Policy, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxPolicyFile+1))
	if err != nil {
		return nil, Errorf(EInvalid, "", "policy file cannot be read: %v", err)
	}
	if len(data) > MaxPolicyFile {
		return nil, Errorf(EInvalid, "", "policy file is larger than %d bytes", MaxPolicyFile)
	}
	var generic any
	if err := decodeOne(data, &generic, true); err != nil {
		return nil, err
	}
	if generic == nil {
		return nil, Errorf(EInvalid, "", "policy file must hold a JSON object, not null")
	}
	if err := unknownFields(reflect.TypeFor[Policy](), generic, ""); err != nil {
		return nil, err
	}
	p := Default()
	if err := decodeOne(data, p, false); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return p, nil
}

// LoadFile reads the JSON policy file at path (see Load). A file that cannot
// be opened is an *Error EInvalid naming the path.
func LoadFile(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Errorf(EInvalid, "", "policy file %s cannot be opened: %v", path, err)
	}
	defer f.Close()
	p, err := Load(f)
	var e *Error
	if errors.As(err, &e) {
		e.Message = path + ": " + e.Message
	}
	return p, err
}

// decodeOne decodes exactly one JSON value from data into v, translating the
// decoder's errors into *Error.
func decodeOne(data []byte, v any, useNumber bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if useNumber {
		dec.UseNumber()
	}
	if err := dec.Decode(v); err != nil {
		return jsonError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(EInvalid, "", "policy file holds more than one JSON value (at byte %d)", dec.InputOffset()+1)
	}
	return nil
}

func jsonError(data []byte, err error) error {
	var (
		pe  *Error
		se  *json.SyntaxError
		ute *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		return Errorf(EInvalid, "", "policy file is not valid JSON: %v (line %d, column %d)", se, line, col)
	case errors.As(err, &ute):
		field := ute.Field
		if field == "" {
			return Errorf(EInvalid, "", "policy file must hold a JSON object, not %s", WithArticle(ute.Value))
		}
		return Errorf(EInvalid, field, "%s must be %s, not a JSON %s", field, typeWords(ute.Type), ute.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(EInvalid, "", "policy file is empty or ends too early")
	default:
		return Errorf(EInvalid, "", "policy file is not valid: %v", err)
	}
}

func lineCol(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, max(col, 1)
}

func typeWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice:
		return "a list"
	default:
		return "a " + t.String()
	}
}

// unknownFields walks a generically decoded JSON value along the Go type it
// will be decoded into and reports the first object key that names no field,
// with its full path (the standard decoder names only the last key).
func unknownFields(t reflect.Type, v any, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			switch t.Kind() {
			case reflect.Map:
				if err := unknownFields(t.Elem(), v[k], sub); err != nil {
					return err
				}
			case reflect.Struct:
				f, ok := jsonField(t, k)
				if !ok {
					return Errorf(EInvalid, sub, "%s is not a policy setting", sub)
				}
				if err := unknownFields(f.Type, v[k], sub); err != nil {
					return err
				}
			}
		}
	case []any:
		if t.Kind() == reflect.Slice {
			for i, e := range v {
				if err := unknownFields(t.Elem(), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	if t == reflect.TypeFor[Date]() {
		return reflect.StructField{}, false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// UnmarshalJSON reads {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD", "name": "..."},
// naming the bad field in an *Error.
func (r *DateRange) UnmarshalJSON(b []byte) error {
	var raw struct {
		From *string `json:"from"`
		To   *string `json:"to"`
		Name string  `json:"name"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Errorf(EInvalid, "rest_days", "each rest-day period must be an object {\"from\": \"YYYY-MM-DD\", \"to\": \"YYYY-MM-DD\"}")
	}
	var err error
	if r.From, err = requiredDate("rest_days.from", raw.From); err != nil {
		return err
	}
	if r.To, err = requiredDate("rest_days.to", raw.To); err != nil {
		return err
	}
	r.Name = raw.Name
	return nil
}

func requiredDate(field string, s *string) (Date, error) {
	if s == nil || *s == "" {
		return Date{}, Errorf(EInvalid, field, "%s is required", field)
	}
	d, err := ParseDate(*s)
	if err != nil {
		return Date{}, Errorf(EInvalid, field, "%s: %v", field, err)
	}
	return d, nil
}

// Bounds of the numbers a policy file may set.
const (
	maxWarrantyMonths = 120
	maxWindowDays     = 365
	maxCount          = 20
	maxCoverageDays   = 3650
	maxServiceHours   = 24 * 30
	maxContactLen     = 200
	maxRestDayName    = 100
)

// check validates a decoded policy, sorts its rest days and loads its zone.
func (p *Policy) check() error {
	if p.TimeZone == "" || p.TimeZone == "Local" {
		return Errorf(EInvalid, "time_zone", "time_zone must name an IANA zone such as Asia/Shanghai")
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return Errorf(EInvalid, "time_zone", "time_zone %q is not a known IANA zone", p.TimeZone)
	}
	p.loc = loc
	for k := range p.WarrantyMonths {
		if !k.Valid() {
			return Errorf(EInvalid, "warranty_months."+string(k), "warranty_months: %q is not a kind; kinds are product, accessory and adapter", string(k))
		}
	}
	for _, k := range []Kind{KindProduct, KindAccessory, KindAdapter} {
		n, ok := p.WarrantyMonths[k]
		if !ok {
			return Errorf(EInvalid, "warranty_months."+string(k), "warranty_months.%s is required", k)
		}
		if err := between("warranty_months."+string(k), n, 1, maxWarrantyMonths); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		field    string
		n        int
		low, top int
	}{
		{"return_days", p.ReturnDays, 1, maxWindowDays},
		{"replace_days", p.ReplaceDays, 1, maxWindowDays},
		{"repairs_before_replacement", p.RepairsBeforeReplacement, 1, maxCount},
		{"replacements_before_refund", p.ReplacementsBeforeRefund, 1, maxCount},
		{"part_coverage_days", p.PartCoverageDays, 1, maxCoverageDays},
		{"estimated_start_days", p.EstimatedStartDays, 0, maxCoverageDays},
		{"confirm_within_days", p.ConfirmWithinDays, 1, maxWindowDays},
		{"service_hours", p.ServiceHours, 1, maxServiceHours},
	} {
		if err := between(c.field, c.n, c.low, c.top); err != nil {
			return err
		}
	}
	if p.ReplaceDays < p.ReturnDays {
		return Errorf(EInvalid, "replace_days", "replace_days (%d) may not be shorter than return_days (%d)", p.ReplaceDays, p.ReturnDays)
	}
	for i, r := range p.RestDays {
		field := fmt.Sprintf("rest_days[%d]", i)
		if r.From.IsZero() || r.To.IsZero() {
			return Errorf(EInvalid, field, "%s needs both from and to", field)
		}
		if r.From.After(r.To) {
			return Errorf(EInvalid, field+".from", "%s runs from %s to %s: from is after to", field, r.From, r.To)
		}
		if _, err := Text(field+".name", r.Name, maxRestDayName, false); err != nil {
			return err
		}
	}
	if len(p.RestDays) == 0 {
		p.RestDays = nil // "rest_days": [] is the default
	}
	slices.SortStableFunc(p.RestDays, func(a, b DateRange) int { return a.From.Compare(b.From) })
	for _, f := range []struct {
		field string
		s     *string
	}{
		{"contact.company", &p.Contact.Company},
		{"contact.mailbox", &p.Contact.Mailbox},
		{"contact.phone", &p.Contact.Phone},
		{"contact.web", &p.Contact.Web},
		{"contact.hours", &p.Contact.Hours},
	} {
		// Single lines: the contact is printed on every label and page.
		v, err := Line(f.field, *f.s, maxContactLen, false)
		if err != nil {
			return err
		}
		*f.s = v
	}
	if p.Contact.Mailbox == "" && p.Contact.Phone == "" && p.Contact.Web == "" {
		return Errorf(EInvalid, "contact", "contact needs at least one of mailbox, phone or web: customers must be able to reach service")
	}
	return nil
}

func between(field string, n, low, top int) error {
	if n < low || n > top {
		return Errorf(EInvalid, field, "%s must be between %d and %d, not %d", field, low, top, n)
	}
	return nil
}
