package server

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
)

// The item view is the API's most requested answer. It is written by hand
// into a pooled buffer, byte for byte what encoding/json makes of the view
// types (their tags are the reference; itemjson_test.go compares the two on
// every shape of item): reflection, a MarshalJSON per date and instant and
// the re-validation of each made it several times dearer than the lookup.

// MarshalJSON writes v as appendJSON does, so that an item view inside
// another answer costs the same.
func (v itemView) MarshalJSON() ([]byte, error) { return v.appendJSON(nil), nil }

// sendItem answers v with status as c.JSON would (indented with ?pretty).
func sendItem(c echo.Context, status int, v *itemView) error {
	if c.Echo().Debug || c.Request().URL.RawQuery != "" && c.QueryParams().Has("pretty") {
		return c.JSON(status, *v) // a copy, so that v stays off the heap on the usual path
	}
	bp := jsonBuffers.Get().(*[]byte)
	*bp = append(v.appendJSON((*bp)[:0]), '\n') // as json.Encoder ends it
	err := sendJSON(c, status, *bp)
	if cap(*bp) <= maxPooledJSON {
		jsonBuffers.Put(bp)
	}
	return err
}

var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// maxPooledJSON keeps the buffer of a rare huge history out of the pool.
const maxPooledJSON = 64 << 10

func (v *itemView) appendJSON(b []byte) []byte {
	b = append(b, `{"serial":`...)
	b = appendJSONString(b, v.Serial)
	b = append(b, `,"sku":`...)
	b = appendJSONString(b, v.SKU)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, string(v.Kind))
	b = append(b, `,"batch":`...)
	b = appendJSONString(b, v.Batch)
	b = append(b, `,"state":`...)
	b = appendJSONString(b, string(v.State))
	b = append(b, `,"produced_on":`...)
	b = appendJSONDate(b, v.ProducedOn)
	b = append(b, `,"dispatched_on":`...)
	b = appendJSONDate(b, v.DispatchedOn)
	b = append(b, `,"order":`...)
	b = appendJSONNullString(b, v.Order)
	b = append(b, `,"received_on":`...)
	b = appendJSONDate(b, v.ReceivedOn)
	b = append(b, `,"receipt_evidence":`...)
	b = appendJSONNullString(b, v.ReceiptEvidence)
	b = append(b, `,"warranty":`...)
	b = v.Warranty.appendJSON(b)
	b = append(b, `,"parts":`...)
	b = appendJSONList(b, v.Parts, (*partView).appendJSON)
	b = append(b, `,"accessories":`...)
	b = appendJSONList(b, v.Accessories, (*accessoryView).appendJSON)
	b = append(b, `,"replaces":`...)
	b = appendJSONNullString(b, v.Replaces)
	b = append(b, `,"superseded_by":`...)
	b = appendJSONNullString(b, v.SupersededBy)
	b = append(b, `,"scans":{"count":`...)
	b = strconv.AppendUint(b, v.Scans.Count, 10)
	b = append(b, `,"first":`...)
	b = v.Scans.First.appendJSON(b)
	b = append(b, `,"last":`...)
	b = v.Scans.Last.appendJSON(b)
	b = append(b, `},"open_case":`...)
	if v.OpenCase == nil {
		b = append(b, "null"...)
	} else {
		b = v.OpenCase.appendJSON(b)
	}
	b = append(b, `,"history":`...)
	b = appendJSONList(b, v.History, (*eventView).appendJSON)
	return append(b, '}')
}

func (w *warrantyView) appendJSON(b []byte) []byte {
	b = append(b, `{"status":`...)
	b = appendJSONString(b, string(w.Status))
	b = append(b, `,"start":`...)
	b = appendJSONDate(b, w.Start)
	b = append(b, `,"return_until":`...)
	b = appendJSONDate(b, w.ReturnUntil)
	b = append(b, `,"replace_until":`...)
	b = appendJSONDate(b, w.ReplaceUntil)
	b = append(b, `,"warranty_until":`...)
	b = appendJSONDate(b, w.WarrantyUntil)
	b = append(b, `,"days_left":`...)
	b = strconv.AppendInt(b, int64(w.DaysLeft), 10)
	b = append(b, `,"basis":`...)
	b = appendJSONNullString(b, w.Basis)
	b = append(b, `,"free_repairs":`...)
	b = strconv.AppendInt(b, int64(w.FreeRepairs), 10)
	b = append(b, `,"repair_days":`...)
	b = strconv.AppendInt(b, int64(w.RepairDays), 10)
	return append(b, '}')
}

func (p *partView) appendJSON(b []byte) []byte {
	b = append(b, `{"part":`...)
	b = appendJSONString(b, p.Part)
	b = append(b, `,"replaced_on":`...)
	b = appendJSONDate(b, p.ReplacedOn)
	b = append(b, `,"covered_until":`...)
	b = appendJSONDate(b, p.CoveredUntil)
	b = append(b, `,"paid":`...)
	b = strconv.AppendBool(b, p.Paid)
	return append(b, '}')
}

func (a *accessoryView) appendJSON(b []byte) []byte {
	b = append(b, `{"sku":`...)
	b = appendJSONString(b, a.SKU)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, a.Name)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, string(a.Kind))
	b = append(b, `,"batch":`...)
	b = appendJSONString(b, a.Batch)
	b = append(b, `,"warranty_until":`...)
	b = appendJSONDate(b, a.WarrantyUntil)
	b = append(b, `,"replacements":`...)
	b = strconv.AppendInt(b, int64(a.Replacements), 10)
	return append(b, '}')
}

