package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer collects log output written from the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// take returns what was logged since the last call.
func (l *lockedBuffer) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	l.b.Reset()
	return s
}

func TestRequestLinesOfSuccessfulReadsAreDebug(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		t.Run(level.String(), func(t *testing.T) {
			var out lockedBuffer
			e := newEnv(t, func(c *Config) {
				c.Logger = slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: level}))
			})
			e.seedModels()
			e.register("B1", "S1")
			for _, tc := range []struct {
				name, method, path, token string
				status                    int
				want                      string // the line's level; "" for none
			}{
				{"a lookup", "GET", "/api/v1/items/S1", e.service, http.StatusOK, "DEBUG"},
				{"a probe", "GET", "/healthz", "", http.StatusOK, "DEBUG"},
				{"an unknown serial", "GET", "/api/v1/items/S9", e.service, http.StatusNotFound, "INFO"},
				{"no key", "GET", "/api/v1/items/S1", "", http.StatusUnauthorized, "INFO"},
				{"a write", "POST", "/api/v1/items/S1/events", e.warehouse, http.StatusCreated, "INFO"},
				{"a refused write", "POST", "/api/v1/items/S1/events", e.warehouse, http.StatusConflict, "INFO"},
			} {
				out.take()
				var body any
				if tc.method == "POST" {
					body = map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O1"}
				}
				res := e.do(req{Method: tc.method, Path: tc.path, Token: tc.token, Body: body})
				if res.Status != tc.status {
					t.Fatalf("%s: status %d, want %d", tc.name, res.Status, tc.status)
				}
				want := tc.want
				if want == "DEBUG" && level > slog.LevelDebug {
					want = ""
				}
				var lines []string
				for _, l := range strings.Split(out.take(), "\n") {
					if strings.Contains(l, "msg=request ") {
						lines = append(lines, l)
					}
				}
				switch {
				case want == "" && len(lines) > 0:
					t.Errorf("%s at %s: logged %q", tc.name, level, lines)
				case want != "" && (len(lines) != 1 || !strings.Contains(lines[0], "level="+want) ||
					!strings.Contains(lines[0], "request_id="+res.Header.Get("X-Request-Id"))):
					t.Errorf("%s at %s: lines %q, want one at %s with the request id", tc.name, level, lines, want)
				}
			}
		})
	}
}
