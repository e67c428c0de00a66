package server

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/labels"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// The public coverage check: the page a customer opens by scanning the
// certificate's QR (/c/{serial}?k= or the GS1 Digital Link
// /01/{gtin14}/21/{serial}?k=), the form for typing serial and code (/c)
// and the same answer as JSON (/api/v1/public/coverage).
//
// No enumeration: a serial's format is checked first (a malformed one says
// nothing about what is registered), then the registry lookup and the
// constant-time check-code verification both always run, and an unknown
// serial and a wrong code leave through the same not-found answer, byte for
// byte.
//
// Caching: answers carry a weak ETag and "private, max-age=60". The ETag
// covers everything shown except the check count. Each view counts (a 304
// revalidation too), so a tag over the count would change on every request
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
	// publicCSP allows the one inline stylesheet by its hash: no
	// 'unsafe-inline', no script at all, no second request for the CSS.
	publicCSP = "default-src 'none'; style-src '" + cspHash(publicCSS) + "'; img-src 'self' data:; " +
		"form-action 'self'; base-uri 'none'; publicFrame-ancestors 'none'"
	coverageTemplate = publicTemplate("coverage.html")
	formTemplate     = publicTemplate("form.html")
	// pagesVersion changes the ETags whenever a template or the CSS does.
	pagesVersion = treeHash(publicFS, "web/public")
)

func embeddedFile(fsys fs.FS, name string) []byte {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		panic(err) // unreachable: the file is embedded
	}
	return b
}

