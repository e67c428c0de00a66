package server

import (
	"container/list"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/server/locale"
)

// The public pages' words come from the catalogue (server/locale, keys
// "public.…"): the templates call t "key" for fixed text, and this file
// words what depends on the item (dates, counts, windows) with the same
// catalogue.

// publicLang is the language of a public HTML answer (Server.lang; a posted
// form's lang field counts as ?lang=), which the answer states in
// Content-Language.
func (s *Server) publicLang(c echo.Context) *locale.Lang {
	param := c.QueryParam("lang")
	if param == "" && c.Request().Method == http.MethodPost {
		param = c.FormValue("lang")
	}
	l := s.langOf(c, param)
	c.Response().Header().Set("Content-Language", l.Tag)
	return l
}

// publicFrame is what every public page has: its language, the stylesheet,
// the language switch, the operator's name and the service contact.
type publicFrame struct {
	L       *locale.Lang
	Company string
	Contact publicContactBar
	Langs   []publicLangLink
	Home    string // the form, in this language
}

// publicContactBar is the service contact as every page shows it.
type publicContactBar struct {
	Phone, Hours, Mailbox, Web string
	WebHost                    string // Web as shown: its host and path, no scheme
}

// webHost is a web address as a person reads it: no scheme, no trailing
// slash.
func webHost(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	return strings.TrimSuffix(u, "/")
}

type publicLangLink struct {
	Name, Tag, Href string
	Current         bool
}

// publicFrame builds a page's frame; the language switch links to path with
// the query keep plus lang.
func (s *Server) publicFrame(c echo.Context, l *locale.Lang, path string, keep url.Values) publicFrame {
	ct := s.policy.Contact
	f := publicFrame{L: l, Company: ct.Company,
		Contact: publicContactBar{Phone: ct.Phone, Mailbox: ct.Mailbox, Web: ct.Web, WebHost: webHost(ct.Web)},
		Home:    "/c?" + url.Values{"lang": {l.Param}}.Encode()}
	if ct.Hours != "" {
		f.Contact.Hours = l.T("public.contact.hours", ct.Hours)
	}
	for _, o := range locale.Langs {
		q := url.Values{}
		for k, v := range keep {
			if k != "lang" {
				q[k] = v
			}
		}
		q.Set("lang", o.Param)
		f.Langs = append(f.Langs, publicLangLink{Name: o.Name, Tag: o.Tag, Href: path + "?" + q.Encode(), Current: o == l})
	}
	return f
}

// publicFormPage is the form for serial and check code, with an optional
// alert above it (not found, rate limited, malformed serial) and per-field
// errors. It keeps what the customer typed or scanned.
type publicFormPage struct {
	publicFrame
	Alert                  *publicAlert
	Serial, Code           string
	SerialError, CodeError string
}

// publicAlert is the status box of a page that could not answer; Retry,
// when set, is the request to try again.
type publicAlert struct{ Title, Text, Retry string }

// publicCoveragePage is the coverage page of one item in one language.
type publicCoveragePage struct {
	publicFrame
	V                 publicView
	Model             string // in the page's language
	Class             string // status colour
	Headline, Summary string
	Kind              string
	Today             []publicLine
	Case              *publicCaseLines
	Extends           bool // say that repair days extend the warranty
	Confirm           *publicConfirm
	Refused           string // why a confirmation of receipt was refused
	Windows           []publicLine
	StartLine         string
	EstimatedNote     string
	Accessories       []publicLine
	Repairs           string
	RepairsRule       string
	Checks            string
	FirstCheck        string
	ReturnNote        string
	NoticeSince       string // when V.Coverage.Notice is set: since when, worded
}

// publicLine is one date that matters: what, until when, how long still.
type publicLine struct {
	Label, Kind, Until, Left string
	Open                     bool
}

// publicCaseLines words the open case's progress.
type publicCaseLines struct {
	Stage, Since, Due, Overdue string
	Paused                     bool
}

// publicConfirm is the customer's receipt confirmation form.
type publicConfirm struct {
	Action, Code        string
	From, To            policy.Date
	Intro, Range, Error string
}

