package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/server/locale"
)

// The contract's role matrix ("HTTP conventions": admin everything;
// warehouse models, registration, dispatch and receipt events, labels,
// batches, reading items; service reading items and models, receipt and
// transfer events, service events, entitlements, the service queue, label
// reprints; no or bad key 401, wrong role 403), written out here once more
// as literal expectations. These tests never read access, eventAccess or
// consoleAccess: a change to the router's tables must break them.

// roleFixture is the registry every cell of the matrix starts from: models
// M1 (product), CHG-1 (adapter), CBL-2 (accessory) and G1 (product with GTIN
// 06901234567892); S1, S2 of M1 in batch B1 with a CB2411 charger; G1S of G1
// in batch B2; S2 dispatched under order O1; a spare warehouse key to revoke;
// a service-centre account li; a webhook for every event type, whose
// delivery of S2's dispatch is dead; an advisory on batch B2.
type roleFixture struct {
	*env
	spareID             string
	webhook, deliveryID string
}

func newRoleFixture(t *testing.T) *roleFixture {
	t.Helper()
	e := newEnv(t)
	e.seedModels()
	must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/G1", Token: e.admin,
		Body: map[string]any{"name": "IMASK Lite", "kind": "product", "gtin": "06901234567892"}}), http.StatusCreated)
	e.register("B1", "S1", "S2")
	must(t, e.post("/api/v1/items", e.admin, map[string]any{"items": []map[string]any{
		{"serial": "G1S", "sku": "G1", "batch": "B2", "produced_on": "2026-10-01"}}}), http.StatusCreated)
	hook, err := e.db.CreateSubscription(registry.Actor{Name: "test"}, "https://203.0.113.9/erp", []string{"*"})
	if err != nil {
		t.Fatal(err)
	}
	must(t, e.event("S2", e.admin, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O1"}), http.StatusCreated)
	claimed, err := e.db.ClaimDeliveries(e.clock.Now(), time.Minute, 1)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %v, %v", claimed, err)
	}
	if err := e.db.FinishDeliveries([]registry.Attempt{{Subscription: claimed[0].Subscription, Delivery: claimed[0].ID, At: e.clock.Now(), Error: "HTTP 500"}}); err != nil {
		t.Fatal(err)
	}
	must(t, e.post("/api/v1/users", e.admin, map[string]any{"username": "li", "name": "Li Na", "role": "service",
		"center": "SH-01", "password": "li's long password"}), http.StatusCreated)
	if _, _, err := e.db.PutNotice(registry.Actor{Name: "test"}, registry.Notice{Batch: "B2", Severity: registry.SeverityAdvisory,
		Text: "请使用随附的充电器", Since: policy.Date{Year: 2026, Month: 11, Day: 1}}); err != nil {
		t.Fatal(err)
	}
	spare := mustKey(t, e.db, "spare", registry.RoleWarehouse)
	id, _, _ := strings.Cut(spare, ".")
	return &roleFixture{env: e, spareID: id, webhook: hook.ID, deliveryID: claimed[0].ID}
}

// apiCell is one route of the contract with the status each caller gets
// (no key, admin, warehouse, service) and what a successful answer holds.
type apiCell struct {
	method, path                    string
	body                            any
	none, admin, warehouse, service int
	check                           func(t *testing.T, f *roleFixture, r response)
}

// wantField checks a decoded JSON answer's top-level field.
func wantField(name string, want any) func(*testing.T, *roleFixture, response) {
	return func(t *testing.T, _ *roleFixture, r response) {
		t.Helper()
		if got := r.JSON(t)[name]; !sameJSON(got, want) {
			t.Errorf("%s = %v, want %v: %s", name, got, want, shortBody(r.Body))
		}
	}
}

// wantNested checks a field of a top-level object of a JSON answer.
func wantNested(obj, name string, want any) func(*testing.T, *roleFixture, response) {
	return func(t *testing.T, _ *roleFixture, r response) {
		t.Helper()
		o, _ := r.JSON(t)[obj].(map[string]any)
		if got := o[name]; !sameJSON(got, want) {
			t.Errorf("%s.%s = %v, want %v: %s", obj, name, got, want, shortBody(r.Body))
		}
	}
}

