package server

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"html"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/labels"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/server/locale"
)

// The public coverage check: the page a customer opens by scanning the
// certificate's QR (/c/{serial}?k= or the GS1 Digital Link
// /01/{gtin14}/21/{serial}?k=), the form for typing serial and code (/c)
// and the same answer as JSON (/api/v1/public/coverage).
//
// No enumeration: a serial's format is checked first (a malformed one says
// nothing about what is registered), then the constant-time check-code
// verification, and an unknown serial and a wrong code leave through the
// same not-found answer: byte for byte as JSON; as a page, the same page
// keeping the serial and code that were asked about, to correct and retry.
//
// Caching: answers carry a weak ETag and "private, max-age=60". The ETag
// covers everything shown except the check count. A view counts (a 304
// revalidation too) unless the same client was counted for the serial in
// the last ten minutes, so a tag over the count would change on every request
// and no revalidation could ever succeed; leaving it out means a
// revalidated page shows the count as of its last full render. That is at
// most a day old (days left, and so the tag, change daily), while the first
// check time — the anti-counterfeit signal — is in the tag and always
// current. The short max-age keeps a browser from re-showing its copy
// without asking (and without counting) for long.

//go:embed web/public
var publicFS embed.FS

var (
	publicCSS = embeddedFile(publicFS, "web/public/public.css")
	// publicStylesheet is the address of the stylesheet the pages link
	// to, named by its content's hash so it is cached for a year and a new
	// build's is fetched at once. It is a file of its own rather than a
	// <style> in each page: inline, its 6 KB went out with every answer,
	// more than the rest of the page.
	publicStylesheet = "/static/public." + contentHash(publicCSS) + ".css"
	// publicCSP allows stylesheets from this origin only (the one above):
	// no inline style, no script at all.
	publicCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	// publicPages holds each page parsed once per language, with that
	// language's catalogue bound as the template function t.
	publicPages = parsePublicPages()
	// pagesVersion changes the ETags whenever a template, the CSS or a
	// message does.
	pagesVersion = treeHash(publicFS, "web/public") + catalogueHash()
)

// publicPageSet is the public pages of one language that go through
// html/template on each request (the coverage page does not:
// public_render.go).
type publicPageSet struct{ form, terms *template.Template }

func parsePublicPages() map[*locale.Lang]publicPageSet {
	out := map[*locale.Lang]publicPageSet{}
	for _, l := range locale.Langs {
		out[l] = publicPageSet{form: publicTemplate(l, "form.html"), terms: publicTemplate(l, "terms.html")}
	}
	return out
}

func embeddedFile(fsys fs.FS, name string) []byte {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		panic(err) // unreachable: the file is embedded
	}
	return b
}

// contentHash names a file's content: 12 hex digits of its SHA-256.
func contentHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// publicStylesheetFile serves GET /static/{file}: the public pages'
// stylesheet under its hashed name (publicStylesheet), cacheable for a
// year. It is not rate-limited: a page's one fetch of it, cached, must not
// spend the customer's checks. Codes: 200; 404 (any other name).
func (s *Server) publicStylesheetFile(c echo.Context) error {
	if "/static/"+c.Param("file") != publicStylesheet {
		return policy.Errorf(policy.ENotFound, "", "no such file")
	}
	h := c.Response().Header()
	h["Cache-Control"] = []string{"public, max-age=31536000, immutable"}
	h["X-Content-Type-Options"] = publicHeaders.nosniff
	h["Content-Security-Policy"] = publicHeaders.csp
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", publicCSS)
}

// fixedText is a template call of t with a key alone: its words never
// change, so they are written into the template when it is parsed (and the
// stylesheet's address too).
var fixedText = regexp.MustCompile(`\{\{\s*t\s+"([^"]+)"\s*\}\}`)

// publicTemplate parses base.html and page for language l. Calls of t with
// a key alone, and the stylesheet, become the template's own text (escaped
// for HTML) rather than calls made on every request: a page makes about 50
// of them, and a template's function call costs as much as rendering
// everything else. Calls with arguments stay calls of l.T.
func publicTemplate(l *locale.Lang, page string) *template.Template {
	return publicTemplateOf(l, string(embeddedFile(publicFS, "web/public/base.html")), string(embeddedFile(publicFS, "web/public/"+page)))
}

