package server

// The console's service desk: the scan field, an item's status with its
// forms for every service event, the entitlement panel and the queue of
// open cases.

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
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
	// EarlyCheck: the public page was first checked before the customer
	// received the unit — a sign the label was copied.
	EarlyCheck bool
	Case       *queueRow
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
	Intact, Complete             bool
	Asked                        bool
	Result                       *policy.Entitlement
	Err                          *policy.Error
	Findings                     []option
	Accessories                  []option
}

// queueRow is an open case with its due time in words.
type queueRow struct {
	Case caseView
	Due  string
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
	title := "Service desk"
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
		for _, k := range cases[:min(len(cases), 5)] {
			b.Due = append(b.Due, s.queueRow(k))
		}
	} else {
		title = b.Item.View.Serial + " — service desk"
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
	v := s.itemView(rec, today, now)
	b := &itemBody{View: v, Retired: v.Warranty.Status == policy.Retired}
	if m, err := s.db.Model(rec.Item.SKU); err == nil {
		b.ModelName = m.Name
	}
	b.Windows = windows(v, today)
	for i := len(v.History) - 1; i >= 0; i-- {
		b.History = append(b.History, historyRow{Event: v.History[i], When: eventWhen(v.History[i]), Details: eventDetails(v.History[i])})
	}
	if v.OpenCase != nil {
		r := s.queueRow(*v.OpenCase)
		b.Case = &r
	}
	if f := rec.Scans.First; !f.IsZero() && !v.ReceivedOn.IsZero() && f.Before(v.ReceivedOn.Start(s.policy.Location())) {
		b.EarlyCheck = true
	}
	sess, _ := sessionOn(c)
	b.CSRF = sess.CSRF
	b.Forms = s.eventForms(rec, v, sess, st)
	if st.Err != nil {
		b.Refused = slices.ContainsFunc(b.Forms, func(f eventForm) bool { return f.Type == st.Failed })
		if !b.Refused {
			b.Refusal, b.RefusedType = st.Err, st.Failed
		}
	}
	if st.Claim != nil {
		b.Claim = *st.Claim
	} else {
		b.Claim = claimBody{On: today.String()}
	}
	b.Claim.Findings = []option{{"", "The diagnosis on record"}}
	for _, f := range policy.Findings {
		b.Claim.Findings = append(b.Claim.Findings, option{string(f), words(f)})
	}
	b.Claim.Accessories = []option{{"", "The unit itself"}}
	for _, a := range v.Accessories {
		b.Claim.Accessories = append(b.Claim.Accessories, option{a.SKU, a.SKU + " " + a.Name + " (batch " + a.Batch + ")"})
	}
	return s.deskPage(c, status, deskBody{Item: b})
}

