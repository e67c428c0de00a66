package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Invented methods (any token is a valid method) must not become metric
// series of their own: 300 of them add at most the one "other" series.
func TestInventedMethodsShareOneMetricLabel(t *testing.T) {
	e := newEnv(t)
	client := e.ts.Client()
	for i := range 300 {
		method := fmt.Sprintf("M%06d%s", i, strings.Repeat("X", 200))
		hr, err := http.NewRequest(method, e.ts.URL+"/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := client.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	res := e.get("/metrics", e.admin)
	if res.Status != http.StatusOK {
		t.Fatalf("GET /metrics: %s", res)
	}
	var series []string
	for _, line := range strings.Split(string(res.Body), "\n") {
		if strings.HasPrefix(line, "sanbao_http_requests_total{") {
			series = append(series, line)
		}
	}
	if len(series) > 5 {
		t.Errorf("%d request series after 300 invented methods, want a handful; first: %q", len(series), series[:5])
	}
	if !strings.Contains(string(res.Body), `method="other"`) {
		t.Errorf("no series with method=\"other\":\n%s", series)
	}
	if len(res.Body) > 256<<10 {
		t.Errorf("/metrics is %d bytes after 300 invented methods", len(res.Body))
	}
}

// A request line of megabytes is not a log line of megabytes.
func TestLogLinesDoNotEchoUnboundedClientInput(t *testing.T) {
	var out lockedBuffer
	e := newEnv(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	method := "M" + strings.Repeat("X", 20000)
	path := "/api/v1/items/" + strings.Repeat("p", 40000)
	hr, err := http.NewRequest(method, e.ts.URL+path, strings.NewReader(`{"a":"`+strings.Repeat("b", 30000)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.ts.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	logged := out.take()
	if !strings.Contains(logged, "msg=request") {
		t.Fatalf("no request line:\n%.2000s", logged)
	}
	for _, line := range strings.Split(logged, "\n") {
		if len(line) > 2000 {
			t.Errorf("a log line of %d bytes for a %d-byte method and %d-byte path: %.300s…", len(line), len(method), len(path), line)
		}
	}
}

// Durations in logs are milliseconds a person can read, not bare
// nanoseconds.
func TestJSONLogsGiveDurationsInMilliseconds(t *testing.T) {
	var out lockedBuffer
	e := newEnv(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	must(t, e.get("/healthz", ""), http.StatusOK)
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.take())), &line); err != nil {
		t.Fatal(err)
	}
	ms, ok := line["duration_ms"].(float64)
	if !ok {
		t.Fatalf("no duration_ms number in %v", line)
	}
	if ms < 0 || ms > 60000 {
		t.Errorf("duration_ms = %v: not milliseconds of a probe", ms)
	}
	if _, ok := line["duration"]; ok {
		t.Errorf("duration in nanoseconds still logged: %v", line)
	}
}

// rawRequest sends head (a request line and headers, without the blank
// line) and then part of a body it declared longer, and returns the status
// line of the answer. The connection is left open, as a client whose body
// never arrives leaves it.
func rawRequest(t *testing.T, addr, head string, sent string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// A guard against a hang only: the server must answer at once, having
	// read at most the head.
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(conn, head+"\r\n\r\n"+sent); err != nil {
		t.Fatal(err)
	}
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer while the declared body is still owed: %v", err)
	}
	return strings.TrimSpace(status)
}

// A form of a megabyte to the sign-in page (or any small form) is refused
// from its declared length, before its body is read; an API body of the
// same size where large ones belong is read.
func TestSmallFormsHaveSmallBodyLimits(t *testing.T) {
	e := newEnv(t)
	addr := strings.TrimPrefix(e.ts.URL, "http://")
	for _, tc := range []struct{ name, method, path, contentType string }{
		{"console sign-in", "POST", "/console/sign-in", "application/x-www-form-urlencoded"},
		{"console model form", "POST", "/console/models", "application/x-www-form-urlencoded"},
		{"console event form", "POST", "/console/items/S1/events", "multipart/form-data; boundary=x"},
		{"one event", "POST", "/api/v1/items/S1/events", "application/json"},
		{"a model", "PUT", "/api/v1/models/M1", "application/json"},
		{"public check", "GET", "/api/v1/public/coverage", "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d", tc.method, tc.path, tc.contentType, 1<<20)
			if got := rawRequest(t, addr, head, "key=a"); !strings.Contains(got, " 413 ") {
				t.Errorf("%s with a declared 1 MiB body: %q, want 413 at once", tc.name, got)
			}
		})
	}
	// Without a declared length the limit cuts the read: 413, not the
	// empty fields a failed form parse leaves.
	body := "key=" + strings.Repeat("a", 200<<10)
	hr, err := http.NewRequest("POST", e.ts.URL+"/console/sign-in", io.MultiReader(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	hr.ContentLength = -1 // chunked
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := e.ts.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked 200 KiB sign-in form: %d, want 413", res.StatusCode)
	}
	// A registration of a megabyte is the large kind: read and answered
	// (422 for its rows, not 413).
	csv := "serial,sku,batch,produced_on\n" + strings.Repeat("S1,NOPE,B1,2026-11-01\n", (1<<20)/22)
	res2 := e.do(req{Method: "POST", Path: "/api/v1/items", Token: e.warehouse, Body: csv, Header: map[string]string{"Content-Type": "text/csv"}})
	if res2.Status == http.StatusRequestEntityTooLarge {
		t.Errorf("a 1 MiB registration was refused as too large: %s", res2)
	}
}

// The API reads JSON whatever the client labels it: curl -d sends
// application/x-www-form-urlencoded, and the body must not be taken for a
// form (and found empty) by the small-form check.
func TestAPIBodiesLabelledAsFormsAreReadAsJSON(t *testing.T) {
	e := newEnv(t)
	for _, ct := range []string{"application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		r := e.do(req{Method: "PUT", Path: "/api/v1/models/M1", Token: e.warehouse, Body: `{"name":"IMASK Pro","kind":"product"}`,
			Header: map[string]string{"Content-Type": ct}})
		if r.Status != http.StatusCreated && r.Status != http.StatusOK {
			t.Errorf("PUT a model as %s: %s", ct, r)
		}
	}
}
