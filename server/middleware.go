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
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
)

const requestIDContext = "sanbao.request_id"

// requestIDs takes the caller's X-Request-ID when it is a sane token (so a
// request can be followed through a proxy) and makes one otherwise; the id
// goes back in the response header and into every log line.
func requestIDs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !visibleASCII(id, 128) {
			id = newRequestID()
		}
		c.Set(requestIDContext, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
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

func requestID(c echo.Context) string {
	id, _ := c.Get(requestIDContext).(string)
	return id
}

// observe logs one line per request and feeds the request metrics. It hands
// errors to the error handler itself so the status it records is the one
// sent. A read that succeeded (a GET below 400) is logged at Debug:
// reads are most of the traffic, and a line per lookup cost as much as the
// lookup; writes, refusals and failures stay at Info and above.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		req, res := c.Request(), c.Response()
		route := c.Path()
		if _, ok := s.routes[route]; !ok {
			route = "unmatched" // keeps label cardinality bounded
		}
		elapsed := time.Since(start)
		s.metrics.observe(req.Method, route, res.Status, elapsed)
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
			return nil
		}
		attrs := []slog.Attr{
			slog.String("request_id", requestID(c)),
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.String("route", route),
			slog.Int("status", res.Status),
			slog.Int64("bytes", res.Size),
			slog.Duration("duration", elapsed),
			slog.String("remote", c.RealIP()),
		}
		if k := keyOf(c); k.ID != "" {
			attrs = append(attrs, slog.String("key_id", k.ID))
		}
		if err != nil && res.Status < 500 {
			attrs = append(attrs, slog.String("err", err.Error()))
		}
		s.log.LogAttrs(req.Context(), level, "request", attrs...)
		return nil
	}
}

// recoverPanics turns a panic into a 500 internal error (logged with its
// stack by the error handler) so no panic escapes to net/http, which would
// drop the connection without an answer.
func recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
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
		return next(c)
	}
}

// limitBody caps every request body: a declared length over the limit is
// refused before anything is read; a body that grows past it fails its read
// with *http.MaxBytesError, which the error handler maps to 413 too_large.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.ContentLength > s.cfg.MaxBodyBytes {
			return policy.Errorf(policy.ETooLarge, "", "the request body (%s bytes) is larger than the limit of %d bytes",
				strconv.FormatInt(req.ContentLength, 10), s.cfg.MaxBodyBytes)
		}
		if req.Body != http.NoBody { // no body (most GETs): nothing to cap
			req.Body = http.MaxBytesReader(c.Response(), req.Body, s.cfg.MaxBodyBytes)
		}
		return next(c)
	}
}
