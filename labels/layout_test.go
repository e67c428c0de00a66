package labels

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
)

func TestWhatDoesNotFitIsRefusedNamingASizeThatDoes(t *testing.T) {
	longURL := sampleCert()
	longURL.URL = CheckURL("https://warranty.example.cn/"+strings.Repeat("x", 200), "", longURL.Serial, longURL.Code)
	longHost := layoutCerts()["long host"]
	tests := []struct {
		c    Certificate
		size Size
		dpi  int
		want string
	}{
		{cert("ABCDEFGHIJKLMN", ""), Size50x30, DPI203, "serial ABCDEFGHIJKLMN needs 54 mm at 203 dpi; use size 60x40"},
		{cert("ABCDEFGHIJKLMNOPQRST", ""), Size60x40, DPI203, "serial ABCDEFGHIJKLMNOPQRST needs 70 mm at 203 dpi; use size 70x50"},
		{cert("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", ""), Size100x150, DPI203,
			"serial ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef needs 103 mm at 203 dpi; use size 70x50 at 300 dpi"},
		{cert("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", ""), Size50x30, DPI300, "needs 69 mm at 300 dpi; use size 70x50"},
		{longURL, Size50x30, DPI203, "the check QR (version 12) needs 28 mm at 203 dpi; use size 60x40"},
		{longHost, Size50x30, DPI300, "the check URL's host does not fit a 50x30 label at 300 dpi; use size 60x40"},
	}
	for _, tt := range tests {
		for name, render := range map[string]func(io.Writer, Certificate, Size, int) error{"PNG": PNG, "ZPL": ZPL, "PDF": PDF} {
			var buf bytes.Buffer
			err := render(&buf, tt.c, tt.size, tt.dpi)
			wantInvalid(t, err, "size", tt.want)
			if buf.Len() != 0 {
				t.Errorf("%s wrote %d bytes for a refused label", name, buf.Len())
			}
		}
		// The size named does fit.
		_, after, _ := strings.Cut(tt.want, "use size ")
		sz, at, _ := strings.Cut(after, " at ")
		z, err := ParseSize(sz)
		if err != nil {
			t.Fatal(err)
		}
		dpi := tt.dpi
		if at != "" {
			fmt.Sscanf(at, "%d dpi", &dpi)
		}
		if err := PNG(io.Discard, tt.c, z, dpi); err != nil {
			t.Errorf("the suggested size %s at %d dpi does not fit either: %v", z, dpi, err)
		}
	}
}

func TestSheetRefusesACertificateItCannotHoldAndNamesALabelThatCan(t *testing.T) {
	var buf bytes.Buffer
	s := NewSheet(&buf)
	wantInvalid(t, s.Add(cert("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", "")), "size",
		"a sheet label is 63.5x38.1 mm", "print it as a single label of size 70x50")
	if err := s.Add(sampleCert()); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Errorf("Len = %d after one refused and one added, want 1", s.Len())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Error("not a PDF")
	}
}

func TestEmptySheetIsAnErrorNotABlankPage(t *testing.T) {
	var buf bytes.Buffer
	if err := NewSheet(&buf).Close(); policy.ErrorCode(err) != policy.EInvalid || buf.Len() != 0 {
		t.Errorf("Close of an empty sheet: %v, %d bytes", err, buf.Len())
	}
}

// layoutCerts are the awkward certificates every layout must either hold
// or refuse with a size that does.
func layoutCerts() map[string]Certificate {
	long := sampleCert()
	long.ModelName = strings.Repeat("IMASK 智能口罩 Pro Max 二代 ", 8)
	many := sampleCert()
	many.Accessories = []Accessory{{"CHG-1", "CB2411"}, {"CBL-USB-C-2M", "CL2410-77"}, {"ADP-65W", "AD2409"}, {"FLT-PM25", "FT2411-003"}}
	bare := sampleCert()
	bare.Accessories, bare.Terms, bare.Mailbox, bare.Phone = nil, "", "", ""
	host := cert("SN0012345678", "")
	host.URL = CheckURL("https://warranty-check.a-rather-long-brand-name.com.cn:8443", "", host.Serial, host.Code)
	s20 := cert("SN123456789012345678", "09506000134352")
	return map[string]Certificate{
		"sample": sampleCert(), "long model name": long, "four accessories": many, "no accessories or contact": bare,
		"long host": host, "20-digit serial with GTIN": s20, "punctuation serial": cert("ab_12.Z-9", ""),
	}
}

