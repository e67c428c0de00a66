package server

// The console's service desk: the scan field, an item's status with its
// forms for every service event, the entitlement panel and the queue of
// open cases.

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/server/locale"
)

// deskBody is the desk page: the scan field, and an item when one is open
// (else the cases due soonest).
type deskBody struct {
	Scan    string
	ScanErr *policy.Error
	Item    *itemBody
	Due     []queueRow
	Open    int
	Overdue int
}

// itemBody is everything the desk shows of one item.
type itemBody struct {
	View      itemView
	ModelName string
	Windows   []window
	History   []historyRow
	Forms     []eventForm
	Retired   bool
	CSRF      string // the session's form token
	Refused   bool   // a form was refused: its field has the focus, not the scan field
	// Refusal is the refusal of an event whose form the desk does not
	// offer in the item's state (sent from an older page).
	Refusal     *policy.Error
	RefusedType policy.EventType
	Claim       claimBody
	// Today is the claim worked out when the item opens: today, the case's
	// diagnosis (or, before one, a quality problem: what the customer may
	// choose if detection finds one), the unit intact and complete.
	Today *claimBody
	// EarlyCheck: the public page was first checked before the customer
	// received the unit — a sign the label was copied.
	EarlyCheck bool
	Case       *queueRow
	// Notice is the batch notice for the unit (its batch's or a bundled
	// accessory's), nil when none applies.
	Notice *deskNotice
}

// window is one of the item's periods with the days left on it.
type window struct {
	Name  string
	Until policy.Date
	Left  int
	None  string // why there is no such window
}

// historyRow is one event as the history table shows it.
type historyRow struct {
	Event   eventView
	When    string
	Details []string
}

// eventForm is the form of one event type.
type eventForm struct {
	Type    policy.EventType
	Title   string
	Intro   string
	Button  string
	Confirm string // asked before a step that cannot be undone
	Fields  []formField
	Open    bool
	Err     *policy.Error
	Nonce   string
}

// formField is one labelled input of a console form.
type formField struct {
	Name, Label, Type, Value, Hint, Mode string
	Required, Invalid, Focus, Checked    bool
	Max                                  int
	Options                              []option
}

type option struct{ Value, Label string }

// claimBody is the entitlement panel: the claim as asked and its answer.
type claimBody struct {
	On, Finding, Part, Accessory string
	Assumed                      bool // no diagnosis yet: a quality problem is assumed
	Intact, Complete             bool
	Asked                        bool
	Result                       *policy.Entitlement
	Err                          *policy.Error
	Findings                     []option
	Accessories                  []option
}

// queueRow is an open case with its due time in words.
type queueRow struct {
	Case  caseView
	Due   string
	Model string // the model's name (the queue page only)
}

// consoleDesk shows the scan field; a scanned serial (or a scanned check
// URL) opens the item. Codes: 200; 303 to the item; 400 (not a serial).
func (s *Server) consoleDesk(c echo.Context) error {
	raw := c.QueryParam("serial")
	if strings.TrimSpace(raw) == "" {
		return s.deskPage(c, http.StatusOK, deskBody{})
	}
	serial, err := policy.Ident("serial", scannedSerial(raw))
	if err != nil {
		return s.deskPage(c, http.StatusBadRequest, deskBody{Scan: raw, ScanErr: err.(*policy.Error)})
	}
	return c.Redirect(http.StatusSeeOther, itemPath(serial))
}

func itemPath(serial string) string { return consolePrefix + "/items/" + url.PathEscape(serial) }

// scannedSerial takes the serial out of a scanned certificate QR (the check
// URL /c/{serial}?k= or GS1 Digital Link /01/{gtin}/21/{serial}?k=); anything
// else is returned trimmed.
func scannedSerial(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return s
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "c":
		return parts[1]
	case len(parts) == 4 && parts[0] == "01" && parts[2] == "21":
		return parts[3]
	}
	return s
}

