package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// eventRequest is the JSON body of one event (and one row of POST
// /api/v1/events). Dates and instants are strings so a bad one is reported
// naming its field.
type eventRequest struct {
	Serial    string          `json:"serial"`
	Type      string          `json:"type"`
	On        string          `json:"on"`
	At        string          `json:"at"`
	Order     string          `json:"order"`
	Channel   string          `json:"channel"`
	Evidence  string          `json:"evidence"`
	Note      string          `json:"note"`
	Center    string          `json:"center"`
	Complaint string          `json:"complaint"`
	Contact   string          `json:"contact"`
	Finding   string          `json:"finding"`
	Part      string          `json:"part"`
	Amount    json.RawMessage `json:"amount"`
	Currency  string          `json:"currency"`
	Paid      bool            `json:"paid"`
	Parts     json.RawMessage `json:"parts"`
	NewSerial string          `json:"new_serial"`
	Tracking  string          `json:"tracking"`
	Reason    string          `json:"reason"`
	SKU       string          `json:"sku"`
	NewBatch  string          `json:"new_batch"`
	// Seq is, on a `corrected` event, the seq of the event it corrects
	// (Corrects is accepted as a synonym, as the history shows it).
	Seq      *uint64 `json:"seq"`
	Corrects *uint64 `json:"corrects"`

	present []string // the JSON names the body carried, sorted
}

// notCorrected are the names of a correction's body that are not fields it
// replaces: the correction's own type, target, reason and row serial.
var notCorrected = []string{"type", "seq", "corrects", "reason", "serial"}

// decodeEvent decodes one event body strictly and notes which fields it
// carried (a correction replaces exactly those, zero values included).
// Errors: as decodeJSON.
func decodeEvent(body []byte) (eventRequest, error) {
	var r eventRequest
	if err := decodeJSON(body, &r); err != nil {
		return r, err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimPrefix(body, utf8BOM), &keys); err != nil {
		return r, policy.Errorf(policy.EBadRequest, "", "the event must be a JSON object")
	}
	for k := range keys {
		r.present = append(r.present, k)
	}
	slices.Sort(r.present)
	return r, nil
}

// eventType checks the type field. Errors: EInvalid.
func eventType(s string) (policy.EventType, error) {
	t := policy.EventType(strings.TrimSpace(s))
	if t == "" {
		return "", policy.Errorf(policy.EInvalid, "type", "type is required")
	}
	if !slices.Contains(policy.EventTypes, t) {
		names := make([]string, len(policy.EventTypes))
		for i, e := range policy.EventTypes {
			names[i] = string(e)
		}
		return "", policy.Errorf(policy.EInvalid, "type", "type %q is not one of %s", s, strings.Join(names, ", "))
	}
	return t, nil
}