func TestLayoutsKeepEveryElementOnTheLabelAndApart(t *testing.T) {
	for name, c := range layoutCerts() {
		for _, z := range Sizes() {
			for _, dpi := range []int{DPI203, DPI300} {
				ct, err := prepare(c)
				if err != nil {
					t.Fatal(err)
				}
				p, err := ct.render(z, dpi)
				if err != nil {
					var pe *policy.Error
					if !errors.As(err, &pe) || pe.Field != "size" || !strings.Contains(pe.Message, "use size") {
						t.Errorf("%s on %s at %d dpi: %v", name, z, dpi, err)
					}
					t.Logf("%s on %s at %d dpi: %v", name, z, dpi, err)
					if name == "sample" {
						t.Errorf("the sample certificate does not fit %s at %d dpi: %v", z, dpi, err)
					}
					continue
				}
				checkPlan(t, fmt.Sprintf("%s on %s at %d dpi", name, z, dpi), p)
			}
		}
	}
}

// checkPlan checks that every element is on the label, that no two
// overlap (a barcode counts with its quiet zone), and that every dot
// printed lies inside an element.
func checkPlan(t *testing.T, where string, p *plan) {
	t.Helper()
	label := image.Rect(0, 0, p.w, p.h)
	type elem struct {
		name string
		r    image.Rectangle
	}
	qz := qrQuiet * p.qrModule
	bz := barQuiet * p.barModule
	elems := []elem{
		{"QR with quiet zone", p.qrBox().Inset(-qz)},
		{"Code 128 with quiet zones", image.Rect(p.barBox().Min.X-bz, p.barBox().Min.Y, p.barBox().Max.X+bz, p.barBox().Max.Y)},
	}
	seen := map[string]bool{}
	for _, tx := range p.texts {
		elems = append(elems, elem{tx.field + " " + tx.s, tx.box()})
		seen[tx.field] = true
	}
	for _, must := range []string{"title", "model_name", "host", "code"} {
		if !seen[must] {
			t.Errorf("%s: no %s printed", where, must)
		}
	}
	for i, a := range elems {
		if !a.r.In(label) {
			t.Errorf("%s: %s at %v is off the %v label", where, a.name, a.r, label.Size())
		}
		for _, b := range elems[i+1:] {
			if a.r.Overlaps(b.r) {
				t.Errorf("%s: %s %v overlaps %s %v", where, a.name, a.r, b.name, b.r)
			}
		}
	}
	img := p.raster()
	allowed := make([]bool, len(img.Pix))
	mark := func(r image.Rectangle) {
		r = r.Intersect(label)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				allowed[y*img.Stride+x] = true
			}
		}
	}
	mark(p.qrBox())
	mark(p.barBox())
	for _, tx := range p.texts {
		mark(tx.box())
	}
	for i, v := range img.Pix {
		if v != 0 && !allowed[i] {
			t.Errorf("%s: ink at (%d,%d) outside every element", where, i%img.Stride, i/img.Stride)
			return
		}
	}
}

