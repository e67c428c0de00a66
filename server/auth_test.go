package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// concrete fills a route template's parameters with values that exist.
func concrete(path string) string {
	return strings.NewReplacer(":serial", "S1", ":sku", "M1", ":batch", "B1", ":order", "O1",
		":id", "nosuchkey000", ":username", "nobody", ":delivery", "msg_0000000000000001").Replace(path)
}

var allRoles = []registry.Role{registry.RoleAdmin, registry.RoleWarehouse, registry.RoleService}

func TestEveryRouteIsInTheRoleMatrix(t *testing.T) {
	e := newEnv(t)
	registered := map[string]bool{}
	for _, r := range e.srv.echo.Routes() {
		if r.Method == "echo_route_not_found" {
			continue
		}
		registered[r.Method+" "+r.Path] = true
	}
	for _, r := range slices.Concat(access, consoleAccess) { // the API's matrix and the console's
		key := r.Method + " " + r.Path
		if !registered[key] {
			t.Errorf("matrix row %s is not routed", key)
		}
		delete(registered, key)
	}
	for key := range registered {
		t.Errorf("route %s has no row in the role matrix", key)
	}
	if len(eventAccess) != len(policy.EventTypes) {
		t.Errorf("eventAccess lists %d types, the policy %d", len(eventAccess), len(policy.EventTypes))
	}
	for _, typ := range policy.EventTypes {
		if !slices.Contains(eventAccess[typ], registry.RoleAdmin) {
			t.Errorf("admin may not write %s", typ)
		}
	}
}

// TestRoleMatrix drives every route of the matrix with no key, a bad key,
// a revoked key, each wrong role and each right role.
func TestRoleMatrix(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	revoked := mustKey(t, e.db, "gone", registry.RoleAdmin)
	id, _, _ := strings.Cut(revoked, ".")
	if err := e.db.RevokeKey(registry.Actor{Name: "test"}, id); err != nil {
		t.Fatal(err)
	}
	tokens := map[registry.Role]string{registry.RoleAdmin: e.admin, registry.RoleWarehouse: e.warehouse, registry.RoleService: e.service}
	wrongSecret := e.admin[:strings.IndexByte(e.admin, '.')] + ".not-the-secret"

	for _, r := range access {
		path := concrete(r.Path)
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			send := func(token string) response {
				return e.do(req{Method: r.Method, Path: path, Token: token, Body: bodyFor(r)})
			}
			if r.Roles == nil {
				if res := send(""); res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden {
					t.Fatalf("public route refused without a key: %s", res)
				}
				return
			}
			for name, token := range map[string]string{"no key": "", "malformed key": "garbage", "wrong secret": wrongSecret, "revoked key": revoked} {
				if res := send(token); res.Status != http.StatusUnauthorized || res.ErrorCode() != policy.EUnauthorized {
					t.Errorf("%s: %s, want 401 unauthorized", name, res)
				} else if res.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: 401 without WWW-Authenticate", name)
				}
			}
			for _, role := range allRoles {
				res := send(tokens[role])
				if slices.Contains(r.Roles, role) {
					if res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden {
						t.Errorf("%s key refused: %s", role, res)
					}
				} else if res.Status != http.StatusForbidden || res.ErrorCode() != policy.EForbidden {
					t.Errorf("%s key: %s, want 403 forbidden", role, res)
				}
			}
		})
	}
}

// bodyFor is a harmless body for a route: writes that the role check lets
// through must not change what later rows of the matrix see.
func bodyFor(r rule) any {
	switch r.Method + " " + r.Path {
	case "POST /api/v1/items/:serial/events":
		// Every role may record a receipt; the over-long note makes it a 422.
		return map[string]any{"type": "received", "on": "2026-11-01", "evidence": "courier", "note": strings.Repeat("x", 5000)}
	case "POST /api/v1/events":
		return map[string]any{"events": []any{}}
	case "POST /api/v1/orders/:order/received":
		return map[string]any{"on": "2026-11-05", "evidence": "courier"} // 404: no such order
	case "PUT /api/v1/models/:sku":
		return map[string]any{"name": "IMASK Pro", "kind": "product"}
	case "POST /api/v1/items":
		return map[string]any{"items": []any{}}
	case "POST /api/v1/keys":
		return map[string]any{"name": "", "role": "nobody"}
	case "POST /api/v1/webhooks":
		return map[string]any{"url": "ftp://erp.example.com/", "events": []string{"*"}}
	}
	return nil
}

// TestEventTypeRoles checks every event type against every role: a role
// without the right gets 403 naming the type; a role with it gets past the
// role check (the policy may still refuse the event itself).
func TestEventTypeRoles(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	tokens := map[registry.Role]string{registry.RoleAdmin: e.admin, registry.RoleWarehouse: e.warehouse, registry.RoleService: e.service}
	for _, typ := range policy.EventTypes {
		for _, role := range allRoles {
			// An empty body of the type: never valid, so nothing is written.
			res := e.event("S1", tokens[role], map[string]any{"type": typ, "note": strings.Repeat("x", 5000)})
			allowed := slices.Contains(eventAccess[typ], role)
			switch {
			case allowed && res.Status == http.StatusForbidden:
				t.Errorf("%s may write %s but got %s", role, typ, res)
			case !allowed && res.Status != http.StatusForbidden:
				t.Errorf("%s may not write %s but got %s", role, typ, res)
			case !allowed:
				wantError(t, res, http.StatusForbidden, policy.EForbidden, "type")
			}
		}
	}
	rec, err := e.db.Get("S1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.History) != 0 {
		t.Fatalf("invalid events were written: %+v", rec.History)
	}
}

func TestEventsBatchChecksTheRoleOfEveryRow(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2", "S3")
	res := e.post("/api/v1/events", e.warehouse, map[string]any{"events": []map[string]any{
		{"serial": "S1", "type": "dispatched", "on": "2026-11-02", "order": "O1"},
		{"serial": "S2", "type": "intake", "at": "2026-11-09T10:00:00+08:00", "center": "SH"},
		{"serial": "S3", "type": "corrected", "seq": 1, "reason": "typo", "on": "2026-11-01"},
	}})
	er := wantError(t, res, http.StatusForbidden, policy.EForbidden, "")
	rows, _ := er["rows"].([]any)
	if len(rows) != 2 || er["bad_rows"] != float64(2) {
		t.Fatalf("want rows 2 and 3 named: %s", res.Body)
	}
	for i, want := range []float64{2, 3} {
		row := rows[i].(map[string]any)
		if row["row"] != want || row["code"] != policy.EForbidden {
			t.Errorf("row %d: %v", i, row)
		}
	}
	rec, _ := e.db.Get("S1")
	if len(rec.History) != 0 {
		t.Fatal("the allowed row was written although the batch was refused")
	}
}

func TestMetricsNeedAKeyUnlessPublic(t *testing.T) {
	e := newEnv(t)
	wantError(t, e.get("/metrics", ""), http.StatusUnauthorized, policy.EUnauthorized, "")
	must(t, e.get("/metrics", e.service), http.StatusOK)

	p := newEnv(t, func(c *Config) { c.MetricsPublic = true })
	must(t, p.get("/metrics", ""), http.StatusOK)
}