// deskPage renders the desk; without an item it lists the cases due soonest.
func (s *Server) deskPage(c echo.Context, status int, b deskBody) error {
	title := "console.desk.title"
	if b.Item == nil {
		cases, err := s.openCases(false, "")
		if err != nil {
			return err
		}
		b.Open = len(cases)
		for _, k := range cases {
			if k.Overdue {
				b.Overdue++
			}
		}
		l := s.lang(c)
		for _, k := range cases[:min(len(cases), 5)] {
			b.Due = append(b.Due, s.queueRow(l, k))
		}
	} else {
		title = b.Item.View.Serial + " — " + s.lang(c).T("console.desk.title")
	}
	return s.render(c, status, "desk.html", page{Title: title, Nav: "desk", Body: b})
}

// consoleItem shows an item at the desk. Codes: 200; 400 and 404 (the desk
// with the scan error).
func (s *Server) consoleItem(c echo.Context) error {
	rec, status, err := s.deskRecord(c)
	if err != nil || status != 0 {
		return err
	}
	return s.itemPage(c, http.StatusOK, rec, itemState{})
}

// deskRecord reads the item of the path. A malformed or unknown serial
// renders the desk with the message by the scan field (status != 0).
func (s *Server) deskRecord(c echo.Context) (registry.Record, int, error) {
	raw := pathParam(c, "serial")
	serial, err := identParam(c, "serial")
	var rec registry.Record
	if err == nil {
		if rec, err = s.db.Get(serial); err == nil {
			return rec, 0, nil
		}
	}
	if pe, status, ok := refused(err); ok {
		return rec, status, s.deskPage(c, status, deskBody{Scan: raw, ScanErr: pe})
	}
	return rec, 0, err
}

// itemState carries a refused form (its type, values and error) or an
// entitlement question into the item page.
type itemState struct {
	Failed policy.EventType
	Values map[string]string
	Err    *policy.Error
	Claim  *claimBody
}

// itemPage renders an item at the desk with status.
func (s *Server) itemPage(c echo.Context, status int, rec registry.Record, st itemState) error {
	now := s.now()
	today := s.policy.Today(now)
	l := s.lang(c)
	v := s.itemView(rec, today, now)
	b := &itemBody{View: v, Retired: v.Warranty.Status == policy.Retired}
	if m, err := s.db.Model(rec.Item.SKU); err == nil {
		b.ModelName = m.Name
	}
	b.Windows = windows(l, v, today)
	for i := len(v.History) - 1; i >= 0; i-- {
		b.History = append(b.History, historyRow{Event: v.History[i], When: eventWhen(v.History[i]), Details: eventDetails(l, v.History[i])})
	}
	if v.OpenCase != nil {
		r := s.queueRow(l, *v.OpenCase)
		b.Case = &r
	}
	if f := rec.Scans.First; !f.IsZero() && !v.ReceivedOn.IsZero() && f.Before(v.ReceivedOn.Start(s.policy.Location())) {
		b.EarlyCheck = true
	}
	n, err := s.unitNotice(rec, today)
	if err != nil {
		return err
	}
	b.Notice = deskNoticeOf(l, n, rec)
	sess, _ := sessionOn(c)
	b.CSRF = sess.CSRF
	centers, err := s.centers()
	if err != nil {
		return err
	}
	b.Forms = s.eventForms(l, rec, v, sess, centers, st)
	if keyOf(c).Role == registry.RoleAdmin && len(v.History) > 0 {
		b.Forms = append(b.Forms, correctionForm(l, v, st))
	}
	if st.Err != nil {
		b.Refused = slices.ContainsFunc(b.Forms, func(f eventForm) bool { return f.Type == st.Failed })
		if !b.Refused {
			b.Refusal, b.RefusedType = st.Err, st.Failed
		}
	}
	if !b.Retired {
		b.Today = s.claimToday(rec, v, today)
	}
	if st.Claim != nil {
		b.Claim = *st.Claim
	} else if b.Today != nil {
		b.Claim = *b.Today
		b.Claim.Result, b.Claim.Err = nil, nil
	} else {
		b.Claim = claimBody{On: today.String(), Finding: string(policy.QualityProblem)}
	}
	for _, f := range policy.Findings {
		b.Claim.Findings = append(b.Claim.Findings, option{string(f), words(l, f)})
	}
	b.Claim.Accessories = []option{{"", l.T("console.claim.the_unit")}}
	for _, a := range v.Accessories {
		b.Claim.Accessories = append(b.Claim.Accessories, option{a.SKU, a.SKU + " " + a.Name + " (" + l.T("console.item.batch_n", a.Batch) + ")"})
	}
	return s.deskPage(c, status, deskBody{Item: b})
}

