package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStaffAccountsThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	r := must(t, e.post("/api/v1/users", e.admin, map[string]any{"username": "Li.Wei", "name": "李伟", "role": "service",
		"center": "上海服务网点", "password": "correct horse"}), http.StatusCreated)
	u := r.JSON(t)
	if u["username"] != "li.wei" || u["center"] != "上海服务网点" || u["disabled"] != false || strings.Contains(r.String(), "correct horse") {
		t.Fatalf("created: %s", r)
	}
	wantError(t, e.post("/api/v1/users", e.admin, map[string]any{"username": "li.wei", "role": "service", "password": "correct horse"}),
		http.StatusConflict, "conflict", "username")
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"a password of 9 characters", map[string]any{"username": "wang", "role": "service", "password": "123456789"}, "password"},
		{"no role", map[string]any{"username": "wang", "password": "correct horse"}, "role"},
		{"an unknown role", map[string]any{"username": "wang", "role": "root", "password": "correct horse"}, "role"},
		{"a username with a space", map[string]any{"username": "wang wu", "role": "service", "password": "correct horse"}, "username"},
		{"a new user cannot start disabled", map[string]any{"username": "wang", "role": "service", "password": "correct horse", "disabled": true}, "disabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.post("/api/v1/users", e.admin, tc.body), http.StatusUnprocessableEntity, "invalid_field", tc.field)
		})
	}
	wantError(t, e.post("/api/v1/users", e.admin, map[string]any{"username": "x", "role": "service", "password": "correct horse", "pin": 1}),
		http.StatusBadRequest, "bad_request", "")

	r = must(t, e.do(req{Method: "PATCH", Path: "/api/v1/users/li.wei", Token: e.admin, Body: map[string]any{"center": "北京服务网点", "role": "warehouse"}}), http.StatusOK)
	if u := r.JSON(t); u["center"] != "北京服务网点" || u["role"] != "warehouse" || u["name"] != "李伟" {
		t.Fatalf("patched: %s", r)
	}
	wantError(t, e.do(req{Method: "PATCH", Path: "/api/v1/users/nobody", Token: e.admin, Body: map[string]any{"name": "x"}}), http.StatusNotFound, "not_found", "username")
	wantError(t, e.do(req{Method: "PATCH", Path: "/api/v1/users/li.wei", Token: e.admin, Body: map[string]any{"username": "li"}}), http.StatusUnprocessableEntity, "invalid_field", "username")
	wantError(t, e.do(req{Method: "PATCH", Path: "/api/v1/users/li.wei", Token: e.admin, Body: map[string]any{"password": "short"}}), http.StatusUnprocessableEntity, "invalid_field", "password")

	list := must(t, e.get("/api/v1/users", e.admin), http.StatusOK).JSON(t)["users"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["username"] != "li.wei" {
		t.Fatalf("list: %v", list)
	}
	wantError(t, e.get("/api/v1/users", e.service), http.StatusForbidden, "forbidden", "")
}

// signInAs posts the sign-in form with a username and password from a
// fresh sign-in page.
func (b *browser) signInAs(username, password string) pageRes {
	b.t.Helper()
	b.get("/console/sign-in")
	return b.post("/console/sign-in", url.Values{"username": {username}, "password": {password}})
}

func TestConsoleSignInByPassword(t *testing.T) {
	e := newEnv(t)
	must(t, e.post("/api/v1/users", e.admin, map[string]any{"username": "li", "role": "service", "center": "上海服务网点", "password": "correct horse"}), http.StatusCreated)
	b := e.browser()
	// The same words, status and form for a wrong password and an unknown user.
	wrong := b.signInAs("li", "wrong horse!")
	unknown := b.signInAs("nobody", "correct horse")
	for _, p := range []pageRes{wrong, unknown} {
		wantPage(t, p, http.StatusUnauthorized, "Wrong username or password")
	}
	p := b.signInAs(" LI ", "correct horse")
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/desk" {
		t.Fatalf("sign-in: %s", p)
	}
	wantPage(t, b.get("/console/desk"), http.StatusOK, "上海服务网点")
	b.post("/console/sign-out", nil)

	entries, _, err := e.db.Audit("", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		if strings.HasPrefix(en.Action, "console.") {
			got = append(got, en.Action+" "+en.Target)
		}
	}
	if want := "console.signin.failed li, console.signin.failed nobody, console.signin li, console.signout li"; strings.Join(got, ", ") != want {
		t.Fatalf("audit: %s, want %s", strings.Join(got, ", "), want)
	}
}

