package server

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"html/template"

	"github.com/sanbao/sanbao/server/locale"
)

// The coverage page is the one page served at volume (every scan of a
// certificate), so it is not executed through html/template on each
// request: a template's ~75 actions are each a reflect call and an escaper
// call, and that was most of the page's cost (bench/README.md). Instead:
//
//   - the frame (base.html: head, header, language switch, contact bar) is
//     executed once per server and language through html/template itself,
//     with marker words where the title, the language links and the main
//     part go, and cut at the markers into fixed fragments (publicShell);
//   - the main part is written here, section by section, from the same
//     publicCoveragePage that the template used to get: the fixed words of
//     each language are looked up and escaped once (coverageWords), and
//     every value that depends on the item passes through escapeText, which
//     escapes exactly as html/template does in text and quoted attributes.
//
// server/testdata/public_coverage.html is the page as a template: a test
// renders both for many items (hostile model names and serials among them)
// and wants the same bytes, so that file is the page's specification.
// A new section is one more method call in writeCoverageMain, written like
// its neighbours.

// Marker words the frame is executed with. They are letters only, so that
// html/template's escapers (text, attribute and URL) leave them as they are.
const (
	shellTitle = "SANBAOSHELLTITLEMARKER"
	shellHref  = "SANBAOSHELLHREFMARKER"
	shellMain  = "SANBAOSHELLMAINMARKER"
)

var shellMarker = regexp.MustCompile(shellTitle + "|" + shellHref + "|" + shellMain)

// publicShell is the frame of a public page in one language, cut where the
// request's own values go: parts[0], title, parts[1], the href of each
// other language's link, ..., main, parts[last].
type publicShell struct {
	home string // the form's address in this language
	// noticeCall is a batch notice's call button (the template's
	// {{with .Call}} of the "notice" block), made by html/template once:
	// its number and words are this server's, the same on every page.
	noticeCall string
	parts      []string
	marks      []string // marks[i] follows parts[i]
	hrefs      []*locale.Lang
}

// publicShells builds each language's frame for this server (its contact
// details are in the frame).
func (s *Server) publicShells() map[*locale.Lang]*publicShell {
	out := map[*locale.Lang]*publicShell{}
	for _, l := range locale.Langs {
		t := template.Must(publicTemplate(l, "form.html").Parse(
			`{{define "title"}}` + shellTitle + `{{end}}{{define "main"}}` + shellMain + `{{end}}`))
		f := s.publicFrame(nil, l, "", nil)
		sh := &publicShell{home: f.Home}
		if phone := s.policy.Contact.Phone; phone != "" {
			var b strings.Builder
			if err := noticeCallTemplate.Execute(&b, publicBanner{Call: l.T("public.notice.call", phone), Phone: phone}); err != nil {
				panic(err) // unreachable: a fixed template and plain data
			}
			sh.noticeCall = b.String()
		}
		for i := range f.Langs {
			f.Langs[i].Href = shellHref
			if !f.Langs[i].Current {
				sh.hrefs = append(sh.hrefs, locale.Langs[i])
			}
		}
		var b strings.Builder
		if err := t.ExecuteTemplate(&b, "base", publicFormPage{publicFrame: f}); err != nil {
			panic(err) // unreachable: the embedded template and plain data
		}
		src := b.String()
		last := 0
		for _, m := range shellMarker.FindAllStringIndex(src, -1) {
			sh.parts = append(sh.parts, src[last:m[0]])
			sh.marks = append(sh.marks, src[m[0]:m[1]])
			last = m[1]
		}
		sh.parts = append(sh.parts, src[last:])
		if len(sh.marks) != 2+len(sh.hrefs) || sh.marks[0] != shellTitle || sh.marks[len(sh.marks)-1] != shellMain {
			panic("server: base.html's markers are not title, links, main") // unreachable with the embedded template
		}
		out[l] = sh
	}
	return out
}

// noticeCallTemplate is the call button of the "notice" block in
// testdata/public_coverage.html: html/template escapes the number in its
// tel: URL.
var noticeCallTemplate = template.Must(template.New("call").Parse(`<a class="notice-call" href="tel:{{.Phone}}">{{.Call}}</a>`))

// pageBuf is a page being written.
type pageBuf struct{ b []byte }

var pageBufs = sync.Pool{New: func() any { return &pageBuf{b: make([]byte, 0, 8<<10)} }}

func (w *pageBuf) raw(s string)  { w.b = append(w.b, s...) }
func (w *pageBuf) text(s string) { w.b = appendEscaped(w.b, s) }

// textIn writes s escaped between the markup open and close, and nothing
// at all when s is "": the page's optional lines.
func (w *pageBuf) textIn(open, s, close string) {
	if s != "" {
		w.raw(open)
		w.text(s)
		w.raw(close)
	}
}

