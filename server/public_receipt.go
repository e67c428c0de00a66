package server

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/server/locale"
)

// A customer confirms receipt from the public page (policy.md "Customer
// confirmation"): the form POST /c/{serial}/receipt (fields k, on, lang)
// and POST /api/v1/public/receipt {"serial", "k", "on"}. Whoever holds the
// certificate's check code may confirm, once, within the policy's dates.
//
// Cross-site forgery: the form has no session to tie a token to, and none
// is needed for secrecy — the check code is the secret, and anyone holding
// it may confirm through the JSON endpoint anyway. What remains is a page
// elsewhere making a visitor's browser post a code it learnt; both routes
// refuse a browser request that comes from another site, by Sec-Fetch-Site
// or, from older browsers, an Origin whose host is not this one
// (net/http.CrossOriginProtection; the public URL's origin is trusted when
// a proxy rewrites Host). Requests without either header — curl, servers —
// are not browsers' and pass.

// receiptCSRF is the cross-origin check of the receipt routes.
func (s *Server) receiptCSRF() *http.CrossOriginProtection {
	p := http.NewCrossOriginProtection()
	if u, err := url.Parse(s.cfg.PublicURL); err == nil && u.Host != "" {
		_ = p.AddTrustedOrigin(u.Scheme + "://" + u.Host) // New validated the URL
	}
	return p
}

// crossSite refuses a cross-site browser post. Errors: EForbidden.
func (s *Server) crossSite(c echo.Context) error {
	if err := s.csrf.Check(c.Request()); err != nil {
		return policy.Errorf(policy.EForbidden, "", "a receipt can only be confirmed from this site's own page")
	}
	return nil
}

// clientNetwork is the network of a client address as the audit log keeps
// it: the /24 of an IPv4 address, the /48 of an IPv6 one.
func clientNetwork(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "unknown"
	}
	a = a.WithZone("").Unmap()
	bits := 24
	if a.Is6() {
		bits = 48
	}
	p, _ := a.Prefix(bits)
	return p.String()
}

