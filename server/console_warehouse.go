package server

// The console's warehouse pages: models, batch registration by CSV, batch
// view, label files, dispatch and receipt by order.

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/labels"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// modelForm is the model form's fields as typed.
type modelForm struct {
	SKU, Name, Kind, GTIN, Months string
	Editing                       bool
}

type modelsBody struct {
	Models []modelView
	Form   modelForm
	Err    *policy.Error
	Kinds  []policy.Kind
	// Defaults are the policy's periods by kind, in words.
	Defaults string
}

func (s *Server) modelsPage(c echo.Context, status int, f modelForm, ferr *policy.Error) error {
	ms, err := s.db.Models()
	if err != nil {
		return err
	}
	b := modelsBody{Form: f, Err: ferr, Kinds: []policy.Kind{policy.KindProduct, policy.KindAccessory, policy.KindAdapter}}
	l := s.lang(c)
	var defaults []string
	for _, k := range b.Kinds {
		defaults = append(defaults, l.T("console.models.kind_months", argText(l, k, consoleDate), s.policy.Months(k)))
	}
	b.Defaults = strings.Join(defaults, l.T("console.models.kind_sep"))
	for _, m := range ms {
		b.Models = append(b.Models, s.modelView(m))
	}
	title := "console.nav.models"
	if f.Editing {
		title = s.lang(c).T("console.models.edit", f.SKU)
	}
	return s.render(c, status, "models.html", page{Title: title, Nav: "models", Body: b})
}

// consoleModels lists the models with a form for a new one. Codes: 200.
func (s *Server) consoleModels(c echo.Context) error {
	return s.modelsPage(c, http.StatusOK, modelForm{Kind: string(policy.KindProduct)}, nil)
}

// consoleModel shows the form to edit one model. Codes: 200; 400; 404.
func (s *Server) consoleModel(c echo.Context) error {
	sku, err := identParam(c, "sku")
	if err != nil {
		return err
	}
	m, err := s.db.Model(sku)
	if err != nil {
		return err
	}
	f := modelForm{SKU: m.SKU, Name: m.Name, Kind: string(m.Kind), GTIN: m.GTIN, Editing: true}
	if m.WarrantyMonths != 0 {
		f.Months = strconv.Itoa(m.WarrantyMonths)
	}
	return s.modelsPage(c, http.StatusOK, f, nil)
}

// consolePutModel creates a model, or replaces one from its edit form
// (registry.PutModel, as PUT /api/v1/models/{sku}). Codes: 303 to the list;
// 409 (the new-model form names an existing SKU) and 422 with the form again.
func (s *Server) consolePutModel(c echo.Context) error {
	f := modelForm{SKU: c.FormValue("sku"), Name: c.FormValue("name"), Kind: c.FormValue("kind"),
		GTIN: c.FormValue("gtin"), Months: strings.TrimSpace(c.FormValue("warranty_months")), Editing: c.FormValue("editing") != ""}
	m := policy.Model{SKU: f.SKU, Name: f.Name, Kind: policy.Kind(f.Kind), GTIN: f.GTIN}
	if f.Months != "" {
		n, err := strconv.Atoi(f.Months)
		if err != nil || n <= 0 {
			return s.modelsPage(c, http.StatusUnprocessableEntity, f, policy.Errorf(policy.EInvalid, "warranty_months",
				"warranty_months must be a whole number of months, 1 or more (leave it empty for the policy's default)").Keyed("model.months_whole", nil))
		}
		m.WarrantyMonths = n
	}
	if !f.Editing {
		// The new-model form never replaces a model by accident.
		if old, err := s.db.Model(f.SKU); err == nil {
			return s.modelsPage(c, http.StatusConflict, f, policy.Errorf(policy.EConflict, "sku",
				"model %s (%s) exists already: edit it from the list instead", old.SKU, old.Name).
				Keyed("model.exists", policy.Args{"sku": old.SKU, "name": old.Name}))
		}
	}
	var created bool
	err := s.checkModelName(m)
	if err == nil {
		m, created, err = s.db.PutModel(actorOf(c), m)
	}
	if err != nil {
		if pe, status, ok := refused(err); ok {
			return s.modelsPage(c, status, f, pe)
		}
		return err
	}
	msg := "console.models.updated_flash"
	if created {
		msg = "console.models.created_flash"
	}
	s.flash(c, s.lang(c).T(msg, m.SKU, m.Name))
	return c.Redirect(http.StatusSeeOther, consolePrefix+"/models")
}

