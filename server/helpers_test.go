package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
	berrors "go.etcd.io/bbolt/errors"
)

// clock is a settable test clock shared by the registry and the server.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var cst = policy.Default().Location()

// testNow is 10:00 on 2026-11-10 in China Standard Time.
var testNow = time.Date(2026, 11, 10, 10, 0, 0, 0, cst)

// env is a server on a real registry file in t.TempDir(), listening on
// 127.0.0.1, with one key of each role.
type env struct {
	t                         testing.TB
	path                      string
	clock                     *clock
	db                        *bolt.DB
	srv                       *Server
	ts                        *httptest.Server
	admin, warehouse, service string // tokens
	cfg                       Config
	logins                    map[string]url.Values // console sign-in forms by token (console_test.go)
}

// newEnv starts a server; mod may adjust its Config.
func newEnv(t testing.TB, mod ...func(*Config)) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "sanbao.db"), clock: &clock{t: testNow}}
	e.db = mustOpen(t, e.path, bolt.Options{Options: registry.Options{Now: e.clock.Now}})
	e.admin = mustKey(t, e.db, "root", registry.RoleAdmin)
	e.warehouse = mustKey(t, e.db, "dock-1", registry.RoleWarehouse)
	e.service = mustKey(t, e.db, "desk-sh", registry.RoleService)
	e.cfg = Config{DB: e.db, Now: e.clock.Now, Logger: testLogger(t)}
	for _, m := range mod {
		m(&e.cfg)
	}
	e.start()
	return e
}

// start (re)creates the server and its listener over e.db.
func (e *env) start() {
	e.t.Helper()
	e.cfg.DB = e.db
	srv, err := New(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv = srv
	e.ts = httptest.NewServer(srv.Handler())
	ts := e.ts
	e.t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			e.t.Error(err)
		}
	})
}

// restart closes the server and the registry, reopens the file and starts a
// new server: what a process restart does.
func (e *env) restart() {
	e.t.Helper()
	e.ts.Close()
	if err := e.srv.Close(); err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.Check(); err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.db = mustOpen(e.t, e.path, bolt.Options{Options: registry.Options{Now: e.clock.Now}})
	e.start()
}

// mustOpen opens a registry file and checks its consistency at cleanup.
func mustOpen(t testing.TB, path string, o bolt.Options) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A test that restarted has closed this handle already.
		if err := db.Check(); err != nil && !errors.Is(err, berrors.ErrDatabaseNotOpen) {
			t.Errorf("consistency check: %v", err)
		}
		db.Close()
	})
	return db
}

func mustKey(t testing.TB, db *bolt.DB, name string, role registry.Role) string {
	t.Helper()
	_, token, err := db.CreateKey(registry.Actor{Name: "test"}, name, role)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// testLogger sends the server's log to t.Log, so a failing test shows it.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// response is an answer as the tests see it.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value.
func (r response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// ErrorCode is the code of an error answer ("" for another shape).
func (r response) ErrorCode() string {
	var b struct {
		Error struct{ Code string } `json:"error"`
	}
	json.Unmarshal(r.Body, &b)
	return b.Error.Code
}

func (r response) String() string {
	body := string(r.Body)
	if len(body) > 2000 {
		body = body[:2000] + "..."
	}
	return http.StatusText(r.Status) + " " + body
}

// req is one request; body may be a string, []byte or a value to encode as JSON.
type req struct {
	Method, Path, Token string
	Body                any
	Header              map[string]string
}

// do sends r to the server and validates the answer against openapi.json.
func (e *env) do(r req) response {
	e.t.Helper()
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	hr, err := http.NewRequest(r.Method, e.ts.URL+r.Path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if r.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.Header {
		hr.Header.Set(k, v)
	}
	res, err := e.ts.Client().Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := response{Status: res.StatusCode, Header: res.Header, Body: b}
	checkShape(e.t, hr, out)
	return out
}

func (e *env) get(path, token string) response {
	e.t.Helper()
	return e.do(req{Method: "GET", Path: path, Token: token})
}

func (e *env) post(path, token string, body any) response {
	e.t.Helper()
	return e.do(req{Method: "POST", Path: path, Token: token, Body: body})
}

// must fails the test unless r has status want.
func must(t testing.TB, r response, want int) response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r)
	}
	return r
}

// wantError fails unless r is an error answer with status and code (and
// field, when not "").
func wantError(t testing.TB, r response, status int, code, field string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r)
	}
	m := r.JSON(t)
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object: %s", r.Body)
	}
	if e["code"] != code {
		t.Fatalf("code %v, want %s: %s", e["code"], code, r.Body)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Fatalf("error without a message: %s", r.Body)
	}
	if field != "" && e["field"] != field {
		t.Fatalf("field %v, want %s: %s", e["field"], field, r.Body)
	}
	return e
}

// The OpenAPI document, loaded once; every answer the tests get is checked
// against it (checkShape), so it cannot drift from the code.
var (
	docOnce   sync.Once
	docSpec   *openapi3.T
	docRouter routers.Router
	docErr    error
)

