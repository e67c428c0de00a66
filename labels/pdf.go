package labels

import (
	"image"
	"io"
	"strconv"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/sanbao/sanbao/policy"
)

// Avery L7160: 3 × 7 labels of 63.5 × 38.1 mm on A4, 15.15 mm top and
// bottom, 7.25 mm at the sides, 2.5 mm between columns, none between rows.
const (
	sheetW, sheetH   = 210.0, 297.0
	sheetCols        = 3
	sheetRows        = 7
	sheetTop         = 15.15
	sheetLeft        = 7.25
	sheetColumnPitch = 63.5 + 2.5
	sheetRowPitch    = 38.1
	// PerSheet is how many labels one A4 sheet holds.
	PerSheet = sheetCols * sheetRows
)

// sheetDPI is the grid sheet labels are laid out on: office printers print
// at 300 dpi or more, so modules of whole 1/12 mm land on whole dots.
const sheetDPI = DPI300

// pdfEpoch is the creation date written into every PDF, so the same
// certificates always make the same bytes (no clock in rendering).
var pdfEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Sheet writes certificates onto A4 sheets of Avery L7160 labels (3 × 7 of
// 63.5 × 38.1 mm; print at 100 %, no "fit to page"), as many pages as
// needed. Certificates are added one at a time and drawn at once as vector
// operations — QR and Code 128 modules are filled rectangles, text is text
// in embedded font subsets — so nothing is rasterised and no label image is
// kept; the document is written to w by Close. A Sheet is not safe for
// concurrent use.
type Sheet struct {
	w   io.Writer
	doc *pdfDoc
	n   int
}

// NewSheet starts a sheet document that Close writes to w.
func NewSheet(w io.Writer) *Sheet {
	return &Sheet{w: w, doc: newPDFDoc(fpdf.SizeType{Wd: sheetW, Ht: sheetH})}
}

// Add lays c out on the next free label, starting a new page after every
// PerSheet. Errors are those of PNG for size SheetLabel at 300 dpi (a
// certificate that does not fit a sheet label gets the single-label size
// that fits it); on an error the label is left free for the next
// certificate.
func (s *Sheet) Add(c Certificate) error {
	ct, err := prepare(c)
	if err != nil {
		return err
	}
	p, err := ct.renderOn(SheetLabel, sheetDPI, true)
	if err != nil {
		return err
	}
	i := s.n % PerSheet
	if i == 0 {
		s.doc.f.AddPage()
	}
	s.doc.draw(p, sheetLeft+float64(i%sheetCols)*sheetColumnPitch, sheetTop+float64(i/sheetCols)*sheetRowPitch)
	s.n++
	return s.doc.err()
}

// Len is the number of certificates added.
func (s *Sheet) Len() int { return s.n }

// Close writes the document to w. A sheet with no certificate is an error
// (*policy.Error EInvalid) rather than an empty page wasting a sheet of
// labels; other errors are from w.
func (s *Sheet) Close() error {
	if s.n == 0 {
		return policy.Errorf(policy.EInvalid, "", "no certificates to print")
	}
	return s.doc.output(s.w)
}

// PDF writes c as a one-page PDF the size of the label, for printing through
// a driver at 100 %. The layout is the one of PNG at dpi, so modules fall
// on whole printer dots. Errors are those of PNG.
func PDF(w io.Writer, c Certificate, size Size, dpi int) error {
	ct, err := prepare(c)
	if err != nil {
		return err
	}
	p, err := ct.render(size, dpi)
	if err != nil {
		return err
	}
	d := newPDFDoc(fpdf.SizeType{Wd: size.W, Ht: size.H})
	d.f.AddPage()
	d.draw(p, 0, 0)
	return d.output(w)
}

// pdfDoc wraps an fpdf document, adding each font on its first use so a
// document embeds only the fonts (and fpdf only the glyphs) it shows.
type pdfDoc struct {
	f     *fpdf.Fpdf
	added [numFonts]bool
	buf   []byte
}

var pdfFamily = [numFonts]string{"gosans", "gobold", "gomono", "cjk"}

func newPDFDoc(page fpdf.SizeType) *pdfDoc {
	f := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", Size: page})
	f.SetMargins(0, 0, 0)
	f.SetAutoPageBreak(false, 0)
	f.SetCreationDate(pdfEpoch)
	f.SetModificationDate(pdfEpoch)
	f.SetCatalogSort(true)
	f.SetProducer("sanbao", false)
	f.SetFillColor(0, 0, 0)
	f.SetDrawColor(0, 0, 0)
	f.SetTextColor(0, 0, 0)
	return &pdfDoc{f: f}
}

func (d *pdfDoc) err() error {
	if err := d.f.Error(); err != nil {
		return policy.Errorf(policy.EInternal, "", "PDF: %v", err)
	}
	return nil
}

func (d *pdfDoc) output(w io.Writer) error {
	if err := d.err(); err != nil {
		return err
	}
	return d.f.Output(w)
}

func (d *pdfDoc) font(id fontID, pt float64) {
	if !d.added[id] {
		d.f.AddUTF8FontFromBytes(pdfFamily[id], "", fonts[id].data)
		d.added[id] = true
	}
	d.f.SetFont(pdfFamily[id], "", pt)
}

// draw puts plan p on the page with its top left corner at (ox, oy) mm.
func (d *pdfDoc) draw(p *plan, ox, oy float64) {
	d.fill(p.symbolRects(), p.dpm, ox, oy)
	k := 1 / float64(p.dpm) // mm per dot
	for _, t := range p.texts {
		d.text(t, ox, oy, k)
	}
}

// symbolRects are the dark parts of both barcodes as rectangles in dots:
// each bar one rectangle, and the QR's dark runs merged down the rows
// while they repeat, so adjacent modules share exact edges (no hairline
// seams in a viewer) and the page holds a few hundred operators, not
// thousands.
func (p *plan) symbolRects() []image.Rectangle {
	var rs []image.Rectangle
	q := p.qrModule
	open := map[[2]int]int{} // dark run [x0, x1) in modules -> index in rs
	for y, row := range p.qr.dark {
		next := map[[2]int]int{}
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			end := x
			for end < len(row) && row[end] {
				end++
			}
			run := [2]int{x, end}
			if i, ok := open[run]; ok {
				rs[i].Max.Y += q
				next[run] = i
			} else {
				next[run] = len(rs)
				rs = append(rs, image.Rect(p.qrX+x*q, p.qrY+y*q, p.qrX+end*q, p.qrY+(y+1)*q))
			}
			x = end
		}
		open = next
	}
	m := p.barModule
	for x := 0; x < len(p.bar.bars); {
		if !p.bar.bars[x] {
			x++
			continue
		}
		end := x
		for end < len(p.bar.bars) && p.bar.bars[end] {
			end++
		}
		rs = append(rs, image.Rect(p.barX+x*m, p.barY, p.barX+end*m, p.barY+p.barH))
		x = end
	}
	return rs
}