// claimToday works out, when an item opens, what the customer may choose
// today: for the open case's diagnosis, or before one for a quality problem
// (what detection would have to find for a free remedy), the unit intact
// and complete. Nil when the policy cannot answer (the answer would only
// be an error at the counter).
func (s *Server) claimToday(rec registry.Record, v itemView, today policy.Date) *claimBody {
	cb := &claimBody{On: today.String(), Intact: true, Complete: true}
	finding := policy.Finding("")
	if k := v.OpenCase; k == nil || k.Finding == "" {
		finding, cb.Assumed = policy.QualityProblem, true
	}
	ent, err := s.policy.Entitlements(rec.Item, rec.History, policy.Claim{On: today, Finding: finding, Intact: true, Complete: true, Why: true})
	if err != nil {
		return nil
	}
	if cb.Finding = string(finding); finding == "" {
		cb.Finding = string(v.OpenCase.Finding)
	}
	cb.Result = &ent
	return cb
}

// centers are the service centres of the staff accounts, for the intake
// form of someone without a centre of their own. Errors: storage.
func (s *Server) centers() ([]string, error) {
	us, err := s.db.Users()
	if err != nil {
		return nil, err
	}
	return userCenters(us), nil
}

// windows are the return, replacement and warranty periods with days left.
func windows(l *locale.Lang, v itemView, today policy.Date) []window {
	none := l.T("console.window.no_receipt")
	if e := v.ReceiptEvidence; e != "" {
		switch policy.Basis(e) {
		case policy.BasisEstimated:
			none = l.T("console.window.estimated")
		case policy.BasisExchange:
			none = l.T("console.window.exchange")
		}
	}
	out := []window{
		{Name: l.T("console.window.return"), Until: v.Warranty.ReturnUntil},
		{Name: l.T("console.window.replace"), Until: v.Warranty.ReplaceUntil},
		{Name: l.T("console.window.warranty"), Until: v.Warranty.WarrantyUntil},
	}
	for i := range out {
		if out[i].Until.IsZero() {
			out[i].None = none
			continue
		}
		out[i].Left = today.DaysUntil(out[i].Until)
	}
	return out
}

// eventWhen is an event's date or instant as the desk shows it.
func eventWhen(ev eventView) string {
	switch {
	case ev.On != nil:
		return ev.On.String()
	case ev.At != nil:
		return clockText(ev.At.t)
	}
	return ""
}

// eventDetails lists an event's fields in words.
func eventDetails(l *locale.Lang, ev eventView) []string {
	var out []string
	add := func(key, v string) {
		if v != "" {
			out = append(out, l.T("console.detail."+key)+": "+v)
		}
	}
	add("order", ev.Order)
	if ev.Evidence != "" {
		add("evidence", words(l, ev.Evidence))
	}
	add("center", ev.Center)
	add("complaint", ev.Complaint)
	add("contact", ev.Contact)
	if ev.Finding != "" {
		add("finding", words(l, ev.Finding))
	}
	add("part", ev.Part)
	if ev.Amount != "" {
		add("amount", ev.Amount+" "+ev.Currency)
	}
	if ev.Paid != nil {
		add("repair", l.T(map[bool]string{true: "console.detail.paid_repair", false: "console.detail.free_repair"}[*ev.Paid]))
	}
	add("parts", strings.Join(ev.Parts, ", "))
	add("new_serial", ev.NewSerial)
	add("tracking", ev.Tracking)
	add("reason", ev.Reason)
	add("accessory", ev.SKU)
	add("new_batch", ev.NewBatch)
	if ev.Corrects != 0 {
		add("corrects", "#"+strconv.FormatUint(ev.Corrects, 10))
	}
	add("note", ev.Note)
	return out
}

