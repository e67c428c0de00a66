package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
)

func TestClassifyMapsEveryCode(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{policy.Errorf(policy.EBadRequest, "", "x"), 400, policy.EBadRequest},
		{policy.Errorf(policy.EInvalid, "f", "x"), 422, policy.EInvalid},
		{paramErrorf("on", "x"), 400, policy.EInvalid},
		{policy.Errorf(policy.EUnauthorized, "", "x"), 401, policy.EUnauthorized},
		{policy.Errorf(policy.EForbidden, "", "x"), 403, policy.EForbidden},
		{policy.Errorf(policy.ENotFound, "", "x"), 404, policy.ENotFound},
		{policy.Errorf(policy.EConflict, "", "x"), 409, policy.EConflict},
		{policy.Errorf(policy.ETooLarge, "", "x"), 413, policy.ETooLarge},
		{&http.MaxBytesError{Limit: 10}, 413, policy.ETooLarge},
		{policy.Errorf(policy.ERateLimited, "", "x"), 429, policy.ERateLimited},
		{policy.Errorf(policy.EUnavailable, "", "database is read-only"), 503, policy.EUnavailable},
		{policy.Errorf(policy.EUnavailable, "", "storage is full: nothing was written"), 507, policy.EUnavailable},
		{policy.Errorf(policy.EInternal, "", "secret detail"), 500, policy.EInternal},
		{errors.New("disk on fire"), 500, policy.EInternal},
		{fmt.Errorf("wrapped: %w", policy.Errorf(policy.ENotFound, "", "x")), 404, policy.ENotFound},
		{echo.ErrNotFound, 404, policy.ENotFound},
		{echo.ErrMethodNotAllowed, 405, policy.EBadRequest},
		{echo.ErrStatusRequestEntityTooLarge, 413, policy.ETooLarge},
		{echo.ErrUnsupportedMediaType, 415, policy.EBadRequest},
	} {
		status, d := classify(tc.err, "rid")
		if status != tc.status || d.Code != tc.code {
			t.Errorf("%v: %d %s, want %d %s", tc.err, status, d.Code, tc.status, tc.code)
		}
		if tc.code == policy.EInternal && (strings.Contains(d.Message, "fire") || strings.Contains(d.Message, "secret") || !strings.Contains(d.Message, "rid")) {
			t.Errorf("internal message %q must hide the cause and quote the request id", d.Message)
		}
	}
}

// TestErrorCodesOverHTTP reaches each status of the contract through the
// real server.
func TestErrorCodesOverHTTP(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 1 << 20 })
	e.seedModels()
	e.register("B1", "S1")
	must(t, e.event("S1", e.warehouse, map[string]any{"type": "received", "on": "2026-11-05", "evidence": "courier"}), 201)

	for _, tc := range []struct {
		name        string
		r           req
		status      int
		code, field string
	}{
		{"malformed JSON", req{Method: "POST", Path: "/api/v1/items/S1/events", Token: e.service, Body: `{"type": "shipped",`}, 400, policy.EBadRequest, ""},
		{"unknown field", req{Method: "POST", Path: "/api/v1/items/S1/events", Token: e.service, Body: `{"type": "shipped", "trackin": "SF1"}`}, 400, policy.EBadRequest, "trackin"},
		{"serial with a space in the path", req{Method: "GET", Path: "/api/v1/items/S%201", Token: e.service}, 400, policy.EInvalid, "serial"},
		{"malformed on", req{Method: "GET", Path: "/api/v1/items/S1?on=2026-02-30", Token: e.service}, 400, policy.EInvalid, "on"},
		{"bad Idempotency-Key", req{Method: "POST", Path: "/api/v1/items/S1/events", Token: e.service, Body: `{"type": "transferred", "on": "2026-11-06"}`, Header: map[string]string{"Idempotency-Key": "a b"}}, 400, policy.EInvalid, "Idempotency-Key"},
		{"open a case (at defaults to now)", req{Method: "POST", Path: "/api/v1/items/S1/events", Token: e.service, Body: `{"type": "intake", "center": "SH"}`}, 201, "", ""},
		{"bad value", req{Method: "POST", Path: "/api/v1/items/S1/events", Token: e.service, Body: `{"type": "diagnosed", "finding": "gremlins"}`}, 422, policy.EInvalid, "finding"},
		{"wrong JSON type", req{Method: "PUT", Path: "/api/v1/models/M9", Token: e.admin, Body: `{"name": "X", "kind": "product", "warranty_months": "twelve"}`}, 422, policy.EInvalid, "warranty_months"},
		{"no key", req{Method: "GET", Path: "/api/v1/items/S1"}, 401, policy.EUnauthorized, ""},
		{"wrong role", req{Method: "GET", Path: "/api/v1/audit", Token: e.service}, 403, policy.EForbidden, ""},
		{"unknown serial", req{Method: "GET", Path: "/api/v1/items/NOPE", Token: e.service}, 404, policy.ENotFound, ""},
		{"unknown route", req{Method: "GET", Path: "/api/v1/nothing", Token: e.service}, 404, policy.ENotFound, ""},
		{"wrong method", req{Method: "PATCH", Path: "/api/v1/items/S1", Token: e.service}, 405, policy.EBadRequest, ""},
		{"second receipt", req{Method: "POST", Path: "/api/v1/items/S1/events", Token: e.service, Body: `{"type": "received", "on": "2026-11-06", "evidence": "invoice"}`}, 409, policy.EConflict, ""},
		{"body over the limit", req{Method: "POST", Path: "/api/v1/items", Token: e.warehouse, Body: strings.Repeat(" ", 2<<20)}, 413, policy.ETooLarge, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(tc.r)
			if tc.code == "" {
				must(t, res, tc.status)
				return
			}
			wantError(t, res, tc.status, tc.code, tc.field)
		})
	}
}

