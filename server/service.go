package server

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
)

// caseView is a service case: its id is the seq of its intake event. due_at
// is null while the clock is stopped (paused, or waiting on payment).
type caseView struct {
	Serial     string         `json:"serial"`
	Case       uint64         `json:"case"`
	Center     string         `json:"center"`
	Complaint  string         `json:"complaint"`
	Contact    string         `json:"contact"`
	OpenedAt   stamp          `json:"opened_at"`
	Stage      string         `json:"stage"`
	Finding    policy.Finding `json:"finding"`
	Part       string         `json:"part"`
	Paused     bool           `json:"paused"`
	InWarranty bool           `json:"in_warranty"`
	DueAt      stamp          `json:"due_at"`
	Overdue    bool           `json:"overdue"`
	SKU        string         `json:"-"` // the item's, for the console's queue
}

func (s *Server) caseView(serial string, k policy.Case) caseView {
	return caseView{Serial: serial, Case: k.ID, Center: k.Center, Complaint: k.Complaint, Contact: k.Contact,
		OpenedAt: s.stamp(k.OpenedAt), Stage: k.Stage, Finding: k.Finding, Part: k.Part, Paused: k.Paused,
		InWarranty: k.InWarranty, DueAt: s.stamp(k.DueAt), Overdue: k.Overdue}
}

// serviceQueue answers the open service cases, soonest due first (cases
// whose clock is stopped last), optionally only the overdue ones or those
// of one centre: {"cases": [...]}. Codes: 200; 400 (malformed overdue or
// center); 401; 403.
func (s *Server) serviceQueue(c echo.Context) error {
	overdue, err := queryBool(c, "overdue", false)
	if err != nil {
		return err
	}
	center, err := queryText(c, "center", 200)
	if err != nil {
		return err
	}
	cases, err := s.openCases(overdue, center)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, struct {
		Cases []caseView `json:"cases"`
	}{cases})
}

// openCases lists the open service cases, soonest due first (cases whose
// clock is stopped last), only the overdue ones when overdue, only those of
// center ("" = every centre, compared case-insensitively).
func (s *Server) openCases(overdue bool, center string) ([]caseView, error) {
	recs, err := s.db.OpenCases()
	if err != nil {
		return nil, err
	}
	now := s.now()
	cases := make([]caseView, 0, len(recs))
	for _, r := range recs {
		k := s.policy.OpenCase(r.Item, r.History, now)
		if k == nil || overdue && !k.Overdue || center != "" && !strings.EqualFold(k.Center, center) {
			continue
		}
		v := s.caseView(r.Item.Serial, *k)
		v.SKU = r.Item.SKU
		cases = append(cases, v)
	}
	slices.SortFunc(cases, func(a, b caseView) int {
		switch az, bz := a.DueAt.t.IsZero(), b.DueAt.t.IsZero(); {
		case az != bz && az:
			return 1
		case az != bz:
			return -1
		}
		return cmp.Or(a.DueAt.t.Compare(b.DueAt.t), a.OpenedAt.t.Compare(b.OpenedAt.t), cmp.Compare(a.Serial, b.Serial))
	})
	return cases, nil
}

// entitlements answers what the customer may choose for a claim:
// ?on=YYYY-MM-DD (default today), finding (default the open case's
// diagnosis), intact, complete (default false), part, accessory (SKU of a
// bundled accessory). Codes: 200; 400 (a malformed parameter, named in
// "field"); 401; 403; 404; 422 (no finding given and no diagnosis on
// record, or an accessory the product does not carry).
func (s *Server) entitlements(c echo.Context) error {
	serial, err := identParam(c, "serial")
	if err != nil {
		return err
	}
	claim, err := s.claim(c)
	if err != nil {
		return err
	}
	rec, err := s.db.Get(serial)
	if err != nil {
		return err
	}
	ent, err := s.policy.Entitlements(rec.Item, rec.History, claim)
	if err != nil {
		return err
	}
	remedies := ent.Remedies
	if remedies == nil {
		remedies = []policy.Remedy{}
	}
	reasons := ent.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	return c.JSON(http.StatusOK, struct {
		Serial        string          `json:"serial"`
		On            policy.Date     `json:"on"`
		InWarranty    bool            `json:"in_warranty"`
		Remedies      []policy.Remedy `json:"remedies"`
		PaidRepair    bool            `json:"paid_repair"`
		Reasons       []string        `json:"reasons"`
		DeadlineHours int             `json:"deadline_hours"`
	}{rec.Item.Serial, claim.On, ent.InWarranty, remedies, ent.PaidRepair, reasons, ent.DeadlineHours})
}

// claim reads a claim from the query: on (default today), finding (""
// = the open case's diagnosis), intact, complete, part, accessory.
// Errors: EInvalid (400) naming the parameter.
func (s *Server) claim(c echo.Context) (policy.Claim, error) {
	claim := policy.Claim{}
	var err error
	if claim.On, err = queryDate(c, "on", s.today()); err != nil {
		return claim, err
	}
	if f := strings.TrimSpace(c.QueryParam("finding")); f != "" {
		claim.Finding = policy.Finding(f)
		if !claim.Finding.Valid() {
			return claim, paramError{policy.Errorf(policy.EInvalid, "finding", "finding %q is not one of %s", f, findingNames()).
				Keyed("event.unknown_finding", policy.Args{"value": f})}
		}
	}
	if claim.Intact, err = queryBool(c, "intact", false); err != nil {
		return claim, err
	}
	if claim.Complete, err = queryBool(c, "complete", false); err != nil {
		return claim, err
	}
	if claim.Part, err = queryText(c, "part", 100); err != nil {
		return claim, err
	}
	claim.Accessory, err = queryIdent(c, "accessory")
	return claim, err
}

func findingNames() string {
	names := make([]string, len(policy.Findings))
	for i, f := range policy.Findings {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}