// wantKey checks a top-level object of a JSON answer has a key.
func wantKey(obj, key string) func(*testing.T, *roleFixture, response) {
	return func(t *testing.T, _ *roleFixture, r response) {
		t.Helper()
		if o, _ := r.JSON(t)[obj].(map[string]any); o[key] == nil {
			t.Errorf("%s has no %s", obj, key)
		}
	}
}

// wantArray checks a JSON answer's field is an array of at least n elements.
func wantArray(name string, n int) func(*testing.T, *roleFixture, response) {
	return func(t *testing.T, _ *roleFixture, r response) {
		t.Helper()
		if l, isArray := r.JSON(t)[name].([]any); !isArray || len(l) < n {
			t.Errorf("%s: want an array of at least %d: %s", name, n, shortBody(r.Body))
		}
	}
}

// wantStart checks a non-JSON answer's media type and first bytes.
func wantStart(contentType, prefix string) func(*testing.T, *roleFixture, response) {
	return wantContent(contentType, prefix, bytes.HasPrefix)
}

// wantHolds checks a non-JSON answer's media type and that it holds text.
func wantHolds(contentType, text string) func(*testing.T, *roleFixture, response) {
	return wantContent(contentType, text, bytes.Contains)
}

func wantContent(contentType, text string, holds func(b, text []byte) bool) func(*testing.T, *roleFixture, response) {
	return func(t *testing.T, _ *roleFixture, r response) {
		t.Helper()
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, contentType) {
			t.Errorf("Content-Type %q, want %s", ct, contentType)
		}
		if !holds(r.Body, []byte(text)) {
			t.Errorf("answer lacks %q: %s", text, shortBody(r.Body))
		}
	}
}

