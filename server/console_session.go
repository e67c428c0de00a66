package server

// Console sessions. Signing in with an API key makes a session kept in
// memory on the server; the browser holds only its random id in a cookie
// (HttpOnly, SameSite=Strict, Path=/console, Secure under
// Config.SecureCookies). A session lasts sessionTTL from sign-in, however
// busy (absolute, not sliding: a desk left signed in ends with the shift),
// and a restart of the server signs everyone out. Every request re-reads
// the key (registry.KeyByID), so revoking a key (DELETE /api/v1/keys/{id})
// ends its console sessions at their next request, and the key's role, not
// the session, decides what is allowed. Every form carries the session's
// CSRF token in a hidden field, compared in constant time; the sign-in form,
// made before there is a session, is tied to a short-lived cookie of its
// own the same way.

import (
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

const (
	sessionCookie = "sanbao_console"
	signInCookie  = "sanbao_signin"
	// sessionTTL is how long a sign-in lasts: one working shift.
	sessionTTL = 12 * time.Hour
	// signInTTL is how long a sign-in form stays valid.
	signInTTL = time.Hour
	// maxSessions bounds the store; past it the oldest session ends.
	maxSessions = 10_000
	// csrfField and nonceField are the hidden fields of every console form.
	csrfField  = "csrf"
	nonceField = "nonce"
)

// session is one signed-in browser. The key's role is not kept: it is read
// from the registry on every request.
type session struct {
	ID      string
	KeyID   string
	CSRF    string
	Created time.Time
	Expires time.Time
	Flash   string // one-time message shown by the next page
	Center  string // last service centre used, to prefill the intake form
}

// signIn puts a live session and its key on c's request.
func signIn(c echo.Context, sess session, k registry.Key) {
	x := exchangeOf(c)
	x.session, x.signedIn, x.key = sess, true, k
}

// sessionOn is the live session of c's request, if one was signed in.
func sessionOn(c echo.Context) (session, bool) {
	x := exchangeOf(c)
	return x.session, x.signedIn
}

// sessionStore keeps sessions in memory, safe for concurrent use.
type sessionStore struct {
	mu   sync.Mutex
	now  func() time.Time
	max  int // sessions kept at most; maxSessions
	byID map[string]*session
}

func newSessionStore(now func() time.Time) *sessionStore {
	return &sessionStore{now: now, max: maxSessions, byID: map[string]*session{}}
}

// token is 32 random bytes, base64url: a session id or a CSRF token.
func token() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// wellFormed reports whether s looks like a token (anything else is not
// looked up).
func wellFormed(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// create starts a session for keyID. Expired sessions are dropped first;
// when the store is still full the oldest session ends.
func (st *sessionStore) create(keyID string) session {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	var oldest *session
	for id, s := range st.byID {
		switch {
		case !now.Before(s.Expires):
			delete(st.byID, id)
		case oldest == nil || s.Created.Before(oldest.Created):
			oldest = s
		}
	}
	if len(st.byID) >= st.max && oldest != nil {
		delete(st.byID, oldest.ID)
	}
	s := &session{ID: token(), KeyID: keyID, CSRF: token(), Created: now, Expires: now.Add(sessionTTL)}
	st.byID[s.ID] = s
	return *s
}

// get returns the live session with id; an expired one is dropped.
func (st *sessionStore) get(id string) (session, bool) {
	if !wellFormed(id) {
		return session{}, false
	}
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.byID[id]
	if !ok {
		return session{}, false
	}
	if !now.Before(s.Expires) {
		delete(st.byID, id)
		return session{}, false
	}
	return *s, true
}

// end ends one session.
func (st *sessionStore) end(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.byID, id)
}

// endKey ends every session of a key (seen revoked).
func (st *sessionStore) endKey(keyID string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for id, s := range st.byID {
		if s.KeyID == keyID {
			delete(st.byID, id)
		}
	}
}

// update changes a live session in place.
func (st *sessionStore) update(id string, f func(*session)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s, ok := st.byID[id]; ok {
		f(s)
	}
}

// takeFlash returns and clears a session's one-time message.
func (st *sessionStore) takeFlash(id string) string {
	var msg string
	st.update(id, func(s *session) { msg, s.Flash = s.Flash, "" })
	return msg
}

// validToken compares a submitted form token with the expected one in
// constant time; an empty expected token never matches.
func validToken(expected, got string) bool {
	return expected != "" && subtle.ConstantTimeCompare([]byte(expected), []byte(got)) == 1
}

// cookie is a console cookie; maxAge < 0 deletes it.
func (s *Server) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: consolePrefix, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.cfg.SecureCookies, MaxAge: int(maxAge / time.Second)}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	return c
}

