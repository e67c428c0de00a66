package server

// Batch notices (contract, "Batch notices"): recalls and advisories an
// admin puts on a batch, through the API and the console's batch page. A
// unit is concerned by the notices of its own batch and of the batches of
// its bundled accessories (registry.NoticeBatches); when several apply the
// public page and the desk show one, chosen by registry.NoticeFor: a
// recall before an advisory, then the latest.

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/server/locale"
)

// noticeView is a notice as the API shows it.
type noticeView struct {
	Batch    string            `json:"batch"`
	Severity registry.Severity `json:"severity"`
	Text     string            `json:"text"`
	TextEN   nullString        `json:"text_en"`
	Since    policy.Date       `json:"since"`
	SetAt    stamp             `json:"set_at"`
	SetBy    string            `json:"set_by"`
}

func (s *Server) noticeView(n registry.Notice) noticeView {
	return noticeView{Batch: n.Batch, Severity: n.Severity, Text: n.Text, TextEN: nullString(n.TextEN), Since: n.Since,
		SetAt: s.stamp(n.SetAt), SetBy: n.SetBy}
}

// noticeRequest is the body of PUT /api/v1/batches/{batch}/notice and the
// console's notice form.
type noticeRequest struct {
	Severity string `json:"severity"`
	Text     string `json:"text"`
	TextEN   string `json:"text_en"`
	Since    string `json:"since"`
}

// notice checks the request's date and makes the notice of batch. Errors:
// EInvalid naming since.
func (r noticeRequest) notice(batch string) (registry.Notice, error) {
	since, err := bodyDate("since", r.Since)
	if err != nil {
		return registry.Notice{}, err
	}
	return registry.Notice{Batch: batch, Severity: registry.Severity(strings.TrimSpace(r.Severity)), Text: r.Text, TextEN: r.TextEN, Since: since}, nil
}

// putNotice sets a batch's notice {"severity": "recall"|"advisory", "text",
// "text_en" (optional), "since": "YYYY-MM-DD"}, replacing the one it had.
// Codes: 201 (the batch had none) or 200 with the notice; 400 (malformed
// batch or body); 401; 403; 404 (the batch has no registered serial and no
// bundled accessory); 413; 422 (severity, text, text_en, since, naming
// it); 503/507.
func (s *Server) putNotice(c echo.Context) error {
	batch, err := identParam(c, "batch")
	if err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var r noticeRequest
	if err := decodeJSON(body, &r); err != nil {
		return err
	}
	n, err := r.notice(batch)
	if err != nil {
		return err
	}
	n, created, err := s.db.PutNotice(actorOf(c), n)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, s.noticeView(n))
}

