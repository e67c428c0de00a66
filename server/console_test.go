package server

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// browser is a console client as a browser is: a cookie jar, redirects not
// followed (the tests look at them), the last page's form token kept.
type browser struct {
	t    testing.TB
	e    *env
	c    *http.Client
	csrf string // the session's form token, from the last page that had one
	lang string // Accept-Language; English unless a test says otherwise
}

// page is an answer of the console as the tests see it.
type pageRes struct {
	Status int
	Header http.Header
	Body   string
}

func (p pageRes) String() string {
	body := p.Body
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:] // the page without its head and navigation
	}
	if len(body) > 3000 {
		body = body[:3000] + "..."
	}
	return fmt.Sprintf("%d %s\n%s", p.Status, p.Header.Get("Location"), body)
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{t: e.t, e: e, c: c}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) send(r *http.Request) pageRes {
	b.t.Helper()
	if r.Header.Get("Accept-Language") == "" {
		r.Header.Set("Accept-Language", cmp.Or(b.lang, "en"))
	}
	res, err := b.c.Do(r)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	p := pageRes{Status: res.StatusCode, Header: res.Header, Body: string(body)}
	if m := csrfInput.FindStringSubmatch(p.Body); m != nil {
		b.csrf = m[1]
	}
	if res.Header.Get("X-Request-ID") == "" {
		b.t.Errorf("%s %s: no X-Request-ID", r.Method, r.URL.Path)
	}
	return p
}

func (b *browser) get(path string) pageRes {
	b.t.Helper()
	r, err := http.NewRequest("GET", b.e.ts.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.send(r)
}

// post sends a form; the session's token is added unless the form has a
// csrf field already (set it to "" to leave it out... see postRaw).
func (b *browser) post(path string, form url.Values) pageRes {
	b.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	if _, ok := f["csrf"]; !ok {
		f.Set("csrf", b.csrf)
	}
	return b.postRaw(path, f)
}

func (b *browser) postRaw(path string, form url.Values) pageRes {
	b.t.Helper()
	r, err := http.NewRequest("POST", b.e.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.send(r)
}

// upload posts a CSV file as the batch form does.
func (b *browser) upload(csv, charset string) pageRes {
	b.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("csrf", b.csrf)
	w.WriteField("charset", charset)
	fw, err := w.CreateFormFile("csv", "batch.csv")
	if err != nil {
		b.t.Fatal(err)
	}
	fw.Write([]byte(csv))
	w.Close()
	r, err := http.NewRequest("POST", b.e.ts.URL+"/console/batches", &body)
	if err != nil {
		b.t.Fatal(err)
	}
	r.Header.Set("Content-Type", w.FormDataContentType())
	return b.send(r)
}

// signIn signs in as the holder of token would through the sign-in form
// and returns the answer of the form's POST: with the admin key itself, or
// as a person of the key's role (warehouse and service keys do not open the
// console).
func (b *browser) signIn(token string) pageRes {
	b.t.Helper()
	p := b.get("/console/sign-in")
	if p.Status != http.StatusOK {
		b.t.Fatalf("sign-in page: %s", p)
	}
	return b.post("/console/sign-in", b.e.login(token))
}

// login is the sign-in form of token's holder: the key for the admin key,
// else the username and password of a person of the key's role (created
// the first time, named as the key is).
func (e *env) login(token string) url.Values {
	e.t.Helper()
	if f, ok := e.logins[token]; ok {
		return f
	}
	k, err := e.db.Authenticate(token)
	if err != nil {
		e.t.Fatal(err)
	}
	f := url.Values{"key": {token}}
	if k.Role != registry.RoleAdmin {
		pw := "password of " + k.Name
		if _, err := e.db.CreateUser(registry.Actor{Name: "test"}, registry.User{Username: k.Name, Role: k.Role}, pw); err != nil {
			e.t.Fatal(err)
		}
		f = url.Values{"username": {k.Name}, "password": {pw}}
	}
	if e.logins == nil {
		e.logins = map[string]url.Values{}
	}
	e.logins[token] = f
	return f
}

// mustSignIn signs in and loads the home page (for its form token).
func (b *browser) mustSignIn(token string) {
	b.t.Helper()
	p := b.signIn(token)
	if p.Status != http.StatusSeeOther {
		b.t.Fatalf("sign-in: %s", p)
	}
	if p = b.follow(p); p.Status != http.StatusOK {
		b.t.Fatalf("home after sign-in: %s", p)
	}
}

// follow gets the page a 303 points to (and the one that points to).
func (b *browser) follow(p pageRes) pageRes {
	b.t.Helper()
	for p.Status == http.StatusSeeOther {
		p = b.get(p.Header.Get("Location"))
	}
	return p
}

// with is a copy of form with name set to value.
func with(form url.Values, name, value string) url.Values {
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set(name, value)
	return f
}

func wantPage(t testing.TB, p pageRes, status int, texts ...string) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d: %s", p.Status, status, p)
	}
	for _, s := range texts {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("page lacks %q: %s", s, p)
		}
	}
}

func wantSignInRedirect(t testing.TB, p pageRes) {
	t.Helper()
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/console/sign-in") {
		t.Fatalf("want a redirect to the sign-in page: %s", p)
	}
}

// consolePath fills a console route's parameters with values that exist.
func (e *env) consolePath(route string) string {
	file := ""
	for name := range e.srv.console.assets {
		file = name
		break
	}
	return strings.NewReplacer(":serial", "S1", ":sku", "M1", ":batch", "B1", ":file", file).Replace(route)
}