// publicCoveragePageData words v for a page in language l; code is the
// check code the page was opened with (the confirmation form sends it).
func (s *Server) publicCoveragePageData(v publicView, l *locale.Lang, f publicFrame, code string) publicCoveragePage {
	p, cv := s.policy, v.Coverage
	d := publicCoveragePage{publicFrame: f, V: v, Model: cv.Model, Class: string(cv.Status), Kind: kindText(l, cv.Kind),
		Checks:     l.T("public.checks.count", int(cv.Scans.Count)),
		FirstCheck: instantText(l, v.firstScan, p.Location()),
		ReturnNote: l.T("public.return_note", p.ReturnDays),
	}
	if l != locale.ZH {
		d.Model = cv.ModelEN
	}
	if n := cv.Notice; n != nil {
		d.NoticeSince = l.T("public.notice.since", dateText(l, n.Since))
	}
	line := func(label string, until policy.Date) publicLine {
		return publicLine{Label: label, Until: dateText(l, until), Left: leftText(l, v.Today, until), Open: !v.Today.After(until)}
	}
	dated := false
	switch cv.Status {
	case policy.Active:
		d.Headline = l.T("public.status.active")
		d.Summary = l.T("public.status.active_summary", dateText(l, cv.WarrantyUntil), l.T("common.days_left", cv.DaysLeft))
		dated, d.Extends = true, true
		for _, r := range cv.Today {
			d.Today = append(d.Today, line(remedyText(l, p, r.Remedy), r.Until))
		}
		if len(cv.Today) > 0 && cv.Today[0].Remedy != policy.Repair {
			d.Summary = l.T("public.today.headline", d.Today[0].Label, d.Today[0].Left)
		}
	case policy.Expired:
		d.Headline = l.T("public.status.expired")
		d.Summary = l.T("public.status.expired_summary", dateText(l, cv.WarrantyUntil))
		dated = true
	case policy.NotStarted:
		d.Headline, d.Summary = l.T("public.status.not_started"), l.T("public.status.not_started_summary")
	case policy.Void:
		d.Headline, d.Summary = l.T("public.status.void"), l.T("public.status.void_summary")
	case policy.Retired:
		d.Headline, d.Summary = l.T("public.status.replaced"), l.T("public.status.replaced_summary")
		if v.State == policy.Returned {
			d.Headline, d.Summary = l.T("public.status.returned"), l.T("public.status.returned_summary")
		}
	}
	if cs := cv.Case; cs != nil && v.Case != nil {
		cl := &publicCaseLines{Stage: l.T("public.case.stage." + cs.Stage), Since: l.T("public.case.since", instantText(l, cs.Since.t, p.Location())),
			Paused: v.Case.Paused}
		switch {
		case cs.Overdue:
			cl.Overdue = l.T("public.case.overdue", instantText(l, cs.DueAt.t, p.Location()))
		case !cs.DueAt.t.IsZero():
			cl.Due = l.T("public.case.due", instantText(l, cs.DueAt.t, p.Location()))
		}
		d.Case = cl
		if cv.Status == policy.Active {
			d.Headline, d.Class = l.T("public.status.in_service"), "in_service"
			d.Summary = cl.Stage
		}
	}
	if r := cv.CanConfirm; r != nil {
		d.Confirm = &publicConfirm{Action: "/c/" + url.PathEscape(cv.Serial) + "/receipt", Code: code, From: r.From, To: r.To,
			Intro: l.T("public.confirm.intro", p.ReturnDays, p.ReplaceDays, p.Months(cv.Kind)),
			Range: l.T("public.confirm.range", dateText(l, r.From), dateText(l, r.To))}
	}
	if !dated {
		return d
	}
	// The dates card lists the windows the today list does not: those
	// already closed.
	for _, w := range []struct {
		label string
		until policy.Date
	}{
		{remedyText(l, p, policy.Return), cv.ReturnUntil},
		{l.T("public.dates.replace", p.ReplaceDays), cv.ReplaceUntil},
		{l.T("public.dates.repair"), cv.WarrantyUntil},
	} {
		if !w.until.IsZero() && v.Today.After(w.until) {
			d.Windows = append(d.Windows, line(w.label, w.until))
		}
	}
	if cv.Basis != "" {
		d.StartLine = l.T("public.start", dateText(l, v.Start), l.T("public.basis."+string(cv.Basis)))
		if v.Basis == policy.BasisEstimated {
			d.EstimatedNote = l.T("public.estimated_note")
		}
	}
	for _, a := range v.Accessories {
		al := publicLine{Label: a.Name, Kind: kindText(l, a.Kind), Until: l.T("public.accessories.not_started")}
		if !a.WarrantyUntil.IsZero() {
			al = line(a.Name, a.WarrantyUntil)
			al.Kind = kindText(l, a.Kind)
		}
		d.Accessories = append(d.Accessories, al)
	}
	if cv.Repairs > 0 {
		d.Repairs = l.T("public.repairs.count", cv.Repairs)
	}
	if cv.Kind == policy.KindProduct && cv.Status == policy.Active {
		d.RepairsRule = l.T("public.repairs.rule", p.RepairsBeforeReplacement)
	}
	return d
}