type batchesBody struct {
	Batches []registry.BatchCount
	Notices map[string]registry.Severity // batch -> severity of its notice, marked in the list
	Charset string
	Err     *policy.Error
	File    string
}

func (s *Server) batchesPage(c echo.Context, status int, b batchesBody) error {
	bs, err := s.db.Batches()
	if err != nil {
		return err
	}
	b.Batches = bs
	ns, err := s.db.Notices()
	if err != nil {
		return err
	}
	b.Notices = make(map[string]registry.Severity, len(ns))
	for _, n := range ns {
		b.Notices[n.Batch] = n.Severity
	}
	return s.render(c, status, "batches.html", page{Title: "console.nav.batches", Nav: "batches", Body: b})
}

// consoleBatches lists the batches with the CSV upload form. Codes: 200.
func (s *Server) consoleBatches(c echo.Context) error {
	return s.batchesPage(c, http.StatusOK, batchesBody{})
}

// consoleUpload registers the serials of an uploaded CSV (as POST
// /api/v1/items registers text/csv: registry.RegisterCSV, all or nothing).
// Codes: 303 to the batch (or the list when the file holds several); 400
// (no file, bad header or charset) and 422 (rows) with the form again and
// the rejected rows in a table.
func (s *Server) consoleUpload(c echo.Context) error {
	b := batchesBody{Charset: c.FormValue("charset")}
	fh, err := c.FormFile("csv")
	if err != nil {
		return s.batchesPage(c, http.StatusBadRequest, b.with(policy.Errorf(policy.EBadRequest, "csv", "choose a CSV file to upload").
			Keyed("csv.choose_file", nil)))
	}
	b.File = fh.Filename
	f, err := fh.Open()
	if err != nil {
		return err
	}
	body, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return bodyReadError(err)
	}
	// Registered as POST /api/v1/items registers a CSV, so that the table
	// lists every bad row at once, with its line.
	release, err := s.registrationSlot(c)
	if err != nil {
		return err
	}
	defer release()
	r, err := csvReader(b.Charset, bytes.NewReader(body))
	if err == nil {
		var res registry.RegisterResult
		if res, err = s.db.RegisterCSV(actorOf(c), r); err == nil {
			rows, err := decodeCSV(b.Charset, body) // read again for the batches to go to: every row is good
			if err != nil {
				return err
			}
			return s.registered(c, rows, res)
		}
	}
	if pe, status, ok := refused(err); ok {
		return s.batchesPage(c, status, b.with(pe))
	}
	return err
}

func (b batchesBody) with(err *policy.Error) batchesBody {
	b.Err = err
	return b
}

// registered reports a registration and goes to its batch.
func (s *Server) registered(c echo.Context, rows []registry.Row, res registry.RegisterResult) error {
	var batches []string
	for _, r := range rows {
		if !slices.Contains(batches, r.Batch) {
			batches = append(batches, r.Batch)
		}
	}
	l := s.lang(c)
	msg := l.T("console.batches.registered", res.Created, batches[0])
	if len(batches) > 1 {
		msg = l.T("console.batches.registered_many", res.Created, len(batches))
	}
	if res.Unchanged > 0 {
		msg += l.T("console.batches.unchanged", res.Unchanged)
	}
	s.flash(c, msg+l.T("console.desk.stop"))
	if len(batches) == 1 {
		return c.Redirect(http.StatusSeeOther, consolePrefix+"/batches/"+url.PathEscape(batches[0]))
	}
	return c.Redirect(http.StatusSeeOther, consolePrefix+"/batches")
}

// labelRange is one label file of a batch: up to MaxLabels of its members
// (the bound of POST /api/v1/labels), those after the serial After ("" =
// from the first).
type labelRange struct {
	After, First, Last string
	N                  int
}