// nextStep is the form the desk opens for the case's stage: a suggestion
// only; the policy decides what is allowed.
func nextStep(v itemView) policy.EventType {
	k := v.OpenCase
	if k == nil {
		return policy.EvIntake
	}
	switch k.Stage {
	case "intake":
		return policy.EvDiagnosed
	case "diagnosed", "resumed":
		switch {
		case k.Finding == "":
			return policy.EvDiagnosed
		case k.Finding.Excluded() || !k.InWarranty:
			return policy.EvQuoted
		case k.Finding == policy.NoFault:
			return policy.EvShipped
		}
		return policy.EvRepaired
	case "quoted":
		return policy.EvPaid
	case "paid":
		return policy.EvRepaired
	case "paused":
		return policy.EvResumed
	}
	return policy.EvShipped
}

// eventForms are the forms the desk offers for the item's state: intake,
// receipt, resale and accessory exchange without an open case; every
// service step with one; nothing for a retired serial (corrections are the
// admin's, on the corrections form). Titles, labels and hints are in l.
// The intake's centre is the person's own (fixed) or, for someone without
// one, one of the centres of the staff accounts (typed only when there is
// none), so that one centre is always spelt one way.
func (s *Server) eventForms(l *locale.Lang, rec registry.Record, v itemView, sess session, centers []string, st itemState) []eventForm {
	if v.Warranty.Status == policy.Retired {
		return nil
	}
	t := l.T
	today := s.today().String()
	at := formField{Name: "at", Label: t("console.field.at"), Type: "datetime-local", Hint: t("console.field.at_hint")}
	note := formField{Name: "note", Label: t("console.field.note"), Type: "text", Max: policy.MaxNote}
	amount := formField{Name: "amount", Label: t("console.field.amount"), Type: "text", Mode: "decimal", Max: 16, Hint: t("console.field.amount_hint")}
	currency := formField{Name: "currency", Label: t("console.field.currency"), Type: "text", Value: policy.DefaultCurrency, Max: 3}
	var findings []option
	for _, f := range policy.Findings {
		findings = append(findings, option{string(f), words(l, f)})
	}
	var accessories []option
	for _, a := range v.Accessories {
		accessories = append(accessories, option{a.SKU, a.SKU + " " + a.Name + " (" + t("console.item.batch_n", a.Batch) + ")"})
	}
	req := func(f formField) formField { f.Required = true; return f }
	var forms []eventForm
	add := func(typ policy.EventType, f eventForm) {
		f.Type = typ
		f.Title = words(l, typ)
		if k := "console.form." + string(typ) + ".title"; l.Has(k) {
			f.Title = t(k) // the event, where its code also names a state
		}
		if k := "console.form." + string(typ) + ".intro"; l.Has(k) {
			f.Intro = t(k)
		}
		f.Button = t("console.form." + string(typ) + ".button")
		forms = append(forms, f)
	}
	center := formField{Name: "center", Label: t("console.field.center"), Type: "text", Max: policy.MaxCenter, Value: sess.Center, Required: true}
	switch {
	case sess.User.Center != "":
		center.Type, center.Value, center.Hint = "fixed", sess.User.Center, t("console.field.center_own")
	case len(centers) > 0:
		center.Type = "select"
		for _, c := range centers {
			center.Options = append(center.Options, option{c, c})
		}
	}
	k := v.OpenCase
	if k == nil {
		add(policy.EvIntake, eventForm{Fields: []formField{center,
			{Name: "complaint", Label: t("console.field.complaint"), Type: "textarea", Max: policy.MaxNote, Hint: t("console.field.complaint_hint")},
			{Name: "contact", Label: t("console.field.contact"), Type: "text", Max: policy.MaxContact, Hint: t("console.field.contact_hint")},
			at}})
		if v.ReceivedOn.IsZero() {
			add(policy.EvReceived, eventForm{Fields: []formField{
				req(formField{Name: "on", Label: t("console.field.received_on"), Type: "date", Value: today}),
				req(formField{Name: "evidence", Label: t("console.field.evidence"), Type: "select", Options: []option{
					{string(policy.Courier), words(l, policy.Courier)}, {string(policy.Invoice), words(l, policy.Invoice)},
					{string(policy.Customer), words(l, policy.Customer)}}}),
				note}})
		} else {
			add(policy.EvTransferred, eventForm{Fields: []formField{req(formField{Name: "on", Label: t("console.field.on"), Type: "date", Value: today}), note}})
		}
	} else {
		add(policy.EvDiagnosed, eventForm{Fields: []formField{
			req(formField{Name: "finding", Label: t("console.field.finding"), Type: "select", Options: findings}),
			{Name: "part", Label: t("console.field.part"), Type: "text", Max: policy.MaxPartName, Hint: t("console.field.part_hint")}, at}})
		add(policy.EvQuoted, eventForm{Fields: []formField{req(amount), currency, at}})
		add(policy.EvPaid, eventForm{Fields: []formField{req(withValue(amount, lastQuote(rec.History, k.Case))), currency, at}})
		add(policy.EvDeclined, eventForm{Fields: []formField{at, note}})
		add(policy.EvRepaired, eventForm{Fields: []formField{
			{Name: "paid", Label: t("console.field.paid"), Type: "checkbox", Value: "true", Hint: t("console.field.paid_hint")},
			{Name: "parts", Label: t("console.field.parts"), Type: "text", Max: 400, Hint: t("console.field.parts_hint")}, at, note}})
		add(policy.EvReplaced, eventForm{Confirm: t("console.form.replaced.confirm"), Fields: []formField{
			req(formField{Name: "new_serial", Label: t("console.field.new_serial"), Type: "text", Max: policy.MaxIdentLen, Hint: t("console.field.new_serial_hint")}), at}})
		add(policy.EvReturned, eventForm{Confirm: t("console.form.returned.confirm"), Fields: []formField{amount, currency, at, note}})
		reason := formField{Name: "reason", Label: t("console.field.reason"), Type: "text", Max: policy.MaxNote}
		if k.Paused {
			add(policy.EvResumed, eventForm{Fields: []formField{reason, at}})
		} else {
			add(policy.EvPaused, eventForm{Fields: []formField{reason, at}})
		}
		add(policy.EvShipped, eventForm{Fields: []formField{{Name: "tracking", Label: t("console.field.tracking"), Type: "text", Max: policy.MaxTracking}, at, note}})
	}
	if len(accessories) > 0 {
		add(policy.EvAccessoryReplaced, eventForm{Fields: []formField{
			req(formField{Name: "sku", Label: t("console.field.accessory"), Type: "select", Options: accessories}),
			req(formField{Name: "new_batch", Label: t("console.field.new_batch"), Type: "text", Max: policy.MaxIdentLen, Hint: t("console.field.new_batch_hint")}), at}})
	}
	suggested := nextStep(v)
	for i := range forms {
		f := &forms[i]
		f.Nonce = token()
		f.Open = f.Type == suggested && st.Failed == ""
		if f.Type != st.Failed {
			continue
		}
		f.Open, f.Err = true, st.Err
		for j := range f.Fields {
			fd := &f.Fields[j]
			switch fd.Type {
			case "checkbox":
				fd.Checked = st.Values[fd.Name] != ""
			case "fixed":
			default:
				fd.Value = st.Values[fd.Name]
			}
		}
		focus := false
		for j := range f.Fields {
			fd := &f.Fields[j]
			if st.Err != nil && fd.Name == st.Err.Field {
				fd.Invalid, fd.Focus, focus = fd.Type != "checkbox", true, true
			}
		}
		for j := range f.Fields {
			if !focus && f.Fields[j].Type != "fixed" {
				f.Fields[j].Focus, focus = true, true
			}
		}
	}
	// The open form (the refused one, else the suggested next step) comes
	// first, near the top of the page.
	slices.SortStableFunc(forms, func(a, b eventForm) int {
		switch {
		case a.Open == b.Open:
			return 0
		case a.Open:
			return -1
		}
		return 1
	})
	return forms
}