// appendEscaped appends s escaped as html/template escapes a value in text
// and in a quoted attribute: & < > " ' + and NUL.
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		r := htmlEscapes[s[i]]
		if r == "" {
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, r...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// htmlEscapes is each byte's escape, "" for a byte written as it is: one
// load per byte, where a switch was a chain of compares on every byte of
// every text of the page.
var htmlEscapes = [256]string{'&': "&amp;", '<': "&lt;", '>': "&gt;", '"': "&#34;", '\'': "&#39;", '+': "&#43;", 0: "\uFFFD"}

// coverageWord is a fixed text of the coverage page.
type coverageWord int

const (
	wSerialNo coverageWord = iota
	wCaseTitle
	wCasePaused
	wExtendNote
	wTodayTitle
	wConfirmTitle
	wConfirmDate
	wConfirmOnce
	wConfirmSubmit
	wDatesTitle
	wAccessoriesTitle
	wRepairsTitle
	wChecksTitle
	wChecksFirst
	wChecksNote
	wTermsLink
	wNoticeScope
	nCoverageWords
)

// coverageWordKeys are the catalogue keys of the fixed texts.
var coverageWordKeys = [nCoverageWords]string{
	wSerialNo:         "public.serial_no",
	wCaseTitle:        "public.case.title",
	wCasePaused:       "public.case.paused",
	wExtendNote:       "public.extend_note",
	wTodayTitle:       "public.today.title",
	wConfirmTitle:     "public.confirm.title",
	wConfirmDate:      "public.confirm.date",
	wConfirmOnce:      "public.confirm.once",
	wConfirmSubmit:    "public.confirm.submit",
	wDatesTitle:       "public.dates.title",
	wAccessoriesTitle: "public.accessories.title",
	wRepairsTitle:     "public.repairs.title",
	wChecksTitle:      "public.checks.title",
	wChecksFirst:      "public.checks.first",
	wChecksNote:       "public.checks.note",
	wTermsLink:        "public.terms.link",
	wNoticeScope:      "public.notice.scope",
}

// coverageWords holds each language's fixed texts, escaped for HTML as
// publicTemplate writes them into a template.
var coverageWords = func() map[*locale.Lang]*[nCoverageWords]string {
	out := map[*locale.Lang]*[nCoverageWords]string{}
	for _, l := range locale.Langs {
		var w [nCoverageWords]string
		for i, k := range coverageWordKeys {
			w[i] = html.EscapeString(l.T(k))
		}
		out[l] = &w
	}
	return out
}()

// untilWords is each language's "public.until" ("至 %s") cut around its
// argument.
var untilWords = func() map[*locale.Lang]*[2]string {
	out := map[*locale.Lang]*[2]string{}
	for _, l := range locale.Langs {
		before, after, ok := strings.Cut(l.T("public.until", "\x00"), "\x00")
		if !ok {
			panic("server: public.until takes no argument") // unreachable: TestTranslationsTakeTheSameArguments
		}
		out[l] = &[2]string{before, after}
	}
	return out
}()

// writeCoveragePage writes page p in language l: the frame with its title
// and language links, and the main part. It returns where the check count's
// text starts and ends in w.b, which the ETag leaves out.
func (s *Server) writeCoveragePage(w *pageBuf, l *locale.Lang, p *publicCoveragePage, code string) (countFrom, countTo int) {
	sh := s.shells[l]
	h := 0
	for i, part := range sh.parts {
		w.raw(part)
		if i == len(sh.marks) {
			break
		}
		switch sh.marks[i] {
		case shellTitle:
			w.text(p.Model)
			w.raw(" · ")
			w.text(p.Headline)
		case shellHref:
			// What publicFrame's links hold, built without url.Values: the
			// path, then k and lang in key order (url.Values.Encode's). Every
			// piece is already URL-escaped, so html/template's URL
			// normaliser would leave it unchanged.
			w.raw("/c/")
			w.text(url.PathEscape(p.V.Coverage.Serial))
			w.raw("?k=")
			w.text(url.QueryEscape(code))
			w.raw("&amp;lang=")
			w.text(sh.hrefs[h].Param)
			h++
		case shellMain:
			writeNotice(w, coverageWords[l], sh, p.Notice)
			countFrom, countTo = writeCoverageMain(w, coverageWords[l], l, p)
		}
	}
	return countFrom, countTo
}

// writeCoverageMain is the template's "main" for the coverage page; ww are
// the language's fixed words.
func writeCoverageMain(w *pageBuf, ww *[nCoverageWords]string, l *locale.Lang, p *publicCoveragePage) (countFrom, countTo int) {
	w.raw("<div class=\"cols\">\n<div class=\"col\">\n<section class=\"status ")
	w.text(p.Class)
	w.raw("\">\n<div class=\"mark\" aria-hidden=\"true\"></div>\n<div><h1>")
	w.text(p.Headline)
	w.raw("</h1><p>")
	w.text(p.Summary)
	w.raw("</p></div>\n</section>\n")
	w.raw("<section class=\"card item\">\n<h2>")
	w.text(p.Model)
	w.raw("</h2>\n<p class=\"muted\"><span class=\"nowrap\">")
	w.text(p.Kind)
	w.raw("</span> · ")
	w.raw(ww[wSerialNo])
	w.raw(" <span class=\"serial\">")
	w.text(p.V.Coverage.Serial)
	w.raw("</span></p>\n</section>\n")
	w.textIn("<section class=\"card refused\" role=\"alert\"><p class=\"late\">", p.Refused, "</p></section>")
	w.raw("\n")
	writeCase(w, ww, p)
	writeToday(w, ww, untilWords[l], p)
	writeConfirm(w, ww, l, p)
	writeDates(w, ww, p)
	w.raw("</div>\n<div class=\"col\">\n")
	writeAccessories(w, ww, p)
	if p.Repairs != "" {
		w.raw("\n<section class=\"card\">\n<h2>")
		w.raw(ww[wRepairsTitle])
		w.raw("</h2>\n<p>")
		w.text(p.Repairs)
		w.raw("</p>\n</section>\n")
	}
	w.raw("\n<section class=\"card checks\">\n<h2>")
	w.raw(ww[wChecksTitle])
	w.raw("</h2>\n<p class=\"count\">")
	countFrom = len(w.b)
	w.text(p.Checks)
	countTo = len(w.b)
	w.raw("</p>\n<p>")
	w.raw(ww[wChecksFirst])
	w.raw("<strong>")
	w.text(p.FirstCheck)
	w.raw("</strong></p>\n<p class=\"muted\">")
	w.raw(ww[wChecksNote])
	w.raw("</p>\n</section>\n\n<section class=\"card terms\"><a href=\"")
	w.text(p.TermsHref)
	w.raw("\">")
	w.raw(ww[wTermsLink])
	w.raw("</a></section>\n</div>\n</div>\n")
	return countFrom, countTo
}

// writeNotice is the batch notice (recall or advisory) shown first, when
// the item's batch or a bundled accessory's has one: the template's
// "notice" block.
func writeNotice(w *pageBuf, ww *[nCoverageWords]string, sh *publicShell, b *publicBanner) {
	if b == nil {
		return
	}
	w.raw("<section class=\"banner ")
	w.text(b.Severity)
	w.raw("\" aria-labelledby=\"notice-h\">\n<h2 id=\"notice-h\"><span class=\"sign\" aria-hidden=\"true\">!</span>")
	w.text(b.Title)
	w.raw("</h2>\n<p class=\"notice-text\">")
	w.text(b.Text)
	w.raw("</p>\n<p class=\"since\">")
	w.text(b.Since)
	w.raw("</p>\n<p class=\"scope\">")
	w.raw(ww[wNoticeScope])
	w.raw("</p>\n")
	if b.Call != "" {
		w.raw(sh.noticeCall)
	}
	w.raw("\n</section>")
}

func writeCase(w *pageBuf, ww *[nCoverageWords]string, p *publicCoveragePage) {
	cs := p.Case
	if cs == nil {
		w.raw("\n")
		return
	}
	w.raw("\n<section class=\"card case\">\n<h2>")
	w.raw(ww[wCaseTitle])
	w.raw("</h2>\n<p class=\"stage\">")
	w.text(cs.Stage)
	w.raw(" <span class=\"muted nowrap\">")
	w.text(cs.Since)
	w.raw("</span></p>\n")
	w.textIn("<p>", cs.Due, "</p>")
	w.raw("\n")
	w.textIn("<p class=\"late\">", cs.Overdue, "</p>")
	w.raw("\n")
	if cs.Paused {
		w.raw("<p class=\"muted\">")
		w.raw(ww[wCasePaused])
		w.raw("</p>")
	}
	w.raw("\n")
	if p.Extends {
		w.raw("<p class=\"muted\">")
		w.raw(ww[wExtendNote])
		w.raw("</p>")
	}
	w.raw("\n</section>\n\n")
}

func writeToday(w *pageBuf, ww *[nCoverageWords]string, until *[2]string, p *publicCoveragePage) {
	if len(p.Today) == 0 {
		w.raw("\n")
		return
	}
	w.raw("\n<section class=\"card today\">\n<h2>")
	w.raw(ww[wTodayTitle])
	w.raw("</h2>\n<ul class=\"dates\">")
	for _, t := range p.Today {
		w.raw("\n<li><span class=\"what\">")
		w.text(t.Label)
		w.raw("</span><span class=\"until\">")
		w.text(until[0])
		w.text(t.Until)
		w.text(until[1])
		w.raw("</span><span class=\"left\">")
		w.text(t.Left)
		w.raw("</span></li>")
	}
	w.raw("\n</ul>\n")
	if p.Extends && p.Case == nil {
		w.raw("<p class=\"muted\">")
		w.raw(ww[wExtendNote])
		w.raw("</p>")
	}
	w.raw("\n</section>\n\n")
}

func writeConfirm(w *pageBuf, ww *[nCoverageWords]string, l *locale.Lang, p *publicCoveragePage) {
	cf := p.Confirm
	if cf == nil {
		w.raw("\n")
		return
	}
	w.raw("\n<section class=\"card confirm\">\n<h2>")
	w.raw(ww[wConfirmTitle])
	w.raw("</h2>\n<p>")
	w.text(cf.Intro)
	w.raw("</p>\n<form action=\"")
	w.text(cf.Action)
	w.raw("\" method=\"post\">\n<input type=\"hidden\" name=\"k\" value=\"")
	w.text(cf.Code)
	w.raw("\">\n<input type=\"hidden\" name=\"lang\" value=\"")
	w.text(l.Param)
	w.raw("\">\n<label for=\"on\">")
	w.raw(ww[wConfirmDate])
	w.raw("</label>\n<input id=\"on\" name=\"on\" type=\"date\" min=\"")
	from, to := cf.From.String(), cf.To.String()
	w.text(from)
	w.raw("\" max=\"")
	w.text(to)
	w.raw("\" value=\"")
	w.text(to)
	w.raw("\" required aria-describedby=\"on-range")
	if cf.Error != "" {
		w.raw(" on-error")
	}
	w.raw("\"")
	if cf.Error != "" {
		w.raw(" aria-invalid=\"true\"")
	}
	w.raw(">\n<p class=\"muted\" id=\"on-range\">")
	w.text(cf.Range)
	w.raw("</p>\n")
	w.textIn("<p class=\"field-error\" id=\"on-error\">", cf.Error, "</p>")
	w.raw("\n<p class=\"muted\">")
	w.raw(ww[wConfirmOnce])
	w.raw("</p>\n<button type=\"submit\">")
	w.raw(ww[wConfirmSubmit])
	w.raw("</button>\n</form>\n</section>\n\n")
}

func writeDates(w *pageBuf, ww *[nCoverageWords]string, p *publicCoveragePage) {
	if len(p.Windows) == 0 && p.StartLine == "" {
		w.raw("\n")
		return
	}
	w.raw("\n<section class=\"card\">\n<h2>")
	w.raw(ww[wDatesTitle])
	w.raw("</h2>\n")
	if len(p.Windows) > 0 {
		w.raw("<ul class=\"dates\">")
		writeLines(w, p.Windows, false)
		w.raw("\n</ul>")
	}
	w.raw("\n")
	for _, x := range []struct{ class, text string }{{"muted", p.StartLine}, {"note", p.EstimatedNote}, {"muted", p.RepairsRule}} {
		if x.text != "" {
			w.raw("<p class=\"")
			w.raw(x.class)
			w.raw("\">")
			w.text(x.text)
			w.raw("</p>")
		}
		w.raw("\n")
	}
	w.raw("</section>\n\n")
}

// writeLines writes the <li>s of a dates list; withKind adds each line's
// kind after its label (the accessories).
func writeLines(w *pageBuf, lines []publicLine, withKind bool) {
	for _, x := range lines {
		w.raw("\n<li")
		if !x.Open {
			w.raw(" class=\"ended\"")
		}
		w.raw("><span class=\"what\">")
		w.text(x.Label)
		if withKind {
			w.raw(" · <span class=\"nowrap\">")
			w.text(x.Kind)
			w.raw("</span>")
		}
		w.raw("</span><span class=\"until\">")
		w.text(x.Until)
		w.raw("</span><span class=\"left\">")
		w.text(x.Left)
		w.raw("</span></li>")
	}
}

func writeAccessories(w *pageBuf, ww *[nCoverageWords]string, p *publicCoveragePage) {
	if len(p.Accessories) == 0 {
		return
	}
	w.raw("\n<section class=\"card\">\n<h2>")
	w.raw(ww[wAccessoriesTitle])
	w.raw("</h2>\n<ul class=\"dates\">")
	writeLines(w, p.Accessories, true)
	w.raw("\n</ul>\n</section>\n")
}
