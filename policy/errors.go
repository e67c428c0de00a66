package policy

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes shared by every layer. The server maps each to one HTTP status
// in one place; nothing below the server knows about HTTP.
const (
	EBadRequest   = "bad_request"   // malformed request (400)
	EInvalid      = "invalid_field" // a value breaks a rule (422)
	EUnauthorized = "unauthorized"  // no or bad credentials (401)
	EForbidden    = "forbidden"     // the role may not do this (403)
	ENotFound     = "not_found"     // no such thing (404)
	EConflict     = "conflict"      // the history forbids it (409)
	ETooLarge     = "too_large"     // body or batch too large (413)
	ERateLimited  = "rate_limited"  // slow down (429)
	EUnavailable  = "unavailable"   // storage full or read-only (503/507)
	EInternal     = "internal"      // a bug or an I/O failure (500)
)

// Error is sanbao's one error type: a code from the list above, the field at
// fault when there is one, and a message meant for the person at the desk.
// Rows carries per-row failures of an all-or-nothing batch.
//
// Message is English, for the API. A refusal a clerk can meet at a page
// also carries Key and Args (see Keyed): a stable name of the sentence and
// its named values, so that a page words it in its own language from its
// catalogue. The API never sends Key or Args.
type Error struct {
	Code    string
	Field   string
	Message string
	Rows    []RowError
	BadRows int // total bad rows; Rows holds at most the first MaxRowErrors
	Key     string
	Args    Args
}

// Args are the named values of a keyed refusal ("on", "serial"). A value
// keeps its type so that a page can show it in its language: a Date, a
// time.Time, a Field, an int, a code of a named string type (EventType,
// Finding, Kind, Role...: shown in words), a nested *Error (a refusal inside
// another), or a plain string (shown as given: serials, SKUs, names).
type Args map[string]any

// Field names a field of a request or a form, shown in words by a page.
type Field string

// Keyed sets e's key and args and returns e, so that a refusal reads
// policy.Errorf(...).Keyed("event.already_dispatched", policy.Args{...}).
// The English message stays Errorf's.
func (e *Error) Keyed(key string, args Args) *Error {
	e.Key, e.Args = key, args
	return e
}

// Row makes e the error of row n (1-based) whose serial is serial, keeping
// its key and args.
func (e *Error) Row(n int, serial string) RowError {
	return RowError{Row: n, Serial: serial, Code: e.Code, Field: e.Field, Message: e.Message, Key: e.Key, Args: e.Args}
}

// RowError is one rejected row of a batch (registration or events). Row is
// 1-based, counting data rows (not the CSV header); Line is the CSV file's
// line where the row starts (the header is line 1), 0 when the batch is not
// a file. Serial is the row's serial as sent, even when it is invalid.
type RowError struct {
	Row     int    `json:"row"`
	Line    int    `json:"line,omitempty"`
	Serial  string `json:"serial"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	// Key and Args word the message in a page's language (see Error);
	// the API never sends them.
	Key  string `json:"-"`
	Args Args   `json:"-"`
}

// MaxRowErrors bounds the rows reported in one error.
const MaxRowErrors = 1000

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with code, field (may be empty) and a formatted message.
func Errorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err's *Error, EInternal for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return "" // before errorCode, whose target escapes: no allocation for the common nil
	}
	return errorCode(err)
}

func errorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// RowsError collects row errors into one EInvalid error (nil when rows is
// empty), keeping the first MaxRowErrors and the total.
func RowsError(rows []RowError) error {
	if len(rows) == 0 {
		return nil
	}
	e := (&Error{Code: EInvalid, Message: fmt.Sprintf("%d row(s) rejected; nothing was written", len(rows)), BadRows: len(rows)}).
		Keyed("rows.rejected", Args{"count": len(rows)})
	e.Rows = rows[:min(len(rows), MaxRowErrors)]
	return e
}

// WithArticle returns word after "a" or "an" as it is spoken ("an adapter",
// "a product"), for messages naming a kind, a role or an event type.
func WithArticle(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}
