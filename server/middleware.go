package server

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// exchange is one request as the handlers see it: echo's context with the
// request's id and, once a key or console session has been checked, who is
// calling. Every route's chain hands it down in place of echo's context; it
// stands in for echo's per-request map (c.Set and c.Get), which cost an
// allocation of some 300 bytes on every lookup, and it is recycled.
type exchange struct {
	echo.Context
	id       string
	key      registry.Key
	session  session
	signedIn bool // session is set
}

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

// exchangeOf is c's exchange; every route runs behind serve, which makes one.
func exchangeOf(c echo.Context) *exchange {
	if x, ok := c.(*exchange); ok {
		return x
	}
	return &exchange{Context: c} // unreachable through Handler: state set on it is dropped
}

// serve is the one middleware of every route, unmatched ones included.
// echo builds a route's middleware chain again on every request, one
// closure per middleware, so request ids, body limits, panics, errors, logs
// and metrics are all here rather than in a middleware each.
//
// It takes the caller's X-Request-ID when it is a sane token (so a request
// can be followed through a proxy) and makes one otherwise; the id goes back
// in the response header and into every log line. It hands errors to the
// error handler itself, so the status it records is the one sent.
func (s *Server) serve(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !visibleASCII(id, 128) {
			id = newRequestID()
		}
		c.Response().Header()[echo.HeaderXRequestID] = []string{id} // the canonical key: no Set canonicalisation per request
		x := exchanges.Get().(*exchange)
		*x = exchange{Context: c, id: id}
		err := s.guard(next, x)
		if err != nil {
			s.handleError(err, x)
		}
		s.observe(x, err, time.Since(start))
		*x = exchange{}
		exchanges.Put(x)
		return nil
	}
}

// newRequestID is 24 random hex digits. An id only ties log lines and an
// answer together, so it comes from math/rand/v2 (the runtime's per-thread
// ChaCha8, seeded by the system) rather than crypto/rand, which cost most
// of a microsecond per request.
func newRequestID() string {
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(raw[8:], rand.Uint64())
	var id [24]byte
	hex.Encode(id[:], raw[:12])
	return string(id[:])
}

// visibleASCII reports whether s is 1 to max visible ASCII characters: safe
// to echo in a header and a log line.
func visibleASCII(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// observe logs one line per request and feeds the request metrics. A read
// that succeeded (a GET below 400) is logged at Debug: reads are most of
// the traffic, and a line per lookup cost as much as the lookup; writes,
// refusals and failures stay at Info and above.
func (s *Server) observe(c *exchange, err error, elapsed time.Duration) {
	req, res := c.Request(), c.Response()
	route := c.Path()
	if _, ok := s.routes[route]; !ok {
		route = "unmatched" // keeps label cardinality bounded
	}
	s.metrics.observe(methodLabel(req.Method), route, res.Status, elapsed)
	level := slog.LevelInfo
	switch {
	case res.Status == http.StatusServiceUnavailable || res.Status == http.StatusInsufficientStorage:
		level = slog.LevelWarn // the storage's state, logged once by whoever changed it
	case res.Status >= 500:
		level = slog.LevelError
	case res.Status < 400 && req.Method == http.MethodGet:
		level = slog.LevelDebug
	}
	if !s.log.Enabled(req.Context(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", c.id),
		slog.String("method", clip(req.Method, maxLoggedMethod)),
		slog.String("path", clip(req.URL.Path, maxLoggedPath)),
		slog.String("route", route),
		slog.Int("status", res.Status),
		slog.Int64("bytes", res.Size),
		slog.Float64("duration_ms", milliseconds(elapsed)),
		slog.String("remote", clip(c.RealIP(), maxLoggedPath)),
	}
	if c.key.ID != "" {
		attrs = append(attrs, slog.String("key_id", c.key.ID))
	}
	if err != nil && res.Status < 500 {
		// A refusal's message may quote what the client sent.
		attrs = append(attrs, slog.String("err", clip(err.Error(), maxLoggedError)))
	}
	s.log.LogAttrs(req.Context(), level, "request", attrs...)
}

// Bounds of the client's input echoed in a request's log line: a request
// line may be as long as the header limit, and an invented method or path
// of megabytes must not become a log line of megabytes.
const (
	maxLoggedMethod = 16
	maxLoggedPath   = 256
	maxLoggedError  = 512
)

// methodLabel is method as a metric label: the methods of RFC 9110 and
// PATCH as they are, every other "other", so that invented methods (any
// token is a valid method) cannot grow the series without bound.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "other"
}

// clip is s cut to at most max bytes (at a rune boundary) with "…" added
// when it was longer.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// milliseconds is d in milliseconds with microsecond precision, the unit
// of every duration in the logs (slog's own renders bare nanoseconds in
// JSON).
func milliseconds(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// guard calls next with the request body capped (by route: bodyLimit), turning a panic into a
// 500 internal error (logged with its stack by the error handler) so that
// no panic escapes to net/http, which would drop the connection without an
// answer. A declared length over the limit is refused before anything is
// read; a body that grows past it fails its read with *http.MaxBytesError,
// which the error handler maps to 413 too_large.
func (s *Server) guard(next echo.HandlerFunc, c echo.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			buf := make([]byte, 8<<10)
			buf = buf[:runtime.Stack(buf, false)]
			err = fmt.Errorf("panic: %v\n%s", r, buf)
		}
	}()
	req := c.Request()
	limit := s.bodyLimit(c)
	if req.ContentLength > limit {
		return policy.Errorf(policy.ETooLarge, "", "the request body (%s bytes) is larger than the limit of %d bytes",
			strconv.FormatInt(req.ContentLength, 10), limit)
	}
	if req.Body != http.NoBody { // no body (most GETs): nothing to cap
		req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
		// Only pages read forms: the API reads JSON whatever the client
		// labels it (curl -d says application/x-www-form-urlencoded).
		if limit < s.cfg.MaxBodyBytes && !strings.HasPrefix(c.Path(), "/api/") {
			if err := parseSmallForm(req, limit); err != nil {
				return err
			}
		}
	}
	return next(c)
}

// requestID is the id of c's request.
func requestID(c echo.Context) string { return exchangeOf(c).id }

// trimSlash serves a path with a trailing slash as the path without it
// (/api/v1/items/ is /api/v1/items), before echo routes it.
func trimSlash(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; len(p) > 1 && p[len(p)-1] == '/' {
			r.URL.Path = p[:len(p)-1]
			r.URL.RawPath = strings.TrimSuffix(r.URL.RawPath, "/")
			r.RequestURI = r.URL.RequestURI()
		}
		h.ServeHTTP(w, r)
	})
}