// publicTemplateOf is publicTemplate of the sources base and page.
func publicTemplateOf(l *locale.Lang, base, page string) *template.Template {
	t := template.New("public").Funcs(template.FuncMap{"t": l.T})
	for i, src := range []string{base, page} {
		src = fixedText.ReplaceAllStringFunc(src, func(call string) string {
			return html.EscapeString(l.T(fixedText.FindStringSubmatch(call)[1]))
		})
		src = strings.Replace(src, "{{.CSS}}", publicStylesheet, 1)
		template.Must(t.New([]string{"base.html", "page.html"}[i]).Parse(src))
	}
	return t
}

func treeHash(fsys fs.FS, dir string) string {
	h := sha256.New()
	err := fs.WalkDir(fsys, dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fmt.Fprintf(h, "%s\x00", path)
		h.Write(embeddedFile(fsys, path))
		return nil
	})
	if err != nil {
		panic(err) // unreachable: an embedded tree
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9])
}

// catalogueHash fingerprints every message of every language.
func catalogueHash() string {
	h := sha256.New()
	for _, l := range locale.Langs {
		for _, k := range l.Keys() {
			fmt.Fprintf(h, "%s\x00%s\x00%s\x00", l.Tag, k, l.T(k))
		}
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:6])
}

// Headers of the public answers.
const (
	publicCacheFound = "private, max-age=60"
	publicCacheForm  = "public, max-age=300"
	publicCacheNone  = "no-store"
	publicNotFound   = "no item with this serial and check code"
)

// publicRoute wraps a public handler: the security headers go on every
// answer (errors included), then the per-client rate limit applies. html
// says whether the route answers HTML (its 429 is a page that keeps the
// serial and code asked about and offers to retry) or JSON.
//
// An HTML answer carries no Referrer-Policy, X-Frame-Options or
// Content-Language: every public page states its referrer policy and its
// language itself (<meta name="referrer" content="no-referrer">, <html
// lang>), and browsers enforce the CSP's frame-ancestors 'none' in place
// of X-Frame-Options (CSP Level 2). Repeated as headers they would add
// nothing but a ninth header, and a ninth header costs every page a
// larger header table, which net/http copies once more when it writes
// it: a tenth of the page's CPU (bench/lookup MODE=public). A JSON answer,
// which has no <head>, keeps them.
func (s *Server) publicRoute(html bool, h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hd := c.Response().Header()
		// Canonical keys and shared values: no canonicalisation and no
		// allocation per request (see publicHeaders).
		hd["Content-Security-Policy"] = publicHeaders.csp
		hd["X-Content-Type-Options"] = publicHeaders.nosniff
		if html {
			hd["Vary"] = publicHeaders.vary // Cookie: the remembered language
		} else {
			hd["Referrer-Policy"] = publicHeaders.noReferrer // the URL holds the check code
			hd["X-Frame-Options"] = publicHeaders.deny
		}
		ok, wait := s.limiter.allow(c.RealIP())
		if ok {
			return h(c)
		}
		secs := retryAfter(wait)
		hd.Set("Retry-After", strconv.Itoa(secs))
		hd.Set("Cache-Control", publicCacheNone)
		if !html {
			return policy.Errorf(policy.ERateLimited, "", "too many requests from your address; retry in %d s", secs)
		}
		l := s.publicLang(c)
		serial, code := strings.TrimSpace(pathParam(c, "serial")), strings.TrimSpace(queryParam(c, "k"))
		if serial == "" {
			serial = strings.TrimSpace(queryParam(c, "serial"))
		}
		if code == "" {
			code = strings.TrimSpace(c.FormValue("k"))
		}
		retry := c.Request().URL.RequestURI()
		if c.Request().Method != http.MethodGet {
			retry = "/c/" + url.PathEscape(serial) + "?" + url.Values{"k": {code}}.Encode()
		}
		return s.renderPublicForm(c, l, http.StatusTooManyRequests, publicFormPage{
			publicFrame: s.publicFrame(c, l, c.Request().URL.EscapedPath(), c.QueryParams()),
			Serial:      serial, Code: code,
			Alert: &publicAlert{Title: l.T("public.rate_limited.title"), Text: l.T("public.rate_limited.text", secs), Retry: retry}})
	}
}