func (k *caseView) appendJSON(b []byte) []byte {
	b = append(b, `{"serial":`...)
	b = appendJSONString(b, k.Serial)
	b = append(b, `,"case":`...)
	b = strconv.AppendUint(b, k.Case, 10)
	b = append(b, `,"center":`...)
	b = appendJSONString(b, k.Center)
	b = append(b, `,"complaint":`...)
	b = appendJSONString(b, k.Complaint)
	b = append(b, `,"contact":`...)
	b = appendJSONString(b, k.Contact)
	b = append(b, `,"opened_at":`...)
	b = k.OpenedAt.appendJSON(b)
	b = append(b, `,"stage":`...)
	b = appendJSONString(b, k.Stage)
	b = append(b, `,"finding":`...)
	b = appendJSONString(b, string(k.Finding))
	b = append(b, `,"part":`...)
	b = appendJSONString(b, k.Part)
	b = append(b, `,"paused":`...)
	b = strconv.AppendBool(b, k.Paused)
	b = append(b, `,"in_warranty":`...)
	b = strconv.AppendBool(b, k.InWarranty)
	b = append(b, `,"due_at":`...)
	b = k.DueAt.appendJSON(b)
	b = append(b, `,"overdue":`...)
	b = strconv.AppendBool(b, k.Overdue)
	return append(b, '}')
}

func (e *eventView) appendJSON(b []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, string(e.Type))
	if e.On != nil {
		b = append(b, `,"on":`...)
		b = appendJSONDate(b, *e.On)
	}
	if e.At != nil {
		b = append(b, `,"at":`...)
		b = e.At.appendJSON(b)
	}
	b = appendJSONOmitEmpty(b, `,"order":`, e.Order)
	b = appendJSONOmitEmpty(b, `,"channel":`, string(e.Channel))
	b = appendJSONOmitEmpty(b, `,"evidence":`, string(e.Evidence))
	b = appendJSONOmitEmpty(b, `,"note":`, e.Note)
	b = appendJSONOmitEmpty(b, `,"center":`, e.Center)
	b = appendJSONOmitEmpty(b, `,"complaint":`, e.Complaint)
	b = appendJSONOmitEmpty(b, `,"contact":`, e.Contact)
	b = appendJSONOmitEmpty(b, `,"finding":`, string(e.Finding))
	b = appendJSONOmitEmpty(b, `,"part":`, e.Part)
	b = appendJSONOmitEmpty(b, `,"amount":`, e.Amount)
	b = appendJSONOmitEmpty(b, `,"currency":`, e.Currency)
	if e.Paid != nil {
		b = append(b, `,"paid":`...)
		b = strconv.AppendBool(b, *e.Paid)
	}
	if len(e.Parts) > 0 {
		b = append(b, `,"parts":`...)
		b = appendJSONStrings(b, e.Parts)
	}
	b = appendJSONOmitEmpty(b, `,"new_serial":`, e.NewSerial)
	b = appendJSONOmitEmpty(b, `,"tracking":`, e.Tracking)
	b = appendJSONOmitEmpty(b, `,"reason":`, e.Reason)
	b = appendJSONOmitEmpty(b, `,"sku":`, e.SKU)
	b = appendJSONOmitEmpty(b, `,"new_batch":`, e.NewBatch)
	if e.Corrects != 0 {
		b = append(b, `,"corrects":`...)
		b = strconv.AppendUint(b, e.Corrects, 10)
	}
	if len(e.Fields) > 0 {
		b = append(b, `,"fields":`...)
		b = appendJSONStrings(b, e.Fields)
	}
	b = append(b, `,"by":`...)
	b = appendJSONString(b, e.By)
	b = appendJSONOmitEmpty(b, `,"key_id":`, e.KeyID)
	b = append(b, `,"recorded_at":`...)
	b = e.RecordedAt.appendJSON(b)
	return append(b, '}')
}

// appendJSON writes st as MarshalJSON does.
func (st stamp) appendJSON(b []byte) []byte {
	if st.t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = st.t.AppendFormat(b, time.RFC3339Nano) // digits, signs, T, Z and colons: nothing to escape
	return append(b, '"')
}

func appendJSONDate(b []byte, d policy.Date) []byte {
	if d.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b, _ = d.AppendText(b)
	return append(b, '"')
}

func appendJSONNullString(b []byte, s nullString) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, string(s))
}

// appendJSONOmitEmpty writes key and s unless s is "" (omitempty).
func appendJSONOmitEmpty(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSONString(append(b, key...), s)
}

func appendJSONStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONList writes a list, null when it is nil (as encoding/json;
// the views make theirs, so they get []).
func appendJSONList[T any](b []byte, list []T, appendOne func(*T, []byte) []byte) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOne(&list[i], b)
	}
	return append(b, ']')
}

// appendJSONString writes s as encoding/json does. Text that needs no
// escape there (printable ASCII but " \ < > &, and valid UTF-8 beyond
// ASCII but U+2028 and U+2029) is copied; anything else is left to
// encoding/json itself, so every escape stays exactly its own.
func appendJSONString(b []byte, s string) []byte {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case jsonPlain[c]: // most text: one table load per byte
		case c >= utf8.RuneSelf:
			ascii = false
		default: // a control character or one of " \ < > &
			return appendJSONEscaped(b, s)
		}
	}
	if !ascii && (!utf8.ValidString(s) || strings.ContainsRune(s, '\u2028') || strings.ContainsRune(s, '\u2029')) {
		return appendJSONEscaped(b, s)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// jsonPlain marks the bytes encoding/json writes as they are: printable
// ASCII but " \ < > &.
var jsonPlain = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

func appendJSONEscaped(b []byte, s string) []byte {
	j, err := json.Marshal(s)
	if err != nil { // a string always marshals
		panic(err)
	}
	return append(b, j...)
}
