package labels

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/sanbao/sanbao/policy"
)

// DefaultTitle is printed when a Certificate has no Title.
const DefaultTitle = "三包凭证 / Warranty certificate"

// Certificate is everything printed on one three-guarantees certificate
// label (三包凭证). At dispatch only the maker's fields are known; the QR leads
// to the electronic certificate that holds the rest (sale date, seller,
// repair record). NewCertificate fills one from the registry's records.
type Certificate struct {
	Title       string // "" prints DefaultTitle
	ModelName   string // the model's name, e.g. "IMASK 智能口罩 Pro"
	SKU         string
	Serial      string // printed as text and as Code 128
	Batch       string
	Code        string // the check code (CheckCode), printed so it can be typed
	URL         string // the check URL (CheckURL), carried by the QR; its host is printed beside it
	Accessories []Accessory
	Terms       string // one line, e.g. Terms(12, 7, 15)
	Mailbox     string // service contact
	Phone       string
	// CodeCaption names the check code as the public page does ("" prints
	// CodeCaption, 查询码); ScanHint is printed beside the QR ("" prints
	// ScanHint, 扫码查询保修).
	CodeCaption string
	ScanHint    string
}

// The words a certificate prints by default, as the public page says them,
// and their English for labels printed in English.
const (
	CodeCaption   = "查询码"
	ScanHint      = "扫码查询保修"
	CodeCaptionEN = "Check code"
	ScanHintEN    = "Scan to check the warranty"
)

// Accessory is a bundled accessory or adapter, printed as "SKU: batch" so a
// service centre can tell which batch came in the box.
type Accessory struct {
	SKU, Batch string
}

// NewCertificate assembles the certificate of item it, of model m, under
// policy p: the check code from secret, the check URL under publicURL (a GS1
// Digital Link when m has a GTIN), the terms from the warranty months copied
// onto the item and the policy's return and replacement windows, the
// policy's service contact, and the bundled accessories with the batches on
// record after history (a reprint after an exchange shows the new batch).
// It does no validation; the renderers do.
func NewCertificate(p *policy.Policy, m policy.Model, it policy.Item, history []policy.Event, publicURL string, secret []byte) Certificate {
	code := CheckCode(secret, it.Serial)
	c := Certificate{
		ModelName: m.Name,
		SKU:       it.SKU,
		Serial:    it.Serial,
		Batch:     it.Batch,
		Code:      code,
		URL:       CheckURL(publicURL, m.GTIN, it.Serial, code),
		Terms:     Terms(it.WarrantyMonths, p.ReturnDays, p.ReplaceDays),
		Mailbox:   p.Contact.Mailbox,
		Phone:     p.Contact.Phone,
	}
	for _, a := range p.AccessoriesOnRecord(it, history) {
		c.Accessories = append(c.Accessories, Accessory{SKU: a.SKU, Batch: a.Batch})
	}
	return c
}

// Terms is the one line of warranty terms a certificate prints, in Chinese
// as an after-sales team writes it, e.g. "自收货起保修12个月 · 7天无理由退货 ·
// 15天换货". Windows of zero days are left out.
func Terms(months, returnDays, replaceDays int) string {
	var parts []string
	if months > 0 {
		parts = append(parts, "自收货起保修"+strconv.Itoa(months)+"个月")
	}
	if returnDays > 0 {
		parts = append(parts, strconv.Itoa(returnDays)+"天无理由退货")
	}
	if replaceDays > 0 {
		parts = append(parts, strconv.Itoa(replaceDays)+"天换货")
	}
	return strings.Join(parts, " · ")
}

// TermsEN is Terms in English, e.g. "12 months from receipt · 7-day
// return · 15-day replacement".
func TermsEN(months, returnDays, replaceDays int) string {
	var parts []string
	switch months {
	case 0:
	case 1:
		parts = append(parts, "1 month from receipt")
	default:
		parts = append(parts, strconv.Itoa(months)+" months from receipt")
	}
	if returnDays > 0 {
		parts = append(parts, strconv.Itoa(returnDays)+"-day return")
	}
	if replaceDays > 0 {
		parts = append(parts, strconv.Itoa(replaceDays)+"-day replacement")
	}
	return strings.Join(parts, " · ")
}

// Length limits of the free-text fields.
const (
	maxTitle   = 60
	maxName    = 200
	maxTerms   = 200
	maxContact = 100
	maxURL     = 300
	maxAcc     = 16
)

// check validates c as the renderers need it and returns it with the title
// defaulted and the texts trimmed. Errors are *policy.Error EInvalid naming
// the field ("serial", "batch", "sku", "accessories", "code", "url",
// "model_name", "title", "terms", "mailbox", "phone", "code_caption",
// "scan_hint").
func (c Certificate) check() (Certificate, error) {
	var err error
	if c.Serial, err = policy.Ident("serial", c.Serial); err != nil {
		return c, err
	}
	if c.SKU, err = policy.Ident("sku", c.SKU); err != nil {
		return c, err
	}
	if c.Batch, err = policy.Ident("batch", c.Batch); err != nil {
		return c, err
	}
	if len(c.Accessories) > maxAcc {
		return c, policy.Errorf(policy.EInvalid, "accessories", "a label lists at most %d accessories, not %d", maxAcc, len(c.Accessories))
	}
	acc := make([]Accessory, len(c.Accessories))
	for i, a := range c.Accessories {
		if acc[i].SKU, err = policy.Ident("accessories", a.SKU); err != nil {
			return c, err
		}
		if acc[i].Batch, err = policy.Ident("accessories", a.Batch); err != nil {
			return c, err
		}
	}
	c.Accessories = acc
	if !validCode(c.Code) {
		return c, policy.Errorf(policy.EInvalid, "code", "check code %q is not %d characters of %s", c.Code, CodeLen, crockford)
	}
	if c.Title == "" {
		c.Title = DefaultTitle
	}
	if c.CodeCaption == "" {
		c.CodeCaption = CodeCaption
	}
	if c.ScanHint == "" {
		c.ScanHint = ScanHint
	}
	texts := []struct {
		field    string
		s        *string
		max      int
		required bool
	}{
		{"title", &c.Title, maxTitle, true},
		{"model_name", &c.ModelName, maxName, true},
		{"terms", &c.Terms, maxTerms, false},
		{"mailbox", &c.Mailbox, maxContact, false},
		{"phone", &c.Phone, maxContact, false},
		{"code_caption", &c.CodeCaption, maxTitle, true},
		{"scan_hint", &c.ScanHint, maxTitle, true},
	}
	for _, t := range texts {
		// A label line has no room for a second line.
		if *t.s, err = policy.Line(t.field, *t.s, t.max, t.required); err != nil {
			return c, err
		}
	}
	if _, err := checkHost(c.URL); err != nil {
		return c, err
	}
	return c, nil
}

// checkHost validates the check URL and returns the host printed beside the
// QR: the customer compares it with the address the phone opens, so a
// sticker pasted over the QR that points elsewhere shows.
func checkHost(raw string) (string, error) {
	if len(raw) > maxURL {
		return "", policy.Errorf(policy.EInvalid, "url", "the check URL is %d characters long; at most %d fit a QR on a label", len(raw), maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", policy.Errorf(policy.EInvalid, "url", "the check URL %q is not an absolute http(s) URL", raw)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] >= 0x7f {
			return "", policy.Errorf(policy.EInvalid, "url", "the check URL may hold only printable ASCII (percent-encode the rest)")
		}
	}
	return u.Host, nil
}