type batchBody struct {
	Page     registry.BatchPage
	Rows     []memberRow // the page's serials with their state
	InStock  int         // members in stock: what "dispatch" sends
	After    string
	Ranges   []labelRange
	Preview  string // a member whose label the page shows
	Today    policy.Date
	Sizes    []string
	Size     string
	Dispatch dispatchForm
	Nonce    string
	// Notice is the batch's notice, nil when it has none; NoticeForm the
	// admin's form to set one (nil for other roles), NoticeErr its refusal.
	Notice     *noticeView
	NoticeForm *noticeForm
	NoticeErr  *policy.Error
}

// memberRow is a member of a batch with its state.
type memberRow struct {
	Serial string
	State  policy.State
}

// consoleBatch shows a page of a batch: members with their state, a link
// to the desk and a reprint link each, carriers (products with a bundled
// accessory of it), one label control with a preview, and a dispatch form
// for the members still in stock (none offered when none is).
// ?after=SERIAL&limit=N as the API. The batch's notice is shown above
// them, with a form for admins to set, change or clear it. Codes: 200;
// 400; 404.
func (s *Server) consoleBatch(c echo.Context) error {
	return s.batchConsolePage(c, http.StatusOK, nil, nil)
}

// batchConsolePage renders a batch's page with status; f, when not nil, is
// the notice form as typed and ferr its refusal.
func (s *Server) batchConsolePage(c echo.Context, status int, f *noticeForm, ferr *policy.Error) error {
	p, err := s.batchPage(c)
	if err != nil {
		return err
	}
	batch := p.Batch
	members, err := s.memberStates(batch)
	if err != nil {
		return err
	}
	b := batchBody{Page: p, After: c.QueryParam("after"), Ranges: labelRanges(members), Today: s.today(), Size: labels.DefaultSize.String(),
		Dispatch: dispatchForm{Batch: batch, On: s.today().String()}, Nonce: token()}
	state := map[string]policy.State{}
	for _, m := range members {
		state[m.Serial] = m.State
		if m.State == policy.Registered {
			b.InStock++
		}
		if b.Preview == "" && !retired(m.State) {
			b.Preview = m.Serial
		}
	}
	for _, sn := range p.Serials {
		b.Rows = append(b.Rows, memberRow{Serial: sn, State: state[sn]})
	}
	for _, z := range labels.Sizes() {
		b.Sizes = append(b.Sizes, z.String())
	}
	n, err := s.batchNotice(batch)
	if err != nil {
		return err
	}
	if n != nil {
		v := s.noticeView(*n)
		b.Notice = &v
	}
	if keyOf(c).Role == registry.RoleAdmin {
		b.NoticeForm, b.NoticeErr = f, ferr
		if f == nil {
			b.NoticeForm = &noticeForm{Severity: string(registry.SeverityRecall), Since: s.today().String()}
			if n != nil {
				b.NoticeForm = &noticeForm{Severity: string(n.Severity), Text: n.Text, TextEN: n.TextEN, Since: n.Since.String()}
			}
		}
	}
	return s.render(c, status, "batch.html", page{Title: s.lang(c).T("console.batch.title", batch), Nav: "batches", Body: b})
}

// memberStates reads every member of a batch with its state today (one
// read per member: a batch page, a label file or a dispatch of a batch
// reads the whole batch).
func (s *Server) memberStates(batch string) ([]memberRow, error) {
	today := s.today()
	var out []memberRow
	after := ""
	for {
		p, err := s.db.Batch(batch, after, registry.MaxLimit)
		if err != nil {
			return nil, err
		}
		for _, sn := range p.Serials {
			rec, err := s.db.Get(sn)
			if err != nil {
				return nil, err
			}
			out = append(out, memberRow{Serial: sn, State: s.policy.Coverage(rec.Item, rec.History, today).State})
		}
		if p.Next == "" {
			return out, nil
		}
		after = p.Next
	}
}

// retired reports whether a unit of state st is out of use for good
// (replaced or returned): no label is printed for it.
func retired(st policy.State) bool { return st == policy.Replaced || st == policy.Returned }