func TestLongModelNameIsShortenedWithAnEllipsisNotCut(t *testing.T) {
	c := layoutCerts()["long model name"]
	ct, err := prepare(c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ct.render(Size50x30, DPI203)
	if err != nil {
		t.Fatal(err)
	}
	for _, tx := range p.texts {
		if tx.field == "model_name" {
			if !strings.HasSuffix(tx.s, "…") || !strings.HasPrefix(c.ModelName, strings.TrimSuffix(tx.s, "…")) {
				t.Errorf("model name printed as %q", tx.s)
			}
			return
		}
	}
	t.Error("no model name printed")
}

func TestEveryAccessoryBatchIsPrinted(t *testing.T) {
	c := layoutCerts()["four accessories"]
	for _, z := range []Size{Size60x40, Size100x150} {
		ct, err := prepare(c)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ct.render(z, DPI203)
		if err != nil {
			t.Fatal(err)
		}
		var printed strings.Builder
		for _, tx := range p.texts {
			if tx.field == "accessories" {
				printed.WriteString(tx.s + " ")
			}
		}
		for _, a := range c.Accessories {
			if !strings.Contains(printed.String(), a.SKU+": "+a.Batch) {
				t.Errorf("%s: %s: %s missing from %q", z, a.SKU, a.Batch, printed.String())
			}
		}
	}
}

func TestCertificateFieldsAreValidatedBeforeAnythingIsWritten(t *testing.T) {
	tests := []struct {
		field  string
		change func(*Certificate)
	}{
		{"serial", func(c *Certificate) { c.Serial = "SN 1" }},
		{"serial", func(c *Certificate) { c.Serial = "" }},
		{"serial", func(c *Certificate) { c.Serial = strings.Repeat("1", 33) }},
		{"sku", func(c *Certificate) { c.SKU = "MASK/PRO" }},
		{"batch", func(c *Certificate) { c.Batch = "B^1" }},
		{"accessories", func(c *Certificate) { c.Accessories = []Accessory{{"CHG-1", "C~B"}} }},
		{"accessories", func(c *Certificate) { c.Accessories = make([]Accessory, 17) }},
		{"code", func(c *Certificate) { c.Code = "dhxm6xb4" }},
		{"code", func(c *Certificate) { c.Code = "DHXM6XBU" }},
		{"url", func(c *Certificate) { c.URL = "check.imask.com.cn/c/SN1" }},
		{"url", func(c *Certificate) { c.URL = "javascript:alert(1)" }},
		{"url", func(c *Certificate) { c.URL = "https://例子.cn/c/SN1" }},
		{"url", func(c *Certificate) { c.URL = "https://x.cn/" + strings.Repeat("a", 300) }},
		{"model_name", func(c *Certificate) { c.ModelName = "  " }},
		{"model_name", func(c *Certificate) { c.ModelName = "two\nlines" }},
		{"title", func(c *Certificate) { c.Title = "bell\a" }},
		{"terms", func(c *Certificate) { c.Terms = strings.Repeat("x", 201) }},
		{"mailbox", func(c *Certificate) { c.Mailbox = "a\tb" }},
	}
	for _, tt := range tests {
		c := sampleCert()
		tt.change(&c)
		var buf bytes.Buffer
		wantInvalid(t, PNG(&buf, c, Size50x30, DPI203), tt.field)
		wantInvalid(t, ZPL(&buf, c, Size50x30, DPI203), tt.field)
		wantInvalid(t, NewSheet(&buf).Add(c), tt.field)
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written for an invalid certificate", tt.field, buf.Len())
		}
	}
}

func TestSurroundingWhitespaceIsTrimmedAsEverywhereElse(t *testing.T) {
	c := sampleCert()
	c.Serial = " SN0012345678\n"
	c.ModelName = " IMASK Pro "
	ct, err := prepare(c)
	if err != nil {
		t.Fatal(err)
	}
	if ct.c.Serial != "SN0012345678" || ct.c.ModelName != "IMASK Pro" || ct.c.Title != DefaultTitle {
		t.Errorf("got serial %q, name %q, title %q", ct.c.Serial, ct.c.ModelName, ct.c.Title)
	}
}

func TestUnsupportedDPIAndSizeAreRefused(t *testing.T) {
	wantInvalid(t, PNG(io.Discard, sampleCert(), Size50x30, 600), "dpi", "203 or 300")
	wantInvalid(t, ZPL(io.Discard, sampleCert(), Size{55, 30}, DPI203), "size", "50x30")
	wantInvalid(t, PDF(io.Discard, sampleCert(), Size{55, 30}, DPI203), "size", "50x30")
}