// event maps a request to a policy.Event. Value rules (finding names,
// evidence, text lengths, dates in the future...) are the policy's, applied
// by the registry inside the write; here only the shapes are checked. A
// service event sent without `at` happened now. Errors: EInvalid.
func (s *Server) event(t policy.EventType, r eventRequest) (policy.Event, error) {
	ev := policy.Event{
		Type: t, Order: r.Order, Channel: policy.Channel(r.Channel), Evidence: policy.Evidence(r.Evidence), Note: r.Note, Center: r.Center,
		Complaint: r.Complaint, Contact: r.Contact, Finding: policy.Finding(r.Finding), Part: r.Part,
		Currency: r.Currency, Paid: r.Paid, NewSerial: r.NewSerial, Tracking: r.Tracking, Reason: r.Reason,
		SKU: r.SKU, NewBatch: r.NewBatch,
	}
	var err error
	if ev.On, err = bodyDate("on", r.On); err != nil {
		return ev, err
	}
	if ev.At, err = bodyInstant("at", r.At, s.policy.Location()); err != nil {
		return ev, err
	}
	if ev.Amount, err = decodeAmount(r.Amount); err != nil {
		return ev, err
	}
	if ev.Parts, err = decodeParts(r.Parts); err != nil {
		return ev, err
	}
	if t == policy.EvCorrected {
		switch {
		case r.Seq == nil && r.Corrects == nil:
			return ev, policy.Errorf(policy.EInvalid, "seq", "seq (the event being corrected) is required")
		case r.Seq != nil && r.Corrects != nil && *r.Seq != *r.Corrects:
			return ev, policy.Errorf(policy.EInvalid, "seq", "seq and corrects name different events")
		case r.Seq != nil:
			ev.Corrects = *r.Seq
		default:
			ev.Corrects = *r.Corrects
		}
		if ev.Corrects == 0 {
			return ev, policy.Errorf(policy.EInvalid, "seq", "seq must be the number of an event in the history (1 or more)")
		}
		for _, k := range r.present {
			if !slices.Contains(notCorrected, k) {
				ev.Fields = append(ev.Fields, k)
			}
		}
		return ev, nil
	}
	if r.Seq != nil || r.Corrects != nil {
		return ev, policy.Errorf(policy.EInvalid, "seq", "seq is set by the registry; only a corrected event names one (the event it corrects)")
	}
	if t.Dated() {
		// A courier webhook may only know the instant of delivery.
		if ev.On.IsZero() && !ev.At.IsZero() {
			ev.On, ev.At = policy.DateOf(ev.At, s.policy.Location()), time.Time{}
		}
		return ev, nil
	}
	if !ev.On.IsZero() {
		return ev, policy.Errorf(policy.EInvalid, "on", "%s event takes an instant `at`, not a date `on`", policy.WithArticle(string(t)))
	}
	if ev.At.IsZero() {
		ev.At = s.now()
	}
	return ev, nil
}

// eventView is one history entry: seq, type, its date or instant, the
// fields of its type, who recorded it and when.
type eventView struct {
	Seq        uint64           `json:"seq"`
	Type       policy.EventType `json:"type"`
	On         *policy.Date     `json:"on,omitempty"`
	At         *stamp           `json:"at,omitempty"`
	Order      string           `json:"order,omitempty"`
	Channel    policy.Channel   `json:"channel,omitempty"`
	Evidence   policy.Evidence  `json:"evidence,omitempty"`
	Note       string           `json:"note,omitempty"`
	Center     string           `json:"center,omitempty"`
	Complaint  string           `json:"complaint,omitempty"`
	Contact    string           `json:"contact,omitempty"`
	Finding    policy.Finding   `json:"finding,omitempty"`
	Part       string           `json:"part,omitempty"`
	Amount     string           `json:"amount,omitempty"`
	Currency   string           `json:"currency,omitempty"`
	Paid       *bool            `json:"paid,omitempty"`
	Parts      []string         `json:"parts,omitempty"`
	NewSerial  string           `json:"new_serial,omitempty"`
	Tracking   string           `json:"tracking,omitempty"`
	Reason     string           `json:"reason,omitempty"`
	SKU        string           `json:"sku,omitempty"`
	NewBatch   string           `json:"new_batch,omitempty"`
	Corrects   uint64           `json:"corrects,omitempty"`
	Fields     []string         `json:"fields,omitempty"`
	By         string           `json:"by"`
	KeyID      string           `json:"key_id,omitempty"`
	RecordedAt stamp            `json:"recorded_at"`
}

func (s *Server) eventView(ev policy.Event) eventView {
	v := eventView{
		Seq: ev.Seq, Type: ev.Type, Order: ev.Order, Channel: ev.Channel, Evidence: ev.Evidence, Note: ev.Note, Center: ev.Center,
		Complaint: ev.Complaint, Contact: ev.Contact, Finding: ev.Finding, Part: ev.Part, Amount: ev.Amount,
		Currency: ev.Currency, Parts: ev.Parts, NewSerial: ev.NewSerial, Tracking: ev.Tracking,
		Reason: ev.Reason, SKU: ev.SKU, NewBatch: ev.NewBatch, Corrects: ev.Corrects, Fields: ev.Fields, By: ev.By,
		KeyID: ev.KeyID, RecordedAt: s.stamp(ev.RecordedAt),
	}
	if !ev.On.IsZero() {
		on := ev.On
		v.On = &on
	}
	if !ev.At.IsZero() {
		at := s.stamp(ev.At)
		v.At = &at
	}
	if ev.Type == policy.EvRepaired || ev.Paid {
		paid := ev.Paid
		v.Paid = &paid
	}
	return v
}