func TestEveryConsoleRouteIsInTheConsoleMatrix(t *testing.T) {
	e := newEnv(t)
	var routed []string
	for _, r := range e.srv.echo.Routes() {
		if isConsole(r.Path) {
			routed = append(routed, r.Method+" "+r.Path)
		}
	}
	var rows []string
	for _, r := range consoleAccess {
		if !isConsole(r.Path) {
			t.Errorf("console matrix row %s %s is not under %s", r.Method, r.Path, consolePrefix)
		}
		rows = append(rows, r.Method+" "+r.Path)
	}
	slices.Sort(routed)
	slices.Sort(rows)
	if !slices.Equal(routed, rows) {
		t.Fatalf("routed console pages\n%v\ndiffer from the console matrix\n%v", routed, rows)
	}
	for _, r := range access {
		if isConsole(r.Path) {
			t.Errorf("API matrix row %s %s is a console path", r.Method, r.Path)
		}
	}
}

// TestConsoleRoleMatrix drives every console route without a session and
// with a session of each role: no session goes to the sign-in page, a role
// not in the row gets the 403 page, a role in it gets past the check.
func TestConsoleRoleMatrix(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	tokens := map[registry.Role]string{registry.RoleAdmin: e.admin, registry.RoleWarehouse: e.warehouse, registry.RoleService: e.service}
	send := func(b *browser, r rule) pageRes {
		path := e.consolePath(r.Path)
		if r.Method == "GET" {
			return b.get(path)
		}
		// An empty form of the page: refused by the handler if it gets
		// there, never written.
		return b.post(path, url.Values{"type": {"shipped"}, "key": {"nope"}})
	}
	// refused tells the middleware's refusals (a role's 403 page, the
	// redirect to sign in) from the pages' own answers (a form refused, the
	// sign-out's redirect).
	refused := func(p pageRes) bool {
		loc := p.Header.Get("Location")
		return p.Status == http.StatusForbidden && strings.Contains(p.Body, "may not use") ||
			p.Status == http.StatusSeeOther && strings.HasPrefix(loc, "/console/sign-in") && !strings.HasSuffix(loc, "ended=signed-out")
	}
	for _, r := range consoleAccess {
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			anon := e.browser()
			anon.get("/console/sign-in") // the sign-in form's token, for POST /console/sign-in
			res := send(anon, r)
			if r.Roles == nil {
				if refused(res) {
					t.Fatalf("public console route refused without a session: %s", res)
				}
			} else {
				wantSignInRedirect(t, res)
			}
			for _, role := range allRoles {
				b := e.browser()
				b.mustSignIn(tokens[role])
				res := send(b, r)
				allowed := r.Roles == nil || slices.Contains(r.Roles, role)
				switch {
				case allowed && refused(res):
					t.Errorf("%s key refused: %s", role, res)
				case !allowed:
					wantPage(t, res, http.StatusForbidden, "Not allowed", "The role "+map[registry.Role]string{
						registry.RoleWarehouse: "Warehouse", registry.RoleService: "Service centre"}[role]+" may not use")
				}
			}
		})
	}
	rec, _ := e.db.Get("S1")
	if len(rec.History) != 0 {
		t.Fatalf("the matrix test wrote events: %+v", rec.History)
	}
}

func TestConsoleNavigationFollowsTheMatrix(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		token      string
		home       string
		see, avoid []string
	}{
		{e.warehouse, "/console/batches", []string{`href="/console/batches"`, `href="/console/models"`, `href="/console/dispatch"`}, []string{`href="/console/desk"`, `href="/console/queue"`}},
		{e.service, "/console/desk", []string{`href="/console/desk"`, `href="/console/queue"`}, []string{`href="/console/models"`, `href="/console/dispatch"`}},
		{e.admin, "/console/desk", []string{`href="/console/desk"`, `href="/console/models"`, `href="/console/queue"`, `href="/console/dispatch"`}, nil},
	} {
		b := e.browser()
		p := b.signIn(tc.token)
		if p.Header.Get("Location") != tc.home {
			t.Fatalf("home %q, want %q", p.Header.Get("Location"), tc.home)
		}
		p = b.follow(p)
		wantPage(t, p, http.StatusOK, tc.see...)
		for _, s := range tc.avoid {
			if strings.Contains(p.Body, s) {
				t.Errorf("%s sees %s", tc.home, s)
			}
		}
	}
}

func TestConsoleSessionCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprint("SecureCookies=", secure), func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.SecureCookies = secure })
			b := e.browser()
			p := b.get("/console/sign-in")
			pre := setCookie(t, p, signInCookie)
			p = b.post("/console/sign-in", e.login(e.service))
			if p.Status != http.StatusSeeOther {
				t.Fatalf("sign-in: %s", p)
			}
			sess := setCookie(t, p, sessionCookie)
			// The session's cookie reaches the public pages too (a staff
			// check is not counted); the sign-in form's stays in the console.
			for ck, path := range map[*http.Cookie]string{pre: "/console", sess: "/"} {
				if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != path || ck.Secure != secure {
					t.Errorf("cookie %s: HttpOnly %v SameSite %v Path %q Secure %v", ck.Name, ck.HttpOnly, ck.SameSite, ck.Path, ck.Secure)
				}
			}
			if sess.MaxAge != int(sessionTTL/time.Second) || !wellFormed(sess.Value) {
				t.Errorf("session cookie Max-Age %d value %q", sess.MaxAge, sess.Value)
			}
			if strings.Contains(sess.Value, strings.Split(e.service, ".")[0]) {
				t.Error("the session cookie carries the key")
			}
		})
	}
}

