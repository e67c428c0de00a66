package server

import (
	"fmt"
	"hash/maphash"
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
// form's lang field counts as ?lang=), which the page states in <html
// lang> (see publicRoute).
func (s *Server) publicLang(c echo.Context) *locale.Lang {
	param := queryParam(c, "lang")
	if param == "" && c.Request().Method == http.MethodPost {
		param = c.FormValue("lang")
	}
	return s.langOf(c, param)
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
	TermsHref         string        // the page of exclusions and return conditions (termsPage)
	Notice            *publicBanner // a batch notice, shown first
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
	p, cv, w := s.policy, v.Coverage, s.words
	d := publicCoveragePage{publicFrame: f, V: v, Model: cv.Model, Class: string(cv.Status), Kind: w.kindText(l, cv.Kind),
		Checks:     w.tn(l, "public.checks.count", int(cv.Scans.Count)),
		FirstCheck: w.instant(l, v.firstScan, p.Location()),
		// What publicFrame's links hold for a path and k: url.Values.Encode's
		// key order, each piece escaped.
		TermsHref: "/c/" + url.PathEscape(cv.Serial) + "/terms?k=" + url.QueryEscape(code) + "&lang=" + l.Param,
	}
	if l != locale.ZH {
		d.Model = cv.ModelEN
	}
	d.Notice = w.banner(l, cv.Notice, p.Contact.Phone)
	line := func(label string, until policy.Date) publicLine {
		return publicLine{Label: label, Until: w.date(l, until), Left: w.leftText(l, v.Today, until), Open: !v.Today.After(until)}
	}
	dated := false
	switch cv.Status {
	case policy.Active:
		d.Headline = l.T("public.status.active")
		d.Summary = w.ts(l, "public.status.active_summary", w.date(l, cv.WarrantyUntil), w.tn(l, "common.days_left", cv.DaysLeft))
		dated, d.Extends = true, true
		for _, r := range cv.Today {
			d.Today = append(d.Today, line(w.remedyText(l, p, r.Remedy), r.Until))
		}
		if len(cv.Today) > 0 && cv.Today[0].Remedy != policy.Repair {
			d.Summary = w.ts(l, "public.today.headline", d.Today[0].Label, d.Today[0].Left)
		}
	case policy.Expired:
		d.Headline = l.T("public.status.expired")
		d.Summary = w.ts(l, "public.status.expired_summary", w.date(l, cv.WarrantyUntil))
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
		cl := &publicCaseLines{Stage: w.tk(l, "public.case.stage.", cs.Stage), Since: w.ts(l, "public.case.since", w.instant(l, cs.Since.t, p.Location())),
			Paused: v.Case.Paused}
		switch {
		case cs.Overdue:
			cl.Overdue = w.ts(l, "public.case.overdue", w.instant(l, cs.DueAt.t, p.Location()))
		case !cs.DueAt.t.IsZero():
			cl.Due = w.ts(l, "public.case.due", w.instant(l, cs.DueAt.t, p.Location()))
		}
		d.Case = cl
		if cv.Status == policy.Active {
			d.Headline, d.Class = l.T("public.status.in_service"), "in_service"
			d.Summary = cl.Stage
		}
	}
	if r := cv.CanConfirm; r != nil {
		d.Confirm = &publicConfirm{Action: "/c/" + url.PathEscape(cv.Serial) + "/receipt", Code: code, From: r.From, To: r.To,
			Intro: w.tn(l, "public.confirm.intro", p.ReturnDays, p.ReplaceDays, p.Months(cv.Kind)),
			Range: w.ts(l, "public.confirm.range", w.date(l, r.From), w.date(l, r.To))}
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
		{w.remedyText(l, p, policy.Return), cv.ReturnUntil},
		{w.tn(l, "public.dates.replace", p.ReplaceDays), cv.ReplaceUntil},
		{l.T("public.dates.repair"), cv.WarrantyUntil},
	} {
		if !w.until.IsZero() && v.Today.After(w.until) {
			d.Windows = append(d.Windows, line(w.label, w.until))
		}
	}
	if cv.Basis != "" {
		d.StartLine = w.ts(l, "public.start", w.date(l, v.Start), w.tk(l, "public.basis.", string(cv.Basis)))
		if v.Basis == policy.BasisEstimated {
			d.EstimatedNote = l.T("public.estimated_note")
		}
	}
	for _, a := range v.Accessories {
		al := publicLine{Label: a.Name, Kind: w.kindText(l, a.Kind), Until: l.T("public.accessories.not_started")}
		if !a.WarrantyUntil.IsZero() {
			al = line(a.Name, a.WarrantyUntil)
			al.Kind = w.kindText(l, a.Kind)
		}
		d.Accessories = append(d.Accessories, al)
	}
	if cv.Repairs > 0 {
		d.Repairs = w.tn(l, "public.repairs.count", cv.Repairs)
	}
	if cv.Kind == policy.KindProduct && cv.Status == policy.Active {
		d.RepairsRule = w.tn(l, "public.repairs.rule", p.RepairsBeforeReplacement)
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
func (w *wordMemo) kindText(l *locale.Lang, k policy.Kind) string {
	switch k {
	case policy.KindAccessory, policy.KindAdapter:
		return w.tk(l, "public.kind.", string(k))
	}
	return l.T("public.kind.product")
}

// remedyText names a free remedy as the today list shows it.
func (w *wordMemo) remedyText(l *locale.Lang, p *policy.Policy, r policy.Remedy) string {
	if r == policy.Return {
		return w.tn(l, "public.remedy.return", p.ReturnDays)
	}
	return w.tk(l, "public.remedy.", string(r))
}

// leftText says how long a window still runs on today: "剩 3 天", "last day
// today" or "ended".
func (w *wordMemo) leftText(l *locale.Lang, today, until policy.Date) string {
	switch n := today.DaysUntil(until); {
	case n < 0:
		return l.T("public.left.ended")
	case n == 0:
		return l.T("public.left.last_day")
	default:
		return w.tn(l, "public.left.days", n)
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
// at a time on each call. It holds no pointers — a client and serial are
// kept as a 64-bit hash, a time as nanoseconds — so the collector never
// walks it, however full: as a list of entries it was a third of the
// server's live heap under load, marked again on every collection. Two
// pairs that share a hash (odds of about 10⁻⁹ with the table full) would
// count as one.
type scanSeen struct {
	seed maphash.Seed
	mu   sync.Mutex
	at   map[uint64]int64 // hash of (client, serial) → when counted
	ring []scanMark       // every count in order, oldest at head
	head int
	n    int // marks in ring
}

// scanKey is what scanSeen tells apart.
type scanKey struct {
	client netip.Prefix
	serial string
}

// scanMark is one count: whose, and when.
type scanMark struct {
	key uint64
	at  int64
}

func newScanSeen(limit int) *scanSeen {
	return &scanSeen{seed: maphash.MakeSeed(), at: map[uint64]int64{}, ring: make([]scanMark, max(limit, 1))}
}

// first reports whether the client at ip has not been counted for serial
// within scanWindow before now, and if so remembers it counted now.
func (t *scanSeen) first(ip, serial string, now time.Time) bool {
	k := maphash.Comparable(t.seed, scanKey{clientKey(ip), serial})
	ns := now.UnixNano()
	expired := ns - int64(scanWindow)
	t.mu.Lock()
	defer t.mu.Unlock()
	for range 2 {
		if t.n == 0 || t.ring[t.head].at > expired {
			break
		}
		t.dropOldest()
	}
	if at, ok := t.at[k]; ok && at > expired {
		return false
	}
	if t.n == len(t.ring) {
		t.dropOldest()
	}
	t.at[k] = ns
	t.ring[(t.head+t.n)%len(t.ring)] = scanMark{k, ns}
	t.n++
	return true
}

// dropOldest forgets the oldest count, unless its client and serial were
// counted again since (a later mark of the same key).
func (t *scanSeen) dropOldest() {
	m := t.ring[t.head]
	if t.at[m.key] == m.at {
		delete(t.at, m.key)
	}
	t.head = (t.head + 1) % len(t.ring)
	t.n--
}

// wordMemo remembers the worded texts of the public pages: the same dates,
// day counts and policy numbers are worded on page after page, and wording
// one (fmt.Sprintf, time.Format) cost more than writing the page. A text is
// a function of its language, its catalogue key and its arguments (dates
// and instants in this server's zone), so an entry never goes stale; the
// memo is emptied when it reaches maxMemoWords, which bounds it.
type wordMemo struct {
	mu sync.RWMutex
	m  map[wordKey]string
}

// wordKey is one text: its language, key and arguments (strings or ints,
// never both: no message of the public pages mixes them).
type wordKey struct {
	l          *locale.Lang
	key        string
	s1, s2     string
	n1, n2, n3 int
	argc       int8
}

const maxMemoWords = 8192

func newWordMemo() *wordMemo { return &wordMemo{m: map[wordKey]string{}} }

func (w *wordMemo) get(k wordKey) (string, bool) {
	w.mu.RLock()
	v, ok := w.m[k]
	w.mu.RUnlock()
	return v, ok
}

func (w *wordMemo) put(k wordKey, v string) string {
	w.mu.Lock()
	if len(w.m) >= maxMemoWords {
		clear(w.m)
	}
	w.m[k] = v
	w.mu.Unlock()
	return v
}

// tn is l.T(key, ns...) for up to three int arguments.
func (w *wordMemo) tn(l *locale.Lang, key string, ns ...int) string {
	k := wordKey{l: l, key: key, argc: int8(len(ns))}
	for i, p := range []*int{&k.n1, &k.n2, &k.n3}[:len(ns)] {
		*p = ns[i]
	}
	if v, ok := w.get(k); ok {
		return v
	}
	args := make([]any, len(ns))
	for i, n := range ns {
		args[i] = n
	}
	return w.put(k, l.T(key, args...))
}

// ts is l.T(key, ss...) for up to two string arguments.
func (w *wordMemo) ts(l *locale.Lang, key string, ss ...string) string {
	k := wordKey{l: l, key: key, argc: int8(len(ss))}
	for i, p := range []*string{&k.s1, &k.s2}[:len(ss)] {
		*p = ss[i]
	}
	if v, ok := w.get(k); ok {
		return v
	}
	args := make([]any, len(ss))
	for i, s := range ss {
		args[i] = s
	}
	return w.put(k, l.T(key, args...))
}

// tk is l.T(prefix + name): a key made of two parts, without building it
// on each call.
func (w *wordMemo) tk(l *locale.Lang, prefix, name string) string {
	k := wordKey{l: l, key: prefix, s1: name, argc: -1}
	if v, ok := w.get(k); ok {
		return v
	}
	return w.put(k, l.T(prefix+name))
}

// date is dateText(l, d).
func (w *wordMemo) date(l *locale.Lang, d policy.Date) string {
	k := wordKey{l: l, key: "date", n1: d.Year, n2: int(d.Month), n3: d.Day, argc: -2}
	if v, ok := w.get(k); ok {
		return v
	}
	return w.put(k, dateText(l, d))
}

// instant is instantText(l, at, loc) for this server's loc, which it shows
// to the minute.
func (w *wordMemo) instant(l *locale.Lang, at time.Time, loc *time.Location) string {
	if at.IsZero() {
		return ""
	}
	k := wordKey{l: l, key: "instant", n1: int(at.Unix() / 60), argc: -3}
	if at.Unix()%60 < 0 {
		k.n1-- // floor for instants before 1970
	}
	if v, ok := w.get(k); ok {
		return v
	}
	return w.put(k, instantText(l, at, loc))
}