func TestConsoleSignInBacksOff(t *testing.T) {
	e := newEnv(t)
	must(t, e.post("/api/v1/users", e.admin, map[string]any{"username": "li", "role": "service", "password": "correct horse"}), http.StatusCreated)
	must(t, e.post("/api/v1/users", e.admin, map[string]any{"username": "wang", "role": "service", "password": "correct horse"}), http.StatusCreated)
	b := e.browser()
	for range 5 {
		wantPage(t, b.signInAs("li", "wrong horse!"), http.StatusUnauthorized, "Wrong username or password")
	}
	// The fifth wrong password locks li for a second; meanwhile even the
	// right password gets the same answer.
	wantPage(t, b.signInAs("li", "correct horse"), http.StatusUnauthorized, "Wrong username or password")
	// Another user from the same address is not locked.
	if p := b.signInAs("wang", "correct horse"); p.Status != http.StatusSeeOther {
		t.Fatalf("another user: %s", p)
	}
	e.clock.Add(time.Second)
	if p := e.browser().signInAs("li", "correct horse"); p.Status != http.StatusSeeOther {
		t.Fatalf("after the lock: %s", p)
	}
}

func TestConsoleSignInBacksOffPerAddress(t *testing.T) {
	e := newEnv(t)
	must(t, e.post("/api/v1/users", e.admin, map[string]any{"username": "li", "role": "service", "password": "correct horse"}), http.StatusCreated)
	b := e.browser()
	for i := range 20 { // 20 failures per address lock it, each for another username
		wantPage(t, b.signInAs("guess"+strconv.Itoa(i), "wrong horse!"), http.StatusUnauthorized, "Wrong username or password")
	}
	wantPage(t, b.signInAs("li", "correct horse"), http.StatusUnauthorized, "Wrong username or password")
}

func TestRootSendsEachClientWhereItBelongs(t *testing.T) {
	e := newEnv(t)
	api := must(t, e.do(req{Method: "GET", Path: "/"}), http.StatusOK).JSON(t)
	if api["openapi"] != "/openapi.json" {
		t.Fatalf("an API client at /: %v", api)
	}
	b := e.browser()
	page := func() string {
		r, _ := http.NewRequest("GET", e.ts.URL+"/", nil)
		r.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		p := b.send(r)
		if p.Status != http.StatusSeeOther {
			t.Fatalf("a browser at /: %s", p)
		}
		return p.Header.Get("Location")
	}
	if loc := page(); loc != "/c" {
		t.Errorf("a browser never signed in goes to %s, want the public check /c", loc)
	}
	b.mustSignIn(e.service)
	if loc := page(); loc != "/console" {
		t.Errorf("a signed-in browser goes to %s, want /console", loc)
	}
	b.post("/console/sign-out", nil)
	if loc := page(); loc != "/c" {
		t.Errorf("a signed-out browser goes to %s, want /c", loc)
	}
}

func TestConsoleCorrectionByAnAdmin(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	must(t, e.event("S1", e.service, map[string]any{"type": "received", "on": "2026-11-01", "evidence": "customer"}), http.StatusCreated)
	admin, desk := e.browser(), e.browser()
	admin.mustSignIn(e.admin)
	desk.mustSignIn(e.service)
	if p := desk.get("/console/items/S1"); strings.Contains(p.Body, `id="f-corrected"`) {
		t.Fatal("the service desk is offered the correction form")
	}
	wantPage(t, admin.get("/console/items/S1"), http.StatusOK, `id="f-corrected"`)
	correct := url.Values{"type": {"corrected"}, "seq": {"1"}, "field": {"on"}, "value": {"2026-11-03"}, "reason": {"typo on the invoice date"}}
	// Without a reason, or by the service desk, nothing is written.
	wantPage(t, admin.post("/console/items/S1/events", with(correct, "reason", "")), http.StatusUnprocessableEntity, "reason")
	wantPage(t, desk.post("/console/items/S1/events", correct), http.StatusForbidden)
	p := admin.follow(admin.post("/console/items/S1/events", correct))
	wantPage(t, p, http.StatusOK, "Correction recorded (event #2).", "typo on the invoice date")
	rec, err := e.db.Get("S1")
	if err != nil {
		t.Fatal(err)
	}
	if ev := rec.History[1]; ev.Type != "corrected" || ev.Corrects != 1 || ev.On.String() != "2026-11-03" || ev.Reason != "typo on the invoice date" || ev.By != "root" {
		t.Fatalf("the correction: %+v", ev)
	}
}