// correctable are the fields a correction from the desk may replace, one
// at a time (the API takes several at once).
var correctable = []string{"on", "at", "order", "evidence", "center", "complaint", "contact", "finding", "part",
	"amount", "currency", "tracking", "new_serial", "sku", "new_batch", "note"}

// correctionForm is the admin's form for a `corrected` event: which event,
// which of its fields, the new value and why. The original stays in the
// history and the audit log.
func correctionForm(l *locale.Lang, v itemView, st itemState) eventForm {
	var events, fields []option
	for i := len(v.History) - 1; i >= 0; i-- {
		ev := v.History[i]
		events = append(events, option{strconv.FormatUint(ev.Seq, 10), "#" + strconv.FormatUint(ev.Seq, 10) + " " + words(l, ev.Type) + " " + eventWhen(ev)})
	}
	for _, f := range correctable {
		fields = append(fields, option{f, l.T("console.correct.field." + f)})
	}
	f := eventForm{Type: policy.EvCorrected, Title: words(l, policy.EvCorrected), Intro: l.T("console.form.corrected.intro"),
		Button: l.T("console.form.corrected.button"), Nonce: token(), Fields: []formField{
			{Name: "seq", Label: l.T("console.correct.seq"), Type: "select", Options: events, Required: true},
			{Name: "field", Label: l.T("console.correct.which"), Type: "select", Options: fields, Required: true},
			{Name: "value", Label: l.T("console.correct.value"), Type: "text", Max: policy.MaxNote, Hint: l.T("console.correct.value_hint")},
			{Name: "reason", Label: l.T("console.field.reason"), Type: "text", Max: policy.MaxNote, Required: true},
		}}
	if st.Failed == policy.EvCorrected {
		f.Open, f.Err = true, st.Err
		for j := range f.Fields {
			fd := &f.Fields[j]
			fd.Value = st.Values[fd.Name]
			fd.Invalid = st.Err != nil && (fd.Name == st.Err.Field || fd.Name == "value" && st.Err.Field == st.Values["field"])
		}
	}
	return f
}

