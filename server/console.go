package server

// The staff console: a server-rendered web desk under /console for the
// warehouse (models, batch registration, labels, dispatch) and the service
// centre (scan desk, service events, entitlements, open-case queue). It
// writes through the same registry calls and validates with the same policy
// rules as the API; only the authentication differs (a session cookie made
// by signing in with an API key, see console_session.go) and the errors are
// pages in the console's layout instead of JSON. Who may open which page is
// the consoleAccess table in auth.go.

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/server/locale"
)

//go:embed web/console
var consoleFiles embed.FS

// consolePrefix is where the console lives; its cookies are scoped to it.
const consolePrefix = "/console"

// consoleCSP allows only the console's own script and style files: no inline
// script, no inline style, no plug-ins, no framing, forms posting only back
// to the console.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// consoleState is the console's part of a Server.
type consoleState struct {
	pages    map[*locale.Lang]map[string]*template.Template // by language, then page file name
	assets   map[string]consoleAsset                        // by content-hashed name
	assetURL map[string]string                              // plain name -> /console/static/<hashed name>
	signIns  *backoff                                       // failed sign-ins, per username and address
	hashing  chan struct{}                                  // slots for password hashes running at once
}

// consoleAsset is an embedded static file served under a content-hashed
// name, so it can be cached for good and a new build is fetched at once.
type consoleAsset struct {
	body        []byte
	contentType string
}

// consolePages are the page templates; each defines "content" inside the
// layout.
var consolePages = []string{"signin.html", "error.html", "models.html", "batches.html", "batch.html",
	"dispatch.html", "desk.html", "queue.html", "users.html", "quality.html"}

// consoleTypes are the Content-Types of the console's static files by
// extension: a fixed table rather than mime.TypeByExtension, which loads
// the host's MIME database for two types. That database stayed in the heap
// for the life of the process (over 400 KB, a quarter of serve's live heap,
// marked again at every collection) and its answers vary with the host.
var consoleTypes = map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

// newConsole loads the console's templates and static files.
func (s *Server) newConsole() (*consoleState, error) {
	st := &consoleState{pages: map[*locale.Lang]map[string]*template.Template{}, assets: map[string]consoleAsset{},
		assetURL: map[string]string{}, signIns: newBackoff(s.now),
		hashing: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))}
	static, err := fs.Sub(consoleFiles, "web/console/static")
	if err != nil {
		return nil, err
	}
	err = fs.WalkDir(static, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(static, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ct, ok := consoleTypes[ext]
		if !ok {
			return fmt.Errorf("%s: no content type for %q files in consoleTypes", name, ext)
		}
		st.assets[hashed] = consoleAsset{body: body, contentType: ct}
		st.assetURL[name] = consolePrefix + "/static/" + hashed
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("server: console static files: %w", err)
	}
	// Each page is parsed once per language with that language's "t"
	// bound, so a request only picks its set.
	for _, l := range locale.Langs {
		base, err := template.New("layout.html").Funcs(consoleFuncs(st, l)).ParseFS(consoleFiles, "web/console/layout.html")
		if err != nil {
			return nil, fmt.Errorf("server: console layout: %w", err)
		}
		st.pages[l] = map[string]*template.Template{}
		for _, name := range consolePages {
			t, err := template.Must(base.Clone()).ParseFS(consoleFiles, "web/console/"+name)
			if err != nil {
				return nil, fmt.Errorf("server: console page %s: %w", name, err)
			}
			st.pages[l][name] = t
		}
	}
	return st, nil
}

// routeConsole registers every row of consoleAccess with its handler behind
// the session middleware. Errors: a row without a handler or a handler
// without a row (a programming error caught at start), a broken template.
func (s *Server) routeConsole(e *echo.Echo) error {
	st, err := s.newConsole()
	if err != nil {
		return err
	}
	s.console = st
	handlers := s.consoleHandlers()
	for _, r := range consoleAccess {
		key := r.Method + " " + r.Path
		h, ok := handlers[key]
		if !ok {
			return fmt.Errorf("server: console matrix lists %s but no handler serves it", key)
		}
		delete(handlers, key)
		e.Add(r.Method, r.Path, h, s.consoleAuth(r.Roles))
		s.routes[r.Path] = true
	}
	for key := range handlers {
		return fmt.Errorf("server: console handler for %s has no row in the console matrix", key)
	}
	return nil
}