// openapiDoc is openapi.json, loaded and validated once.
func openapiDoc() (*openapi3.T, error) {
	docOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(openapiJSON)
		if err != nil {
			docErr = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			docErr = err
			return
		}
		doc.Servers = nil
		docSpec = doc
		docRouter, docErr = legacy.NewRouter(doc)
	})
	return docSpec, docErr
}

func openapiRouter() (routers.Router, error) {
	_, err := openapiDoc()
	return docRouter, err
}

// checkShape validates an answer against openapi.json (status documented,
// body matching its schema) and checks every error answer has the one
// error shape (except the public pages' HTML errors, which are pages).
func checkShape(t testing.TB, hr *http.Request, r response) {
	t.Helper()
	html := strings.HasPrefix(r.Header.Get("Content-Type"), "text/html")
	if r.Status >= 400 && hr.Method != http.MethodHead && !html {
		var b struct {
			Error *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(r.Body, &b); err != nil || b.Error == nil || b.Error.Code == "" || b.Error.Message == "" {
			t.Errorf("%s %s: error answer %d not in the contract's shape: %s", hr.Method, hr.URL.Path, r.Status, r.Body)
		}
	}
	if r.Header.Get("X-Request-ID") == "" {
		t.Errorf("%s %s: no X-Request-ID", hr.Method, hr.URL.Path)
	}
	router, err := openapiRouter()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	route, params, err := router.FindRoute(hr)
	if err != nil || r.Status == http.StatusMethodNotAllowed {
		return // an undocumented route or method: the 404/405 answers, checked above
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  r.Status,
		Header:  r.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	switch ct := r.Header.Get("Content-Type"); {
	case strings.HasPrefix(ct, "application/json"), strings.HasPrefix(ct, "text/plain"):
	default:
		in.Options.ExcludeResponseBody = true
	}
	in.SetBodyBytes(r.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s: answer %d does not match openapi.json: %v\n%s", hr.Method, hr.URL.Path, r.Status, err, truncate(r.Body))
	}
	responsesSeen.add(route.Method+" "+route.Path, r.Status)
}

func truncate(b []byte) []byte {
	if len(b) > 1500 {
		return append(b[:1500:1500], "..."...)
	}
	return b
}

// responsesSeen records which documented route answered which statuses, so
// a test can check every route's answers were validated at least once.
var responsesSeen = &seen{m: map[string]map[int]bool{}}

type seen struct {
	mu sync.Mutex
	m  map[string]map[int]bool
}

func (s *seen) add(route string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[route] == nil {
		s.m[route] = map[int]bool{}
	}
	s.m[route][status] = true
}

func (s *seen) has(route string, ok func(int) bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st := range s.m[route] {
		if ok(st) {
			return true
		}
	}
	return false
}

// Fixtures.

// seedModels defines a product (M1), an adapter (CHG-1) and an accessory
// (CBL-2).
func (e *env) seedModels() {
	e.t.Helper()
	for _, m := range []struct{ sku, name, kind string }{
		{"M1", "IMASK Pro", "product"},
		{"CHG-1", "Charger 20W", "adapter"},
		{"CBL-2", "USB-C cable", "accessory"},
	} {
		r := e.do(req{Method: "PUT", Path: "/api/v1/models/" + m.sku, Token: e.warehouse,
			Body: map[string]any{"name": m.name, "kind": m.kind}})
		if r.Status != http.StatusCreated && r.Status != http.StatusOK {
			e.t.Fatalf("model %s: %s", m.sku, r)
		}
	}
}

// register registers serials of M1 in batch with a bundled charger.
func (e *env) register(batch string, serials ...string) {
	e.t.Helper()
	items := make([]map[string]any, len(serials))
	for i, s := range serials {
		items[i] = map[string]any{"serial": s, "sku": "M1", "batch": batch, "produced_on": "2026-10-01",
			"accessories": []map[string]string{{"sku": "CHG-1", "batch": "CB2411"}}}
	}
	must(e.t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": items}), http.StatusCreated)
}

// event posts one event to serial as token and returns the answer.
func (e *env) event(serial, token string, ev map[string]any) response {
	e.t.Helper()
	return e.post("/api/v1/items/"+serial+"/events", token, ev)
}

func httptestGet(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec
}

// TestMain runs the tests, then — when the whole suite ran — checks that a
// successful answer of every route was validated against openapi.json.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.fuzz").Value.String() == "" {
		for _, r := range access {
			path := regexp.MustCompile(`:([a-z0-9]+)`).ReplaceAllString(r.Path, "{$1}")
			// A form's success is its 303 back to the page.
			if !responsesSeen.has(r.Method+" "+path, func(st int) bool { return st < 300 || st == http.StatusSeeOther }) {
				fmt.Fprintf(os.Stderr, "no successful answer of %s %s was validated against openapi.json\n", r.Method, r.Path)
				code = 1
			}
		}
	}
	os.Exit(code)
}