// publicCoverage answers GET /api/v1/public/coverage?serial=S&k=CODE: what
// the page shows, as JSON with exactly the contract's keys. An answer counts
// as a check of the code (a 304 too) unless the same client was counted in
// the last ten minutes. Codes: 200; 304 (If-None-Match); 400 invalid_field
// (serial malformed, k missing); 404 not_found (unknown serial or wrong
// code: one answer); 429 rate_limited.
func (s *Server) publicCoverage(c echo.Context) error {
	serial, err := policy.Ident("serial", queryParam(c, "serial"))
	if err != nil {
		return badParam("serial", err)
	}
	code := strings.TrimSpace(queryParam(c, "k"))
	if code == "" {
		return paramErrorf("k", "k (the check code printed on the certificate) is required")
	}
	v, ok, err := s.checkCoverage(c, serial, code, "")
	if err != nil {
		return err
	}
	if !ok {
		c.Response().Header().Set("Cache-Control", publicCacheNone)
		return policy.Errorf(policy.ENotFound, "", publicNotFound)
	}
	// The notice's text follows ?lang= or Accept-Language.
	l := locale.Pick(queryParam(c, "lang"), "", c.Request().Header.Get("Accept-Language"))
	c.Response().Header().Set("Content-Language", l.Tag)
	c.Response().Header().Set("Vary", "Accept-Language")
	v.localise(l)
	if s.publicNotModified(c, v, "json "+l.Tag) {
		return nil
	}
	b, err := jsonBytes(v.Coverage)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, b)
}

// coveragePage serves GET /c/:serial?k= and GET /01/:gtin14/21/:serial?k=
// (whose GTIN must be one the item's model has had): the coverage page, in
// Chinese or English. Without k it shows the form with the serial filled in.
// Codes: 200; 304 (If-None-Match); 400 (malformed serial: the form, saying
// so); 404 (unknown serial, wrong code or GTIN: one page, keeping what was
// asked); 429.
func (s *Server) coveragePage(c echo.Context) error {
	l := s.publicLang(c)
	raw := pathParam(c, "serial")
	serial, err := policy.Ident("serial", raw)
	if err != nil {
		return s.badSerialForm(c, l, raw)
	}
	code := strings.TrimSpace(queryParam(c, "k"))
	if code == "" {
		return s.renderPublicForm(c, l, http.StatusOK, publicFormPage{publicFrame: s.publicFrame(c, l, c.Request().URL.EscapedPath(), nil), Serial: serial})
	}
	gtin := ""
	if c.Param("gtin14") != "" {
		g, err := policy.GTIN(pathParam(c, "gtin14"))
		if err != nil {
			g = "-" // matches no model: the same not-found answer, after the same work
		}
		gtin = g
	}
	v, ok, err := s.checkCoverage(c, serial, code, gtin)
	if err != nil {
		return err
	}
	if !ok {
		return s.publicNotFoundPage(c, l, serial, code)
	}
	return s.renderCoverage(c, l, http.StatusOK, v, code, "")
}

// badSerialForm answers a malformed serial in a public page's path: the
// form with what was typed, saying so (400).
func (s *Server) badSerialForm(c echo.Context, l *locale.Lang, raw string) error {
	return s.renderPublicForm(c, l, http.StatusBadRequest, publicFormPage{publicFrame: s.publicFrame(c, l, "/c", nil), Serial: raw,
		SerialError: l.T("public.form.serial_invalid"), Alert: &publicAlert{Title: l.T("public.bad_serial.title"), Text: l.T("public.form.serial_invalid")}})
}

// publicTermsPage is what the free warranty does not cover and what a
// return needs; Back is the coverage page it was opened from ("" without a
// check code).
type publicTermsPage struct {
	publicFrame
	ReturnNote string
	Back       string
}

// termsPage serves GET /c/:serial/terms?k=: the warranty's exclusions and
// the return conditions, linked from the coverage page rather than written
// into it. They are the same for every item, and on the coverage page they
// made the answer longer than one write (net/http's 4 KB buffer) for text
// read once; the top of that page stays "what may I do today". It reads
// nothing from the registry and counts no check: the serial and k only
// make the link back. Codes: 200; 400 (malformed serial: the form, saying
// so); 429.
func (s *Server) termsPage(c echo.Context) error {
	l := s.publicLang(c)
	raw := pathParam(c, "serial")
	serial, err := policy.Ident("serial", raw)
	if err != nil {
		return s.badSerialForm(c, l, raw)
	}
	code := strings.TrimSpace(queryParam(c, "k"))
	var keep url.Values
	page := publicTermsPage{ReturnNote: l.T("public.return_note", s.policy.ReturnDays)}
	if code != "" {
		keep = url.Values{"k": {code}}
		page.Back = "/c/" + url.PathEscape(serial) + "?" + url.Values{"k": {code}, "lang": {l.Param}}.Encode()
	}
	page.publicFrame = s.publicFrame(c, l, "/c/"+url.PathEscape(serial)+"/terms", keep)
	return s.renderPublic(c, http.StatusOK, publicPages[l].terms, page)
}