// setCookie returns the cookie name set by p.
func setCookie(t testing.TB, p pageRes, name string) *http.Cookie {
	t.Helper()
	for _, ck := range (&http.Response{Header: p.Header}).Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	t.Fatalf("no Set-Cookie %s: %v", name, p.Header["Set-Cookie"])
	return nil
}

func TestConsoleSignIn(t *testing.T) {
	e := newEnv(t)
	revoked := mustKey(t, e.db, "gone", registry.RoleService)
	if err := e.db.RevokeKey(registry.Actor{Name: "test"}, strings.Split(revoked, ".")[0]); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		key    string
		token  func(b *browser) string
		status int
		text   string
	}{
		{"an unknown key is refused", "abcdefghijkl.nope", nil, http.StatusUnauthorized, "That key was not accepted: invalid API key"},
		{"a malformed key is refused", "garbage", nil, http.StatusUnauthorized, "expected &lt;id&gt;.&lt;secret&gt;"},
		{"a revoked key is refused", revoked, nil, http.StatusUnauthorized, "was revoked"},
		{"a form without its token is refused", e.service, func(*browser) string { return "" }, http.StatusForbidden, "sign-in form had expired"},
		{"a form with another form's token is refused", e.service, func(*browser) string { return token() }, http.StatusForbidden, "sign-in form had expired"},
		{"a service key is refused: keys sign in admins only", e.service, nil, http.StatusForbidden, "Only admins sign in with an API key"},
		{"a warehouse key is refused: keys sign in admins only", e.warehouse, nil, http.StatusForbidden, "Only admins sign in with an API key"},
		{"an admin key signs in", e.admin, nil, http.StatusSeeOther, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			b.get("/console/sign-in")
			form := url.Values{"key": {tc.key}}
			if tc.token != nil {
				form.Set("csrf", tc.token(b))
			}
			p := b.post("/console/sign-in", form)
			wantPage(t, p, tc.status, tc.text)
			_, hasSession := (&http.Response{Header: p.Header}).Header["Set-Cookie"]
			if tc.status != http.StatusSeeOther && hasSession && strings.Contains(strings.Join(p.Header["Set-Cookie"], ";"), sessionCookie+"=") {
				t.Errorf("a refused sign-in set a session cookie: %v", p.Header["Set-Cookie"])
			}
		})
	}
}

func TestConsoleSignInFromTwoTabs(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.get("/console/sign-in")
	first := b.csrf
	b.get("/console/sign-in") // a second tab
	if b.csrf != first {
		t.Fatal("a second sign-in page invalidated the first one's form")
	}
	p := b.post("/console/sign-in", with(e.login(e.service), "csrf", first))
	if p.Status != http.StatusSeeOther {
		t.Fatalf("sign-in from the first tab: %s", p)
	}
}

func TestConsoleSignInGoesBackToThePageAskedFor(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	b := e.browser()
	p := b.get("/console/items/S1?x=1")
	wantSignInRedirect(t, p)
	p = b.follow(p)
	if !strings.Contains(p.Body, `name="next" value="/console/items/S1?x=1"`) {
		t.Fatalf("the sign-in form does not carry the page asked for: %s", p)
	}
	p = b.post("/console/sign-in", with(e.login(e.service), "next", "/console/items/S1?x=1"))
	if p.Header.Get("Location") != "/console/items/S1?x=1" {
		t.Fatalf("after sign-in: %s", p)
	}
}

func TestScannedList(t *testing.T) {
	for _, tc := range []struct {
		text    string
		serials []string
		lines   []int
		repeats int
	}{
		{"S1\nS2\n", []string{"S1", "S2"}, []int{1, 2}, 0},
		{"S1\r\n\r\nS2\r\nS1\r\n", []string{"S1", "S2"}, []int{1, 3}, 1},
		{"S1, S2;S3\tS4", []string{"S1", "S2", "S3", "S4"}, []int{1, 1, 1, 1}, 0},
		{"https://w.example.com/c/S9?k=ABCD2345\n", []string{"S9"}, []int{1}, 0},
		{" \n \n", nil, nil, 0},
	} {
		serials, lines, repeats := scannedList(tc.text)
		if !slices.Equal(serials, tc.serials) || !slices.Equal(lines, tc.lines) || repeats != tc.repeats {
			t.Errorf("scannedList(%q) = %q %v %d, want %q %v %d", tc.text, serials, lines, repeats, tc.serials, tc.lines, tc.repeats)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ next, want string }{
		{"/console/items/S1", "/console/items/S1"},
		{"/console/queue?center=SH", "/console/queue?center=SH"},
		{"/console", "/console"},
		{"", ""},
		{"https://evil.example/console", ""},
		{"//evil.example/console", ""},
		{"/console//evil.example", ""},
		{`/console\evil`, ""},
		{"/api/v1/keys", ""},
		{"/consolex", ""},
		{"/console/sign-in", ""},
		{"/console/sign-out", ""},
		{"/console/../api/v1/keys", ""},
		{"/console/./desk", ""},
		{"javascript:alert(1)", ""},
	} {
		if got := safeNext(tc.next); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}

// TestConsoleCSRF checks every console form route refuses a POST without
// the session's token, with another session's, or with a forged one, and
// writes nothing; with the right token the same request goes through.
func TestConsoleCSRF(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	b := e.browser()
	b.mustSignIn(e.admin)
	other := e.browser()
	other.mustSignIn(e.admin)
	intake := url.Values{"type": {"intake"}, "center": {"SH"}}
	for _, tc := range []struct {
		name   string
		csrf   string
		status int
	}{
		{"no token", "", http.StatusForbidden},
		{"another session's token", other.csrf, http.StatusForbidden},
		{"a forged token", token(), http.StatusForbidden},
		{"the token cut short", b.csrf[:20], http.StatusForbidden},
		{"the session's token", b.csrf, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range intake {
				f[k] = v
			}
			if tc.csrf != "" {
				f.Set("csrf", tc.csrf)
			}
			p := b.postRaw("/console/items/S1/events", f)
			if p.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", p.Status, tc.status, p)
			}
			rec, _ := e.db.Get("S1")
			if wrote := len(rec.History) > 0; wrote != (tc.status == http.StatusSeeOther) {
				t.Fatalf("history %+v after a %d", rec.History, p.Status)
			}
			if tc.status == http.StatusForbidden && !strings.Contains(p.Body, "security token is missing or stale") {
				t.Fatalf("403 page does not say why: %s", p)
			}
		})
	}
	// Every POST route checks the token, not only the event form.
	for _, r := range consoleAccess {
		if r.Method != "POST" || r.Roles == nil {
			continue
		}
		p := b.postRaw(e.consolePath(r.Path), url.Values{"order": {"O1"}, "sku": {"X1"}, "name": {"x"}, "kind": {"product"}})
		if p.Status != http.StatusForbidden {
			t.Errorf("POST %s without a token: %s", r.Path, p)
		}
	}
}

