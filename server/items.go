package server

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// registerItems registers serials from JSON ({"items": [...]}) or CSV
// (text/csv, header serial,sku,batch[,produced_on][,accessories]; charset
// utf-8 or gbk), all or nothing. A CSV is read as it arrives, never held
// whole. Codes: 201 {"created","unchanged"}; 400 (malformed body, unknown
// field, CSV header, charset); 401; 403; 413 (body or more than 200,000
// rows); 422 with "rows" and "bad_rows" (nothing written); 503/507.
func (s *Server) registerItems(c echo.Context) error {
	release, err := s.registrationSlot(c)
	if err != nil {
		return err
	}
	defer release()
	var res registry.RegisterResult
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if charset, ok, err := csvCharset(ct); err != nil {
		return err
	} else if ok {
		r, err := csvReader(charset, c.Request().Body)
		if err != nil {
			return err
		}
		if res, err = s.db.RegisterCSV(actorOf(c), r); err != nil {
			return bodyReadError(err)
		}
	} else {
		body, err := readBody(c)
		if err != nil {
			return err
		}
		rows, bad, err := decodeRegistration(body)
		if err != nil {
			return err
		}
		if res, err = s.db.Register(actorOf(c), rows, bad...); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusCreated, map[string]int{"created": res.Created, "unchanged": res.Unchanged})
}

// maxRegistrations is how many registrations (API and console) the server
// reads and writes at once. Each holds its rows, and then the store's
// write of them, in memory until its transaction commits (about 10 times
// its CSV, see bench/register), and the store writes one at a time anyway:
// more at once would add memory, not speed (issue 17 item 4: eight
// 100,000-row CSVs at once grew the RSS by 260 MB). The others wait for a
// slot, their bodies unread, within their stream deadline.
const maxRegistrations = 2

// registrationSlot waits for one of the maxRegistrations slots; release
// frees it. Errors: EBadRequest when the client gives up while waiting.
func (s *Server) registrationSlot(c echo.Context) (release func(), err error) {
	select {
	case s.registering <- struct{}{}:
		return func() { <-s.registering }, nil
	case <-c.Request().Context().Done():
		return nil, policy.Errorf(policy.EBadRequest, "", "the request was cancelled while it waited for other registrations to finish")
	}
}

// getItem answers an item's staff view as of ?on=YYYY-MM-DD (default
// today): state, warranty, parts, accessories, open case and full history.
// Codes: 200; 400 (malformed serial or on); 401; 403; 404.
func (s *Server) getItem(c echo.Context) error {
	serial, err := identParam(c, "serial")
	if err != nil {
		return err
	}
	now := s.now()
	on, err := queryDate(c, "on", s.policy.Today(now))
	if err != nil {
		return err
	}
	rec, err := s.db.Get(serial)
	if err != nil {
		return err
	}
	v := s.itemView(rec, on, now)
	return sendItem(c, http.StatusOK, &v)
}

// itemView is the contract's item shape.
type itemView struct {
	Serial          string          `json:"serial"`
	SKU             string          `json:"sku"`
	Kind            policy.Kind     `json:"kind"`
	Batch           string          `json:"batch"`
	State           policy.State    `json:"state"`
	ProducedOn      policy.Date     `json:"produced_on"`
	DispatchedOn    policy.Date     `json:"dispatched_on"`
	Order           nullString      `json:"order"`
	ReceivedOn      policy.Date     `json:"received_on"`
	ReceiptEvidence nullString      `json:"receipt_evidence"`
	Warranty        warrantyView    `json:"warranty"`
	Parts           []partView      `json:"parts"`
	Accessories     []accessoryView `json:"accessories"`
	Replaces        nullString      `json:"replaces"`
	SupersededBy    nullString      `json:"superseded_by"`
	Scans           scansView       `json:"scans"`
	OpenCase        *caseView       `json:"open_case"`
	History         []eventView     `json:"history"`
}