// windows are the return, replacement and warranty periods with days left.
func windows(v itemView, today policy.Date) []window {
	none := "no receipt on record"
	if e := v.ReceiptEvidence; e != "" {
		switch policy.Basis(e) {
		case policy.BasisEstimated:
			none = "start estimated from production: no return or replacement"
		case policy.BasisExchange:
			none = "exchange unit: the windows do not start again"
		}
	}
	out := []window{
		{Name: "Return", Until: v.Warranty.ReturnUntil},
		{Name: "Replacement", Until: v.Warranty.ReplaceUntil},
		{Name: "Warranty", Until: v.Warranty.WarrantyUntil},
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
func eventDetails(ev eventView) []string {
	var out []string
	add := func(label, v string) {
		if v != "" {
			out = append(out, label+": "+v)
		}
	}
	add("order", ev.Order)
	if ev.Evidence != "" {
		add("evidence", words(ev.Evidence))
	}
	add("centre", ev.Center)
	add("complaint", ev.Complaint)
	add("contact", ev.Contact)
	if ev.Finding != "" {
		add("finding", words(ev.Finding))
	}
	add("part", ev.Part)
	if ev.Amount != "" {
		add("amount", ev.Amount+" "+ev.Currency)
	}
	if ev.Paid != nil {
		add("repair", map[bool]string{true: "paid by the customer", false: "free (warranty)"}[*ev.Paid])
	}
	add("parts", strings.Join(ev.Parts, ", "))
	add("new serial", ev.NewSerial)
	add("tracking", ev.Tracking)
	add("reason", ev.Reason)
	add("accessory", ev.SKU)
	add("new batch", ev.NewBatch)
	if ev.Corrects != 0 {
		add("corrects event", "#"+strconv.FormatUint(ev.Corrects, 10))
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
// admin's, through the API).
func (s *Server) eventForms(rec registry.Record, v itemView, sess session, st itemState) []eventForm {
	if v.Warranty.Status == policy.Retired {
		return nil
	}
	today := s.today().String()
	at := formField{Name: "at", Label: "When", Type: "datetime-local", Hint: "leave empty for now"}
	note := formField{Name: "note", Label: "Note", Type: "text", Max: policy.MaxNote}
	amount := formField{Name: "amount", Label: "Amount", Type: "text", Mode: "decimal", Max: 16, Hint: "e.g. 120.50"}
	currency := formField{Name: "currency", Label: "Currency", Type: "text", Value: policy.DefaultCurrency, Max: 3}
	var findings []option
	for _, f := range policy.Findings {
		findings = append(findings, option{string(f), words(f)})
	}
	var accessories []option
	for _, a := range v.Accessories {
		accessories = append(accessories, option{a.SKU, a.SKU + " " + a.Name + " (batch on record " + a.Batch + ")"})
	}
	req := func(f formField) formField { f.Required = true; return f }
	var forms []eventForm
	add := func(f eventForm) { forms = append(forms, f) }
	k := v.OpenCase
	if k == nil {
		add(eventForm{Type: policy.EvIntake, Title: "Intake", Intro: "The unit arrives: opens a service case and starts the 24-hour clock.",
			Button: "Open the case", Fields: []formField{
				req(formField{Name: "center", Label: "Service centre", Type: "text", Max: policy.MaxCenter, Value: sess.Center}),
				{Name: "complaint", Label: "Complaint", Type: "textarea", Max: policy.MaxNote, Hint: "what the customer reports"},
				{Name: "contact", Label: "Customer contact", Type: "text", Max: policy.MaxContact, Hint: "staff only: never shown publicly"},
				at}})
		if v.ReceivedOn.IsZero() {
			add(eventForm{Type: policy.EvReceived, Title: "Receipt", Intro: "The first customer received the unit: the warranty starts that day.",
				Button: "Record the receipt", Fields: []formField{
					req(formField{Name: "on", Label: "Received on", Type: "date", Value: today}),
					req(formField{Name: "evidence", Label: "Evidence", Type: "select", Options: []option{
						{string(policy.Courier), words(policy.Courier)}, {string(policy.Invoice), words(policy.Invoice)},
						{string(policy.Customer), words(policy.Customer)}}}),
					note}})
		} else {
			add(eventForm{Type: policy.EvTransferred, Title: "Resale", Intro: "The unit changed owner: recorded; the warranty is not restarted.",
				Button: "Record the resale", Fields: []formField{req(formField{Name: "on", Label: "On", Type: "date", Value: today}), note}})
		}
	} else {
		add(eventForm{Type: policy.EvDiagnosed, Title: "Diagnosis", Button: "Record the diagnosis", Fields: []formField{
			req(formField{Name: "finding", Label: "Finding", Type: "select", Options: findings}),
			{Name: "part", Label: "Part at fault", Type: "text", Max: policy.MaxPartName, Hint: "e.g. battery"}, at}})
		add(eventForm{Type: policy.EvQuoted, Title: "Quotation", Intro: "A paid repair: the quotation stops the first clock.",
			Button: "Record the quotation", Fields: []formField{req(amount), currency, at}})
		add(eventForm{Type: policy.EvPaid, Title: "Payment", Intro: "The customer paid: 24 hours to repair and ship.",
			Button: "Record the payment", Fields: []formField{req(withValue(amount, lastQuote(rec.History, k.Case))), currency, at}})
		add(eventForm{Type: policy.EvDeclined, Title: "Declined", Intro: "The customer declines the quotation: the unit goes back unrepaired.",
			Button: "Record the refusal", Fields: []formField{at, note}})
		add(eventForm{Type: policy.EvRepaired, Title: "Repair", Button: "Record the repair", Fields: []formField{
			{Name: "paid", Label: "Paid repair (the customer pays)", Type: "checkbox", Value: "true", Hint: "leave unticked for a free warranty repair"},
			{Name: "parts", Label: "Parts fitted", Type: "text", Max: 400, Hint: "comma-separated, e.g. battery, strap"}, at, note}})
		add(eventForm{Type: policy.EvReplaced, Title: "Replacement", Intro: "Exchange the whole unit: the old serial is retired, the new one gets a fresh warranty.",
			Button: "Record the replacement", Confirm: "Replace this unit? The old serial will be retired for good.", Fields: []formField{
				req(formField{Name: "new_serial", Label: "New serial", Type: "text", Max: policy.MaxIdentLen, Hint: "scan the new unit"}), at}})
		add(eventForm{Type: policy.EvReturned, Title: "Return", Intro: "Refund: the serial is retired and the case closed.",
			Button: "Record the return", Confirm: "Record a refund? The serial will be retired for good.", Fields: []formField{amount, currency, at, note}})
		if k.Paused {
			add(eventForm{Type: policy.EvResumed, Title: "Resume", Intro: "The customer answered: the clock runs again.",
				Button: "Resume the case", Fields: []formField{{Name: "reason", Label: "Reason", Type: "text", Max: policy.MaxNote}, at}})
		} else {
			add(eventForm{Type: policy.EvPaused, Title: "Pause", Intro: "Waiting on the customer: the clock stops.",
				Button: "Pause the case", Fields: []formField{{Name: "reason", Label: "Reason", Type: "text", Max: policy.MaxNote}, at}})
		}
		add(eventForm{Type: policy.EvShipped, Title: "Shipped back", Intro: "The unit goes back to the customer: closes the case.",
			Button: "Record the shipment", Fields: []formField{{Name: "tracking", Label: "Tracking number", Type: "text", Max: policy.MaxTracking}, at, note}})
	}
	if len(accessories) > 0 {
		add(eventForm{Type: policy.EvAccessoryReplaced, Title: "Accessory exchanged", Intro: "A bundled accessory is exchanged: its warranty restarts and its batch on record changes.",
			Button: "Record the exchange", Fields: []formField{
				req(formField{Name: "sku", Label: "Accessory", Type: "select", Options: accessories}),
				req(formField{Name: "new_batch", Label: "Batch of the new one", Type: "text", Max: policy.MaxIdentLen, Hint: "scan or type the batch number"}), at}})
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
			if fd.Type == "checkbox" {
				fd.Checked = st.Values[fd.Name] != ""
			} else {
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
		if !focus && len(f.Fields) > 0 {
			f.Fields[0].Focus = true
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
	r, err := s.formEvent(values)
	if err != nil {
		return fail(err)
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
		if sess, ok := sessionOn(c); ok {
			if err := s.db.UpdateSession(sess.ID, func(x *registry.Session) { x.Center = strings.TrimSpace(values["center"]) }); err != nil {
				s.log.Warn("console session", "err", err)
			}
		}
	}
	s.flash(c, s.recorded(t, o))
	return c.Redirect(http.StatusSeeOther, itemPath(serial))
}

// recorded says what an event write did, with the case's new due time.
func (s *Server) recorded(t policy.EventType, o registry.Outcome) string {
	if o.Replay != nil || len(o.Appended) == 0 {
		return words(t) + " was already recorded (the form was sent twice); nothing more was written."
	}
	a := o.Appended[0]
	msg := fmt.Sprintf("%s recorded (event #%d).", words(t), a.Event.Seq)
	k := s.policy.OpenCase(a.Record.Item, a.Record.History, s.now())
	switch {
	case k == nil && (t == policy.EvShipped || t == policy.EvReplaced || t == policy.EvReturned):
		msg += " The case is closed."
	case k != nil && !k.DueAt.IsZero():
		msg += fmt.Sprintf(" Case #%d is due %s.", k.ID, clockText(k.DueAt.In(s.policy.Location())))
	case k != nil:
		msg += fmt.Sprintf(" Case #%d: the clock is stopped.", k.ID)
	}
	if t == policy.EvReplaced {
		msg += " " + a.Event.NewSerial + " replaces " + a.Serial + "."
	}
	return msg
}

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
			return r, policy.Errorf(policy.EInvalid, "at", "at must be a date and time such as 2026-11-10T14:30, not %q", at)
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

// queueRow puts a case's due time in words as of now.
func (s *Server) queueRow(k caseView) queueRow {
	r := queueRow{Case: k}
	switch due := k.DueAt.t; {
	case due.IsZero() && k.Paused:
		r.Due = "clock stopped: waiting on the customer"
	case due.IsZero():
		r.Due = "clock stopped: waiting for payment"
	case k.Overdue:
		r.Due = "overdue by " + span(s.now().Sub(due))
	default:
		r.Due = "in " + span(due.Sub(s.now()))
	}
	return r
}

// span is a duration in hours and minutes, as a desk reads it.
func span(d time.Duration) string {
	d = max(d, 0).Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h >= 48:
		return fmt.Sprintf("%d days %d h", h/24, h%24)
	case h > 0:
		return fmt.Sprintf("%d h %02d min", h, m)
	}
	return fmt.Sprintf("%d min", m)
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
	for _, k := range shown {
		b.Rows = append(b.Rows, s.queueRow(k))
	}
	return s.render(c, http.StatusOK, "queue.html", page{Title: "Open cases", Nav: "queue", Body: b})
}
