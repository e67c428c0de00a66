package labels

import (
	"bufio"
	"io"
	"strconv"

	"github.com/sanbao/sanbao/policy"
)

// DefaultZPLFont is the printer-resident font ZPL text with characters
// beyond Latin-1 is set in: the SimSun font of Zebra's Chinese-market
// printers. The printer's built-in font 0 has no Chinese; a printer without
// this font prints such text in font 0 with the Chinese missing, so set
// ZPLBatch.Font to the name your printers know (see ^A@ and ^CW).
const DefaultZPLFont = "E:SIMSUN.FNT"

// ZPLBatch writes certificates as ZPL II, one ^XA…^XZ label each, straight
// to w as they come (a batch is the labels concatenated). It holds nothing
// between labels.
//
// The barcodes are native printer barcodes, never bitmaps: ^BQN (QR model
// 2, error level M, magnification = dots per module) and ^BY/^BCN (Code 128
// with the module width in dots and the subsets spelled out, so the printer
// draws exactly the symbol of the PNG). Text is set with ^A0 (^A@ with Font
// for non-ASCII text) at the positions of the PNG layout; every text and
// barcode field uses ^FH, with ^ ~ _ and control bytes written as _XX hex,
// so no serial or model name can end its field or inject a printer command.
type ZPLBatch struct {
	// Font is the printer font for text beyond Latin-1; "" is DefaultZPLFont.
	// It is a drive letter, a colon and a file name ("E:SIMSUN.FNT").
	Font string

	w    *bufio.Writer
	size Size
	dpi  int
}

// NewZPLBatch starts a ZPL stream of size labels for a dpi printer. Errors
// are *policy.Error EInvalid, field "size" or "dpi".
func NewZPLBatch(w io.Writer, size Size, dpi int) (*ZPLBatch, error) {
	if _, err := dotsPerMM(dpi); err != nil {
		return nil, err
	}
	if !size.supported() {
		return nil, policy.Errorf(policy.EInvalid, "size", "size %s is not supported; use one of %s", size, sizeList())
	}
	return &ZPLBatch{w: bufio.NewWriter(w), size: size, dpi: dpi}, nil
}

// Add writes c as one label and flushes it to the underlying writer. On a
// *policy.Error (as for PNG; "font" for a malformed Font) nothing is
// written, so the stream stays a sequence of whole labels; any other error
// is from the writer.
func (z *ZPLBatch) Add(c Certificate) error {
	font := z.Font
	if font == "" {
		font = DefaultZPLFont
	}
	if err := CheckPrinterFont(font); err != nil {
		return err
	}
	ct, err := prepare(c)
	if err != nil {
		return err
	}
	p, err := ct.render(z.size, z.dpi)
	if err != nil {
		return err
	}
	p.writeZPL(z.w, font)
	return z.w.Flush()
}

// Close ends the stream. Labels are flushed as they are added, so it only
// reports nothing left to do; it exists so ZPLBatch and Sheet are used alike.
func (z *ZPLBatch) Close() error { return z.w.Flush() }

// ZPL writes c as one ZPL II label (see ZPLBatch) with the default font.
// Errors are those of PNG.
func ZPL(w io.Writer, c Certificate, size Size, dpi int) error {
	z, err := NewZPLBatch(w, size, dpi)
	if err != nil {
		return err
	}
	return z.Add(c)
}

// CheckPrinterFont checks a printer-resident font name for ZPL text beyond
// Latin-1 (ZPLBatch.Font): a drive letter, a colon and a file name of
// letters, digits, dots and dashes, at most 24 characters in all, such as
// E:SIMSUN.FNT or E:ANMDJ.TTF — nothing that could end the ^A@ command.
// The error is EInvalid, field "font".
func CheckPrinterFont(f string) error {
	if !validPrinterFont(f) {
		return policy.Errorf(policy.EInvalid, "font", "font %q is not a printer font name: a drive letter, a colon and a file name, such as E:SIMSUN.FNT or E:ANMDJ.TTF", f)
	}
	return nil
}

func validPrinterFont(f string) bool {
	if len(f) < 3 || len(f) > 24 || f[0] < 'A' || f[0] > 'Z' || f[1] != ':' {
		return false
	}
	for i := 2; i < len(f); i++ {
		c := f[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func (p *plan) writeZPL(w *bufio.Writer, font string) {
	num := func(n int) { w.WriteString(strconv.Itoa(n)) }
	w.WriteString("^XA\n^CI28\n^PW")
	num(p.w)
	w.WriteString("\n^LL")
	num(p.h)
	w.WriteString("\n^LH0,0\n")
	for _, t := range p.texts {
		w.WriteString("^FO")
		num(t.x)
		w.WriteByte(',')
		num(max(0, t.base-ascent(t.px)))
		if latin1(t.s) {
			w.WriteString("^A0N,")
			num(t.px)
			w.WriteByte(',')
			num(t.px)
		} else {
			w.WriteString("^A@N,")
			num(t.px)
			w.WriteByte(',')
			num(t.px)
			w.WriteByte(',')
			w.WriteString(font)
		}
		w.WriteString("^FH^FD")
		zplEscape(w, t.s)
		w.WriteString("^FS\n")
	}
	w.WriteString("^FO")
	num(p.qrX)
	w.WriteByte(',')
	num(p.qrY)
	w.WriteString("^BQN,2,")
	num(p.qrModule)
	w.WriteString("^FH^FDMA,")
	zplEscape(w, p.qr.url)
	w.WriteString("^FS\n^FO")
	num(p.barX)
	w.WriteByte(',')
	num(p.barY)
	w.WriteString("^BY")
	num(p.barModule)
	w.WriteString("^BCN,")
	num(p.barH)
	w.WriteString(",N,N,N,N^FH^FD")
	zplEscape(w, p.bar.zpl)
	w.WriteString("^FS\n^XZ\n")
}

// latin1 reports whether the printer's font 0 can set s: under ^CI28 it
// has Latin-1 (the "·" of the terms line) but no Chinese.
func latin1(s string) bool {
	for _, r := range s {
		if r > 0xff {
			return false
		}
	}
	return true
}

// zplEscape writes s for a ^FH field: the format prefixes ^ and ~, the hex
// indicator _ and control bytes become _XX; everything else (UTF-8
// included, under ^CI28) is written as is.
func zplEscape(w *bufio.Writer, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '^' || c == '~' || c == '_' || c < 0x20 || c == 0x7f {
			w.WriteByte('_')
			w.WriteByte(hex[c>>4])
			w.WriteByte(hex[c&15])
			continue
		}
		w.WriteByte(c)
	}
}

// Batch is one file of many certificates, written one at a time: *Sheet
// (PDF) and *ZPLBatch are both, so a caller streams either format alike.
// Add refuses a certificate with the errors of PNG and leaves the file
// whole; Close finishes the file.
type Batch interface {
	Add(c Certificate) error
	Close() error
}

var _, _ Batch = (*Sheet)(nil), (*ZPLBatch)(nil)
