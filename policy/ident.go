package policy

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxIdentLen is the longest serial, batch number, SKU or order number.
const MaxIdentLen = 32

// Ident trims surrounding whitespace (scanners append newlines) and checks
// that s is 1–32 characters of 0-9 A-Z a-z - . _, not only dots — the rule
// for serials, batch numbers, SKUs and order numbers. The error is EInvalid
// naming field.
func Ident(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(EInvalid, field, "%s is required", field).Keyed("field.required", Args{"field": Field(field)})
	}
	if len(s) > MaxIdentLen {
		return "", Errorf(EInvalid, field, "%s is %d characters long; at most %d are allowed", field, utf8.RuneCountInString(s), MaxIdentLen).
			Keyed("ident.too_long", Args{"field": Field(field), "len": utf8.RuneCountInString(s), "max": MaxIdentLen})
	}
	for i := 0; i < len(s); i++ {
		if !identByte(s[i]) {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return "", Errorf(EInvalid, field, "%s may hold only 0-9 A-Z a-z - . _ (found %q at position %d)", field, r, i+1).
				Keyed("ident.bad_char", Args{"field": Field(field), "char": string(r), "pos": i + 1})
		}
	}
	if strings.Trim(s, ".") == "" {
		// "." and ".." are path segments: a URL naming them (a QR code, a
		// console link) would be normalised to another page.
		return "", Errorf(EInvalid, field, "%s %q is made only of dots, which a URL cannot carry; use at least one letter, digit, - or _", field, s).
			Keyed("ident.dots", Args{"field": Field(field), "value": s})
	}
	return s, nil
}

func identByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '.' || c == '_'
}

// Text checks a free-text field of several lines (a note, a complaint, a
// reason) where it enters: valid UTF-8, at most max characters, and no
// character that is not text — controls other than newline and tab (C0,
// DEL, C1), the line and paragraph separators U+2028 and U+2029, the
// bidirectional controls that can make a text read other than it is stored
// (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), U+FEFF and
// noncharacters. Surrounding whitespace is trimmed; required says whether
// it may be empty. The error is EInvalid naming field (and the character).
func Text(field, s string, max int, required bool) (string, error) {
	return checkText(field, s, max, required, true)
}

// Line is Text for a single-line field (a model name, a service centre, a
// tracking number, a key's name): newline and tab are refused too.
func Line(field, s string, max int, required bool) (string, error) {
	return checkText(field, s, max, required, false)
}

func checkText(field, s string, max int, required, lines bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" && required {
		return "", Errorf(EInvalid, field, "%s is required", field).Keyed("field.required", Args{"field": Field(field)})
	}
	if !utf8.ValidString(s) {
		return "", Errorf(EInvalid, field, "%s is not valid UTF-8", field).Keyed("text.utf8", Args{"field": Field(field)})
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", Errorf(EInvalid, field, "%s is %d characters long; at most %d are allowed", field, n, max).
			Keyed("text.too_long", Args{"field": Field(field), "len": n, "max": max})
	}
	for i, r := range s {
		if what := notText(r, lines); what != "" {
			return "", Errorf(EInvalid, field, "%s contains %s (U+%04X at byte %d), which is not allowed", field, what, r, i+1).
				Keyed("text.bad_char", Args{"field": Field(field), "code": fmt.Sprintf("U+%04X", r)})
		}
	}
	return s, nil
}

// notText names the kind of r when it may not be in a text field ("" when
// it may); lines allows newline and tab.
func notText(r rune, lines bool) string {
	switch {
	case r == '\n' || r == '\t':
		if !lines {
			return "a line break or tab (the field is a single line)"
		}
	case r < 0x20 || r >= 0x7f && r <= 0x9f:
		return "a control character"
	case r == 0x2028 || r == 0x2029:
		return "a line or paragraph separator"
	case r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
		return "a bidirectional-text control"
	case r == 0xfeff:
		return "a byte order mark"
	case r >= 0xfdd0 && r <= 0xfdef || r&0xfffe == 0xfffe:
		return "a noncharacter"
	}
	return ""
}

// GTIN checks a GTIN-8, -12, -13 or -14 (digits and check digit) and returns
// it zero-padded to 14 digits, as GS1 Digital Link wants it.
func GTIN(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return "", Errorf(EInvalid, "gtin", "gtin must have 8, 12, 13 or 14 digits, not %d characters", len(s)).Keyed("gtin.length", Args{"len": len(s)})
	}
	sum := 0
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			return "", Errorf(EInvalid, "gtin", "gtin may hold only digits").Keyed("gtin.digits", nil)
		}
		if i == len(s)-1 {
			continue
		}
		d := int(c - '0')
		if (len(s)-1-i)%2 == 1 {
			d *= 3
		}
		sum += d
	}
	if want := byte('0' + (10-sum%10)%10); s[len(s)-1] != want {
		return "", Errorf(EInvalid, "gtin", "gtin check digit is %c; %c was expected", s[len(s)-1], want).
			Keyed("gtin.check", Args{"got": string(s[len(s)-1]), "want": string(want)})
	}
	return strings.Repeat("0", 14-len(s)) + s, nil
}