// labelRanges splits a batch's members still in use into label files of
// at most MaxLabels (retired serials get no label).
func labelRanges(members []memberRow) []labelRange {
	var out []labelRange
	var cur labelRange
	for _, m := range members {
		if retired(m.State) {
			continue
		}
		if cur.N == MaxLabels {
			out, cur = append(out, cur), labelRange{After: cur.Last}
		}
		if cur.N == 0 {
			cur.First = m.Serial
		}
		cur.Last = m.Serial
		cur.N++
	}
	if cur.N > 0 {
		out = append(out, cur)
	}
	return out
}

// rangeMembers lists the members of batch still in use after the serial
// after, at most MaxLabels.
func (s *Server) rangeMembers(batch, after string) ([]string, error) {
	members, err := s.memberStates(batch)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range members {
		if len(out) < MaxLabels && m.Serial > after && !retired(m.State) {
			out = append(out, m.Serial)
		}
	}
	return out, nil
}

// consoleBatchLabels sends one label file of a batch: format=pdf (A4
// sheets of Avery L7160 labels) or zpl (?size=, ?dpi= of the printer), for
// the whole batch or, past MaxLabels, the members after ?after= (the batch
// page lists the files). It is POST /api/v1/labels' code: every label is
// drawn before the first byte, so a label that cannot be printed is an
// error page naming it, never a cut file. Codes: 200; 400; 404; 422
// (format, size, dpi; labels that do not fit, with a size that does).
func (s *Server) consoleBatchLabels(c echo.Context) error {
	batch, err := identParam(c, "batch")
	if err != nil {
		return err
	}
	after, err := queryIdent(c, "after")
	if err != nil {
		return err
	}
	in := labelsInput{Format: c.QueryParam("format")}
	if strings.EqualFold(strings.TrimSpace(in.Format), "zpl") {
		in.Size = c.QueryParam("size")
		if d := strings.TrimSpace(c.QueryParam("dpi")); d != "" {
			if in.DPI, err = strconv.Atoi(d); err != nil {
				return paramErrorf("dpi", "dpi must be 203 or 300, not %q", d)
			}
		}
	}
	if in.Serials, err = s.rangeMembers(batch, after); err != nil {
		return err
	} else if len(in.Serials) == 0 {
		return policy.Errorf(policy.ENotFound, "after", "batch %s has no serials in use after %q to label", batch, after).
			Keyed("labels.none_after", policy.Args{"batch": batch, "after": after})
	}
	job, err := s.labelJob(in)
	if err != nil {
		return err
	}
	return s.labelFile(c, job)
}

// printer reads ?size= and ?dpi= (labels' defaults when absent).
// Errors: EInvalid (400) naming the parameter.
func printer(c echo.Context) (labels.Size, int, error) {
	size, err := labels.ParseSize(c.QueryParam("size"))
	if err != nil {
		return size, 0, badParam("size", err)
	}
	dpi, err := labels.ParseDPI(c.QueryParam("dpi"))
	if err != nil {
		return size, 0, badParam("dpi", err)
	}
	return size, dpi, nil
}

// certificate is the label of rec's item of model m: check code under the
// current secret, check URL under the public URL (or, when none is
// configured, the address this request came to), accessory batches as on
// record after its history.
func (s *Server) certificate(c echo.Context, m policy.Model, rec registry.Record) labels.Certificate {
	public := s.cfg.PublicURL
	if public == "" {
		public = c.Scheme() + "://" + c.Request().Host
	}
	return labels.NewCertificate(s.policy, m, rec.Item, rec.History, public, s.db.CheckSecrets()[0])
}

// download sends a file as an attachment.
func download(c echo.Context, contentType, name string, body []byte) error {
	h := c.Response().Header()
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, contentType, body)
}

// dispatchForm is the dispatch form's fields as typed.
type dispatchForm struct {
	Batch, Serials, Order, On, Note string
}

// receiptForm is the receipt-by-order form's fields as typed.
type receiptForm struct {
	Order, On, Evidence string
}

type dispatchBody struct {
	Dispatch   dispatchForm
	Receipt    receiptForm
	DispatchEr *policy.Error
	ReceiptEr  *policy.Error
	Evidence   []policy.Evidence
	Nonce      string
}

