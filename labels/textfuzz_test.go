package labels

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
)

// renderAll renders c in every format (PNG, ZPL, a one-label PDF and an A4
// sheet) and returns the first error; a panic fails the test.
func renderAll(t *testing.T, c Certificate) error {
	t.Helper()
	var first error
	note := func(format string, err error) {
		if err == nil {
			return
		}
		var pe *policy.Error
		if !errors.As(err, &pe) {
			t.Errorf("%s: %v is not a *policy.Error", format, err)
		}
		if first == nil {
			first = err
		}
	}
	note("png", PNG(io.Discard, c, Size{50, 30}, 203))
	note("zpl", ZPL(io.Discard, c, Size{50, 30}, 203))
	note("pdf", PDF(io.Discard, c, Size{60, 40}, 300))
	s := NewSheet(io.Discard)
	note("sheet", s.Add(c))
	note("sheet", s.Close())
	return first
}

// Texts a model name, a title or a contact may bring: emoji and other runes
// above U+FFFF, controls, bidi overrides, combining marks, unassigned code
// points, invalid UTF-8.
var awkwardTexts = []string{
	"IMASK 😷 Pro", "😀", "𠀀𠀁 (CJK Extension B)", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "a\u0300\u0301\u0302",
	"\u202eevil\u202c", "\u2066iso\u2069", "line\u2028sep", "c1\u0085\u009b", "tab\there", "nl\nhere",
	"\ufffd\ufeff", "\U000e0001tag", "\U0010ffff", "\xff\xfe", "", "   ", "ｆｕｌｌ", "ﷺ", "\u0e01\u0e34\u0e4d",
}

func TestNoLabelTextMakesARendererPanic(t *testing.T) {
	for _, s := range awkwardTexts {
		for field, set := range textFields {
			c := sampleCert()
			set(&c, s)
			t.Run(fmt.Sprintf("%s=%q", field, s), func(t *testing.T) { renderAll(t, c) })
		}
	}
}

// textFields set each free-text field of a certificate.
var textFields = map[string]func(*Certificate, string){
	"model_name": func(c *Certificate, s string) { c.ModelName = s },
	"title":      func(c *Certificate, s string) { c.Title = s },
	"terms":      func(c *Certificate, s string) { c.Terms = s },
	"mailbox":    func(c *Certificate, s string) { c.Mailbox = s },
	"phone":      func(c *Certificate, s string) { c.Phone = s },
}

// An emoji in a model name printed to every format, the glyph the fonts
// lack replaced, not a panic in the PDF library.
func TestAModelNameWithAnEmojiPrintsInEveryFormat(t *testing.T) {
	c := sampleCert()
	c.ModelName = "IMASK 😷 Pro"
	if err := renderAll(t, c); err != nil {
		t.Fatalf("a model name with an emoji: %v", err)
	}
	var b bytes.Buffer
	if err := ZPL(&b, c, Size{60, 40}, 203); err != nil || !strings.Contains(b.String(), "^FDIMASK \uFFFD Pro^FS") {
		t.Fatalf("ZPL: %v, want the emoji printed as U+FFFD:\n%s", err, b.String())
	}
	r, ok, err := Unprintable("IMASK 😷 Pro")
	if err != nil || !ok || r != '😷' {
		t.Errorf("Unprintable = %q, %v, %v; want the emoji", r, ok, err)
	}
	if _, ok, _ := Unprintable("IMASK 智能口罩 Pro · 三包"); ok {
		t.Errorf("a Chinese and Latin name reported unprintable")
	}
}

func FuzzLabelTextNeverPanics(f *testing.F) {
	for _, s := range awkwardTexts {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, name, title, contact string) {
		c := sampleCert()
		c.ModelName, c.Title, c.Mailbox, c.Phone, c.Terms = name, title, contact, contact, title
		renderAll(t, c)
	})
}
