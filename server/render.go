package server

import (
	"encoding/json"
	"time"

	"github.com/labstack/echo/v4"
)

// stamp is an instant rendered RFC 3339 in the policy time zone, or null
// when unknown.
type stamp struct{ t time.Time }

// stamp converts t to the policy's zone for display.
func (s *Server) stamp(t time.Time) stamp {
	if t.IsZero() {
		return stamp{}
	}
	return stamp{t.In(s.policy.Location())}
}

func (st stamp) MarshalJSON() ([]byte, error) {
	if st.t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(st.t.Format(time.RFC3339Nano))
}

// nullString is a string that JSON answers write as null when it is empty:
// the contract's nullable strings. A value rather than a *string, which
// cost an allocation per field on every item lookup.
type nullString string

// MarshalJSON writes null for "" and the string as encoding/json does.
func (s nullString) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(s))
}

// jsonBytes renders v as the API sends it (one trailing newline, like
// echo's c.JSON), for answers that are stored for idempotent replays.
func jsonBytes(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// sendJSON writes pre-rendered JSON with status, as c.Blob would but
// without its header canonicalisations and allocation: net/http copies the
// header map when it writes the header.
func sendJSON(c echo.Context, status int, b []byte) error {
	res := c.Response()
	res.Header()[echo.HeaderContentType] = jsonContentType
	res.WriteHeader(status)
	_, err := res.Write(b)
	return err
}

// jsonContentType is the Content-Type value of a JSON answer, shared by
// every one: its length equals its capacity, so an Add copies it.
var jsonContentType = []string{echo.MIMEApplicationJSON}