// fill paints rectangles given in dots at dpm dots per mm, offset (ox, oy)
// mm, as one filled path written straight into the page: fpdf's Rect
// would format each number through a fresh string.
func (d *pdfDoc) fill(rs []image.Rectangle, dpm int, ox, oy float64) {
	const pt = 72 / 25.4 // points per mm
	k := pt / float64(dpm)
	_, pageH := d.f.GetPageSize()
	b := d.buf[:0]
	b = append(b, "q 0 g\n"...)
	num := func(v float64) {
		b = strconv.AppendFloat(b, v, 'f', 3, 64)
		b = append(b, ' ')
	}
	for _, r := range rs {
		num(ox*pt + float64(r.Min.X)*k)
		num((pageH-oy)*pt - float64(r.Max.Y)*k)
		num(float64(r.Dx()) * k)
		num(float64(r.Dy()) * k)
		b = append(b, "re\n"...)
	}
	b = append(b, "f Q"...)
	d.f.RawWriteStr(string(b))
	d.buf = b
}

// text sets one line as runs of one font each, at the pen positions of
// the PNG layout.
func (d *pdfDoc) text(t textOp, ox, oy, k float64) {
	pt := float64(t.px) * k * 72 / 25.4
	pen := t.x
	base := oy + float64(t.base)*k
	rs := []rune(t.s)
	for i := 0; i < len(rs); {
		id, _ := pick(t.st, rs[i])
		j, w := i, 0
		for j < len(rs) {
			jd, m := pick(t.st, rs[j])
			if jd != id {
				break
			}
			w += advance(m.adv, t.px)
			j++
		}
		d.font(id, pt)
		if t.st.bold() && id == fontCJK {
			// One weight only: stroke the outline as well to embolden.
			d.f.SetLineWidth(float64(t.px) * k / 30)
			d.f.SetTextRenderingMode(2)
			d.f.Text(ox+float64(pen)*k, base, string(rs[i:j]))
			d.f.SetTextRenderingMode(0)
		} else {
			d.f.Text(ox+float64(pen)*k, base, string(rs[i:j]))
		}
		pen += w
		i = j
	}
}