func TestValidToken(t *testing.T) {
	tok := token()
	for _, tc := range []struct {
		expected, got string
		ok            bool
	}{
		{tok, tok, true},
		{tok, "", false},
		{"", "", false},
		{tok, tok + "x", false},
		{tok, strings.ToUpper(tok), tok == strings.ToUpper(tok)},
	} {
		if validToken(tc.expected, tc.got) != tc.ok {
			t.Errorf("validToken(%q, %q) != %v", tc.expected, tc.got, tc.ok)
		}
	}
}

func TestConsoleSessionEnds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		end   func(e *env, b *browser)
		ended string
	}{
		{"when its admin key is revoked through the API", func(e *env, b *browser) {
			must(e.t, e.do(req{Method: "POST", Path: "/api/v1/keys", Token: e.admin, Body: map[string]any{"name": "root 2", "role": "admin"}}), http.StatusCreated)
			b.post("/console/sign-out", nil)
			b.mustSignIn(e.admin)
			id := strings.Split(e.admin, ".")[0]
			must(e.t, e.do(req{Method: "DELETE", Path: "/api/v1/keys/" + id, Token: e.admin}), http.StatusNoContent)
		}, ""},
		{"when the person is disabled through the API", func(e *env, b *browser) {
			must(e.t, e.do(req{Method: "PATCH", Path: "/api/v1/users/desk-sh", Token: e.admin, Body: map[string]any{"disabled": true}}), http.StatusOK)
		}, ""},
		{"when the person's password is reset through the API", func(e *env, b *browser) {
			must(e.t, e.do(req{Method: "PATCH", Path: "/api/v1/users/desk-sh", Token: e.admin, Body: map[string]any{"password": "a new password"}}), http.StatusOK)
		}, ""},
		{"after twelve hours however busy", func(e *env, b *browser) {
			e.clock.Add(sessionTTL - time.Minute)
			wantPage(e.t, b.get("/console/desk"), http.StatusOK)
			e.clock.Add(time.Minute)
		}, ""},
		{"on sign-out", func(e *env, b *browser) {
			p := b.post("/console/sign-out", nil)
			if p.Header.Get("Location") != "/console/sign-in?ended=signed-out" {
				e.t.Fatalf("sign-out: %s", p)
			}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.browser()
			b.mustSignIn(e.service)
			wantPage(t, b.get("/console/desk"), http.StatusOK)
			tc.end(e, b)
			p := b.get("/console/desk")
			wantSignInRedirect(t, p)
			if tc.ended != "" && !strings.Contains(p.Header.Get("Location"), "ended="+tc.ended) {
				t.Errorf("redirect %s does not say why", p.Header.Get("Location"))
			}
		})
	}
}

// TestConsolePagesAreStrict renders every page and checks the CSP and that
// nothing inline would need 'unsafe-inline'.
func TestConsolePagesAreStrict(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	anon, b := e.browser(), e.browser()
	b.mustSignIn(e.admin)
	pages := []string{"/console/desk", "/console/items/S1", "/console/items/S1/entitlements?finding=quality_problem",
		"/console/queue", "/console/models", "/console/models/M1", "/console/batches", "/console/batches/B1", "/console/dispatch",
		"/console/items/NOPE", "/console/batches/NOPE"}
	inline := regexp.MustCompile(`(?i)<script(?:[^>]*?)>[^<]|<style|\sstyle=|\son[a-z]+=|javascript:`)
	for _, path := range append(pages, "anon:/console/sign-in", "anon:/console/no-such-page") {
		var p pageRes
		if anonPath, ok := strings.CutPrefix(path, "anon:"); ok {
			p = anon.get(anonPath)
		} else {
			p = b.get(path)
		}
		if p.Status >= 500 {
			t.Fatalf("%s: %s", path, p)
		}
		if got := p.Header.Get("Content-Security-Policy"); got != consoleCSP {
			t.Errorf("%s: CSP %q", path, got)
		}
		for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
			if p.Header.Get(h) == "" {
				t.Errorf("%s: no %s", path, h)
			}
		}
		if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, cc)
		}
		if m := inline.FindString(p.Body); m != "" {
			t.Errorf("%s: inline code or style %q", path, m)
		}
		if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: Content-Type %q", path, p.Header.Get("Content-Type"))
		}
	}
	// The static files are content-addressed and cached for good, with
	// the type of their extension whatever the host's MIME database says.
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
	for plain, u := range e.srv.console.assetURL {
		p := b.get(u)
		if p.Status != http.StatusOK || !strings.Contains(p.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: %s", plain, p)
		}
		if got, want := p.Header.Get("Content-Type"), types[path.Ext(plain)]; got != want {
			t.Errorf("%s: Content-Type %q, want %q", plain, got, want)
		}
	}
	wantPage(t, b.get("/console/static/console.css"), http.StatusNotFound)
}