// publicNotFoundPage is the one answer to an unknown serial and a wrong
// code: the form again with what the customer typed, to correct and retry.
func (s *Server) publicNotFoundPage(c echo.Context, l *locale.Lang, serial, code string) error {
	c.Response().Header().Set("Cache-Control", publicCacheNone)
	return s.renderPublicForm(c, l, http.StatusNotFound, publicFormPage{
		publicFrame: s.publicFrame(c, l, "/c", url.Values{"serial": {serial}, "k": {code}}),
		Serial:      serial, Code: code,
		Alert: &publicAlert{Title: l.T("public.not_found.title"), Text: l.T("public.not_found.text")}})
}

// renderCoverage answers the coverage page of v in language l (status 200,
// or the 4xx of a refused receipt confirmation with its reason). A 200
// carries the page's ETag (everything shown but the check count) and is
// answered 304 when the client's copy is current.
func (s *Server) renderCoverage(c echo.Context, l *locale.Lang, status int, v publicView, code, confirmError string) error {
	v.localise(l)
	page := s.publicCoveragePageData(v, l, publicFrame{L: l, Home: s.shells[l].home}, code)
	if page.Confirm != nil {
		page.Confirm.Error = confirmError
	} else {
		page.Refused = confirmError
	}
	w := pageBufs.Get().(*pageBuf)
	defer func() {
		if cap(w.b) <= 64<<10 { // an item of many accessories makes a long page: let it go
			w.b = w.b[:0]
			pageBufs.Put(w)
		}
	}()
	countFrom, countTo := s.writeCoveragePage(w, l, &page, code)
	h := c.Response().Header()
	if status == http.StatusOK {
		tag := pageTag(w.b, countFrom, countTo)
		h["Etag"] = []string{tag}
		h[echo.HeaderCacheControl] = publicCacheFoundValue
		if etagMatch(c.Request().Header.Get("If-None-Match"), tag) {
			c.Response().WriteHeader(http.StatusNotModified)
			return nil
		}
	}
	return sendHTML(c, status, w.b)
}

// pageTag is the weak ETag of page b: a hash of everything but b[from:to],
// the check count (see the top of this file). The page's bytes are what it
// shows, so they cover the item, the language, the check code in its links
// and the templates, stylesheet and words of this build. The hash is two
// CRC-32s (Castagnoli and IEEE, 64 bits together): a tag only has to
// change when its own URL's page does, nobody gains by forging one, and
// both are done in hardware, where SHA-256 cost a tenth of the page's CPU.
func pageTag(b []byte, from, to int) string {
	c := crc32.Update(crc32.Update(0, castagnoli, b[:from]), castagnoli, b[to:])
	i := crc32.Update(crc32.ChecksumIEEE(b[:from]), crc32.IEEETable, b[to:])
	var sum [8]byte
	binary.BigEndian.PutUint32(sum[:4], c)
	binary.BigEndian.PutUint32(sum[4:], i)
	var tag [3 + 11 + 1]byte
	copy(tag[:], `W/"`)
	base64.RawURLEncoding.Encode(tag[3:], sum[:])
	tag[len(tag)-1] = '"'
	return string(tag[:])
}

// castagnoli is the CRC-32C table, computed in hardware on amd64 and arm64.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sendHTML answers the page b with its length declared: one write of a
// small page rather than a chunked one.
func sendHTML(c echo.Context, status int, b []byte) error {
	res := c.Response()
	h := res.Header()
	h[echo.HeaderContentType] = htmlContentType
	h[echo.HeaderContentLength] = []string{strconv.Itoa(len(b))}
	res.WriteHeader(status)
	_, err := res.Write(b)
	return err
}