func cspHash(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

func publicTemplate(page string) *template.Template {
	return template.Must(template.New(page).ParseFS(publicFS, "web/public/base.html", "web/public/"+page))
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

// Headers of the public answers.
const (
	publicCacheFound = "private, max-age=60"
	publicCacheForm  = "public, max-age=300"
	publicCacheNone  = "no-store"
	publicNotFound   = "no item with this serial and check code"
)

// publicRoute wraps a public handler: the security headers go on every
// answer (errors included), then the per-client rate limit applies. html
// says whether the route answers HTML (its 429 is a page) or JSON.
func (s *Server) publicRoute(html bool, h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hd := c.Response().Header()
		hd.Set("Content-Security-Policy", publicCSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer") // the URL holds the check code
		hd.Set("X-Frame-Options", "DENY")
		if html {
			hd.Set("Vary", "Accept-Language")
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
		t := s.publicLang(c)
		return s.renderPublicForm(c, http.StatusTooManyRequests, publicFormPage{publicFrame: s.publicFrame(c, t, "/c", nil),
			Notice: &publicNotice{Title: t.RateLimitedTitle, Text: fmt.Sprintf(pluralForm(t.RetryInF, secs), secs)}})
	}
}

// publicCoverage answers GET /api/v1/public/coverage?serial=S&k=CODE: what
// the page shows, as JSON with exactly the contract's keys. Every answer
// counts as a check of the code (a 304 too). Codes: 200; 304 (If-None-Match);
// 400 invalid_field (serial malformed, k missing); 404 not_found (unknown
// serial or wrong code: one answer); 429 rate_limited.
func (s *Server) publicCoverage(c echo.Context) error {
	serial, err := policy.Ident("serial", c.QueryParam("serial"))
	if err != nil {
		return badParam("serial", err)
	}
	code := strings.TrimSpace(c.QueryParam("k"))
	if code == "" {
		return paramErrorf("k", "k (the check code printed on the certificate) is required")
	}
	v, ok, err := s.checkCoverage(serial, code, nil)
	if err != nil {
		return err
	}
	if !ok {
		c.Response().Header().Set("Cache-Control", publicCacheNone)
		return policy.Errorf(policy.ENotFound, "", publicNotFound)
	}
	if s.publicNotModified(c, v, "json") {
		return nil
	}
	b, err := jsonBytes(v.Coverage)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, b)
}

// coveragePage serves GET /c/:serial?k= and GET /01/:gtin14/21/:serial?k=
// (whose GTIN must be the item's model's): the coverage page, in Chinese or
// English. Without k it shows the form with the serial filled in. Codes:
// 200; 304 (If-None-Match); 400 (malformed serial: the form, saying so);
// 404 (unknown serial, wrong code or GTIN: one page); 429.
func (s *Server) coveragePage(c echo.Context) error {
	t := s.publicLang(c)
	raw := pathParam(c, "serial")
	serial, err := policy.Ident("serial", raw)
	if err != nil {
		return s.renderPublicForm(c, http.StatusBadRequest, publicFormPage{publicFrame: s.publicFrame(c, t, "/c", nil), Serial: raw,
			SerialError: t.SerialInvalid, Notice: &publicNotice{Title: t.BadSerialTitle, Text: t.SerialInvalid}})
	}
	code := strings.TrimSpace(c.QueryParam("k"))
	if code == "" {
		return s.renderPublicForm(c, http.StatusOK, publicFormPage{publicFrame: s.publicFrame(c, t, c.Request().URL.EscapedPath(), nil), Serial: serial})
	}
	var gtin *string
	if c.Param("gtin14") != "" {
		g, err := policy.GTIN(pathParam(c, "gtin14"))
		if err != nil {
			g = "-" // matches no model: the same not-found answer, after the same work
		}
		gtin = &g
	}
	v, ok, err := s.checkCoverage(serial, code, gtin)
	if err != nil {
		return err
	}
	if !ok {
		c.Response().Header().Set("Cache-Control", publicCacheNone)
		return s.renderPublicForm(c, http.StatusNotFound, publicFormPage{publicFrame: s.publicFrame(c, t, "/c", nil),
			Notice: &publicNotice{Title: t.NotFoundTitle, Text: t.NotFoundText}})
	}
	if s.publicNotModified(c, v, "html "+t.Tag) {
		return nil
	}
	page := s.publicCoveragePageData(v, t, s.publicFrame(c, t, c.Request().URL.EscapedPath(), url.Values{"k": {code}}))
	return s.renderPublic(c, http.StatusOK, coverageTemplate, page)
}

// checkForm serves GET /c: the form for the serial and check code printed on
// the certificate. Submitted (a GET with serial and k) it redirects to the
// coverage page's canonical URL. Codes: 200; 303 (to /c/{serial}?k=); 400
// (the form again, naming the field at fault); 429.
func (s *Server) checkForm(c echo.Context) error {
	t := s.publicLang(c)
	q := c.QueryParams()
	if !q.Has("serial") && !q.Has("k") {
		c.Response().Header().Set("Cache-Control", publicCacheForm)
		return s.renderPublicForm(c, http.StatusOK, publicFormPage{publicFrame: s.publicFrame(c, t, "/c", nil)})
	}
	raw, code := q.Get("serial"), normaliseTypedCode(q.Get("k"))
	page := publicFormPage{publicFrame: s.publicFrame(c, t, "/c", nil), Serial: strings.TrimSpace(raw), Code: code}
	serial, err := policy.Ident("serial", raw)
	switch {
	case strings.TrimSpace(raw) == "":
		page.SerialError = t.SerialRequired
	case err != nil:
		page.SerialError = t.SerialInvalid
	}
	if code == "" {
		page.CodeError = t.CodeRequired
	}
	if page.SerialError != "" || page.CodeError != "" {
		c.Response().Header().Set("Cache-Control", publicCacheNone)
		return s.renderPublicForm(c, http.StatusBadRequest, page)
	}
	to := url.Values{"k": {code}}
	if langParam(q.Get("lang")) != nil {
		to.Set("lang", t.Param)
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
	Start       policy.Date
	Today       policy.Date
	Accessories []publicAccessory
	firstScan   time.Time
}

// publicCoverage is the contract's public JSON: these keys and no others.
type publicCoverage struct {
	Serial        string        `json:"serial"`
	Model         string        `json:"model"`
	Kind          policy.Kind   `json:"kind"`
	Status        policy.Status `json:"status"`
	Basis         nullString    `json:"basis"`
	WarrantyUntil policy.Date   `json:"warranty_until"`
	ReturnUntil   policy.Date   `json:"return_until"`
	ReplaceUntil  policy.Date   `json:"replace_until"`
	DaysLeft      int           `json:"days_left"`
	Repairs       int           `json:"repairs"`
	Scans         publicScans   `json:"scans"`
	Contact       publicContact `json:"contact"`
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
// which needs the secret — reaches the registry. gtin, when not nil, must be
// the model's GTIN too. On a match the view is counted as a check
// (registry.Scan, buffered) and the answer shows that count. Errors: storage
// failures only.
func (s *Server) checkCoverage(serial, code string, gtin *string) (publicView, bool, error) {
	if !labels.VerifyCode(s.db.CheckSecrets(), serial, code) {
		return publicView{}, false, nil
	}
	rec, err := s.db.Get(serial)
	switch {
	case policy.ErrorCode(err) == policy.ENotFound:
		return publicView{}, false, nil
	case err != nil:
		return publicView{}, false, err
	}
	model, err := s.db.Model(rec.Item.SKU)
	switch {
	case policy.ErrorCode(err) == policy.ENotFound:
		model = policy.Model{SKU: rec.Item.SKU, Name: rec.Item.SKU}
	case err != nil:
		return publicView{}, false, err
	}
	if gtin != nil && (model.GTIN == "" || model.GTIN != *gtin) {
		return publicView{}, false, nil
	}
	now := s.now()
	s.db.Scan(serial, now)
	return s.publicView(rec, model, now), true, nil
}

// publicView evaluates rec today, counting the view being answered (made
// at now) among the checks.
func (s *Server) publicView(rec registry.Record, model policy.Model, now time.Time) publicView {
	today := s.policy.Today(now)
	cov := s.policy.Coverage(rec.Item, rec.History, today)
	first := rec.Scans.First
	if first.IsZero() {
		first = now
	}
	ct := s.policy.Contact
	v := publicView{
		Coverage: publicCoverage{
			Serial:        rec.Item.Serial,
			Model:         model.Name,
			Kind:          rec.Item.Kind,
			Status:        cov.Status,
			Basis:         nullString(cov.Basis),
			WarrantyUntil: cov.WarrantyUntil,
			ReturnUntil:   cov.ReturnUntil,
			ReplaceUntil:  cov.ReplaceUntil,
			DaysLeft:      max(cov.DaysLeft, 0),
			Repairs:       cov.FreeRepairs,
			Scans:         publicScans{Count: rec.Scans.Count + 1, First: s.stamp(first)},
			Contact:       publicContact{Company: ct.Company, Mailbox: ct.Mailbox, Phone: ct.Phone, Web: ct.Web},
		},
		State:     cov.State,
		Start:     cov.Start,
		Today:     today,
		firstScan: first,
	}
	for _, a := range cov.Accessories {
		name := a.Name
		if name == "" {
			name = a.SKU
		}
		v.Accessories = append(v.Accessories, publicAccessory{Name: name, Kind: a.Kind, WarrantyUntil: a.WarrantyUntil})
	}
	return v
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

// Page data.

// publicFrame is what every public page has: its language, the stylesheet, the
// language switch and the operator's name.
type publicFrame struct {
	T       *publicTexts
	CSS     template.CSS
	Company string
	Langs   []publicLangLink
	Home    string // the form, in this language
}

type publicLangLink struct {
	Name, Tag, Href string
	Current         bool
}

// pageLang is the language of an HTML answer (?lang=, else Accept-Language),
// announced in Content-Language.
func (s *Server) publicLang(c echo.Context) *publicTexts {
	t := pickLang(c.QueryParam("lang"), c.Request().Header.Get("Accept-Language"))
	c.Response().Header().Set("Content-Language", t.Tag)
	return t
}

// publicFrame builds a page's publicFrame; the language switch links to path with the
// query keep plus lang. Pages that must not depend on the serial asked for
// (the not-found page) pass "/c" and nothing to keep.
func (s *Server) publicFrame(c echo.Context, t *publicTexts, path string, keep url.Values) publicFrame {
	f := publicFrame{T: t, CSS: template.CSS(publicCSS), Company: s.policy.Contact.Company,
		Home: "/c?" + url.Values{"lang": {t.Param}}.Encode()}
	for _, l := range publicLangs {
		q := url.Values{"lang": {l.Param}}
		for k, v := range keep {
			q[k] = v
		}
		f.Langs = append(f.Langs, publicLangLink{Name: l.Name, Tag: l.Tag, Href: path + "?" + q.Encode(), Current: l == t})
	}
	return f
}

// publicFormPage is the form for serial and check code, with an optional publicNotice
// above it (not found, rate limited, malformed serial) and per-field errors.
type publicFormPage struct {
	publicFrame
	Notice                 *publicNotice
	Serial, Code           string
	SerialError, CodeError string
}

type publicNotice struct{ Title, Text string }

// publicCoveragePage is the coverage page of one item in one language.
type publicCoveragePage struct {
	publicFrame
	V                 publicView
	Class             string // status colour
	Headline, Summary string
	Kind              string
	Windows           []publicLine
	StartLine         string
	EstimatedNote     string
	Accessories       []publicLine
	Repairs           string
	RepairsRule       string
	Checks            string
	FirstCheck        string
	ReturnNote        string
}

// publicLine is one date that matters: what, until when, how long still.
type publicLine struct {
	Label, Until, Left string
	Open               bool
}

// coverageData words v for a page in language t.
func (s *Server) publicCoveragePageData(v publicView, t *publicTexts, f publicFrame) publicCoveragePage {
	p, cv := s.policy, v.Coverage
	d := publicCoveragePage{publicFrame: f, V: v, Class: string(cv.Status), Kind: t.Kind(cv.Kind),
		Checks:     fmt.Sprintf(pluralForm(t.ChecksF, int(cv.Scans.Count)), cv.Scans.Count),
		FirstCheck: t.Instant(v.firstScan, p.Location()),
		ReturnNote: fmt.Sprintf(t.ReturnNoteF, p.ReturnDays),
	}
	line := func(label string, until policy.Date) publicLine {
		return publicLine{Label: label, Until: t.Date(until), Left: t.Left(v.Today, until), Open: !v.Today.After(until)}
	}
	dated := false
	switch cv.Status {
	case policy.Active:
		d.Headline = t.ActiveTitle
		d.Summary = fmt.Sprintf(pluralForm(t.ActiveF, cv.DaysLeft), t.Date(cv.WarrantyUntil), cv.DaysLeft)
		dated = true
	case policy.Expired:
		d.Headline, d.Summary = t.ExpiredTitle, fmt.Sprintf(t.ExpiredF, t.Date(cv.WarrantyUntil))
		d.Windows = []publicLine{line(t.RepairUntil, cv.WarrantyUntil)}
	case policy.NotStarted:
		d.Headline, d.Summary = t.NotStartedTitle, t.NoStart
		if !v.Start.IsZero() {
			d.Summary = fmt.Sprintf(t.StartsF, t.Date(v.Start))
			dated = true
		}
	case policy.Void:
		d.Headline, d.Summary = t.VoidTitle, t.VoidText
	case policy.Retired:
		d.Headline, d.Summary = t.ReplacedTitle, t.ReplacedText
		if v.State == policy.Returned {
			d.Headline, d.Summary = t.ReturnedTitle, t.ReturnedText
		}
	}
	if dated {
		if !cv.ReturnUntil.IsZero() {
			d.Windows = append(d.Windows, line(fmt.Sprintf(t.ReturnF, p.ReturnDays), cv.ReturnUntil))
		}
		if !cv.ReplaceUntil.IsZero() {
			d.Windows = append(d.Windows, line(fmt.Sprintf(t.ReplaceF, p.ReplaceDays), cv.ReplaceUntil))
		}
		if !cv.WarrantyUntil.IsZero() {
			d.Windows = append(d.Windows, line(t.RepairUntil, cv.WarrantyUntil))
		}
	}
	if cv.Status == policy.Active || cv.Status == policy.Expired || dated {
		if cv.Basis != "" {
			d.StartLine = fmt.Sprintf(t.StartF, t.Date(v.Start), t.Basis(policy.Basis(cv.Basis)))
			if cv.Basis == nullString(policy.BasisEstimated) {
				d.EstimatedNote = t.EstimatedNote
			}
		}
		for _, a := range v.Accessories {
			l := publicLine{Label: a.Name + " · " + t.Kind(a.Kind), Until: t.NotStartedTitle}
			if !a.WarrantyUntil.IsZero() {
				l = line(l.Label, a.WarrantyUntil)
			}
			d.Accessories = append(d.Accessories, l)
		}
		d.Repairs = fmt.Sprintf(pluralForm(t.RepairsF, cv.Repairs), cv.Repairs)
		if cv.Kind == policy.KindProduct && cv.Status == policy.Active {
			d.RepairsRule = fmt.Sprintf(t.RepairsRuleF, p.RepairsBeforeReplacement)
		}
	}
	return d
}

func (s *Server) renderPublicForm(c echo.Context, status int, p publicFormPage) error {
	return s.renderPublic(c, status, formTemplate, p)
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