// write is an event write's context: who, and the idempotency key with the
// request's hash.
func (s *Server) write(c echo.Context, body []byte) (registry.Write, error) {
	key := c.Request().Header.Get("Idempotency-Key")
	if key != "" && !visibleASCII(key, 255) {
		return registry.Write{}, paramErrorf("Idempotency-Key", "Idempotency-Key must be 1 to 255 visible ASCII characters")
	}
	req := c.Request()
	h := sha256.New()
	h.Write([]byte(req.Method))
	h.Write([]byte(req.URL.EscapedPath()))
	h.Write(body)
	w := registry.Write{Actor: actorOf(c), IdempotencyKey: key}
	copy(w.RequestHash[:], h.Sum(nil))
	return w, nil
}

// answer runs an event write and sends its answer. The answer is rendered
// by render inside the write (so the registry stores the exact bytes under
// an Idempotency-Key); a replay sends the stored bytes with
// Idempotent-Replayed: true.
func (s *Server) answer(c echo.Context, w registry.Write, render func(registry.Outcome) (any, error),
	do func(registry.Write) (registry.Outcome, error)) error {
	rendered := func(o registry.Outcome) ([]byte, error) {
		v, err := render(o)
		if err != nil {
			return nil, err
		}
		return jsonBytes(v)
	}
	if w.IdempotencyKey != "" {
		w.Answer = rendered
	}
	o, err := do(w)
	if err != nil {
		return err
	}
	if o.Replay != nil {
		c.Response().Header().Set("Idempotent-Replayed", "true")
		return sendJSON(c, http.StatusCreated, o.Replay)
	}
	b, err := rendered(o)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusCreated, b)
}

// postEvent appends one event to an item's history. The body may repeat the
// serial; a different one is refused. Codes: 201 {"event","item"}; 400
// (malformed body or serial, bad Idempotency-Key); 401; 403 (the role may
// not record this type); 404 (unknown serial); 409 (the history forbids
// it, or an Idempotency-Key reused with another body); 413; 422; 503/507.
func (s *Server) postEvent(c echo.Context) error {
	serial, err := identParam(c, "serial")
	if err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	r, err := decodeEvent(body)
	if err != nil {
		return err
	}
	if r.Serial != "" {
		if bs, err := policy.Ident("serial", r.Serial); err != nil || bs != serial {
			return policy.Errorf(policy.EInvalid, "serial", "the body's serial %q differs from the path's %q", r.Serial, serial)
		}
	}
	t, err := eventType(r.Type)
	if err != nil {
		return err
	}
	if err := mayWrite(keyOf(c), t); err != nil {
		return err
	}
	ev, err := s.event(t, r)
	if err != nil {
		return err
	}
	w, err := s.write(c, body)
	if err != nil {
		return err
	}
	render := func(o registry.Outcome) (any, error) {
		if len(o.Appended) != 1 {
			return nil, errAppended(len(o.Appended))
		}
		a := o.Appended[0]
		return struct {
			Event eventView `json:"event"`
			Item  itemView  `json:"item"`
		}{s.eventView(a.Event), s.itemView(a.Record, s.today(), s.now())}, nil
	}
	return s.answer(c, w, render, func(w registry.Write) (registry.Outcome, error) {
		return s.db.Append(w, serial, ev)
	})
}

func errAppended(n int) error {
	return policy.Errorf(policy.EInternal, "", "registry answered %d appended events for one", n)
}

// appendedView is one written event of a many-event answer.
type appendedView struct {
	Serial string    `json:"serial"`
	Event  eventView `json:"event"`
}

func (s *Server) appendedViews(o registry.Outcome) []appendedView {
	out := make([]appendedView, len(o.Appended))
	for i, a := range o.Appended {
		out[i] = appendedView{Serial: a.Serial, Event: s.eventView(a.Event)}
	}
	return out
}