// publicHeaders are the security headers of every public answer, shared by
// all of them: each slice's length equals its capacity, so a handler that
// Adds to one gets a copy and the shared one never changes.
var publicHeaders = struct{ csp, nosniff, noReferrer, deny, vary []string }{
	csp:        []string{publicCSP},
	nosniff:    []string{"nosniff"},
	noReferrer: []string{"no-referrer"},
	deny:       []string{"DENY"},
	vary:       []string{"Accept-Language", "Cookie"},
}

// Header values of every public page, shared: each has its length equal to
// its capacity, so an Add copies it.
var (
	htmlContentType       = []string{echo.MIMETextHTMLCharsetUTF8}
	publicCacheFoundValue = []string{publicCacheFound}
)

// checkForm serves GET /c: the form for the serial and check code printed on
// the certificate. Submitted (a GET with serial and k) it redirects to the
// coverage page's canonical URL. Codes: 200; 303 (to /c/{serial}?k=); 400
// (the form again, naming the field at fault); 429.
func (s *Server) checkForm(c echo.Context) error {
	l := s.publicLang(c)
	q := c.QueryParams()
	if !q.Has("serial") && !q.Has("k") {
		c.Response().Header().Set("Cache-Control", publicCacheForm)
		return s.renderPublicForm(c, l, http.StatusOK, publicFormPage{publicFrame: s.publicFrame(c, l, "/c", nil)})
	}
	raw, code := q.Get("serial"), normaliseTypedCode(q.Get("k"))
	page := publicFormPage{publicFrame: s.publicFrame(c, l, "/c", nil), Serial: strings.TrimSpace(raw), Code: code}
	serial, err := policy.Ident("serial", raw)
	switch {
	case strings.TrimSpace(raw) == "":
		page.SerialError = l.T("public.form.serial_required")
	case err != nil:
		page.SerialError = l.T("public.form.serial_invalid")
	}
	if code == "" {
		page.CodeError = l.T("public.form.code_required")
	}
	if page.SerialError != "" || page.CodeError != "" {
		c.Response().Header().Set("Cache-Control", publicCacheNone)
		return s.renderPublicForm(c, l, http.StatusBadRequest, page)
	}
	to := url.Values{"k": {code}}
	if locale.ByParam(q.Get("lang")) != nil {
		to.Set("lang", l.Param)
	}
	return c.Redirect(http.StatusSeeOther, "/c/"+url.PathEscape(serial)+"?"+to.Encode())
}

// normaliseTypedCode tidies a code typed into the form for the URL: spaces
// and hyphens dropped, upper case. (VerifyCode also reads I, L and O.)
func normaliseTypedCode(k string) string {
	k = strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(strings.TrimSpace(k))
	return strings.ToUpper(k)
}

// publicView is everything a public answer shows of an item, evaluated
// today: the JSON answer itself plus what only the page shows.
type publicView struct {
	Coverage    publicCoverage
	State       policy.State
	Basis       policy.Basis
	Start       policy.Date
	Today       policy.Date
	Accessories []publicAccessory
	Case        *policy.Case
	// Notice is the batch notice shown for the unit (Server.unitNotice),
	// in both languages; Coverage.Notice is it in the answer's language
	// (localise).
	Notice    *registry.Notice
	firstScan time.Time
}

// localise sets what the answer shows in language l: the notice's text.
func (v *publicView) localise(l *locale.Lang) {
	v.Coverage.Notice = publicNoticeOf(l, v.Notice)
}

// publicCoverage is the contract's public JSON: these keys and no others.
type publicCoverage struct {
	Serial        string         `json:"serial"`
	Model         string         `json:"model"`
	ModelEN       string         `json:"model_en"`
	Kind          policy.Kind    `json:"kind"`
	Status        policy.Status  `json:"status"`
	Basis         nullString     `json:"basis"`
	WarrantyUntil policy.Date    `json:"warranty_until"`
	ReturnUntil   policy.Date    `json:"return_until"`
	ReplaceUntil  policy.Date    `json:"replace_until"`
	DaysLeft      int            `json:"days_left"`
	Repairs       int            `json:"repairs"`
	Today         []publicRemedy `json:"today"`
	Case          *publicCase    `json:"case"`
	CanConfirm    *publicRange   `json:"can_confirm_receipt"`
	Notice        *publicNotice  `json:"notice"`
	Scans         publicScans    `json:"scans"`
	Contact       publicContact  `json:"contact"`
}

