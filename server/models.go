package server

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/labels"
	"github.com/sanbao/sanbao/policy"
)

// modelView is a model as the API shows it. warranty_months is the period
// items registered now get: the model's own, else the policy's for its kind.
type modelView struct {
	SKU            string      `json:"sku"`
	Name           string      `json:"name"`
	NameEN         nullString  `json:"name_en"`
	Kind           policy.Kind `json:"kind"`
	GTIN           nullString  `json:"gtin"`
	WarrantyMonths int         `json:"warranty_months"`
	// OwnMonths says whether warranty_months is the model's own (true) or
	// the policy's default for the kind.
	OwnMonths bool  `json:"warranty_months_set"`
	UpdatedAt stamp `json:"updated_at"`
}

func (s *Server) modelView(m policy.Model) modelView {
	v := modelView{SKU: m.SKU, Name: m.Name, NameEN: nullString(m.NameEN), Kind: m.Kind, GTIN: nullString(m.GTIN),
		WarrantyMonths: m.WarrantyMonths, OwnMonths: m.WarrantyMonths != 0, UpdatedAt: s.stamp(m.UpdatedAt)}
	if m.WarrantyMonths == 0 {
		v.WarrantyMonths = s.policy.Months(m.Kind)
	}
	return v
}

// putModel creates or replaces a model ({"name", "name_en", "kind", "gtin",
// "warranty_months"}; the body may repeat the path's sku). Items already
// registered keep their terms. Codes: 201 (created) or 200 (replaced) with
// the model; 400 (malformed SKU or body); 401; 403; 409 (the GTIN is or was
// another model's); 413; 422 (name, name_en: not text, or a character labels
// cannot print; kind, gtin check digit,
// warranty_months); 503/507.
func (s *Server) putModel(c echo.Context) error {
	sku, err := identParam(c, "sku")
	if err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var r struct {
		SKU            string `json:"sku"`
		Name           string `json:"name"`
		NameEN         string `json:"name_en"`
		Kind           string `json:"kind"`
		GTIN           string `json:"gtin"`
		WarrantyMonths *int   `json:"warranty_months"`
	}
	if err := decodeJSON(body, &r); err != nil {
		return err
	}
	if r.SKU != "" {
		if bs, err := policy.Ident("sku", r.SKU); err != nil || bs != sku {
			return policy.Errorf(policy.EInvalid, "sku", "the body's sku %q differs from the path's %q", r.SKU, sku)
		}
	}
	m := policy.Model{SKU: sku, Name: r.Name, NameEN: r.NameEN, Kind: policy.Kind(r.Kind), GTIN: r.GTIN}
	if err := s.checkModelName(m); err != nil {
		return err
	}
	if r.WarrantyMonths != nil {
		if *r.WarrantyMonths <= 0 {
			return policy.Errorf(policy.EInvalid, "warranty_months", "warranty_months must be 1 or more (leave it out for the policy's default)")
		}
		m.WarrantyMonths = *r.WarrantyMonths
	}
	m, created, err := s.db.PutModel(actorOf(c), m)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, s.modelView(m))
}

// checkModelName checks m by the policy's rules and then that labels can
// print its name: the name is on every certificate, and what no label font
// can draw (an emoji) is refused where it enters rather than printed as a
// replacement mark. Errors: EInvalid naming the field; EInternal when the
// label fonts cannot be loaded.
func (s *Server) checkModelName(m policy.Model) error {
	if _, err := s.policy.CheckModel(m); err != nil {
		return err // the rules of text first: a control character is not "unprintable"
	}
	ch, ok, err := labels.Unprintable(strings.TrimSpace(m.Name))
	if err != nil {
		return err
	}
	if ok {
		return policy.Errorf(policy.EInvalid, "name", "name contains %q (U+%04X), which labels cannot print; use Chinese, Latin, Greek or Cyrillic letters, digits and common symbols", ch, ch).
			Keyed("model.name_unprintable", policy.Args{"char": string(ch)})
	}
	return nil
}

// getModel answers one model. Codes: 200; 400 (malformed SKU); 401; 403; 404.
func (s *Server) getModel(c echo.Context) error {
	sku, err := identParam(c, "sku")
	if err != nil {
		return err
	}
	m, err := s.db.Model(sku)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.modelView(m))
}

// listModels answers every model in SKU order: {"models": [...]}.
// Codes: 200; 401; 403.
func (s *Server) listModels(c echo.Context) error {
	ms, err := s.db.Models()
	if err != nil {
		return err
	}
	out := struct {
		Models []modelView `json:"models"`
	}{make([]modelView, len(ms))}
	for i, m := range ms {
		out.Models[i] = s.modelView(m)
	}
	return c.JSON(http.StatusOK, out)
}