type warrantyView struct {
	Status        policy.Status `json:"status"`
	Start         policy.Date   `json:"start"`
	ReturnUntil   policy.Date   `json:"return_until"`
	ReplaceUntil  policy.Date   `json:"replace_until"`
	WarrantyUntil policy.Date   `json:"warranty_until"`
	DaysLeft      int           `json:"days_left"`
	Basis         nullString    `json:"basis"`
	FreeRepairs   int           `json:"free_repairs"`
	RepairDays    int           `json:"repair_days"`
}

type partView struct {
	Part         string      `json:"part"`
	ReplacedOn   policy.Date `json:"replaced_on"`
	CoveredUntil policy.Date `json:"covered_until"`
	Paid         bool        `json:"paid"`
}

type accessoryView struct {
	SKU           string      `json:"sku"`
	Name          string      `json:"name"`
	Kind          policy.Kind `json:"kind"`
	Batch         string      `json:"batch"`
	WarrantyUntil policy.Date `json:"warranty_until"`
	Replacements  int         `json:"replacements"`
}

type scansView struct {
	Count uint64 `json:"count"`
	First stamp  `json:"first"`
	Last  stamp  `json:"last"`
}

// itemView evaluates rec as of date on. The open case's clock is read at
// now when on is today; for another date it is the case as of that date.
func (s *Server) itemView(rec registry.Record, on policy.Date, now time.Time) itemView {
	it := rec.Item
	cov := s.policy.Coverage(it, rec.History, on)
	v := itemView{
		Serial:          it.Serial,
		SKU:             it.SKU,
		Kind:            it.Kind,
		Batch:           it.Batch,
		State:           cov.State,
		ProducedOn:      it.ProducedOn,
		DispatchedOn:    cov.DispatchedOn,
		Order:           nullString(cov.Order),
		ReceivedOn:      cov.ReceivedOn,
		ReceiptEvidence: nullString(cov.Basis),
		Warranty: warrantyView{
			Status:        cov.Status,
			Start:         cov.Start,
			ReturnUntil:   cov.ReturnUntil,
			ReplaceUntil:  cov.ReplaceUntil,
			WarrantyUntil: cov.WarrantyUntil,
			DaysLeft:      max(cov.DaysLeft, 0),
			Basis:         nullString(cov.BasisText),
			FreeRepairs:   cov.FreeRepairs,
			RepairDays:    cov.RepairDays,
		},
		Parts:        make([]partView, len(cov.Parts)),
		Accessories:  make([]accessoryView, len(cov.Accessories)),
		Replaces:     nullString(it.Replaces),
		SupersededBy: nullString(cov.SupersededBy),
		Scans:        scansView{Count: rec.Scans.Count, First: s.stamp(rec.Scans.First), Last: s.stamp(rec.Scans.Last)},
		History:      make([]eventView, len(rec.History)),
	}
	for i, p := range cov.Parts {
		v.Parts[i] = partView{Part: p.Part, ReplacedOn: p.ReplacedOn, CoveredUntil: p.CoveredUntil, Paid: p.Paid}
	}
	for i, a := range cov.Accessories {
		v.Accessories[i] = accessoryView{SKU: a.SKU, Name: a.Name, Kind: a.Kind, Batch: a.Batch,
			WarrantyUntil: a.WarrantyUntil, Replacements: a.Replacements}
	}
	open := cov.OpenCase
	if open != nil && on == s.policy.Today(now) {
		// Today's case with its clock read now rather than at the end of
		// the day. Which case is open is as of the end of today either
		// way, as the view's state is: only an event up to
		// policy.FutureSlack ahead of the clock can be dated later.
		open = s.policy.OpenCase(it, rec.History, now)
	}
	if open != nil {
		cv := s.caseView(it.Serial, *open)
		v.OpenCase = &cv
	}
	for i, ev := range rec.History {
		v.History[i] = s.eventView(ev)
	}
	return v
}