// deleteNotice clears a batch's notice. Codes: 204; 400 (malformed
// batch); 401; 403; 404 (the batch has no notice); 503/507.
func (s *Server) deleteNotice(c echo.Context) error {
	batch, err := identParam(c, "batch")
	if err != nil {
		return err
	}
	if err := s.db.DeleteNotice(actorOf(c), batch); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// listNotices answers every current notice with its batch, in batch order:
// {"notices": [...]}. Codes: 200; 401.
func (s *Server) listNotices(c echo.Context) error {
	ns, err := s.db.Notices()
	if err != nil {
		return err
	}
	out := struct {
		Notices []noticeView `json:"notices"`
	}{make([]noticeView, len(ns))}
	for i, n := range ns {
		out.Notices[i] = s.noticeView(n)
	}
	return c.JSON(http.StatusOK, out)
}

// batchNotice is the notice of one batch, nil when it has none.
func (s *Server) batchNotice(batch string) (*registry.Notice, error) {
	ns, err := s.db.BatchNotices([]string{batch})
	if err != nil || len(ns) == 0 {
		return nil, err
	}
	return &ns[0], nil
}

// unitNotice is the notice shown for rec's unit today (registry.NoticeFor
// over the notices of its batches), nil when none applies.
func (s *Server) unitNotice(rec registry.Record, today policy.Date) (*registry.Notice, error) {
	ns, err := s.db.BatchNotices(registry.NoticeBatches(rec))
	if err != nil {
		return nil, err
	}
	n := registry.NoticeFor(ns, today)
	if n == nil {
		return nil, nil
	}
	out := *n
	return &out, nil
}

// noticeText is a notice's text in language l: the English one on an
// English page when there is one, else the Chinese.
func noticeText(l *locale.Lang, n registry.Notice) string {
	if l != locale.ZH && n.TextEN != "" {
		return n.TextEN
	}
	return n.Text
}

// publicNoticeOf is n as the public answer in language l shows it.
func publicNoticeOf(l *locale.Lang, n *registry.Notice) *publicNotice {
	if n == nil {
		return nil
	}
	return &publicNotice{Severity: string(n.Severity), Text: noticeText(l, *n), Since: n.Since}
}

// publicBanner is the notice as the public page shows it, at the top.
type publicBanner struct {
	Severity, Title, Text, Since string
	Call, Phone                  string // the call button's words and number
}

// banner words n for the public page in language l; phone is the
// service number the banner offers to call ("" for none).
func (w *wordMemo) banner(l *locale.Lang, n *publicNotice, phone string) *publicBanner {
	if n == nil {
		return nil
	}
	b := &publicBanner{Severity: n.Severity, Title: w.tk(l, "public.notice.", n.Severity), Text: n.Text,
		Since: w.ts(l, "public.notice.since", w.date(l, n.Since))}
	if phone != "" {
		b.Call, b.Phone = w.ts(l, "public.notice.call", phone), phone
	}
	return b
}

// deskNotice is the notice as the desk shows it: whose batch it is (the
// unit's own or a bundled accessory's), in the console's language.
type deskNotice struct {
	Severity  string
	Title     string
	Text      string
	Since     policy.Date
	Batch     string
	Accessory bool
}

func deskNoticeOf(l *locale.Lang, n *registry.Notice, rec registry.Record) *deskNotice {
	if n == nil {
		return nil
	}
	return &deskNotice{Severity: string(n.Severity), Title: l.T("console.notice." + string(n.Severity)), Text: noticeText(l, *n),
		Since: n.Since, Batch: n.Batch, Accessory: n.Batch != rec.Item.Batch}
}

// noticeForm is the console's notice form as typed.
type noticeForm struct {
	Severity, Text, TextEN, Since string
}

// consolePutNotice sets a batch's notice from its console page
// (registry.PutNotice, as PUT /api/v1/batches/{batch}/notice). Codes: 303
// to the batch page; 400; 404; 422 with the page and the form again.
func (s *Server) consolePutNotice(c echo.Context) error {
	batch, err := identParam(c, "batch")
	if err != nil {
		return err
	}
	f := noticeForm{Severity: c.FormValue("severity"), Text: c.FormValue("text"), TextEN: c.FormValue("text_en"), Since: c.FormValue("since")}
	n, err := noticeRequest(f).notice(batch)
	if err == nil {
		_, _, err = s.db.PutNotice(actorOf(c), n)
	}
	if err != nil {
		if pe, status, ok := refused(err); ok && status != http.StatusNotFound {
			return s.batchConsolePage(c, status, &f, pe)
		}
		return err
	}
	l := s.lang(c)
	s.flash(c, l.T("console.notice.set_flash", l.T("console.notice."+string(n.Severity)), batch))
	return c.Redirect(http.StatusSeeOther, consolePrefix+"/batches/"+batch)
}

// consoleClearNotice clears a batch's notice from its console page. Codes:
// 303 to the batch page; 400; 404 (no notice).
func (s *Server) consoleClearNotice(c echo.Context) error {
	batch, err := identParam(c, "batch")
	if err != nil {
		return err
	}
	if err := s.db.DeleteNotice(actorOf(c), batch); err != nil {
		return err
	}
	s.flash(c, s.lang(c).T("console.notice.cleared_flash", batch))
	return c.Redirect(http.StatusSeeOther, consolePrefix+"/batches/"+batch)
}