// publicRemedy is a free remedy whose window is open today.
type publicRemedy struct {
	Remedy   policy.Remedy `json:"remedy"`
	Until    policy.Date   `json:"until"`
	DaysLeft int           `json:"days_left"`
}

// publicCase is the open service case's progress.
type publicCase struct {
	Stage   string `json:"stage"`
	Since   stamp  `json:"since"`
	DueAt   stamp  `json:"due_at"`
	Overdue bool   `json:"overdue"`
}

// publicRange is the dates a customer may confirm receipt on.
type publicRange struct {
	From policy.Date `json:"from"`
	To   policy.Date `json:"to"`
}

// publicNotice is the batch notice shown for the unit (recall or
// advisory) in the answer's language, null when none applies.
type publicNotice struct {
	Severity string      `json:"severity"`
	Text     string      `json:"text"`
	Since    policy.Date `json:"since"`
}

type publicScans struct {
	Count uint64 `json:"count"`
	First stamp  `json:"first"`
}

type publicContact struct {
	Company string `json:"company"`
	Mailbox string `json:"mailbox"`
	Phone   string `json:"phone"`
	Web     string `json:"web,omitempty"`
	Hours   string `json:"hours,omitempty"`
}

// publicAccessory is a bundled accessory as the page lists it (no batch).
type publicAccessory struct {
	Name          string
	Kind          policy.Kind
	WarrantyUntil policy.Date
}

// checkCoverage verifies code for serial, then looks the serial up. The code
// is checked first, in constant time and without touching the database: a
// wrong code for a registered serial and any code for an unknown serial then
// cost exactly the same (one HMAC per secret, no lookup), so neither the
// answer nor its timing tells whether a serial exists. Only a right code —
// which needs the secret — reaches the registry. gtin, when not "", must be
// a GTIN the model has had. On a match the view is counted as a check
// (registry.Scan, buffered) unless this client was counted for this serial
// in the last ten minutes or it comes from a signed-in console session.
// Errors: storage failures only.
func (s *Server) checkCoverage(c echo.Context, serial, code, gtin string) (publicView, bool, error) {
	item, ok, err := s.lookupChecked(serial, code, gtin)
	if !ok || err != nil {
		return publicView{}, false, err
	}
	now := s.now()
	counted := false
	if !s.staffBrowser(c) && s.scanSeen.first(c.RealIP(), serial, now) {
		s.db.Scan(serial, now)
		counted = true
	}
	return s.publicView(item, now, counted), true, nil
}

// lookupChecked is checkCoverage without the counting: the item, its model
// and its batches' notices, read together (registry.ItemStore.ItemView). A
// model deleted since registration is named by the item's SKU.
func (s *Server) lookupChecked(serial, code, gtin string) (registry.ItemView, bool, error) {
	if !labels.VerifyCode(s.db.CheckSecrets(), serial, code) {
		return registry.ItemView{}, false, nil
	}
	item, err := s.db.ItemView(serial)
	switch {
	case policy.ErrorCode(err) == policy.ENotFound:
		return registry.ItemView{}, false, nil
	case err != nil:
		return registry.ItemView{}, false, err
	case !item.HasModel:
		item.Model = policy.Model{SKU: item.Item.SKU, Name: item.Item.SKU}
	}
	if gtin != "" {
		owner, err := s.db.ModelByGTIN(gtin)
		if err != nil && policy.ErrorCode(err) != policy.ENotFound {
			return registry.ItemView{}, false, err
		}
		if owner != item.Model.SKU {
			return registry.ItemView{}, false, nil
		}
	}
	return item, true, nil
}

// staffBrowser says whether the request comes from a browser signed in to
// the console: staff checking a customer's certificate at the desk must not
// leave a check the customer would read as someone else's.
func (s *Server) staffBrowser(c echo.Context) bool {
	_, _, err := s.sessionOf(c)
	return err == nil
}