func TestConsoleErrorPages(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	b := e.browser()
	b.mustSignIn(e.service)
	for _, tc := range []struct {
		path   string
		status int
		texts  []string
	}{
		{"/console/no-such-page", 404, []string{"404 — Not Found", "Not found", "Back to the console"}},
		{"/console/items/NOPE", 404, []string{"Serial NOPE is not registered", `id="scan"`}},
		{"/console/items/bad%20serial!", 400, []string{"Serial may hold only", `id="scan"`}},
		{"/console/desk?serial=%E2%9C%93", 400, []string{"Serial may hold only"}},
		{"/console/items/S1/label?format=gif", 400, []string{"format must be png, zpl or pdf"}},
		{"/console/items/S1/label?size=1x1", 400, []string{"size &#34;1x1&#34; is not supported"}},
		{"/console/queue?overdue=maybe", 400, []string{"overdue must be true or false"}},
	} {
		p := b.get(tc.path)
		wantPage(t, p, tc.status, tc.texts...)
		if !strings.Contains(p.Body, `class="bar"`) || !strings.Contains(p.Body, "Sign out") {
			t.Errorf("%s: error page outside the layout", tc.path)
		}
	}
	// A signed-out visitor gets the page without navigation.
	p := e.browser().get("/console/nothing")
	wantPage(t, p, http.StatusNotFound, "Sign in")
}

func TestConsoleDeskOpensScannedSerials(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	b := e.browser()
	b.mustSignIn(e.service)
	for _, scanned := range []string{"S1", " S1\r\n", "https://w.example.com/c/S1?k=ABCD2345", "http://127.0.0.1:8080/01/06901234567892/21/S1?k=X"} {
		p := b.get("/console/desk?serial=" + url.QueryEscape(scanned))
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/items/S1" {
			t.Errorf("scan %q: %s", scanned, p)
		}
	}
	p := b.get("/console/items/S1")
	wantPage(t, p, http.StatusOK, "IMASK Pro", "CB2411", `id="f-intake"`, "Bundled accessories", "Entitlements")
}

// TestConsoleServiceFlow walks a case through the desk forms and checks
// each step reached the registry, and that refusals show the policy's words.
func TestConsoleServiceFlow(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2")
	b := e.browser()
	b.mustSignIn(e.service)
	step := func(form url.Values) pageRes {
		t.Helper()
		b.get("/console/items/S1")
		form.Set("nonce", token())
		return b.post("/console/items/S1/events", form)
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		text   string
	}{
		{"a service step needs an open case", url.Values{"type": {"shipped"}}, 409, "S1 has no open service case: record an intake before shipment"},
		{"an intake needs a centre", url.Values{"type": {"intake"}, "complaint": {"no power"}}, 422, "Service centre is required for intake events"},
		{"a receipt in the future is refused", url.Values{"type": {"received"}, "on": {"2026-12-01"}, "evidence": {"courier"}}, 422, "Date 2026-12-01 is in the future"},
		{"a malformed time names the field", url.Values{"type": {"intake"}, "center": {"SH"}, "at": {"soon"}}, 422, "The time must be a date and time"},
		{"a receipt", url.Values{"type": {"received"}, "on": {"2026-11-05"}, "evidence": {"courier"}}, 303, "Receipt recorded (event #1)."},
		{"an intake", url.Values{"type": {"intake"}, "center": {"SH-1"}, "complaint": {"no power"}, "contact": {"138 0000 0000"}}, 303, "Intake recorded (event #2). Case S1 #2 is due 2026-11-11 10:00."},
		{"a second intake is refused", url.Values{"type": {"intake"}, "center": {"SH-1"}}, 409, "Case S1 #2 is still open"},
		{"an unknown finding", url.Values{"type": {"diagnosed"}, "finding": {"gremlins"}}, 422, "There is no finding “gremlins”"},
		{"an unknown type", url.Values{"type": {"teleported"}}, 422, "type &#34;teleported&#34; is not one of"},
		{"a diagnosis", url.Values{"type": {"diagnosed"}, "finding": {"quality_problem"}, "part": {"battery"}}, 303, "Diagnosis recorded (event #3)."},
		{"a payment needs a quotation", url.Values{"type": {"paid"}, "amount": {"10"}, "currency": {"CNY"}}, 409, "has no quotation"},
		{"a free repair", url.Values{"type": {"repaired"}, "parts": {"battery, strap"}}, 303, "Repair recorded (event #4)."},
		{"a replacement of another model is refused", url.Values{"type": {"replaced"}, "new_serial": {"NOPE"}}, 422, "NOPE is not registered"},
		{"shipped back", url.Values{"type": {"shipped"}, "tracking": {"SF123"}}, 303, "Shipped back recorded (event #5). The case is closed."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := step(tc.form)
			if p.Status == http.StatusSeeOther {
				p = b.follow(p)
				wantPage(t, p, 200, tc.text)
				return
			}
			wantPage(t, p, tc.status, tc.text, `role="alert"`)
			// When the desk offers the form, the refused field is marked.
			offered := strings.Contains(p.Body, `id="f-`+tc.form.Get("type")+`"`)
			if offered && tc.status == 422 && !strings.Contains(p.Body, `aria-invalid="true"`) {
				t.Errorf("the refused field is not marked")
			}
		})
	}
	rec, err := e.db.Get("S1")
	if err != nil {
		t.Fatal(err)
	}
	var types []policy.EventType
	for _, ev := range rec.History {
		types = append(types, ev.Type)
		if ev.By != "desk-sh" {
			t.Errorf("event %d by %q, want the key's name", ev.Seq, ev.By)
		}
	}
	want := []policy.EventType{policy.EvReceived, policy.EvIntake, policy.EvDiagnosed, policy.EvRepaired, policy.EvShipped}
	if !slices.Equal(types, want) {
		t.Fatalf("history %v, want %v", types, want)
	}
	if r := rec.History[3]; r.Paid || !slices.Equal(r.Parts, []string{"battery", "strap"}) {
		t.Errorf("repair %+v", r)
	}
	if c := rec.History[1]; c.Contact != "138 0000 0000" || !c.At.Equal(testNow) {
		t.Errorf("intake %+v", c)
	}
	p := b.get("/console/items/S1")
	wantPage(t, p, 200, "Free repairs</dt><dd>1", "battery", "SF123")
	// The next intake form is prefilled with the centre last used.
	if !strings.Contains(p.Body, `name="center" type="text" value="SH-1"`) {
		t.Errorf("the intake form does not remember the centre")
	}
}

