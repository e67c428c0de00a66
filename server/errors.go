package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// statusOf is the one mapping from policy error codes to HTTP statuses.
var statusOf = map[string]int{
	policy.EBadRequest:   http.StatusBadRequest,
	policy.EInvalid:      http.StatusUnprocessableEntity,
	policy.EUnauthorized: http.StatusUnauthorized,
	policy.EForbidden:    http.StatusForbidden,
	policy.ENotFound:     http.StatusNotFound,
	policy.EConflict:     http.StatusConflict,
	policy.ETooLarge:     http.StatusRequestEntityTooLarge,
	policy.ERateLimited:  http.StatusTooManyRequests,
	policy.EUnavailable:  http.StatusServiceUnavailable,
	policy.EInternal:     http.StatusInternalServerError,
}

// storageFull is how every store words EUnavailable when its storage is
// full (api.md); that case answers 507 rather than 503 so operators see at
// once which of the two needs a person.
const storageFull = registry.StorageFull

// paramError marks an invalid_field error about a path or query parameter:
// the contract answers those 400 (the request is malformed), not 422 (a body
// value breaks a rule).
type paramError struct{ err *policy.Error }

func (e paramError) Error() string { return e.err.Error() }
func (e paramError) Unwrap() error { return e.err }

// badParam wraps err (an *policy.Error, typically EInvalid from policy.Ident)
// as a malformed parameter named field.
func badParam(field string, err error) error {
	var pe *policy.Error
	if !errors.As(err, &pe) {
		return err
	}
	cp := *pe
	if cp.Field == "" {
		cp.Field = field
	}
	return paramError{&cp}
}

// paramErrorf is a malformed-parameter error (400 invalid_field) naming field.
func paramErrorf(field, format string, args ...any) error {
	return paramError{policy.Errorf(policy.EInvalid, field, format, args...)}
}

// errorBody is the contract's error shape.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Field   string            `json:"field,omitempty"`
	Rows    []policy.RowError `json:"rows,omitempty"`
	BadRows int               `json:"bad_rows,omitempty"`
	// keyed is the refusal when it names its sentence, for an error page
	// in the console's language; never sent (unexported).
	keyed *policy.Error
}

// Keyed is the refusal behind d when it carries a message key, else nil.
func (d errorDetail) Keyed() *policy.Error { return d.keyed }

// classify turns any error a handler or middleware returns into the status
// and body the client sees. It never exposes an internal error's text.
func classify(err error, requestID string) (int, errorDetail) {
	var (
		pe  *policy.Error
		par paramError
		he  *echo.HTTPError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &par):
		return http.StatusBadRequest, detailOf(par.err)
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, detailOf(policy.Errorf(policy.ETooLarge, "", "the request body is larger than the limit of %d bytes", mbe.Limit).
			Keyed("body.too_large", policy.Args{"limit": int(mbe.Limit)}))
	case errors.As(err, &pe):
		if pe.Code == policy.EInternal {
			break
		}
		status, ok := statusOf[pe.Code]
		if !ok {
			break
		}
		if pe.Code == policy.EUnavailable && strings.Contains(pe.Message, storageFull) {
			status = http.StatusInsufficientStorage
		}
		return status, detailOf(pe)
	case errors.As(err, &he):
		return echoError(he)
	}
	return http.StatusInternalServerError, detailOf(policy.Errorf(policy.EInternal, "", "internal error; quote request id %s to the operator", requestID).
		Keyed("internal", policy.Args{"id": requestID}))
}

func detailOf(pe *policy.Error) errorDetail {
	d := errorDetail{Code: pe.Code, Message: pe.Message, Field: pe.Field, Rows: pe.Rows, BadRows: pe.BadRows}
	if pe.Key != "" {
		d.keyed = pe
	}
	return d
}

// echoError maps the errors echo raises itself (unknown route, wrong method,
// body limit) into the contract's codes.
func echoError(he *echo.HTTPError) (int, errorDetail) {
	msg := http.StatusText(he.Code)
	if m, ok := he.Message.(string); ok && m != "" {
		msg = m
	}
	switch he.Code {
	case http.StatusNotFound:
		return he.Code, detailOf(policy.Errorf(policy.ENotFound, "", "no such route; see /openapi.json").Keyed("route.none", nil))
	case http.StatusMethodNotAllowed:
		// The contract has no code of its own for this; bad_request is the
		// nearest and the status says the rest.
		return he.Code, detailOf(policy.Errorf(policy.EBadRequest, "", "method not allowed on this route; see /openapi.json").Keyed("route.method", nil))
	case http.StatusRequestEntityTooLarge:
		return he.Code, errorDetail{Code: policy.ETooLarge, Message: "the request body is too large"}
	case http.StatusUnauthorized:
		return he.Code, errorDetail{Code: policy.EUnauthorized, Message: msg}
	case http.StatusForbidden:
		return he.Code, errorDetail{Code: policy.EForbidden, Message: msg}
	case http.StatusTooManyRequests:
		return he.Code, errorDetail{Code: policy.ERateLimited, Message: msg}
	case http.StatusServiceUnavailable:
		return he.Code, errorDetail{Code: policy.EUnavailable, Message: msg}
	}
	if he.Code >= 400 && he.Code < 500 {
		return he.Code, errorDetail{Code: policy.EBadRequest, Message: msg}
	}
	return http.StatusInternalServerError, errorDetail{Code: policy.EInternal, Message: "internal error"}
}

// handleError is echo's HTTPErrorHandler: the one place errors become HTTP
// answers. Internal errors are logged with the request id and replaced by a
// message that quotes it.
func (s *Server) handleError(err error, c echo.Context) {
	id := requestID(c)
	status, body := classify(err, id)
	if status >= 500 && status != http.StatusServiceUnavailable && status != http.StatusInsufficientStorage {
		s.log.Error("request failed", "request_id", id, "method", clip(c.Request().Method, maxLoggedMethod),
			"path", clip(c.Request().URL.Path, maxLoggedPath), "err", err)
	}
	if c.Response().Committed {
		// The status is on the wire already (a streamed backup failing half
		// way); all that is left is the log line above.
		if status < 500 {
			s.log.Warn("error after response started", "request_id", id, "err", err)
		}
		return
	}
	h := c.Response().Header()
	switch status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="sanbao"`)
	case http.StatusServiceUnavailable, http.StatusInsufficientStorage:
		h.Set("Retry-After", "60")
	}
	switch {
	case c.Request().Method == http.MethodHead:
		err = c.NoContent(status)
	case isConsole(c.Request().URL.Path):
		err = s.consoleError(c, status, body) // a page in the console's layout
	default:
		err = c.JSON(status, errorBody{Error: body})
	}
	if err != nil {
		s.log.Warn("writing error response", "request_id", id, "err", err)
	}
}