func TestParseSize(t *testing.T) {
	ok := map[string]Size{
		"": DefaultSize, "50x30": Size50x30, "50X30": Size50x30, "50×30": Size50x30, " 60x40mm ": Size60x40,
		"63.5x38.1": SheetLabel, "70x50": Size70x50, "100x150": Size100x150, "100 x 150": Size100x150,
	}
	for in, want := range ok {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"30x50", "55x30", "50", "50x", "x30", "axb", "50x30x2", "4x6in", "-50x30"} {
		_, err := ParseSize(in)
		wantInvalid(t, err, "size", "50x30, 60x40, 63.5x38.1, 70x50, 100x150")
	}
}

func TestParseDPI(t *testing.T) {
	for in, want := range map[string]int{"": DefaultDPI, "203": 203, "300": 300, " 300 ": 300} {
		if got, err := ParseDPI(in); err != nil || got != want {
			t.Errorf("ParseDPI(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"200", "600", "abc", "203dpi"} {
		_, err := ParseDPI(in)
		wantInvalid(t, err, "dpi")
	}
}

func TestTerms(t *testing.T) {
	tests := []struct {
		name              string
		terms             func(int, int, int) string
		months, ret, repl int
		want              string
	}{
		{"Chinese", Terms, 12, 7, 15, "自收货起保修12个月 · 7天无理由退货 · 15天换货"},
		{"Chinese, no return", Terms, 1, 0, 15, "自收货起保修1个月 · 15天换货"},
		{"Chinese, months only", Terms, 24, 0, 0, "自收货起保修24个月"},
		{"Chinese, nothing", Terms, 0, 0, 0, ""},
		{"English", TermsEN, 12, 7, 15, "12 months from receipt · 7-day return · 15-day replacement"},
		{"English, one month", TermsEN, 1, 0, 15, "1 month from receipt · 15-day replacement"},
		{"English, months only", TermsEN, 24, 0, 0, "24 months from receipt"},
		{"English, nothing", TermsEN, 0, 0, 0, ""},
	}
	for _, tt := range tests {
		if got := tt.terms(tt.months, tt.ret, tt.repl); got != tt.want {
			t.Errorf("%s (%d, %d, %d) = %q, want %q", tt.name, tt.months, tt.ret, tt.repl, got, tt.want)
		}
	}
}

func TestNewCertificateTakesTheTermsFixedOnTheItem(t *testing.T) {
	p := policy.Default()
	m := policy.Model{SKU: "MASK-PRO", Name: "IMASK 智能口罩 Pro", Kind: policy.KindProduct, GTIN: "06901234567892", WarrantyMonths: 24}
	it := policy.Item{Serial: "SN0012345678", SKU: "MASK-PRO", Kind: policy.KindProduct, WarrantyMonths: 12, Batch: "B2411",
		Accessories: []policy.Accessory{{SKU: "CHG-1", Batch: "CB2411", Kind: policy.KindAccessory, WarrantyMonths: 12}}}
	c := NewCertificate(p, m, it, nil, "https://check.imask.com.cn/", testSecret)
	want := Certificate{
		ModelName:   "IMASK 智能口罩 Pro",
		SKU:         "MASK-PRO",
		Serial:      "SN0012345678",
		Batch:       "B2411",
		Code:        "DHXM6XB4",
		URL:         "https://check.imask.com.cn/01/06901234567892/21/SN0012345678?k=DHXM6XB4",
		Accessories: []Accessory{{"CHG-1", "CB2411"}},
		Terms:       "自收货起保修12个月 · 7天无理由退货 · 15天换货", // the item's 12, not the model's 24 now
		Mailbox:     "service@imask.com.cn",
		Phone:       "400-668-9229",
	}
	if fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if !VerifyCode([][]byte{testSecret}, it.Serial, c.Code) {
		t.Error("the printed code does not verify")
	}
}
