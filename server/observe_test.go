package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// TestTrailingSlashIsTheSamePath: a path ending in a slash is served as the
// path without it, query kept, with the request id and log line of any
// other request.
func TestTrailingSlashIsTheSamePath(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	for _, tc := range []struct {
		name, path string
		status     int
		want       string // in the body
	}{
		{"an item", "/api/v1/items/S1/", http.StatusOK, `"serial":"S1"`},
		{"with its query", "/api/v1/items/S1/?on=2026-11-03", http.StatusOK, `"days_left":`},
		{"a bad query still named", "/api/v1/items/S1/?on=tomorrow", http.StatusBadRequest, `"field":"on"`},
		{"an escaped serial", "/api/v1/items/S%31/", http.StatusOK, `"serial":"S1"`},
		{"a list", "/api/v1/models/", http.StatusOK, `"sku":"M1"`},
		{"the root is not trimmed", "/", http.StatusOK, `"openapi":"/openapi.json"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			r.Header.Set("Authorization", "Bearer "+e.admin)
			w := httptest.NewRecorder()
			e.srv.Handler().ServeHTTP(w, r)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
				t.Fatalf("GET %s: %d %s, want %d with %s", tc.path, w.Code, w.Body, tc.status, tc.want)
			}
			if w.Header().Get("X-Request-Id") == "" {
				t.Errorf("GET %s: no X-Request-Id", tc.path)
			}
		})
	}
}