func withValue(f formField, v string) formField {
	f.Value = v
	return f
}

// lastQuote is the amount of the case's latest quotation ("" when none).
func lastQuote(history []policy.Event, caseID uint64) string {
	q := ""
	for _, ev := range policy.Effective(history) {
		if ev.Seq >= caseID && ev.Type == policy.EvQuoted {
			q = ev.Amount
		}
	}
	return q
}

// consoleEvent records one event from a desk form: the form's fields are
// the API's event fields, mapped by the same code as POST
// /api/v1/items/{serial}/events and appended through registry.Append, so the
// same policy rules decide. A refusal shows the item again with the rule's
// message by the form. Codes: 303 to the item; 400/403/409/422 with the
// form again; 404 (unknown serial, on the desk).
func (s *Server) consoleEvent(c echo.Context) error {
	rec, status, err := s.deskRecord(c)
	if err != nil || status != 0 {
		return err
	}
	serial := rec.Item.Serial
	values, err := formValues(c)
	if err != nil {
		return err
	}
	t, err := eventType(values["type"])
	fail := func(err error) error {
		if pe, status, ok := refused(err); ok {
			return s.itemPage(c, status, rec, itemState{Failed: t, Values: values, Err: pe})
		}
		return err
	}
	if err != nil {
		return fail(err)
	}
	if err := mayWrite(keyOf(c), t); err != nil {
		return fail(err)
	}
	if t == policy.EvCorrected {
		// One field per correction: the form names it and its new value.
		field := values["field"]
		if !slices.Contains(correctable, field) {
			return fail(policy.Errorf(policy.EInvalid, "field", "choose the field to correct").Keyed("form.choose_field", nil))
		}
		values[field] = values["value"]
	}
	if sess, _ := sessionOn(c); t == policy.EvIntake && sess.User.Center != "" {
		values["center"] = sess.User.Center // the person's own centre, whatever the form said
	}
	r, err := s.formEvent(values)
	if err != nil {
		return fail(err)
	}
	if t == policy.EvCorrected {
		seq, perr := strconv.ParseUint(strings.TrimSpace(values["seq"]), 10, 64)
		if perr != nil {
			return fail(policy.Errorf(policy.EInvalid, "seq", "choose the event to correct").Keyed("form.choose_seq", nil))
		}
		r.Seq, r.present = &seq, []string{values["field"]}
	}
	ev, err := s.event(t, r)
	if err != nil {
		return fail(err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var fields []string
	for _, k := range keys {
		fields = append(fields, k, values[k])
	}
	o, err := s.db.Append(consoleWrite(c, "event."+serial+"."+string(t), formFields(fields...)), serial, ev)
	if err != nil {
		return fail(err)
	}
	if t == policy.EvIntake {
		if sess, ok := sessionOn(c); ok && sess.User.Center == "" {
			if err := s.db.UpdateSession(sess.ID, func(x *registry.Session) { x.Center = strings.TrimSpace(values["center"]) }); err != nil {
				s.log.Warn("console session", "err", err)
			}
		}
	}
	s.flash(c, s.recorded(s.lang(c), t, o))
	return c.Redirect(http.StatusSeeOther, itemPath(serial))
}

// recorded says what an event write did, in l, with the case's new due
// time; the case is named with its serial, as everywhere.
func (s *Server) recorded(l *locale.Lang, t policy.EventType, o registry.Outcome) string {
	if o.Replay != nil || len(o.Appended) == 0 {
		return l.T("console.flash.sent_twice", words(l, t))
	}
	a := o.Appended[0]
	msg := l.T("console.flash.recorded", words(l, t), a.Event.Seq)
	k := s.policy.OpenCase(a.Record.Item, a.Record.History, s.now())
	switch {
	case k == nil && (t == policy.EvShipped || t == policy.EvReplaced || t == policy.EvReturned):
		msg += l.T("console.flash.closed")
	case k != nil && !k.DueAt.IsZero():
		msg += l.T("console.flash.due", caseID(a.Serial, k.ID), clockText(k.DueAt.In(s.policy.Location())))
	case k != nil:
		msg += l.T("console.flash.stopped", caseID(a.Serial, k.ID))
	}
	if t == policy.EvReplaced {
		msg += l.T("console.flash.replaces", a.Event.NewSerial, a.Serial)
	}
	return msg
}

// caseID names a case unambiguously: case numbers count events per item,
// so "#3" alone is many cases; "X1-0001 #3" is one.
func caseID(serial string, id uint64) string { return serial + " #" + strconv.FormatUint(id, 10) }

// formEvent maps desk form fields to the API's event request: a
// datetime-local `at` is read in the policy's time zone, `parts` is a
// comma-separated list, `paid` a checkbox. Errors: EInvalid naming the field.
func (s *Server) formEvent(v map[string]string) (eventRequest, error) {
	r := eventRequest{Type: v["type"], On: v["on"], Order: v["order"], Evidence: v["evidence"], Note: v["note"],
		Center: v["center"], Complaint: v["complaint"], Contact: v["contact"], Finding: v["finding"], Part: v["part"],
		Currency: v["currency"], Paid: v["paid"] == "true", NewSerial: scannedSerial(v["new_serial"]),
		Tracking: v["tracking"], Reason: v["reason"], SKU: v["sku"], NewBatch: v["new_batch"]}
	if at := strings.TrimSpace(v["at"]); at != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", at, s.policy.Location())
		if err != nil {
			t, err = time.ParseInLocation("2006-01-02T15:04:05", at, s.policy.Location())
		}
		if err != nil {
			return r, policy.Errorf(policy.EInvalid, "at", "at must be a date and time such as 2026-11-10T14:30, not %q", at).
				Keyed("form.at", policy.Args{"value": at})
		}
		r.At = t.Format(time.RFC3339)
	}
	if r.Currency = strings.TrimSpace(r.Currency); strings.TrimSpace(v["amount"]) == "" && strings.EqualFold(r.Currency, policy.DefaultCurrency) {
		r.Currency = "" // the prefilled currency of an optional amount left empty
	}
	if a := strings.TrimSpace(v["amount"]); a != "" {
		r.Amount = []byte(strconv.Quote(a))
	}
	if p := strings.TrimSpace(v["parts"]); p != "" {
		var parts []string
		for _, x := range strings.Split(p, ",") {
			if x = strings.TrimSpace(x); x != "" {
				parts = append(parts, x)
			}
		}
		r.Parts = []byte(jsonList(parts))
	}
	return r, nil
}

// jsonList renders names as a JSON array of strings.
func jsonList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// consoleEntitlements answers the entitlement panel: the claim read from
// the query as GET /api/v1/items/{serial}/entitlements reads it, decided by
// policy.Entitlements. Codes: 200; 400 (a malformed parameter) and 422 (no
// finding and no diagnosis on record) with the panel showing why; 404.
func (s *Server) consoleEntitlements(c echo.Context) error {
	rec, status, err := s.deskRecord(c)
	if err != nil || status != 0 {
		return err
	}
	q := c.QueryParams()
	cb := &claimBody{Asked: true, On: q.Get("on"), Finding: q.Get("finding"), Part: q.Get("part"), Accessory: q.Get("accessory"),
		Intact: q.Get("intact") == "true", Complete: q.Get("complete") == "true"}
	claim, err := s.claim(c)
	if err == nil {
		claim.Why = true
		var ent policy.Entitlement
		if ent, err = s.policy.Entitlements(rec.Item, rec.History, claim); err == nil {
			cb.Result = &ent
			cb.On = claim.On.String()
			return s.itemPage(c, http.StatusOK, rec, itemState{Claim: cb})
		}
	}
	if pe, status, ok := refused(err); ok {
		cb.Err = pe
		return s.itemPage(c, status, rec, itemState{Claim: cb})
	}
	return err
}

// queueRow puts a case's due time in words (in l) as of now.
func (s *Server) queueRow(l *locale.Lang, k caseView) queueRow {
	r := queueRow{Case: k}
	switch due := k.DueAt.t; {
	case due.IsZero() && k.Paused:
		r.Due = l.T("console.due.paused")
	case due.IsZero():
		r.Due = l.T("console.due.payment")
	case k.Overdue:
		r.Due = l.T("console.due.overdue", span(l, s.now().Sub(due)))
	default:
		r.Due = l.T("console.due.in", span(l, due.Sub(s.now())))
	}
	return r
}

// span is a duration in days, hours and minutes, as a desk reads it.
func span(l *locale.Lang, d time.Duration) string {
	d = max(d, 0).Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h >= 48:
		return l.T("console.span.days", h/24, h%24)
	case h > 0:
		return l.T("console.span.hours", h, m)
	}
	return l.T("console.span.minutes", m)
}