// dateText formats a calendar date the way the language writes it:
// 2026年11月5日, 5 Nov 2026.
func dateText(l *locale.Lang, d policy.Date) string {
	if d.IsZero() {
		return ""
	}
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Format(l.T("public.layout.date"))
}

// instantText formats at in loc with its zone: 2026年11月5日 14:03（北京时间）,
// 5 Nov 2026, 14:03 (UTC+5:30).
func instantText(l *locale.Lang, at time.Time, loc *time.Location) string {
	if at.IsZero() {
		return ""
	}
	at = at.In(loc)
	_, off := at.Zone()
	zone := l.T("public.zone.cst")
	if off != 8*3600 {
		sign := "+"
		if off < 0 {
			sign, off = "-", -off
		}
		zone = "UTC" + sign + strconv.Itoa(off/3600)
		if m := off % 3600 / 60; m != 0 {
			zone += fmt.Sprintf(":%02d", m)
		}
	}
	return l.T("public.zone", at.Format(l.T("public.layout.time")), zone)
}

// kindText is the word for an item kind.
func kindText(l *locale.Lang, k policy.Kind) string {
	switch k {
	case policy.KindAccessory, policy.KindAdapter:
		return l.T("public.kind." + string(k))
	}
	return l.T("public.kind.product")
}

// remedyText names a free remedy as the today list shows it.
func remedyText(l *locale.Lang, p *policy.Policy, r policy.Remedy) string {
	if r == policy.Return {
		return l.T("public.remedy.return", p.ReturnDays)
	}
	return l.T("public.remedy." + string(r))
}

// leftText says how long a window still runs on today: "剩 3 天", "last day
// today" or "ended".
func leftText(l *locale.Lang, today, until policy.Date) string {
	switch n := today.DaysUntil(until); {
	case n < 0:
		return l.T("public.left.ended")
	case n == 0:
		return l.T("public.left.last_day")
	default:
		return l.T("public.left.days", n)
	}
}

// todayRemedies lists the free remedies open today, before any diagnosis
// (policy.Options).
func (s *Server) todayRemedies(rec registry.Record, today policy.Date) []publicRemedy {
	opts := s.policy.Options(rec.Item, rec.History, today)
	out := make([]publicRemedy, len(opts))
	for i, o := range opts {
		out[i] = publicRemedy{Remedy: o.Remedy, Until: o.Until, DaysLeft: o.DaysLeft}
	}
	return out
}

// confirmRange is the dates the customer may confirm receipt on today, or
// nil when they may not (policy.ConfirmRange).
func (s *Server) confirmRange(rec registry.Record, today policy.Date) *publicRange {
	c := s.policy.ConfirmRange(rec.Item, rec.History, today)
	if c.Refused != "" {
		return nil
	}
	return &publicRange{From: c.From, To: c.To}
}

// scanWindow is how long one client's checks of one serial count once.
const scanWindow = 10 * time.Minute

// scanSeen remembers which client (an IPv4 address or an IPv6 /64) was
// counted for which serial in the last scanWindow, so a customer's reloads
// and language switches count once. The table is bounded like the rate
// limiter's: least recently counted first out, expired entries dropped two
// at a time on each call.
type scanSeen struct {
	max int
	mu  sync.Mutex
	m   map[scanKey]*list.Element // values are *scanEntry
	lru list.List                 // front: most recently counted
}

type scanKey struct {
	client netip.Prefix
	serial string
}

type scanEntry struct {
	key scanKey
	at  time.Time
}

func newScanSeen(max int) *scanSeen {
	return &scanSeen{max: max, m: map[scanKey]*list.Element{}}
}

// first reports whether the client at ip has not been counted for serial
// within scanWindow before now, and if so remembers it counted now.
func (t *scanSeen) first(ip, serial string, now time.Time) bool {
	k := scanKey{clientKey(ip), serial}
	t.mu.Lock()
	defer t.mu.Unlock()
	for range 2 {
		old := t.lru.Back()
		if old == nil || now.Sub(old.Value.(*scanEntry).at) < scanWindow {
			break
		}
		t.forget(old)
	}
	if el, ok := t.m[k]; ok {
		if now.Sub(el.Value.(*scanEntry).at) < scanWindow {
			return false
		}
		t.forget(el)
	}
	if len(t.m) >= t.max {
		t.forget(t.lru.Back())
	}
	t.m[k] = t.lru.PushFront(&scanEntry{key: k, at: now})
	return true
}

func (t *scanSeen) forget(el *list.Element) {
	delete(t.m, el.Value.(*scanEntry).key)
	t.lru.Remove(el)
}