// confirmReceipt answers POST /api/v1/public/receipt {"serial", "k", "on"}:
// the customer's confirmation of receipt, answered with the new coverage.
// Codes: 201; 400 (malformed JSON); 403 (a cross-site browser request); 404
// not_found (unknown serial or wrong code: the lookup's answer); 409
// (already confirmed, a stronger receipt on record, a retired, void or
// replacement unit, a case opened); 413; 422 (serial, k or on malformed or
// missing, on outside the dates allowed, naming them); 429.
func (s *Server) confirmReceipt(c echo.Context) error {
	if err := s.crossSite(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var r struct {
		Serial string `json:"serial"`
		K      string `json:"k"`
		On     string `json:"on"`
	}
	if err := decodeJSON(body, &r); err != nil {
		return err
	}
	serial, err := policy.Ident("serial", r.Serial)
	if err != nil {
		return err
	}
	code := strings.TrimSpace(r.K)
	if code == "" {
		return policy.Errorf(policy.EInvalid, "k", "k (the check code printed on the certificate) is required").Keyed("receipt.code_required", nil)
	}
	on, err := policy.ParseDate(strings.TrimSpace(r.On))
	if err != nil {
		return policy.Errorf(policy.EInvalid, "on", "on (the date you received it): %v", err).
			Keyed("receipt.on_bad", policy.Args{"value": strings.TrimSpace(r.On)})
	}
	v, found, err := s.recordReceipt(c, serial, code, on)
	if !found {
		c.Response().Header().Set("Cache-Control", publicCacheNone)
		return policy.Errorf(policy.ENotFound, "", publicNotFound)
	}
	if err != nil {
		return err
	}
	v.localise(locale.Pick("", "", c.Request().Header.Get("Accept-Language")))
	b, err := jsonBytes(v.Coverage)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", publicCacheNone)
	return sendJSON(c, http.StatusCreated, b)
}

// recordReceipt verifies code for serial (as a lookup does: the same
// not-found for an unknown serial and a wrong code, found false) and then
// records the confirmation, returning the coverage after it. Errors: as
// registry.ConfirmReceipt.
func (s *Server) recordReceipt(c echo.Context, serial, code string, on policy.Date) (publicView, bool, error) {
	item, ok, err := s.lookupChecked(serial, code, "")
	if !ok || err != nil {
		return publicView{}, err != nil, err
	}
	rec := item.Record
	// Checked here first for the message naming the dates allowed (a date
	// in the future would otherwise be refused as that alone); the
	// registry checks again in its transaction.
	if err := s.policy.CheckConfirmation(rec.Item, rec.History, on, s.today()); err != nil {
		return s.refusedView(item, err)
	}
	ap, err := s.db.ConfirmReceipt(clientNetwork(c.RealIP()), serial, on)
	switch {
	case policy.ErrorCode(err) == policy.ENotFound:
		return publicView{}, false, nil
	case err != nil:
		return s.refusedView(item, err)
	}
	// The confirmation changes no batch of the unit: the notices read with
	// it still are its batches'.
	item.Record = ap.Record
	return s.publicView(item, s.now(), false), true, nil
}

// refusedView is recordReceipt's answer to a refused confirmation: the
// coverage as it stands, with the refusal.
func (s *Server) refusedView(item registry.ItemView, refusal error) (publicView, bool, error) {
	return s.publicView(item, s.now(), false), true, refusal
}

// confirmReceiptPage serves the page's form, POST /c/:serial/receipt
// (fields k, on, lang): recorded, it redirects back to the page, which now
// shows the windows from that date. Codes: 303 (to /c/{serial}?k=); 400
// (malformed serial: the form); 403 (a cross-site post); 404 (unknown serial
// or wrong code: the not-found page); 409 (no confirmation possible: the
// page, saying why); 422 (on missing or outside the dates allowed: the
// page, naming them); 429.
func (s *Server) confirmReceiptPage(c echo.Context) error {
	if err := s.crossSite(c); err != nil {
		return err
	}
	l := s.publicLang(c)
	c.Response().Header().Set("Cache-Control", publicCacheNone)
	raw := pathParam(c, "serial")
	serial, err := policy.Ident("serial", raw)
	if err != nil {
		return s.badSerialForm(c, l, raw)
	}
	code := normaliseTypedCode(c.FormValue("k"))
	on, dateErr := policy.ParseDate(strings.TrimSpace(c.FormValue("on")))
	if dateErr != nil {
		item, ok, err := s.lookupChecked(serial, code, "")
		if err != nil {
			return err
		}
		if !ok {
			return s.publicNotFoundPage(c, l, serial, code)
		}
		v := s.publicView(item, s.now(), false)
		return s.refusedReceipt(c, l, v, code, policy.Errorf(policy.EInvalid, "on", "%v", dateErr).
			Keyed("receipt.on_bad", policy.Args{"value": strings.TrimSpace(c.FormValue("on"))}))
	}
	v, found, err := s.recordReceipt(c, serial, code, on)
	switch {
	case !found:
		return s.publicNotFoundPage(c, l, serial, code)
	case policy.ErrorCode(err) == policy.EInvalid || policy.ErrorCode(err) == policy.EConflict:
		return s.refusedReceipt(c, l, v, code, err)
	case err != nil:
		return err
	}
	to := url.Values{"k": {code}}
	if locale.ByParam(c.FormValue("lang")) != nil {
		to.Set("lang", l.Param)
	}
	return c.Redirect(http.StatusSeeOther, "/c/"+url.PathEscape(serial)+"?"+to.Encode())
}

// refusedReceipt shows the page again with why the confirmation was
// refused: a bad date beside the date field (422), anything else above the
// page (409).
func (s *Server) refusedReceipt(c echo.Context, l *locale.Lang, v publicView, code string, err error) error {
	status, msg := http.StatusConflict, l.T("public.confirm.refused")
	var pe *policy.Error
	errors.As(err, &pe)
	switch {
	case policy.ErrorCode(err) == policy.EInvalid:
		status = http.StatusUnprocessableEntity
		if r := v.Coverage.CanConfirm; r != nil {
			msg = l.T("public.confirm.bad_date", dateText(l, r.From), dateText(l, r.To))
		} else if text, ok := keyedText(l, pe.Key, pe.Args, dateText); ok {
			msg = text
		}
	case pe != nil && pe.Key == "receipt.no_date":
		// The customer's own words for why no day can be confirmed.
		days, _ := pe.Args["days"].(int)
		msg = l.T("public.refusal.receipt.no_date", days)
	case pe != nil && l.Has("public.refusal."+pe.Key):
		msg = l.T("public.refusal." + pe.Key)
	}
	return s.renderCoverage(c, l, status, v, code, msg)
}