func TestConsoleFormSentTwiceIsRecordedOnce(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	b := e.browser()
	b.mustSignIn(e.service)
	form := url.Values{"type": {"intake"}, "center": {"SH"}, "nonce": {token()}}
	first := b.post("/console/items/S1/events", form)
	second := b.post("/console/items/S1/events", form)
	if first.Status != http.StatusSeeOther || second.Status != http.StatusSeeOther {
		t.Fatalf("first %s\nsecond %s", first, second)
	}
	wantPage(t, b.follow(second), 200, "was already recorded (the form was sent twice)")
	rec, _ := e.db.Get("S1")
	if len(rec.History) != 1 {
		t.Fatalf("%d events for one form", len(rec.History))
	}
	// The same nonce with other values is not a replay.
	form.Set("center", "BJ")
	wantPage(t, b.post("/console/items/S1/events", form), http.StatusConflict, "Idempotency-Key reused with a different request")
}

func TestConsoleEventRolesFollowEventAccess(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	b := e.browser()
	b.mustSignIn(e.service)
	// The desk admits service keys, but a correction is the admin's.
	p := b.post("/console/items/S1/events", url.Values{"type": {"corrected"}, "reason": {"x"}})
	wantPage(t, p, http.StatusForbidden, "accounts may not record correction events")
}

func TestConsoleEntitlements(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	must(t, e.event("S1", e.service, map[string]any{"type": "received", "on": "2026-11-05", "evidence": "courier"}), 201)
	b := e.browser()
	b.mustSignIn(e.service)
	for _, tc := range []struct {
		query  string
		status int
		texts  []string
	}{
		{"finding=no_fault&intact=true&complete=true", 200, []string{"In warranty", `class="remedy">Return (refund)`, "day 5 of 7"}},
		{"finding=quality_problem", 200, []string{`class="remedy">Replacement`, `class="remedy">Free repair`}},
		{"finding=human_damage&intact=true&complete=true", 200, []string{`class="none">No free remedy`, "Paid repair (with a quotation)"}},
		{"finding=quality_problem&accessory=CHG-1", 200, []string{`class="remedy">Replacement`}},
		{"", 422, []string{"Not accepted"}},
		{"finding=gremlins", 400, []string{"There is no finding “gremlins”"}},
		{"finding=quality_problem&on=2026-13-01", 400, []string{"Date 2026-13-01 does not exist: there is no month 13"}},
	} {
		p := b.get("/console/items/S1/entitlements?" + tc.query)
		wantPage(t, p, tc.status, tc.texts...)
	}
}

