package server

// Console sessions. People sign in with their username and password (an
// admin may use an API key instead); the session is kept in the registry
// (registry.CreateSession: only the SHA-256 of its id is stored, at most 20
// per person), so a restart keeps everyone signed in, and the browser holds
// only its random id in a cookie (HttpOnly, SameSite=Strict, Secure under
// Config.SecureCookies; Path=/ so that / and the public pages see it too). A session lasts sessionTTL from
// sign-in, however busy (absolute, not sliding: a desk left signed in ends
// with the shift). Every request re-reads the person (or the key), so a
// disabled account or a revoked key is out at once, and their role, not
// the session, decides what is allowed. Every form carries the session's
// CSRF token in a hidden field, compared in constant time; the sign-in
// form, made before there is a session, is tied to a short-lived cookie of
// its own the same way. Failed sign-ins back off (backoff.go).

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
	// csrfField and nonceField are the hidden fields of every console form.
	csrfField  = "csrf"
	nonceField = "nonce"
)

// session is one signed-in browser: the stored session and, for a person,
// their account as read on this request.
type session struct {
	registry.Session
	User registry.User // zero for an admin key's session
}

// signIn puts a live session and its principal on c's request.
func signIn(c echo.Context, sess session, k registry.Key) {
	x := exchangeOf(c)
	x.session, x.signedIn, x.key = sess, true, k
}

// sessionOn is the live session of c's request, if one was signed in.
func sessionOn(c echo.Context) (session, bool) {
	x := exchangeOf(c)
	return x.session, x.signedIn
}

// token is 32 random bytes, base64url: a sign-in form's token.
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

// userKey is how a person appears to the rest of the server: a principal
// with their role, recorded by username (events' "by", the audit log).
func userKey(u registry.User) registry.Key {
	return registry.Key{Name: u.Username, Role: u.Role, Created: u.Created}
}

// validToken compares a submitted form token with the expected one in
// constant time; an empty expected token never matches.
func validToken(expected, got string) bool {
	return expected != "" && subtle.ConstantTimeCompare([]byte(expected), []byte(got)) == 1
}

// cookie is a console cookie; maxAge < 0 deletes it. The session's reaches
// the public pages too, so that a check made by signed-in staff is not
// counted as a customer's (staffBrowser).
func (s *Server) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	path := consolePrefix
	if name == sessionCookie {
		path = "/"
	}
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.cfg.SecureCookies, MaxAge: int(maxAge / time.Second)}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	return c
}

// sessionOf is the request's live session from its cookie, with the
// principal it signs in: a person's account (enabled) or an admin key
// (active). A session whose person was disabled or whose key was revoked
// is ended (the registry ends them too, when that happens; this catches a
// session read in between). Errors: EUnauthorized with "revoked" or
// "disabled" when such a session was found; ENotFound without a session;
// storage errors.
func (s *Server) sessionOf(c echo.Context) (session, registry.Key, error) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil || !wellFormed(ck.Value) {
		return session{}, registry.Key{}, errNoSession
	}
	rs, err := s.db.Session(ck.Value)
	if err != nil {
		return session{}, registry.Key{}, err
	}
	sess := session{Session: rs}
	if rs.Username != "" {
		u, err := s.db.User(rs.Username)
		if err == nil && !u.Disabled {
			sess.User = u
			return sess, userKey(u), nil
		}
		if err != nil && policy.ErrorCode(err) != policy.ENotFound {
			return session{}, registry.Key{}, err
		}
		s.db.EndSession(rs.ID)
		return session{}, registry.Key{}, policy.Errorf(policy.EUnauthorized, "", "disabled")
	}
	k, err := s.db.KeyByID(rs.KeyID)
	if err == nil && k.Revoked.IsZero() && k.Role == registry.RoleAdmin {
		return sess, k, nil
	}
	if err != nil && policy.ErrorCode(err) != policy.ENotFound {
		return session{}, registry.Key{}, err
	}
	s.db.EndSession(rs.ID)
	return session{}, registry.Key{}, policy.Errorf(policy.EUnauthorized, "", "revoked")
}

var errNoSession = policy.Errorf(policy.ENotFound, "", "no session")