func (s *Server) dispatchPage(c echo.Context, status int, b dispatchBody) error {
	today := s.today().String()
	b.Dispatch.On = cmp.Or(b.Dispatch.On, today)
	b.Receipt.On = cmp.Or(b.Receipt.On, today)
	b.Evidence = []policy.Evidence{policy.Courier, policy.Invoice, policy.Customer}
	b.Nonce = token()
	return s.render(c, status, "dispatch.html", page{Title: "console.nav.dispatch", Nav: "dispatch", Body: b})
}

// consoleDispatchPage shows the dispatch and receipt forms. Codes: 200.
func (s *Server) consoleDispatchPage(c echo.Context) error {
	return s.dispatchPage(c, http.StatusOK, dispatchBody{Dispatch: dispatchForm{Batch: c.QueryParam("batch")}})
}

// consoleDispatch records `dispatched` (on, order) for every member of a
// batch or for a scanned list of serials (one per line; repeated scans
// count once), all or nothing through registry.AppendMany, as POST
// /api/v1/events. Codes: 303; 400/422 with the rejected rows in a table;
// 409 (the form was sent before with other values).
func (s *Server) consoleDispatch(c echo.Context) error {
	f := dispatchForm{Batch: strings.TrimSpace(c.FormValue("batch")), Serials: c.FormValue("serials"),
		Order: c.FormValue("order"), On: c.FormValue("on"), Note: c.FormValue("note")}
	fail := func(err error) error {
		if pe, status, ok := refused(err); ok {
			return s.dispatchPage(c, status, dispatchBody{Dispatch: f, DispatchEr: pe})
		}
		return err
	}
	if err := mayWrite(keyOf(c), policy.EvDispatched); err != nil {
		return fail(err)
	}
	ev, err := s.event(policy.EvDispatched, eventRequest{On: f.On, Order: f.Order, Note: f.Note})
	if err != nil {
		return fail(err)
	}
	if ev.On.IsZero() {
		return fail(policy.Errorf(policy.EInvalid, "on", "on (the dispatch date) is required").Keyed("dispatch.on_required", nil))
	}
	var serials []string
	var lines []int
	repeats := 0
	if f.Batch != "" {
		if serials, err = s.inStock(f.Batch); err != nil {
			return fail(err)
		}
	} else {
		serials, lines, repeats = scannedList(f.Serials)
	}
	if len(serials) == 0 {
		return fail(policy.Errorf(policy.EInvalid, "serials", "scan or type at least one serial, one per line").Keyed("dispatch.serials_required", nil))
	}
	rows := make([]registry.EventRow, len(serials))
	for i, sn := range serials {
		rows[i] = registry.EventRow{Serial: sn, Event: ev}
	}
	o, err := s.db.AppendMany(consoleWrite(c, "dispatch", formFields(f.Batch, strings.Join(serials, "\n"), f.Order, f.On, f.Note)), rows)
	if err != nil && lines != nil {
		err = onLines(err, lines)
	}
	if err != nil {
		return fail(err)
	}
	l := s.lang(c)
	msg := l.T("console.dispatch.done", len(o.Appended))
	if o.Replay != nil {
		msg = l.T("console.dispatch.sent_twice")
	}
	if f.Order != "" {
		msg += l.T("console.dispatch.under_order", strings.TrimSpace(f.Order))
	}
	if repeats > 0 {
		msg += l.T("console.dispatch.repeats", repeats)
	}
	s.flash(c, msg+l.T("console.desk.stop"))
	if f.Batch != "" {
		return c.Redirect(http.StatusSeeOther, consolePrefix+"/batches/"+url.PathEscape(f.Batch))
	}
	return c.Redirect(http.StatusSeeOther, consolePrefix+"/dispatch")
}