type queueBody struct {
	Rows    []queueRow
	Centers []string
	Center  string
	Overdue bool
	Total   int
}

// consoleQueue lists the open cases, soonest due first, overdue ones
// highlighted, filtered by centre (?center=) and to the overdue
// (?overdue=true); it refreshes itself every minute. Codes: 200; 400.
func (s *Server) consoleQueue(c echo.Context) error {
	overdue, err := queryBool(c, "overdue", false)
	if err != nil {
		return err
	}
	center, err := queryText(c, "center", policy.MaxCenter)
	if err != nil {
		return err
	}
	all, err := s.openCases(false, "")
	if err != nil {
		return err
	}
	shown := all
	if overdue || center != "" {
		if shown, err = s.openCases(overdue, center); err != nil {
			return err
		}
	}
	b := queueBody{Center: center, Overdue: overdue, Total: len(all)}
	for _, k := range all {
		if k.Center != "" && !slices.ContainsFunc(b.Centers, func(x string) bool { return strings.EqualFold(x, k.Center) }) {
			b.Centers = append(b.Centers, k.Center)
		}
	}
	slices.SortFunc(b.Centers, func(x, y string) int { return cmp.Compare(strings.ToLower(x), strings.ToLower(y)) })
	l := s.lang(c)
	models, err := s.modelNames()
	if err != nil {
		return err
	}
	for _, k := range shown {
		r := s.queueRow(l, k)
		r.Model = models[k.SKU]
		b.Rows = append(b.Rows, r)
	}
	return s.render(c, http.StatusOK, "queue.html", page{Title: "console.queue.title", Nav: "queue", Body: b})
}

// modelNames are the models' names by SKU. Errors: storage.
func (s *Server) modelNames() (map[string]string, error) {
	ms, err := s.db.Models()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ms))
	for _, m := range ms {
		out[m.SKU] = m.Name
	}
	return out, nil
}