func shortBody(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// contractRoutes is every API route of the contract that this build serves.
var contractRoutes = []apiCell{
	{"GET", "/", nil, 200, 200, 200, 200, wantField("openapi", "/openapi.json")},
	{"GET", "/healthz", nil, 200, 200, 200, 200, wantField("status", "ok")},
	{"GET", "/readyz", nil, 200, 200, 200, 200, wantField("status", "ready")},
	{"GET", "/openapi.json", nil, 200, 200, 200, 200, wantKey("paths", "/api/v1/items/{serial}")},
	{"GET", "/metrics", nil, 401, 200, 200, 200, wantHolds("text/plain", "# TYPE ")},

	{"GET", "/api/v1/models", nil, 401, 200, 200, 200, wantArray("models", 4)},
	{"GET", "/api/v1/models/M1", nil, 401, 200, 200, 200, wantField("sku", "M1")},
	{"PUT", "/api/v1/models/M9", map[string]any{"name": "IMASK Max", "kind": "product"}, 401, 201, 201, 403, wantField("name", "IMASK Max")},

	{"POST", "/api/v1/items", map[string]any{"items": []map[string]any{{"serial": "S9", "sku": "M1", "batch": "B9", "produced_on": "2026-10-01"}}},
		401, 201, 201, 403, wantField("created", 1)},
	{"GET", "/api/v1/items/S1", nil, 401, 200, 200, 200, wantField("serial", "S1")},
	{"POST", "/api/v1/items/S1/events", map[string]any{"type": "received", "on": "2026-11-05", "evidence": "courier"},
		401, 201, 201, 201, wantNested("event", "type", "received")},
	{"GET", "/api/v1/items/S1/entitlements?finding=quality_problem&intact=true&complete=true", nil, 401, 200, 403, 200, wantField("serial", "S1")},
	{"POST", "/api/v1/events", map[string]any{"events": []map[string]any{{"serial": "S1", "type": "received", "on": "2026-11-05", "evidence": "invoice"}}},
		401, 201, 201, 201, wantArray("events", 1)},
	{"POST", "/api/v1/orders/O1/received", map[string]any{"on": "2026-11-05", "evidence": "courier"}, 401, 201, 201, 201, wantArray("events", 1)},
	{"GET", "/api/v1/orders/O1", nil, 401, 200, 200, 200, wantField("count", 1)},

	// Registration mistakes (second wave): admin only.
	{"DELETE", "/api/v1/items/S1?reason=registered+twice", nil, 401, 204, 403, 403, nil},
	{"DELETE", "/api/v1/models/CBL-2", nil, 401, 204, 403, 403, nil},

	{"GET", "/api/v1/batches", nil, 401, 200, 200, 403, wantArray("batches", 2)},
	{"GET", "/api/v1/batches/B1", nil, 401, 200, 200, 403, wantField("count", 2)},

	// The maker's reports (issue 19): admin and warehouse.
	{"GET", "/api/v1/reports/quality?by=batch", nil, 401, 200, 200, 403, wantArray("rows", 3)},
	{"GET", "/api/v1/reports/findings", nil, 401, 200, 200, 403, wantArray("findings", 0)},
	{"GET", "/api/v1/reports/expiring?within=3660", nil, 401, 200, 200, 403, wantArray("items", 1)}, // S2, the one dispatched

	{"GET", "/api/v1/items/S1/label", nil, 401, 200, 200, 200, wantStart("image/png", "\x89PNG\r\n")},
	{"POST", "/api/v1/labels", map[string]any{"batch": "B1", "format": "zpl"}, 401, 200, 200, 403, wantStart("", "^XA")},

	{"GET", "/api/v1/service/open", nil, 401, 200, 403, 200, wantArray("cases", 0)},

	{"POST", "/api/v1/keys", map[string]any{"name": "dock-2", "role": "service"}, 401, 201, 403, 403, wantField("role", "service")},
	{"GET", "/api/v1/keys", nil, 401, 200, 403, 403, wantArray("keys", 4)},
	{"DELETE", "/api/v1/keys/{spare}", nil, 401, 204, 403, 403, nil},
	{"GET", "/api/v1/audit", nil, 401, 200, 403, 403, wantArray("entries", 1)},

	// Staff accounts (second wave): admin only.
	{"POST", "/api/v1/users", map[string]any{"username": "zhang", "name": "Zhang Wei", "role": "service", "center": "SH-01", "password": "a long password"},
		401, 201, 403, 403, wantField("username", "zhang")},
	{"GET", "/api/v1/users", nil, 401, 200, 403, 403, wantArray("users", 1)},
	{"PATCH", "/api/v1/users/li", map[string]any{"center": "BJ-02"}, 401, 200, 403, 403, wantField("center", "BJ-02")},
	{"GET", "/api/v1/admin/backup", nil, 401, 200, 403, 403, func(t *testing.T, f *roleFixture, r response) {
		wantStart("application/octet-stream", "")(t, f, r)
		// A bbolt file: its first page's meta holds the magic 0xED0CDAED.
		if len(r.Body) < 4096 || !bytes.Contains(r.Body[:4096], []byte{0xED, 0xDA, 0x0C, 0xED}) {
			t.Errorf("backup of %d bytes is not a bbolt file", len(r.Body))
		}
	}},

	{"POST", "/api/v1/webhooks", map[string]any{"url": "https://203.0.113.10/crm", "events": []string{"received"}}, 401, 201, 403, 403, wantField("events", []string{"received"})},
	{"GET", "/api/v1/webhooks", nil, 401, 200, 403, 403, wantArray("webhooks", 1)},
	{"GET", "/api/v1/webhooks/{webhook}", nil, 401, 200, 403, 403, wantField("url", "https://203.0.113.9/erp")},
	{"GET", "/api/v1/webhooks/{webhook}/deliveries", nil, 401, 200, 403, 403, wantArray("deliveries", 1)},
	{"POST", "/api/v1/webhooks/{webhook}/deliveries/{delivery}/retry", nil, 401, 202, 403, 403, wantField("status", "pending")},
	{"DELETE", "/api/v1/webhooks/{webhook}", nil, 401, 204, 403, 403, nil},

	// Batch notices (second wave): set and cleared by an admin, read by every role.
	{"PUT", "/api/v1/batches/B1/notice", map[string]any{"severity": "recall", "text": "电池召回", "since": "2026-11-18"}, 401, 201, 403, 403, wantField("severity", "recall")},
	{"DELETE", "/api/v1/batches/B2/notice", nil, 401, 204, 403, 403, nil},
	{"GET", "/api/v1/notices", nil, 401, 200, 200, 200, wantArray("notices", 1)},

	{"GET", "/c", nil, 200, 200, 200, 200, wantHolds("text/html", "<form")},
	{"GET", "/static/public.{css}.css", nil, 200, 200, 200, 200, wantHolds("text/css", ".card")},
	{"GET", "/c/S1?k={code:S1}", nil, 200, 200, 200, 200, wantHolds("text/html", "S1")},
	{"GET", "/c/S1/terms?k={code:S1}", nil, 200, 200, 200, 200, wantHolds("text/html", `href="/c/S1?k=`)},
	{"GET", "/01/06901234567892/21/G1S?k={code:G1S}", nil, 200, 200, 200, 200, wantHolds("text/html", "G1S")},
	{"GET", "/api/v1/public/coverage?serial=S1&k={code:S1}", nil, 200, 200, 200, 200, wantField("serial", "S1")},
	// The customer's receipt confirmation needs no key, only the check
	// code: a wrong one is the lookup's 404 whoever asks.
	{"POST", "/api/v1/public/receipt", map[string]any{"serial": "S1", "k": "AAAAAAAA", "on": "2026-11-05"}, 404, 404, 404, 404, wantNested("error", "code", "not_found")},
	{"POST", "/c/S1/receipt", nil, 404, 404, 404, 404, wantHolds("text/html", "<form")},
}

// concretePath fills the fixture's values into a matrix path.
func (f *roleFixture) concretePath(p string) string {
	return strings.NewReplacer("{spare}", f.spareID, "{webhook}", f.webhook, "{delivery}", f.deliveryID, "{code:S1}", f.checkCode("S1"), "{code:G1S}", f.checkCode("G1S"), "{css}", contentHash(publicCSS)).Replace(p)
}

// templateOf turns a concrete path back into its route template, to compare
// the matrix with what the server routes.
func templateOf(method, p string) string {
	p, _, _ = strings.Cut(p, "?")
	seg := strings.Split(p, "/")
	for i := 1; i < len(seg); i++ {
		switch seg[i-1] {
		case "items", "21", "c":
			seg[i] = ":serial"
		case "models":
			seg[i] = ":sku"
		case "batches":
			seg[i] = ":batch"
		case "orders":
			seg[i] = ":order"
		case "keys", "webhooks":
			seg[i] = ":id"
		case "deliveries":
			seg[i] = ":delivery"
		case "users":
			seg[i] = ":username"
		case "01":
			seg[i] = ":gtin14"
		case "static":
			seg[i] = ":file"
		}
	}
	return method + " " + strings.Join(seg, "/")
}

// TestContractRoutesAreAllInTheLiteralMatrix: a route the server adds must
// be given its literal row here (and a row of the contract must be routed).
func TestContractRoutesAreAllInTheLiteralMatrix(t *testing.T) {
	e := newEnv(t)
	var routed, rows []string
	for _, r := range e.srv.echo.Routes() {
		if r.Method != "echo_route_not_found" {
			routed = append(routed, r.Method+" "+r.Path)
		}
	}
	for _, c := range contractRoutes {
		rows = append(rows, templateOf(c.method, c.path))
	}
	for _, c := range consoleRoutes {
		rows = append(rows, templateOf(c.method, c.path))
	}
	for _, r := range routed {
		if !slices.Contains(rows, r) {
			t.Errorf("%s is routed but has no literal row", r)
		}
	}
	for _, r := range rows {
		if !slices.Contains(routed, r) {
			t.Errorf("%s has a literal row but is not routed", r)
		}
	}
}

// TestContractRoleMatrix sends every route once per caller, each on a fresh
// registry: a refused caller gets the contract's 401 or 403 error, an allowed
// one a 2xx with a well-formed answer.
func TestContractRoleMatrix(t *testing.T) {
	for _, c := range contractRoutes {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			for _, who := range []struct {
				name string
				want int
			}{{"no key", c.none}, {"admin", c.admin}, {"warehouse", c.warehouse}, {"service", c.service}} {
				f := newRoleFixture(t)
				token := map[string]string{"no key": "", "admin": f.admin, "warehouse": f.warehouse, "service": f.service}[who.name]
				res := f.do(req{Method: c.method, Path: f.concretePath(c.path), Token: token, Body: c.body})
				switch who.want {
				case 401:
					wantError(t, res, http.StatusUnauthorized, policy.EUnauthorized, "")
				case 403:
					wantError(t, res, http.StatusForbidden, policy.EForbidden, "")
				default:
					if res.Status != who.want {
						t.Errorf("%s: status %d, want %d: %s", who.name, res.Status, who.want, res)
						continue
					}
					if c.check != nil {
						c.check(t, f, res)
					}
				}
			}
		})
	}
}