// publicView evaluates item (as lookupChecked returns it: its model named
// even when deleted) today; counted says whether the view being answered
// (made at now) was counted among the checks. It reads no storage: the
// notice shown is the one of item.Notices in force today.
func (s *Server) publicView(item registry.ItemView, now time.Time, counted bool) publicView {
	rec, model := item.Record, item.Model
	today := s.policy.Today(now)
	cov := s.policy.Coverage(rec.Item, rec.History, today)
	scans := rec.Scans
	if counted {
		scans.Count++
		if scans.First.IsZero() {
			scans.First = now
		}
	}
	ct := s.policy.Contact
	en := model.NameEN
	if en == "" {
		en = model.Name
	}
	v := publicView{
		Coverage: publicCoverage{
			Serial:        rec.Item.Serial,
			Model:         model.Name,
			ModelEN:       en,
			Kind:          rec.Item.Kind,
			Status:        cov.Status,
			Basis:         nullString(cov.Basis),
			WarrantyUntil: cov.WarrantyUntil,
			ReturnUntil:   cov.ReturnUntil,
			ReplaceUntil:  cov.ReplaceUntil,
			DaysLeft:      max(cov.DaysLeft, 0),
			Repairs:       cov.FreeRepairs,
			Today:         s.todayRemedies(rec, today),
			CanConfirm:    s.confirmRange(rec, today),
			Scans:         publicScans{Count: scans.Count, First: s.stamp(scans.First)},
			Contact:       publicContact{Company: ct.Company, Mailbox: ct.Mailbox, Phone: ct.Phone, Web: ct.Web, Hours: ct.Hours},
		},
		State:     cov.State,
		Basis:     cov.Basis,
		Start:     cov.Start,
		Today:     today,
		firstScan: scans.First,
	}
	if oc := s.policy.OpenCase(rec.Item, rec.History, now); oc != nil {
		v.Case = oc
		stage, since := caseProgress(*oc, rec.History)
		v.Coverage.Case = &publicCase{Stage: stage, Since: s.stamp(since), DueAt: s.stamp(oc.DueAt), Overdue: oc.Overdue}
	}
	for _, a := range cov.Accessories {
		name := a.Name
		if name == "" {
			name = a.SKU
		}
		v.Accessories = append(v.Accessories, publicAccessory{Name: name, Kind: a.Kind, WarrantyUntil: a.WarrantyUntil})
	}
	if n := registry.NoticeFor(item.Notices, today); n != nil {
		shown := *n
		v.Notice = &shown
	}
	return v
}

// caseStages are the stages a customer sees of an open case, by the event
// that reached them. A refused quotation leaves the case at its quotation
// until the unit is shipped back.
var caseStages = map[policy.EventType]string{
	policy.EvIntake: "received", policy.EvDiagnosed: "diagnosed", policy.EvQuoted: "quoted", policy.EvDeclined: "quoted",
	policy.EvPaid: "paid", policy.EvRepaired: "repaired", policy.EvShipped: "shipped",
}

// caseProgress is the stage of open case oc and the instant it was reached:
// the last of the case's events that moves it on (pauses do not).
func caseProgress(oc policy.Case, history []policy.Event) (string, time.Time) {
	stage, since := "received", oc.OpenedAt
	for _, ev := range history {
		if ev.Seq < oc.ID {
			continue
		}
		if st, ok := caseStages[ev.Type]; ok {
			stage, since = st, ev.At
		}
	}
	return stage, since
}

// notModified sets the ETag and caching headers of a found item's answer in
// format ("json", "html zh-CN", ...) and answers 304 when the client's
// copy is current. The tag leaves the check count out (see the top of this
// file).
func (s *Server) publicNotModified(c echo.Context, v publicView, format string) bool {
	v.Coverage.Scans.Count = 0
	b, _ := json.Marshal(v) // plain data: cannot fail
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s", pagesVersion, format, b))
	tag := `W/"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	h := c.Response().Header()
	h.Set("ETag", tag)
	h.Set("Cache-Control", publicCacheFound)
	if !etagMatch(c.Request().Header.Get("If-None-Match"), tag) {
		return false
	}
	c.Response().WriteHeader(http.StatusNotModified)
	return true
}

// etagMatch is If-None-Match's weak comparison of a list of tags (or "*")
// with tag.
func etagMatch(header, tag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(tag, "W/")
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

func (s *Server) renderPublicForm(c echo.Context, l *locale.Lang, status int, p publicFormPage) error {
	return s.renderPublic(c, status, publicPages[l].form, p)
}

// render executes a page template into memory first, so a template error
// is a clean 500 rather than half a page.
func (s *Server) renderPublic(c echo.Context, status int, tpl *template.Template, data any) error {
	var buf bytes.Buffer
	if err := tpl.ExecuteTemplate(&buf, "base", data); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}