// sessionOf is the request's live session from its cookie.
func (s *Server) sessionOf(c echo.Context) (session, bool) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	return s.console.sessions.get(ck.Value)
}

// activeKey returns the session's key when it is still active. A revoked
// or deleted key ends every session of that key. Errors: EUnauthorized
// (revoked), storage errors.
func (s *Server) activeKey(sess session) (registry.Key, error) {
	k, err := s.db.KeyByID(sess.KeyID)
	if err == nil && k.Revoked.IsZero() {
		return k, nil
	}
	if err != nil && policy.ErrorCode(err) != policy.ENotFound {
		return registry.Key{}, err
	}
	s.console.sessions.endKey(sess.KeyID)
	return registry.Key{}, policy.Errorf(policy.EUnauthorized, "", "the key of this session was revoked")
}

// attachSession puts the request's session and key on c when both are
// live, for pages that show who is signed in without requiring it.
func (s *Server) attachSession(c echo.Context) {
	sess, ok := s.sessionOf(c)
	if !ok {
		return
	}
	if k, err := s.activeKey(sess); err == nil {
		signIn(c, sess, k)
	}
}

// consoleAuth returns the middleware of one console route. Public rows
// (nil roles) pass, with the session attached when there is one. The others
// need a live session of an active key, or redirect to the sign-in page;
// a key of another role gets a 403 page; a POST must carry the session's
// CSRF token or gets a 403 page.
func (s *Server) consoleAuth(roles []registry.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if roles == nil {
				s.attachSession(c)
				return next(c)
			}
			sess, ok := s.sessionOf(c)
			if !ok {
				return s.toSignIn(c, "")
			}
			key, err := s.activeKey(sess)
			if policy.ErrorCode(err) == policy.EUnauthorized {
				c.SetCookie(s.cookie(sessionCookie, "", -1))
				return s.toSignIn(c, "revoked")
			}
			if err != nil {
				return err
			}
			signIn(c, sess, key)
			if !slices.Contains(roles, key.Role) {
				return policy.Errorf(policy.EForbidden, "", "A %s key may not use %s. Sign in with a key of another role if you need it.",
					key.Role, section(c.Path()))
			}
			s.extendStream(c)
			if c.Request().Method != http.MethodGet && c.Request().Method != http.MethodHead {
				if !validToken(sess.CSRF, c.FormValue(csrfField)) {
					return policy.Errorf(policy.EForbidden, csrfField,
						"The form was not sent from this console session (its security token is missing or stale). Nothing was recorded; reload the page and try again.")
				}
			}
			return next(c)
		}
	}
}

// section names the part of the console a route belongs to, for the 403
// page.
func section(route string) string {
	switch {
	case strings.HasPrefix(route, "/console/desk"), strings.HasPrefix(route, "/console/queue"),
		strings.HasPrefix(route, "/console/items/:serial/e"), route == "/console/items/:serial":
		return "the service desk"
	case strings.HasPrefix(route, "/console/models"), strings.HasPrefix(route, "/console/batches"),
		strings.HasPrefix(route, "/console/dispatch"), strings.HasPrefix(route, "/console/receipts"):
		return "the warehouse pages"
	}
	return "this page"
}

// toSignIn redirects to the sign-in page, coming back to this page after
// (GET only: a form's data cannot survive the detour). why is a code the
// sign-in page turns into words.
func (s *Server) toSignIn(c echo.Context, why string) error {
	q := url.Values{}
	if c.Request().Method == http.MethodGet {
		q.Set("next", c.Request().URL.RequestURI())
	}
	if why != "" {
		q.Set("ended", why)
	} else if c.Request().Method != http.MethodGet {
		q.Set("ended", "expired")
	}
	target := consolePrefix + "/sign-in"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	consoleHeaders(c.Response().Header())
	return c.Redirect(http.StatusSeeOther, target)
}