// postEvents appends many events ({"events": [{"serial", "type", ...}]}),
// all or nothing: a batch dispatch or a scanned list. Codes: 201
// {"count","events"}; 400; 401; 403 with "rows" naming each row the role
// may not write; 413; 422 with "rows" and "bad_rows" (nothing written);
// 409 (Idempotency-Key reused with another body); 503/507.
func (s *Server) postEvents(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var req struct {
		Events *[]json.RawMessage `json:"events"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	if req.Events == nil || len(*req.Events) == 0 {
		return policy.Errorf(policy.EInvalid, "events", "events must list at least one event")
	}
	key := keyOf(c)
	rows := make([]registry.EventRow, len(*req.Events))
	var bad, forbidden []policy.RowError
	for i, raw := range *req.Events {
		r, err := decodeEvent(raw)
		if err != nil {
			// The row's serial as sent, when it can be read at all.
			var sent struct {
				Serial string `json:"serial"`
			}
			json.Unmarshal(raw, &sent)
			bad = append(bad, rowError(i+1, strings.TrimSpace(sent.Serial), err))
			continue
		}
		serial, err := policy.Ident("serial", r.Serial)
		if err != nil {
			bad = append(bad, rowError(i+1, strings.TrimSpace(r.Serial), err))
			continue
		}
		t, err := eventType(r.Type)
		if err != nil {
			bad = append(bad, rowError(i+1, serial, err))
			continue
		}
		if err := mayWrite(key, t); err != nil {
			forbidden = append(forbidden, rowError(i+1, serial, err))
			continue
		}
		ev, err := s.event(t, r)
		if err != nil {
			bad = append(bad, rowError(i+1, serial, err))
			continue
		}
		rows[i] = registry.EventRow{Serial: serial, Event: ev}
	}
	if len(forbidden) > 0 {
		e := policy.RowsError(forbidden).(*policy.Error)
		e.Code = policy.EForbidden
		e.Message = policy.WithArticle(string(key.Role)) + " key may not record the event type of " + plural(len(forbidden), "row") + "; nothing was written"
		return e
	}
	w, err := s.write(c, body)
	if err != nil {
		return err
	}
	render := func(o registry.Outcome) (any, error) {
		return struct {
			Count  int            `json:"count"`
			Events []appendedView `json:"events"`
		}{len(o.Appended), s.appendedViews(o)}, nil
	}
	return s.answer(c, w, render, func(w registry.Write) (registry.Outcome, error) {
		return s.db.AppendMany(w, rows, bad...)
	})
}

// receiveOrder records receipt for every serial dispatched under an order
// ({"on": "YYYY-MM-DD", "evidence": "courier|invoice|customer"}): one courier
// confirmation starts the warranty of the products and their bundled
// accessories; a weaker receipt on record is superseded, a serial with one
// at least as strong is left as it is. Codes: 201
// {"order","count","events"}; 400 (malformed order or body); 401; 403; 404
// (nothing dispatched under the order); 409 (every serial already has a
// receipt at least as strong, or an Idempotency-Key reused); 422 (with rows when a serial's
// receipt breaks a rule); 503/507.
func (s *Server) receiveOrder(c echo.Context) error {
	order, err := identParam(c, "order")
	if err != nil {
		return err
	}
	if err := mayWrite(keyOf(c), policy.EvReceived); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var r struct {
		On       string `json:"on"`
		Evidence string `json:"evidence"`
	}
	if err := decodeJSON(body, &r); err != nil {
		return err
	}
	on, err := bodyDate("on", r.On)
	if err != nil {
		return err
	}
	if on.IsZero() {
		return policy.Errorf(policy.EInvalid, "on", "on (the date the customer received the order) is required")
	}
	evidence := policy.Evidence(strings.TrimSpace(r.Evidence))
	if !evidence.Valid() {
		return policy.Errorf(policy.EInvalid, "evidence", "evidence must be courier, invoice or customer, not %q", r.Evidence)
	}
	w, err := s.write(c, body)
	if err != nil {
		return err
	}
	render := func(o registry.Outcome) (any, error) {
		return struct {
			Order  string         `json:"order"`
			Count  int            `json:"count"`
			Events []appendedView `json:"events"`
		}{order, len(o.Appended), s.appendedViews(o)}, nil
	}
	return s.answer(c, w, render, func(w registry.Write) (registry.Outcome, error) {
		return s.db.ReceiveOrder(w, order, on, evidence)
	})
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