// eventCell is one event type of the contract's table: the history it needs
// (written by admin first), the event, and which roles may record it.
type eventCell struct {
	typ                       string
	before                    []map[string]any
	event                     map[string]any
	admin, warehouse, service bool
}

var (
	evReceipt   = map[string]any{"type": "received", "on": "2026-11-05", "evidence": "courier"}
	evIntake    = map[string]any{"type": "intake", "at": "2026-11-09T09:00:00+08:00", "center": "SH", "complaint": "no power"}
	evDiagnosis = map[string]any{"type": "diagnosed", "at": "2026-11-09T10:00:00+08:00", "finding": "quality_problem"}
	evDamage    = map[string]any{"type": "diagnosed", "at": "2026-11-09T10:00:00+08:00", "finding": "human_damage"}
	evQuote     = map[string]any{"type": "quoted", "at": "2026-11-09T11:00:00+08:00", "amount": 120, "currency": "CNY"}
	evPause     = map[string]any{"type": "paused", "at": "2026-11-09T11:00:00+08:00", "reason": "waiting for the customer"}
)

// contractEvents: warehouse writes dispatch and receipt events; service
// evReceipt and transfer events and the service events; corrected is admin's
// alone; admin writes everything.
var contractEvents = []eventCell{
	{"dispatched", nil, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O7"}, true, true, false},
	{"received", nil, evReceipt, true, true, true},
	{"transferred", []map[string]any{evReceipt}, map[string]any{"type": "transferred", "on": "2026-11-06", "note": "resold"}, true, false, true},
	{"intake", []map[string]any{evReceipt}, evIntake, true, false, true},
	{"diagnosed", []map[string]any{evReceipt, evIntake}, evDiagnosis, true, false, true},
	{"quoted", []map[string]any{evReceipt, evIntake, evDamage}, evQuote, true, false, true},
	{"paid", []map[string]any{evReceipt, evIntake, evDamage, evQuote}, map[string]any{"type": "paid", "at": "2026-11-09T12:00:00+08:00", "amount": 120, "currency": "CNY"}, true, false, true},
	{"declined", []map[string]any{evReceipt, evIntake, evDamage, evQuote}, map[string]any{"type": "declined", "at": "2026-11-09T12:00:00+08:00"}, true, false, true},
	{"repaired", []map[string]any{evReceipt, evIntake, evDiagnosis}, map[string]any{"type": "repaired", "at": "2026-11-09T12:00:00+08:00", "paid": false, "parts": []string{"battery"}}, true, false, true},
	{"replaced", []map[string]any{evReceipt, evIntake, evDiagnosis}, map[string]any{"type": "replaced", "at": "2026-11-09T12:00:00+08:00", "new_serial": "S3"}, true, false, true},
	{"returned", []map[string]any{evReceipt, evIntake, evDiagnosis}, map[string]any{"type": "returned", "at": "2026-11-09T12:00:00+08:00", "amount": 299}, true, false, true},
	{"paused", []map[string]any{evReceipt, evIntake}, evPause, true, false, true},
	{"resumed", []map[string]any{evReceipt, evIntake, evPause}, map[string]any{"type": "resumed", "at": "2026-11-09T12:00:00+08:00"}, true, false, true},
	{"shipped", []map[string]any{evReceipt, evIntake, evDiagnosis}, map[string]any{"type": "shipped", "at": "2026-11-09T12:00:00+08:00", "tracking": "SF1234567890"}, true, false, true},
	{"accessory_replaced", []map[string]any{evReceipt, evIntake}, map[string]any{"type": "accessory_replaced", "at": "2026-11-09T12:00:00+08:00", "sku": "CHG-1", "new_batch": "CB2412"}, true, false, true},
	{"corrected", []map[string]any{evReceipt}, map[string]any{"type": "corrected", "seq": 1, "reason": "typo in the date", "on": "2026-11-04"}, true, false, false},
}

// TestContractEventTypeRoles records every event type of the contract as
// each role, on a history where the event is valid: an allowed role's
// event is written (201, the event in the answer), a refused role gets 403
// naming the type and nothing is written.
func TestContractEventTypeRoles(t *testing.T) {
	types := map[string]bool{}
	for _, c := range contractEvents {
		types[c.typ] = true
	}
	for _, typ := range policy.EventTypes {
		if !types[string(typ)] {
			t.Errorf("event type %s has no literal row", typ)
		}
	}
	for _, c := range contractEvents {
		t.Run(c.typ, func(t *testing.T) {
			for _, who := range []struct {
				role  string
				allow bool
			}{{"admin", c.admin}, {"warehouse", c.warehouse}, {"service", c.service}} {
				e := newEnv(t)
				e.seedModels()
				e.register("B1", "S1", "S3")
				for _, ev := range c.before {
					must(t, e.event("S1", e.admin, ev), http.StatusCreated)
				}
				token := map[string]string{"admin": e.admin, "warehouse": e.warehouse, "service": e.service}[who.role]
				res := e.event("S1", token, c.event)
				if !who.allow {
					wantError(t, res, http.StatusForbidden, policy.EForbidden, "type")
					if rec, _ := e.db.Get("S1"); len(rec.History) != len(c.before) {
						t.Errorf("%s: a refused %s was written", who.role, c.typ)
					}
					continue
				}
				if res.Status != http.StatusCreated {
					t.Errorf("%s may record %s: %s", who.role, c.typ, res)
					continue
				}
				if got := res.JSON(t)["event"].(map[string]any)["type"]; got != c.typ {
					t.Errorf("%s: answer's event is %v", who.role, got)
				}
			}
		})
	}
}

// consoleCell is one console page or form with the answer each caller
// gets: 200 a page, 303 where a form (or signing in and out) sends the
// browser, 403 the "may not use" page; without a session every staff page
// sends the browser to sign in (303 to /console/sign-in).
type consoleCell struct {
	method, path                    string
	form                            url.Values // POST fields (the session's token and a fresh nonce are added)
	none, admin, warehouse, service int
	// where is the Location of a 303 to a caller with a session, or text a
	// 200 page holds.
	where string
}

// consoleRoutes is every console page and form.
var consoleRoutes = []consoleCell{
	{"GET", "/console/static/{file}", nil, 200, 200, 200, 200, ""},
	// Signed in, the sign-in page sends the caller home; the sign-in form
	// is posted by a browser without a session, with the admin's key or a
	// person's username and password (keys sign in admins only).
	{"GET", "/console/sign-in", nil, 200, 303, 303, 303, "/console/"},
	{"POST", "/console/sign-in", url.Values{"login": {"{token}"}}, 303, 303, 303, 303, "/console/"},
	{"POST", "/console/sign-out", nil, 303, 303, 303, 303, "/console/sign-in?ended=signed-out"},
	{"GET", "/console", nil, 303, 303, 303, 303, "/console/"},

	{"GET", "/console/models", nil, 303, 200, 200, 403, "IMASK Pro"},
	{"GET", "/console/models/M1", nil, 303, 200, 200, 403, `value="IMASK Pro"`},
	{"POST", "/console/models", url.Values{"sku": {"M9"}, "name": {"IMASK Max"}, "kind": {"product"}}, 303, 303, 303, 403, "/console/models"},
	{"GET", "/console/batches", nil, 303, 200, 200, 403, "B1"},
	{"POST", "/console/batches", nil, 303, 303, 303, 403, "/console/batches/B9"}, // a CSV upload, see consoleSend
	{"GET", "/console/batches/B1", nil, 303, 200, 200, 403, "S2"},
	{"GET", "/console/batches/B1/labels?format=zpl", nil, 303, 200, 200, 403, "^XA"},
	{"POST", "/console/batches/B1/notice", url.Values{"severity": {"recall"}, "text": {"电池召回"}, "since": {"2026-11-18"}}, 303, 303, 403, 403, "/console/batches/B1"},
	{"POST", "/console/batches/B2/notice/clear", nil, 303, 303, 403, 403, "/console/batches/B2"},
	{"GET", "/console/dispatch", nil, 303, 200, 200, 403, `name="order"`},
	{"POST", "/console/dispatch", url.Values{"serials": {"S1"}, "order": {"O5"}, "on": {"2026-11-02"}}, 303, 303, 303, 403, "/console/dispatch"},
	{"POST", "/console/receipts", url.Values{"order": {"O1"}, "on": {"2026-11-05"}, "evidence": {"courier"}}, 303, 303, 303, 403, "/console/dispatch"},
	{"GET", "/console/items/S1/label", nil, 303, 200, 200, 200, ""},
	{"GET", "/console/quality", nil, 303, 200, 200, 403, `<svg class="chart"`},

	{"GET", "/console/desk", nil, 303, 200, 403, 200, `name="serial"`},
	{"GET", "/console/items/S1", nil, 303, 200, 403, 200, "S1"},
	{"POST", "/console/items/S1/events", url.Values{"type": {"received"}, "on": {"2026-11-05"}, "evidence": {"courier"}}, 303, 303, 403, 303, "/console/items/S1"},
	{"GET", "/console/items/S1/entitlements?finding=quality_problem", nil, 303, 200, 403, 200, "S1"},
	{"GET", "/console/queue", nil, 303, 200, 403, 200, "<main"},

	{"GET", "/console/users", nil, 303, 200, 403, 403, "Li Na"},
	{"POST", "/console/users", url.Values{"username": {"zhang"}, "name": {"Zhang Wei"}, "role": {"service"}, "center": {"SH-01"}, "password": {"a long password"}},
		303, 303, 403, 403, "/console/users"},
	{"POST", "/console/users/li", url.Values{"name": {"Li Na"}, "role": {"service"}, "center": {"BJ-02"}}, 303, 303, 403, 403, "/console/users"},
}

// TestKeysSignInAdminsOnly: the console signs people in by username and
// password; an API key signs in an admin only ("Staff accounts").
func TestKeysSignInAdminsOnly(t *testing.T) {
	f := newRoleFixture(t)
	for _, who := range []struct {
		name, token string
		want        int
	}{{"admin", f.admin, 303}, {"warehouse", f.warehouse, 403}, {"service", f.service, 403}} {
		b := f.browser()
		b.get("/console/sign-in")
		if res := b.post("/console/sign-in", url.Values{"key": {who.token}, nonceField: {freshNonce()}}); res.Status != who.want {
			t.Errorf("%s's key: status %d, want %d: %s", who.name, res.Status, who.want, res)
		}
	}
}

// consoleSend sends one console cell's request as b (signed in or not).
func consoleSend(f *roleFixture, b *browser, c consoleCell, token string) pageRes {
	path := c.path
	if strings.Contains(path, "{file}") {
		for name := range f.srv.console.assets {
			path = strings.Replace(path, "{file}", name, 1)
			break
		}
	}
	if c.method == "GET" {
		return b.get(path)
	}
	if c.path == "/console/batches" {
		b.get("/console/batches") // the form's token, when signed in
		return b.upload("serial,sku,batch,produced_on\nS9,M1,B9,2026-10-01\n", "utf-8")
	}
	form := url.Values{}
	for k, v := range c.form {
		form[k] = slices.Clone(v)
	}
	if form.Get("login") == "{token}" {
		form = url.Values{}
		for k, v := range f.login(token) {
			form[k] = slices.Clone(v)
		}
	}
	form.Set(nonceField, freshNonce())
	return b.post(path, form)
}

// freshNonce is a fresh form nonce of the console's form.
func freshNonce() string { return token() }

func TestContractConsoleRoleMatrix(t *testing.T) {
	for _, c := range consoleRoutes {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			for _, who := range []struct {
				name string
				want int
			}{{"no session", c.none}, {"admin", c.admin}, {"warehouse", c.warehouse}, {"service", c.service}} {
				f := newRoleFixture(t)
				token := map[string]string{"no session": f.warehouse, "admin": f.admin, "warehouse": f.warehouse, "service": f.service}[who.name]
				b := f.browser()
				if who.name == "no session" || c.method == "POST" && c.path == "/console/sign-in" {
					b.get("/console/sign-in") // the sign-in form's token only
				} else {
					b.mustSignIn(token)
				}
				res := consoleSend(f, b, c, token)
				if res.Status != who.want {
					t.Errorf("%s: status %d, want %d: %s", who.name, res.Status, who.want, res)
					continue
				}
				loc := res.Header.Get("Location")
				switch {
				case who.want == 403:
					wantPage(t, res, http.StatusForbidden, "may not use")
				case who.name == "no session" && who.want == 303 && c.path != "/console/sign-in":
					if !strings.HasPrefix(loc, "/console/sign-in") {
						t.Errorf("no session: sent to %q, want the sign-in page", loc)
					}
				case who.want == 303:
					if !strings.HasPrefix(loc, c.where) {
						t.Errorf("%s: sent to %q, want %s", who.name, loc, c.where)
					}
				case who.want == 200 && c.where != "":
					wantPage(t, res, http.StatusOK, c.where)
				}
			}
		})
	}
}