// attachSession puts the request's session and principal on c when both
// are live, for pages that show who is signed in without requiring it.
func (s *Server) attachSession(c echo.Context) {
	if sess, k, err := s.sessionOf(c); err == nil {
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
			sess, key, err := s.sessionOf(c)
			switch pe, _ := err.(*policy.Error); {
			case err == nil:
			case policy.ErrorCode(err) == policy.ENotFound:
				return s.toSignIn(c, "")
			case policy.ErrorCode(err) == policy.EUnauthorized:
				c.SetCookie(s.cookie(sessionCookie, "", -1))
				return s.toSignIn(c, pe.Message)
			default:
				return err
			}
			signIn(c, sess, key)
			if !slices.Contains(roles, key.Role) {
				l := s.lang(c)
				return policy.Errorf(policy.EForbidden, "", "%s", l.T("console.forbidden", words(l, key.Role), l.T(section(c.Path()))))
			}
			s.extendStream(c)
			if c.Request().Method != http.MethodGet && c.Request().Method != http.MethodHead {
				if !validToken(sess.CSRF, c.FormValue(csrfField)) {
					return policy.Errorf(policy.EForbidden, csrfField, "%s", s.lang(c).T("console.csrf"))
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
		return "console.section.desk"
	case strings.HasPrefix(route, "/console/models"), strings.HasPrefix(route, "/console/batches"),
		strings.HasPrefix(route, "/console/dispatch"), strings.HasPrefix(route, "/console/receipts"),
		route == "/console/quality":
		return "console.section.warehouse"
	}
	return "console.section.page"
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

// endedWords are the sign-in page's explanations of why a session ended
// (catalogue keys).
var endedWords = map[string]string{
	"revoked":    "console.ended.revoked",
	"disabled":   "console.ended.disabled",
	"expired":    "console.ended.expired",
	"signed-out": "console.ended.signed_out",
}

type signInBody struct {
	Next     string
	Username string
	Message  string
	Error    string
	KeyError bool // the error is the key form's
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
	return s.render(c, status, "signin.html", page{Title: "console.signin.title", Body: b, CSRF: t})
}

// wrongPassword is the one answer (a catalogue key) to every refused
// sign-in by password: a wrong password, an unknown or disabled user, a
// username or address backed off.
const wrongPassword = "console.signin.wrong"

// consoleSignIn checks the form's token against its cookie, then the
// username and password (or an admin's API key), then starts a session (a
// new id every time: no fixation) and goes to the page asked for or the
// role's home. A username or address with too many recent failures is
// refused before the password is hashed. Every sign-in and failure is in
// the audit log. Codes: 303; 401 (the form again, with the same words for
// every refusal); 403 (form token, or a key that is not an admin's).
func (s *Server) consoleSignIn(c echo.Context) error {
	next := safeNext(c.FormValue("next"))
	ck, err := c.Cookie(signInCookie)
	if err != nil || !validToken(ck.Value, c.FormValue(csrfField)) {
		return s.signInForm(c, http.StatusForbidden, signInBody{Next: next,
			Error: "console.signin.stale"})
	}
	ip := c.RealIP()
	if tok := strings.TrimSpace(c.FormValue("key")); tok != "" {
		return s.signInWithKey(c, tok, ip, next)
	}
	username := strings.ToLower(strings.TrimSpace(c.FormValue("username")))
	if len(username) > 64 {
		username = username[:64]
	}
	refuse := func(why string) error {
		if err := s.db.Record(registry.Actor{Name: username}, "console.signin.failed", username, why+" from "+ip); err != nil {
			return err
		}
		return s.signInForm(c, http.StatusUnauthorized, signInBody{Next: next, Username: username, Error: wrongPassword})
	}
	if locked, first := s.console.signIns.locked(userSlot(username), addrSlot(ip)); locked {
		if first {
			return refuse("backed off after repeated failures")
		}
		return s.signInForm(c, http.StatusUnauthorized, signInBody{Next: next, Username: username, Error: wrongPassword})
	}
	// At most half the cores hash passwords at once: a flood from many
	// addresses and usernames (each within its free failures) queues here
	// instead of taking every core from the API.
	select {
	case s.console.hashing <- struct{}{}:
	case <-c.Request().Context().Done():
		return c.Request().Context().Err()
	}
	u, err := s.db.CheckPassword(username, c.FormValue("password"))
	<-s.console.hashing
	if policy.ErrorCode(err) == policy.EUnauthorized {
		s.console.signIns.fail(userSlot(username), addrSlot(ip))
		return refuse("wrong username or password")
	}
	if err != nil {
		return err
	}
	s.console.signIns.succeed(userSlot(username))
	return s.startSession(c, registry.Session{Username: u.Username, Center: u.Center}, registry.Actor{Name: u.Username}, ip, next, userKey(u))
}

// signInWithKey signs an admin in with an API key (people sign in with
// their account; keys are for machines, and an admin's key is the way in
// before the first account exists). Codes: as consoleSignIn.
func (s *Server) signInWithKey(c echo.Context, tok, ip, next string) error {
	key, err := s.db.Authenticate(tok)
	if err != nil {
		pe, status, ok := refused(err)
		if !ok {
			return err
		}
		if err := s.db.Record(registry.Actor{}, "console.signin.failed", "", "API key refused from "+ip); err != nil {
			return err
		}
		return s.signInForm(c, status, signInBody{Next: next, KeyError: true,
			Error: s.lang(c).T("console.signin.key_refused", pe.Message)})
	}
	if key.Role != registry.RoleAdmin {
		if err := s.db.Record(registry.Actor{KeyID: key.ID, Name: key.Name}, "console.signin.failed", key.ID, "a "+string(key.Role)+" key from "+ip); err != nil {
			return err
		}
		return s.signInForm(c, http.StatusForbidden, signInBody{Next: next, KeyError: true,
			Error: "console.signin.admins_only"})
	}
	return s.startSession(c, registry.Session{KeyID: key.ID}, registry.Actor{KeyID: key.ID, Name: key.Name}, ip, next, key)
}

// startSession ends the browser's old session, stores a new one, audits
// the sign-in and goes on.
func (s *Server) startSession(c echo.Context, rs registry.Session, a registry.Actor, ip, next string, k registry.Key) error {
	if ck, err := c.Cookie(sessionCookie); err == nil && wellFormed(ck.Value) {
		if err := s.db.EndSession(ck.Value); err != nil {
			return err
		}
	}
	rs.Expires = s.now().Add(sessionTTL)
	sess, err := s.db.CreateSession(rs)
	if err != nil {
		return err
	}
	if err := s.db.Record(a, "console.signin", cmp.Or(rs.Username, rs.KeyID), "from "+ip); err != nil {
		return err
	}
	c.SetCookie(s.cookie(sessionCookie, sess.ID, sessionTTL))
	c.SetCookie(s.cookie(signInCookie, "", -1))
	exchangeOf(c).key = k
	consoleHeaders(c.Response().Header())
	return c.Redirect(http.StatusSeeOther, cmp.Or(next, s.home(k)))
}

// consoleSignOut ends the session, in the audit log. Codes: 303.
func (s *Server) consoleSignOut(c echo.Context) error {
	if sess, ok := sessionOn(c); ok {
		if err := s.db.EndSession(sess.ID); err != nil {
			return err
		}
		if err := s.db.Record(actorOf(c), "console.signout", cmp.Or(sess.Username, sess.KeyID), "from "+c.RealIP()); err != nil {
			return err
		}
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
		if err := s.db.UpdateSession(sess.ID, func(x *registry.Session) { x.Flash = msg }); err != nil {
			s.log.Warn("console flash", "err", err)
		}
	}
}

// takeFlash returns and clears the session's one-time message.
func (s *Server) takeFlash(sess session) string {
	if sess.Flash == "" {
		return ""
	}
	if err := s.db.UpdateSession(sess.ID, func(x *registry.Session) { x.Flash = "" }); err != nil {
		s.log.Warn("console flash", "err", err)
	}
	return sess.Flash
}

// root answers /: a browser (Accept: text/html) goes to the console when
// it holds a session cookie (the console checks the session as always),
// else to the public coverage check; an API client
// gets a pointer to the API's description. Codes: 200; 303.
func (s *Server) root(c echo.Context) error {
	if strings.Contains(c.Request().Header.Get("Accept"), "text/html") {
		target := "/c"
		if _, err := c.Cookie(sessionCookie); err == nil {
			target = consolePrefix
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
	return c.JSON(http.StatusOK, struct {
		OpenAPI string `json:"openapi"`
		Console string `json:"console"`
		Check   string `json:"check"`
	}{"/openapi.json", consolePrefix, "/c"})
}