// TestChunkedBodyOverTheLimit sends no Content-Length, so the limit is met
// while reading.
func TestChunkedBodyOverTheLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 1000 })
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(`{"items": [` + strings.Repeat(`{"serial": "S1", "sku": "M1", "batch": "B1"},`, 100)))
		pw.Close()
	}()
	hr, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/items", pr)
	hr.Header.Set("Authorization", "Bearer "+e.warehouse)
	res, err := e.ts.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", res.StatusCode)
	}
}

func TestReadOnlyDatabaseAnswers503AndStillServesReads(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	e.ts.Close()
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	e.db = mustOpen(t, e.path, bolt.Options{Options: registry.Options{Now: e.clock.Now}, ReadOnly: true})
	e.start()

	must(t, e.get("/api/v1/items/S1", e.service), 200)
	wantError(t, e.event("S1", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02"}), 503, policy.EUnavailable, "")
	wantError(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []map[string]any{{"serial": "S2", "sku": "M1", "batch": "B1"}}}), 503, policy.EUnavailable, "")
	res := e.get("/readyz", "")
	wantError(t, res, 503, policy.EUnavailable, "")
	if res.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	must(t, e.get("/healthz", ""), 200)
}

// TestFullDiskAnswers507 fills a small tmpfs under the database. It needs
// root and mount(8); elsewhere it is skipped.
func TestFullDiskAnswers507(t *testing.T) {
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })

	e := &env{t: t, path: filepath.Join(dir, "sanbao.db"), clock: &clock{t: testNow}}
	db, err := bolt.Open(e.path, bolt.Options{Options: registry.Options{Now: e.clock.Now}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	e.admin = mustKey(t, db, "root", registry.RoleAdmin)
	e.warehouse = e.admin
	e.cfg = Config{DB: db, Now: e.clock.Now, Logger: testLogger(t)}
	e.start()
	e.seedModels()

	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()

	items := make([]map[string]any, 5000)
	for i := range items {
		items[i] = map[string]any{"serial": fmt.Sprintf("FULL%06d", i), "sku": "M1", "batch": "B1"}
	}
	res := e.post("/api/v1/items", e.admin, map[string]any{"items": items})
	wantError(t, res, http.StatusInsufficientStorage, policy.EUnavailable, "")
	wantError(t, e.get("/readyz", ""), 503, policy.EUnavailable, "")
	must(t, e.get("/api/v1/models/M1", e.admin), 200) // reads still served

	os.Remove(filler)
	must(t, e.get("/readyz", ""), 200)
	must(t, e.post("/api/v1/items", e.admin, map[string]any{"items": items[:10]}), 201)
}

func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	e := newEnv(t)
	e.srv.echo.GET("/test/panic", func(c echo.Context) error { panic("secret panic detail") })
	res := e.get("/test/panic", "")
	er := wantError(t, res, 500, policy.EInternal, "")
	msg := er["message"].(string)
	if strings.Contains(msg, "secret") || !strings.Contains(msg, res.Header.Get("X-Request-ID")) {
		t.Fatalf("internal message %q must hide the panic and quote the request id", msg)
	}
	// The server still serves after a panic.
	must(t, e.get("/healthz", ""), 200)

	// A closed database is an I/O failure: 500, not a crash.
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	res = e.get("/api/v1/items/S1", e.service)
	wantError(t, res, 500, policy.EInternal, "")
}

func TestRequestIDIsKeptOrMade(t *testing.T) {
	e := newEnv(t)
	res := e.do(req{Method: "GET", Path: "/healthz", Header: map[string]string{"X-Request-ID": "trace-42"}})
	if got := res.Header.Get("X-Request-ID"); got != "trace-42" {
		t.Fatalf("X-Request-ID %q, want the caller's", got)
	}
	res = e.do(req{Method: "GET", Path: "/healthz", Header: map[string]string{"X-Request-ID": "bad id\twith spaces"}})
	if got := res.Header.Get("X-Request-ID"); got == "" || strings.ContainsAny(got, " \t") {
		t.Fatalf("X-Request-ID %q, want a fresh one", got)
	}
	a, b := e.get("/healthz", ""), e.get("/healthz", "")
	if a.Header.Get("X-Request-ID") == b.Header.Get("X-Request-ID") {
		t.Fatal("two requests got the same id")
	}
}