// TestContractConsoleEventFormsFollowTheEventRoles: the desk's event form
// admits the roles of the contract per type, as the API does: service
// records transfers, not dispatches or corrections; admin records all (the
// console has no corrections form: admin's gets past the role check to the
// missing seq, 422).
func TestContractConsoleEventFormsFollowTheEventRoles(t *testing.T) {
	for _, tc := range []struct {
		typ, serial    string
		form           url.Values
		admin, service int
	}{
		{"dispatched", "G1S", url.Values{"on": {"2026-11-06"}, "order": {"O8"}}, 303, 403},
		{"transferred", "S1", url.Values{"on": {"2026-11-06"}, "note": {"resold"}}, 303, 303},
		{"corrected", "S1", url.Values{"reason": {"typo in the date"}, "on": {"2026-11-04"}}, 422, 403},
	} {
		for _, who := range []struct {
			role string
			want int
		}{{"admin", tc.admin}, {"service", tc.service}} {
			f := newRoleFixture(t)
			must(t, f.event("S1", f.admin, evReceipt), http.StatusCreated)
			before := func() int { rec, _ := f.db.Get(tc.serial); return len(rec.History) }()
			b := f.browser()
			b.mustSignIn(map[string]string{"admin": f.admin, "service": f.service}[who.role])
			b.get("/console/items/" + tc.serial)
			form := url.Values{"type": {tc.typ}, nonceField: {freshNonce()}}
			for k, v := range tc.form {
				form[k] = v
			}
			res := b.post("/console/items/"+tc.serial+"/events", form)
			rec, _ := f.db.Get(tc.serial)
			switch who.want {
			case 303:
				if res.Status != http.StatusSeeOther || len(rec.History) != before+1 {
					t.Errorf("%s %s: %s; want it recorded", who.role, tc.typ, res)
				}
			case 403:
				wantPage(t, res, http.StatusForbidden, "may not record "+locale.EN.T("problem.type."+tc.typ)+" events")
			default:
				if res.Status != who.want {
					t.Errorf("%s %s: %s; want %d", who.role, tc.typ, res, who.want)
				}
			}
			if who.want != 303 && len(rec.History) != before {
				t.Errorf("%s %s refused but written", who.role, tc.typ)
			}
		}
	}
}
