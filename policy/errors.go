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
type Error struct {
	Code    string
	Field   string
	Message string
	Rows    []RowError
	BadRows int // total bad rows; Rows holds at most the first MaxRowErrors
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
	e := &Error{Code: EInvalid, Message: fmt.Sprintf("%d row(s) rejected; nothing was written", len(rows)), BadRows: len(rows)}
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