// consoleHandlers maps each row of consoleAccess to its handler.
func (s *Server) consoleHandlers() map[string]echo.HandlerFunc {
	return map[string]echo.HandlerFunc{
		"GET /console/static/:file": s.consoleStatic,
		"GET /console/sign-in":      s.consoleSignInPage,
		"POST /console/sign-in":     s.consoleSignIn,
		"POST /console/sign-out":    s.consoleSignOut,
		"GET /console":              s.consoleHome,

		"GET /console/models":                       s.consoleModels,
		"GET /console/models/:sku":                  s.consoleModel,
		"POST /console/models":                      s.consolePutModel,
		"GET /console/batches":                      s.consoleBatches,
		"POST /console/batches":                     s.consoleUpload,
		"GET /console/batches/:batch":               s.consoleBatch,
		"GET /console/batches/:batch/labels":        s.consoleBatchLabels,
		"POST /console/batches/:batch/notice":       s.consolePutNotice,
		"POST /console/batches/:batch/notice/clear": s.consoleClearNotice,
		"GET /console/dispatch":                     s.consoleDispatchPage,
		"POST /console/dispatch":                    s.consoleDispatch,
		"POST /console/receipts":                    s.consoleReceiveOrder,
		"GET /console/items/:serial/label":          s.itemLabel, // the API's reprint, errors as pages
		"GET /console/quality":                      s.consoleQuality,

		"GET /console/desk":                       s.consoleDesk,
		"GET /console/items/:serial":              s.consoleItem,
		"POST /console/items/:serial/events":      s.consoleEvent,
		"GET /console/items/:serial/entitlements": s.consoleEntitlements,
		"GET /console/queue":                      s.consoleQueue,

		"GET /console/users":            s.consoleUsers,
		"POST /console/users":           s.consoleCreateUser,
		"POST /console/users/:username": s.consoleUpdateUser,
	}
}

// mayOpen reports whether role may use method path by consoleAccess (path
// is the route template). The navigation asks it, so a link is shown only
// to the roles the page admits.
func mayOpen(role registry.Role, method, path string) bool {
	for _, r := range consoleAccess {
		if r.Method == method && r.Path == path {
			return r.Roles == nil || slices.Contains(r.Roles, role)
		}
	}
	return false
}

// isConsole reports whether a request path belongs to the console (its
// errors are pages, not JSON).
func isConsole(p string) bool {
	return p == consolePrefix || strings.HasPrefix(p, consolePrefix+"/")
}