// consoleReceiveOrder records receipt for every serial dispatched under an
// order (registry.ReceiveOrder, as POST /api/v1/orders/{order}/received).
// Codes: 303; 404/409/422 with the form again.
func (s *Server) consoleReceiveOrder(c echo.Context) error {
	f := receiptForm{Order: c.FormValue("order"), On: c.FormValue("on"), Evidence: c.FormValue("evidence")}
	fail := func(err error) error {
		if pe, status, ok := refused(err); ok {
			return s.dispatchPage(c, status, dispatchBody{Receipt: f, ReceiptEr: pe})
		}
		return err
	}
	if err := mayWrite(keyOf(c), policy.EvReceived); err != nil {
		return fail(err)
	}
	order, err := policy.Ident("order", f.Order)
	if err != nil {
		return fail(err)
	}
	on, err := bodyDate("on", f.On)
	if err == nil && on.IsZero() {
		err = policy.Errorf(policy.EInvalid, "on", "on (the date the customer received the order) is required").Keyed("order.on_required", nil)
	}
	if err != nil {
		return fail(err)
	}
	evidence := policy.Evidence(strings.TrimSpace(f.Evidence))
	if !evidence.Valid() {
		return fail(policy.Errorf(policy.EInvalid, "evidence", "evidence must be courier, invoice or customer, not %q", f.Evidence).
			Keyed("event.bad_evidence", policy.Args{"value": f.Evidence}))
	}
	o, err := s.db.ReceiveOrder(consoleWrite(c, "receipt", formFields(order, f.On, f.Evidence)), order, on, evidence)
	if err != nil {
		return fail(err)
	}
	if o.Replay != nil {
		s.flash(c, s.lang(c).T("console.receipt.sent_twice"))
	} else {
		s.flash(c, s.lang(c).T("console.receipt.recorded", on.String(), len(o.Appended), order))
	}
	return c.Redirect(http.StatusSeeOther, consolePrefix+"/dispatch")
}

// inStock lists the members of batch still in stock (the ones a dispatch
// of the batch sends). Errors: EInvalid when there is none.
func (s *Server) inStock(batch string) ([]string, error) {
	members, err := s.memberStates(batch)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range members {
		if m.State == policy.Registered {
			out = append(out, m.Serial)
		}
	}
	if len(out) == 0 {
		return nil, policy.Errorf(policy.EInvalid, "batch", "batch %s has no serials in stock to dispatch", batch).
			Keyed("dispatch.none_in_stock", policy.Args{"batch": batch})
	}
	return out, nil
}

// scannedList splits a scanned list (one serial per line; commas,
// semicolons, spaces and tabs separate too, as scanners and spreadsheets
// paste them), keeping the first of repeated scans. It returns the serials,
// the 1-based line of each, and the repeats dropped; identifiers are
// checked by the registry, row by row.
func scannedList(text string) (serials []string, lines []int, repeats int) {
	sep := func(r rune) bool { return r == '\r' || r == ',' || r == ';' || r == ' ' || r == '\t' }
	for i, line := range strings.Split(text, "\n") {
		for _, f := range strings.FieldsFunc(line, sep) {
			f = scannedSerial(f)
			if slices.Contains(serials, f) {
				repeats++
				continue
			}
			serials = append(serials, f)
			lines = append(lines, i+1)
		}
	}
	return serials, lines, repeats
}

// onLines renumbers the rows of a refusal as lines of the scanned list.
func onLines(err error, lines []int) error {
	pe, ok := err.(*policy.Error)
	if !ok || len(pe.Rows) == 0 {
		return err
	}
	cp := *pe
	cp.Rows = slices.Clone(pe.Rows)
	for i := range cp.Rows {
		if n := cp.Rows[i].Row; n >= 1 && n <= len(lines) {
			cp.Rows[i].Row = lines[n-1]
		}
	}
	return &cp
}

// consoleWrite is the registry.Write of a console form: the signed-in key
// as actor, and the form's one-time nonce as idempotency key, so a form
// sent twice (Enter pressed twice, the back button) writes once. The
// request hash covers the form's fields, so the same nonce with other
// values is refused rather than replayed.
func consoleWrite(c echo.Context, scope string, fields []byte) registry.Write {
	w := registry.Write{Actor: actorOf(c)}
	nonce := c.FormValue(nonceField)
	if !wellFormed(nonce) {
		return w
	}
	w.IdempotencyKey = "console." + scope + "." + nonce
	h := sha256.New()
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write(fields)
	copy(w.RequestHash[:], h.Sum(nil))
	w.Answer = func(o registry.Outcome) ([]byte, error) { return []byte(strconv.Itoa(len(o.Appended))), nil }
	return w
}

// formFields joins field values unambiguously for a request hash.
func formFields(vals ...string) []byte {
	var b []byte
	for _, v := range vals {
		b = strconv.AppendQuote(b, v)
		b = append(b, ',')
	}
	return b
}