// safeNext is the page to go to after signing in: a console path of this
// site, never another host.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !isConsole(u.Path) || path.Clean(u.Path) != u.Path ||
		strings.Contains(next, "//") || strings.ContainsAny(next, "\\\r\n") || strings.HasPrefix(u.Path, consolePrefix+"/sign-") {
		return ""
	}
	return u.RequestURI()
}

// endedWords are the sign-in page's explanations of why a session ended.
var endedWords = map[string]string{
	"revoked":    "The key of your session was revoked. Sign in with an active key.",
	"expired":    "Your session has ended, so nothing was recorded. Sign in again, then repeat the last step.",
	"signed-out": "You are signed out.",
}

type signInBody struct {
	Next    string
	Message string
	Error   string
}

// consoleSignInPage shows the sign-in form (or goes home when already
// signed in). Codes: 200; 303.
func (s *Server) consoleSignInPage(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if _, ok := sessionOn(c); ok {
		return c.Redirect(http.StatusSeeOther, cmp.Or(next, s.home(keyOf(c))))
	}
	return s.signInForm(c, http.StatusOK, signInBody{Next: next, Message: endedWords[c.QueryParam("ended")]})
}

// signInForm renders the sign-in page with a form token tied to its own
// cookie (the one already set, so sign-in pages open in two tabs both work).
func (s *Server) signInForm(c echo.Context, status int, b signInBody) error {
	t := token()
	if ck, err := c.Cookie(signInCookie); err == nil && wellFormed(ck.Value) && status == http.StatusOK {
		t = ck.Value
	}
	c.SetCookie(s.cookie(signInCookie, t, signInTTL))
	return s.render(c, status, "signin.html", page{Title: "Sign in", Body: b, CSRF: t})
}

// consoleSignIn checks the form's token against its cookie and the API key
// against the registry, then starts a session (a new id every time: no
// fixation) and goes to the page asked for or the role's home.
// Codes: 303; 401 (bad key, with the form again); 403 (form token).
func (s *Server) consoleSignIn(c echo.Context) error {
	next := safeNext(c.FormValue("next"))
	ck, err := c.Cookie(signInCookie)
	if err != nil || !validToken(ck.Value, c.FormValue(csrfField)) {
		return s.signInForm(c, http.StatusForbidden, signInBody{Next: next,
			Error: "The sign-in form had expired or was not sent from this console. Try again."})
	}
	key, err := s.db.Authenticate(c.FormValue("key"))
	if err != nil {
		if pe, status, ok := refused(err); ok {
			return s.signInForm(c, status, signInBody{Next: next,
				Error: "That key was not accepted: " + pe.Message + ". Paste the whole key, <id>.<secret>."})
		}
		return err
	}
	if old, ok := s.sessionOf(c); ok {
		s.console.sessions.end(old.ID)
	}
	sess := s.console.sessions.create(key.ID)
	c.SetCookie(s.cookie(sessionCookie, sess.ID, sessionTTL))
	c.SetCookie(s.cookie(signInCookie, "", -1))
	exchangeOf(c).key = key
	consoleHeaders(c.Response().Header())
	return c.Redirect(http.StatusSeeOther, cmp.Or(next, s.home(key)))
}

// consoleSignOut ends the session. Codes: 303.
func (s *Server) consoleSignOut(c echo.Context) error {
	if sess, ok := sessionOn(c); ok {
		s.console.sessions.end(sess.ID)
	}
	c.SetCookie(s.cookie(sessionCookie, "", -1))
	consoleHeaders(c.Response().Header())
	return c.Redirect(http.StatusSeeOther, consolePrefix+"/sign-in?ended=signed-out")
}

// consoleHome goes to the role's first page. Codes: 303.
func (s *Server) consoleHome(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, s.home(keyOf(c)))
}

// home is a role's first console page: the desk for the service centre
// (and admin), the batches for the warehouse.
func (s *Server) home(k registry.Key) string {
	if mayOpen(k.Role, http.MethodGet, "/console/desk") {
		return consolePrefix + "/desk"
	}
	return consolePrefix + "/batches"
}

// flash leaves a one-time message for the session's next page.
func (s *Server) flash(c echo.Context, msg string) {
	if sess, ok := sessionOn(c); ok {
		s.console.sessions.update(sess.ID, func(x *session) { x.Flash = msg })
	}
}