// consoleHeaders are set on every console answer: the strict CSP, no
// sniffing, no framing, no referrer outside, and no caching of staff data.
func consoleHeaders(h http.Header) {
	h.Set("Content-Security-Policy", consoleCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// consoleStatic serves an embedded static file by its content-hashed name,
// cacheable for a year. Codes: 200; 404.
func (s *Server) consoleStatic(c echo.Context) error {
	a, ok := s.console.assets[c.Param("file")]
	if !ok {
		return policy.Errorf(policy.ENotFound, "", "no such console file")
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, a.contentType, a.body)
}

// page is what every console template gets: the layout's fields and the
// page's own data in Body.
type page struct {
	Title  string        // a catalogue key, or words already in the page's language
	Key    registry.Key  // zero when signed out; a person's has their username as Name
	User   registry.User // the person signed in (zero for an admin key)
	CSRF   string        // the session's form token
	Flash  string        // one-time message after a redirect
	Nav    string        // the navigation entry to highlight
	Status int
	Body   any
	Lang   *locale.Lang // the page's language
	Langs  []langLink   // the language switch
}

// langLink is one entry of the language switch: this page (its query
// kept, for a GET) in another language.
type langLink struct {
	*locale.Lang
	URL string
}

// render executes a page template into a buffer (a template failure is a
// 500 page, never half a page) and sends it with status.
func (s *Server) render(c echo.Context, status int, name string, p page) error {
	if sess, ok := sessionOn(c); ok {
		p.Key, p.User = keyOf(c), sess.User
		p.CSRF = cmp.Or(p.CSRF, sess.CSRF)
		if c.Request().Method == http.MethodGet {
			p.Flash = s.takeFlash(sess)
		}
	}
	p.Status = status
	p.Lang = s.lang(c)
	for _, l := range locale.Langs {
		u := url.URL{Path: c.Request().URL.Path}
		q := url.Values{}
		if c.Request().Method == http.MethodGet {
			q = c.Request().URL.Query()
		}
		q.Set("lang", l.Param)
		u.RawQuery = q.Encode()
		p.Langs = append(p.Langs, langLink{l, u.RequestURI()})
	}
	var buf bytes.Buffer
	if err := s.console.pages[p.Lang][name].ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("console page %s: %w", name, err)
	}
	consoleHeaders(c.Response().Header())
	c.Response().Header().Set("Content-Language", p.Lang.Tag)
	return c.HTMLBlob(status, buf.Bytes())
}

// langCookie remembers the language chosen with the switch (?lang=), for
// the console and the public page alike.
const langCookie = "sanbao_lang"

// lang is the language of c's page: ?lang=, remembered in a cookie for a
// year; else the remembered choice; else Accept-Language; Chinese when
// nothing is said.
func (s *Server) lang(c echo.Context) *locale.Lang {
	return s.langOf(c, c.QueryParam("lang"))
}

// langOf is lang with the choice param made on this request.
func (s *Server) langOf(c echo.Context, param string) *locale.Lang {
	remembered := ""
	if ck, err := c.Cookie(langCookie); err == nil {
		remembered = ck.Value
	}
	l := locale.Pick(param, remembered, c.Request().Header.Get("Accept-Language"))
	if chosen := locale.ByParam(param); chosen != nil && locale.ByParam(remembered) != chosen {
		c.SetCookie(&http.Cookie{Name: langCookie, Value: chosen.Param, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.cfg.SecureCookies})
	}
	return l
}

// consoleError renders an error answer as a page in the console's layout,
// with the same code and message the API would send. handleError calls it
// for console paths, so unknown console URLs get a page too.
func (s *Server) consoleError(c echo.Context, status int, d errorDetail) error {
	if _, ok := sessionOn(c); !ok {
		// An unrouted path never ran the session middleware: show the
		// navigation anyway when the visitor is signed in.
		s.attachSession(c)
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden || status >= 500 {
		c.Response().Header().Del("WWW-Authenticate")
	}
	title := "console.status." + strconv.Itoa(status)
	if !locale.EN.Has(title) {
		title = http.StatusText(status)
	}
	return s.render(c, status, "error.html", page{Title: title, Body: struct {
		Detail    errorDetail
		RequestID string
	}{d, requestID(c)}})
}

// consoleFuncs are the template helpers of one language: "t" is the
// catalogue's message of a key (a key the catalogue lacks is shown as
// itself: titles and labels made in Go come in already translated), "label"
// a code of the contract in words, "problem" a refusal's message, "reason"
// a rule that fired.
func consoleFuncs(st *consoleState, l *locale.Lang) template.FuncMap {
	return template.FuncMap{
		"asset": func(name string) string { return st.assetURL[name] },
		"may":   func(role registry.Role, method, path string) bool { return mayOpen(role, method, path) },
		"when":  func(v stamp) string { return clockText(v.t) },
		"date": func(d policy.Date) string {
			if d.IsZero() {
				return "—"
			}
			return d.String()
		},
		"t":          l.T,
		"label":      func(code any) string { return words(l, code) },
		"problem":    func(err *policy.Error) string { return problem(l, err) },
		"rowProblem": func(r policy.RowError) string { return rowProblem(l, r) },
		"field":      func(name string) string { return fieldText(l, name) },
		"reason":     func(r policy.Reason) string { return reasonText(l, r) },
		"bad":        func(err *policy.Error, field string) bool { return err != nil && err.Field == field },
		"isoDate":    func(d policy.Date) string { return d.String() },
	}
}

// reasonText words a rule that fired in l: the catalogue's sentence for its
// code (console.reason.<code>) with the reason's values put in its
// placeholders, {d1} for the first date, {n1} the first number, {w1} the
// first word (shown as recorded), {t1} the first term (a code, in words).
// Dates are shown as the console shows them everywhere.
func reasonText(l *locale.Lang, r policy.Reason) string {
	args := make([]string, 0, 2*(len(r.Dates)+len(r.Nums)+len(r.Words)+len(r.Terms)))
	for i, d := range r.Dates {
		args = append(args, placeholder('d', i), d.String())
	}
	for i, n := range r.Nums {
		args = append(args, placeholder('n', i), strconv.Itoa(n))
	}
	for i, w := range r.Words {
		args = append(args, placeholder('w', i), w)
	}
	for i, t := range r.Terms {
		// A code's words start a label ("Human damage"), a term sits
		// inside a sentence.
		w := words(l, t)
		if first, n := utf8.DecodeRuneInString(w); n > 0 {
			w = string(unicode.ToLower(first)) + w[n:]
		}
		args = append(args, placeholder('t', i), w)
	}
	return strings.NewReplacer(args...).Replace(l.T("console.reason." + r.Code))
}

// placeholder is the i-th (from 0) placeholder of sort c in a reason's
// sentence: {d1}, {n2}...
func placeholder(c byte, i int) string { return "{" + string(c) + strconv.Itoa(i+1) + "}" }

// clockText is an instant as the desk reads it (already in the policy zone).
func clockText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("2006-01-02 15:04")
}

// words turns a code of the contract (a state, status, finding, event type,
// remedy, role or error code) into the words the desk shows in l; unknown
// codes are shown with underscores as spaces.
func words(l *locale.Lang, code any) string {
	c := fmt.Sprint(code)
	if k := "console.code." + c; l.Has(k) {
		return l.T(k)
	}
	return strings.ReplaceAll(c, "_", " ")
}

// formValues returns the submitted form fields (first value of each),
// without the CSRF token and the form nonce.
func formValues(c echo.Context) (map[string]string, error) {
	params, err := c.FormParams()
	if err != nil {
		return nil, bodyReadError(err)
	}
	out := make(map[string]string, len(params))
	for k, v := range params {
		if k == csrfField || k == nonceField || len(v) == 0 {
			continue
		}
		out[k] = v[0]
	}
	return out, nil
}

// refused splits an error: a rule's refusal (shown beside the form, with
// its HTTP status) or a failure (returned, for the error page).
func refused(err error) (*policy.Error, int, bool) {
	status, _ := classify(err, "")
	var pe *policy.Error
	if !errors.As(err, &pe) || status >= 500 {
		return nil, 0, false
	}
	return pe, status, true
}