func TestConsoleQueue(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2", "S3")
	for i, c := range []struct{ serial, center, at string }{
		{"S1", "SH", "2026-11-09T09:00:00+08:00"}, // overdue at 10:00 on the 10th
		{"S2", "BJ", "2026-11-10T09:30:00+08:00"},
		{"S3", "sh", "2026-11-10T08:00:00+08:00"},
	} {
		must(t, e.event(c.serial, e.service, map[string]any{"type": "intake", "center": c.center, "at": c.at}), 201)
		_ = i
	}
	b := e.browser()
	b.mustSignIn(e.service)
	order := func(p pageRes) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<a href="/console/items/(S\d)">`).FindAllStringSubmatch(p.Body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"S1", "S3", "S2"}},
		{"?center=SH", []string{"S1", "S3"}},
		{"?overdue=true", []string{"S1"}},
		{"?center=BJ&overdue=true", nil},
	} {
		p := b.get("/console/queue" + tc.query)
		wantPage(t, p, 200, `http-equiv="refresh"`)
		if got := order(p); !slices.Equal(got, tc.want) {
			t.Errorf("queue%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	p := b.get("/console/queue")
	wantPage(t, p, 200, `<tr class="overdue">`, "overdue by 1 h 00 min", "in 23 h 30 min")
	if strings.Count(p.Body, `<tr class="overdue">`) != 1 {
		t.Errorf("want one overdue row")
	}
	wantPage(t, b.get("/console/desk"), 200, "3 open cases", "1 overdue")
}

func TestConsoleModels(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.mustSignIn(e.warehouse)
	b.get("/console/models")
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		text   string
	}{
		{"a bad GTIN check digit", url.Values{"sku": {"M1"}, "name": {"IMASK Pro"}, "kind": {"product"}, "gtin": {"6901234567891"}}, 422, "The GTIN check digit is 1; 2 was expected"},
		{"months must be a number", url.Values{"sku": {"M1"}, "name": {"IMASK Pro"}, "kind": {"product"}, "warranty_months": {"twelve"}}, 422, "The warranty must be a whole number of months"},
		{"a name is required", url.Values{"sku": {"M1"}, "kind": {"product"}}, 422, "Name is required"},
		{"a model is created", url.Values{"sku": {"M1"}, "name": {"IMASK Pro"}, "kind": {"product"}, "gtin": {"6901234567892"}, "warranty_months": {"24"}}, 303, "Model M1 (IMASK Pro) created."},
		{"the new-model form does not replace it", url.Values{"sku": {"M1"}, "name": {"Other"}, "kind": {"product"}}, 409, "Model M1 (IMASK Pro) exists already"},
		{"its edit form does", url.Values{"sku": {"M1"}, "name": {"IMASK Pro 2"}, "kind": {"product"}, "editing": {"1"}}, 303, "Model M1 (IMASK Pro 2) updated."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.post("/console/models", tc.form)
			if p.Status == http.StatusSeeOther {
				p = b.follow(p)
				wantPage(t, p, 200, tc.text)
				return
			}
			wantPage(t, p, tc.status, tc.text, `aria-invalid="true"`)
		})
	}
	m, err := e.db.Model("M1")
	if err != nil || m.Name != "IMASK Pro 2" || m.GTIN != "" || m.WarrantyMonths != 0 {
		t.Fatalf("model %+v %v", m, err)
	}
	wantPage(t, b.get("/console/models/M1"), 200, `value="IMASK Pro 2"`, "readonly", "Save M1")
	wantPage(t, b.get("/console/models/NOPE"), 404, "no model NOPE")
}

func TestConsoleUpload(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	b := e.browser()
	b.mustSignIn(e.warehouse)
	b.get("/console/batches")
	for _, bad := range []struct{ csv, text string }{
		{"serial,sku,batch,produced_on\nS1,M1,B1,2026-10-01\nS 2,M1,B1,2026-10-01\nS3,M1,B1,2026-13-01\n", "Serial may hold only"},
		{"serial,sku,batch,produced_on\nS1,M1,B1,2026-10-01\nS2,NOPE,B1,2026-10-01\nS3,M1,B1,2026-12-01\n", "no model NOPE: create the model first"},
	} {
		p := b.upload(bad.csv, "utf-8")
		wantPage(t, p, 422, "2 row(s) rejected; nothing was written", bad.text, "<td class=\"num\">2</td>", "<td class=\"num\">3</td>")
		if _, err := e.db.Get("S1"); policy.ErrorCode(err) != policy.ENotFound {
			t.Fatalf("a rejected upload wrote S1: %v", err)
		}
	}
	// Every bad row at once, format and reference errors, with its file line.
	wantPage(t, b.upload("serial,sku,batch,produced_on\nS1,M1,B1,2026-02-30\n\nS2,NOPE,B1,\n", "utf-8"), 422,
		"month 2 of 2026 has 28 days", "no model NOPE", `<th scope="col">Line</th>`,
		`<td class="num">1</td><td class="num">2</td>`, `<td class="num">2</td><td class="num">4</td>`)
	wantPage(t, b.upload("serial,nope\n", "utf-8"), 400, "serial")
	wantPage(t, b.upload("serial,sku,batch\n", "latin-9"), 400, "charset")
	good := "\ufeffserial,sku,batch,produced_on,accessories\nS1,M1,B1,2026-10-01,CHG-1:CB2411\nS2,M1,B1,2026-10-01,\n"
	p := b.upload(good, "utf-8")
	if p.Header.Get("Location") != "/console/batches/B1" {
		t.Fatalf("upload: %s", p)
	}
	wantPage(t, b.follow(p), 200, "Registered 2 new serials in batch B1.", "S1", "S2", `id="f-labels"`)
	p = b.follow(b.upload(good, "utf-8"))
	wantPage(t, p, 200, "Registered 0 new serials in batch B1; 2 already registered with the same data.")
	wantPage(t, b.get("/console/batches/CB2411"), 200, "Carried by", "S1", "nothing to label")
}

func TestConsoleLabels(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PublicURL = "https://w.example.com" })
	e.seedModels()
	e.register("B1", "S1", "S2")
	b := e.browser()
	b.mustSignIn(e.warehouse)
	for _, tc := range []struct {
		path, ctype, prefix string
	}{
		{"/console/batches/B1/labels?format=pdf", "application/pdf", "%PDF"},
		{"/console/batches/B1/labels?format=zpl&size=60x40&dpi=300", "text/plain", "^XA"},
		{"/console/items/S1/label?format=pdf", "application/pdf", "%PDF"},
		{"/console/items/S1/label?format=zpl", "text/plain", "^XA"},
		{"/console/items/S1/label?format=png", "image/png", "\x89PNG"},
	} {
		p := b.get(tc.path)
		if p.Status != 200 || !strings.HasPrefix(p.Header.Get("Content-Type"), tc.ctype) || !strings.HasPrefix(p.Body, tc.prefix) {
			t.Errorf("%s: %d %s %q", tc.path, p.Status, p.Header.Get("Content-Type"), p.Body[:min(len(p.Body), 40)])
		}
		if !strings.HasPrefix(p.Header.Get("Content-Disposition"), "attachment;") {
			t.Errorf("%s: Content-Disposition %q", tc.path, p.Header.Get("Content-Disposition"))
		}
	}
	zpl := b.get("/console/batches/B1/labels?format=zpl").Body
	if n := strings.Count(zpl, "^XA"); n != 2 || !strings.Contains(zpl, "w.example.com/c/S2?k=") {
		t.Errorf("ZPL of the batch: %d labels\n%s", n, zpl)
	}
	wantPage(t, b.get("/console/batches/B1/labels?format=gif"), 422, "format must be pdf, zpl or png")
	wantPage(t, b.get("/console/batches/B1/labels?format=zpl&size=1x1"), 422, "size &#34;1x1&#34; is not supported")
	wantPage(t, b.get("/console/batches/B1/labels?format=pdf&after=S2"), 404, "Batch B1 has no serials in use after S2 to label")
	wantPage(t, b.get("/console/batches/NOPE/labels?format=pdf"), 404, "Batch NOPE has no registered serials")
}

func TestConsoleDispatch(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2")
	e.register("B2", "S3")
	b := e.browser()
	b.mustSignIn(e.warehouse)
	b.get("/console/dispatch")
	p := b.post("/console/dispatch", url.Values{"serials": {"S1\nS1\n\nNOPE\n"}, "order": {"O-1"}, "on": {"2026-11-02"}, "nonce": {token()}})
	wantPage(t, p, 422, "Serial NOPE is not registered", "<td class=\"num\">4</td>") // line 4 of the list
	if rec, _ := e.db.Get("S1"); len(rec.History) != 0 {
		t.Fatal("a refused dispatch wrote S1")
	}
	wantPage(t, b.post("/console/dispatch", url.Values{"serials": {"S1"}, "on": {""}}), 422, "The dispatch date is required")
	wantPage(t, b.post("/console/dispatch", url.Values{"serials": {" \n "}, "on": {"2026-11-02"}}), 422, "Scan or type at least one serial")
	p = b.follow(b.post("/console/dispatch", url.Values{"serials": {"S3\r\nS3\r\n"}, "order": {"O-2"}, "on": {"2026-11-02"}, "nonce": {token()}}))
	wantPage(t, p, 200, "Dispatched 1 serial under order O-2 (1 repeated scan ignored).")
	p = b.post("/console/dispatch", url.Values{"batch": {"B1"}, "order": {"O-1"}, "on": {"2026-11-02"}, "nonce": {token()}})
	if p.Header.Get("Location") != "/console/batches/B1" {
		t.Fatalf("batch dispatch: %s", p)
	}
	wantPage(t, b.follow(p), 200, "Dispatched 2 serials under order O-1.")
	for _, s := range []string{"S1", "S2", "S3"} {
		rec, _ := e.db.Get(s)
		if len(rec.History) != 1 || rec.History[0].Type != policy.EvDispatched {
			t.Errorf("%s: %+v", s, rec.History)
		}
	}
	// Receipt by order starts every serial of the order.
	p = b.follow(b.post("/console/receipts", url.Values{"order": {"O-1"}, "on": {"2026-11-05"}, "evidence": {"courier"}, "nonce": {token()}}))
	wantPage(t, p, 200, "Receipt on 2026-11-05 recorded for 2 serials of order O-1")
	wantPage(t, b.post("/console/receipts", url.Values{"order": {"O-9"}, "on": {"2026-11-05"}, "evidence": {"courier"}}), 404, "O-9")
	wantPage(t, b.post("/console/receipts", url.Values{"order": {"O-2"}, "on": {"2026-11-05"}, "evidence": {"pigeon"}}), 422, "evidence must be courier, invoice or customer")
}

// TestConsoleLabelFilesOfALargeBatch checks a batch past MaxLabels is
// split into files of MaxLabels members and that a later file holds the
// rest.
func TestConsoleLabelFilesOfALargeBatch(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	rows := make([]registry.Row, MaxLabels+5)
	for i := range rows {
		rows[i] = registry.Row{Serial: fmt.Sprintf("L%06d", i), SKU: "M1", Batch: "BIG"}
	}
	if _, err := e.db.Register(registry.Actor{Name: "test"}, rows); err != nil {
		t.Fatal(err)
	}
	members, err := e.srv.memberStates("BIG")
	if err != nil {
		t.Fatal(err)
	}
	ranges := labelRanges(members)
	last := fmt.Sprintf("L%06d", MaxLabels-1)
	want := []labelRange{{"", "L000000", last, MaxLabels}, {last, fmt.Sprintf("L%06d", MaxLabels), fmt.Sprintf("L%06d", MaxLabels+4), 5}}
	if !slices.Equal(ranges, want) {
		t.Fatalf("ranges %+v, want %+v", ranges, want)
	}
	b := e.browser()
	b.mustSignIn(e.warehouse)
	wantPage(t, b.get("/console/batches/BIG"), 200, `<option value="`+last+`">L010000 – L010004 (5)</option>`)
	p := b.get("/console/batches/BIG/labels?format=zpl&after=" + last)
	if p.Status != 200 || strings.Count(p.Body, "^XA") != 5 || !strings.Contains(p.Header.Get("Content-Disposition"), "labels-L010000-L010004.zpl") {
		t.Fatalf("the second file: %d %v %d labels", p.Status, p.Header, strings.Count(p.Body, "^XA"))
	}
}
