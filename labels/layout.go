package labels

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/sanbao/sanbao/policy"
)

// A plan is one certificate laid out on one label, in printer dots with
// the origin at the top left. PNG, ZPL and PDF all draw the same plan, so
// what the preview shows is what the printer prints.
type plan struct {
	w, h, dpm int
	texts     []textOp

	qr         qrSymbol
	qrX, qrY   int // top left of the first module (inside the quiet zone)
	qrModule   int // dots per module
	bar        barSymbol
	barX, barY int // top left of the first bar
	barModule  int // dots per module
	barH       int
}

// textOp is one line of text: pen start x, baseline y, size in dots per em.
type textOp struct {
	field   string // what it shows, for tests and error messages
	x, base int
	px      int
	st      style
	s       string
	w       int
}

// box is the line's extent: its advance width between ascent and descent.
func (t textOp) box() image.Rectangle {
	return image.Rect(t.x, t.base-ascent(t.px), t.x+t.w, t.base+descent(t.px))
}

func (p *plan) qrBox() image.Rectangle {
	d := p.qr.n * p.qrModule
	return image.Rect(p.qrX, p.qrY, p.qrX+d, p.qrY+d)
}

func (p *plan) barBox() image.Rectangle {
	return image.Rect(p.barX, p.barY, p.barX+len(p.bar.bars)*p.barModule, p.barY+p.barH)
}

// content is a validated certificate with its symbols encoded; it does not
// depend on the label size, so a size search encodes once.
type content struct {
	c           Certificate
	host        string
	contact     string   // "mailbox · phone"
	accessories []string // "SKU: batch"
	qr          qrSymbol
	bar         barSymbol
	widths      map[widthKey]int
}

type widthKey struct {
	st style
	px int
	s  string
}

func prepare(c Certificate) (*content, error) {
	c, err := c.check()
	if err != nil {
		return nil, err
	}
	if err := loadFonts(); err != nil {
		return nil, policy.Errorf(policy.EInternal, "", "label fonts: %v", err)
	}
	for _, s := range []*string{&c.Title, &c.ModelName, &c.Terms, &c.Mailbox, &c.Phone} {
		*s = substitute(*s)
	}
	host, _ := checkHost(c.URL)
	ct := &content{c: c, host: host, contact: contactLine(c.Mailbox, c.Phone), widths: map[widthKey]int{}}
	for _, a := range c.Accessories {
		ct.accessories = append(ct.accessories, a.SKU+": "+a.Batch)
	}
	if ct.qr, err = encodeQR(c.URL); err != nil {
		return nil, err
	}
	if ct.bar, err = encodeBar(c.Serial); err != nil {
		return nil, err
	}
	return ct, nil
}

// width of s in style st at px dots per em, memoised: the size search
// measures the same strings at many sizes. It is the sum of the glyph
// advances each rounded to whole dots, as drawText places them.
func (ct *content) width(st style, px int, s string) int {
	k := widthKey{st, px, s}
	w, ok := ct.widths[k]
	if !ok {
		w = textWidth(st, px, s)
		ct.widths[k] = w
	}
	return w
}

// fitError says what does not fit a label and how much room it needs.
type fitError struct {
	part   string  // "serial", "qr" or "text"
	needMM float64 // for serial and qr: the width or height needed
	what   string  // for text: what does not fit
}

// textErr is a fitError for text: what names it for the person reading the
// error ("the service contact").
func textErr(what string) *fitError { return &fitError{part: "text", what: what} }

func mmDots(mm float64, dpm int) int { return int(math.Round(mm * float64(dpm))) }

// margins are, in dots, the blank border kept around text, and the slack
// added outside a barcode's quiet zone so that a label printed a little off
// its position still has the whole quiet zone on the label (beyond its
// edge is the parcel, not white paper). Sheets fed through an office
// printer are placed less precisely than labels on a thermal printer.
func margins(size Size, dpm int) (m, slack int) {
	if size == SheetLabel {
		return mmDots(1.5, dpm), mmDots(1.0, dpm)
	}
	return mmDots(1.0, dpm), mmDots(0.5, dpm)
}

// barNeed is the width a Code 128 of x-dot modules takes with its quiet
// zones and slack, in dots.
func (ct *content) barNeed(x int, size Size, dpm int) int {
	_, slack := margins(size, dpm)
	return (len(ct.bar.bars)+2*barQuiet)*x + 2*slack
}

func (ct *content) serialErr(size Size, dpm int) *fitError {
	return &fitError{part: "serial", needMM: float64(ct.barNeed(minBarModule, size, dpm)) / float64(dpm)}
}

// layout places ct on a label of size at dpm dots per millimetre, trying
// the most generous text, QR and bar sizes first and shrinking until
// everything fits; nothing is ever drawn below the minimum sizes.
func (ct *content) layout(size Size, dpm int) (*plan, *fitError) {
	W, _ := size.dots(dpm)
	// A Code 128 that cannot fit the width at two dots per module fits
	// no layout: say so first, it is the usual reason.
	if ct.barNeed(minBarModule, size, dpm) > W {
		return nil, ct.serialErr(size, dpm)
	}
	portrait := size.H > size.W
	var tMax, tMin, qMax int
	if portrait {
		tMax, tMin = mmDots(4.2, dpm), mmDots(1.4, dpm)
		qMax = mmDots(1.25, dpm)
	} else {
		tMax, tMin = mmDots(size.H*0.065, dpm), mmDots(1.4, dpm)
		qMax = mmDots(size.H*0.02, dpm)
	}
	qMin := int(math.Ceil(minQRModuleMM*float64(dpm) - 1e-9))
	qMax = max(min(qMax, maxQRModule), qMin)
	xPref := max(minBarModule, mmDots(0.25, dpm))
	if portrait {
		xPref = max(minBarModule, mmDots(0.5, dpm))
	}
	var last *fitError
	for _, c := range candidates(tMin, tMax, qMin, qMax) {
		for x := xPref; x >= minBarModule; x-- {
			var p *plan
			if portrait {
				p, last = ct.portrait(size, dpm, c.t, c.q, x)
			} else {
				p, last = ct.landscape(size, dpm, c.t, c.q, x)
			}
			if last == nil {
				return p, nil
			}
		}
	}
	return nil, last
}

// candidate is a body text size and a QR module size, in dots.
type candidate struct{ t, q int }

// candidates lists every text and QR size pair, the most balanced large
// ones first: both shrink in proportion, so a bigger label gets a bigger
// QR and not only bigger text.
func candidates(tMin, tMax, qMin, qMax int) []candidate {
	k := [4]int{tMin, tMax, qMin, qMax}
	if cs, ok := candidateLists.Load(k); ok {
		return cs.([]candidate)
	}
	var cs []candidate
	for t := tMax; t >= tMin; t-- {
		for q := qMax; q >= qMin; q-- {
			cs = append(cs, candidate{t, q})
		}
	}
	score := func(c candidate) float64 {
		ft, fq := float64(c.t)/float64(tMax), float64(c.q)/float64(qMax)
		return min(ft, fq) + (ft+fq)/100
	}
	slices.SortStableFunc(cs, func(a, b candidate) int { return cmp.Compare(score(b), score(a)) })
	candidateLists.Store(k, cs)
	return cs
}

// candidateLists memoises candidates: there is one list per label size and
// resolution.
var candidateLists sync.Map

// builder accumulates a plan's texts.
type builder struct {
	ct *content
	p  *plan
}

func (b *builder) text(field string, st style, px, x, base int, s string) textOp {
	t := textOp{field: field, x: x, base: base, px: px, st: st, s: s, w: b.ct.width(st, px, s)}
	b.p.texts = append(b.p.texts, t)
	return t
}

// shrink returns the largest size in [lo, hi] at which s fits avail, or 0.
func (b *builder) shrink(st style, lo, hi, avail int, s string) int {
	for px := hi; px >= lo; px-- {
		if b.ct.width(st, px, s) <= avail {
			return px
		}
	}
	return 0
}

// ellipsis shortens s, rune by rune, until it fits avail with "…" added.
func (b *builder) ellipsis(st style, px, avail int, s string) string {
	if b.ct.width(st, px, s) <= avail {
		return s
	}
	r := []rune(s)
	for n := len(r) - 1; n > 0; n-- {
		t := strings.TrimSpace(string(r[:n])) + "…"
		if b.ct.width(st, px, t) <= avail {
			return t
		}
	}
	return "…"
}

// wrap splits items, joined by sep, into lines no wider than avail. It
// breaks only between items; an item wider than avail fails (ok false).
func (b *builder) wrap(st style, px, avail int, prefix string, items []string, sep string) ([]string, bool) {
	var lines []string
	cur := prefix
	for i, it := range items {
		next := cur + it
		if i > 0 && cur != prefix {
			next = cur + sep + it
		}
		if b.ct.width(st, px, next) <= avail {
			cur = next
			continue
		}
		if cur == prefix || cur == "" {
			return nil, false
		}
		lines = append(lines, cur)
		cur = it
		if b.ct.width(st, px, cur) > avail {
			return nil, false
		}
	}
	return append(lines, cur), true
}

func contactLine(mailbox, phone string) string {
	if mailbox != "" && phone != "" {
		return mailbox + " · " + phone
	}
	return mailbox + phone
}

// groupedCode prints a check code as two groups of four, easier to type
// (VerifyCode ignores the hyphen).
func groupedCode(code string) string { return code[:4] + "-" + code[4:] }

// landscape lays out a wide label (50x30, 60x40, 63.5x38.1, 70x50):
//
//	title
//	QR  | model name, SKU, S/N, batch, accessories, (code), scan hint, host
//	Code 128        | check code
//	terms
//	contact
//
// t is the body text size, q the QR module and x the bar module, in dots.
func (ct *content) landscape(size Size, dpm, t, q, x int) (*plan, *fitError) {
	W, H := size.dots(dpm)
	p := &plan{w: W, h: H, dpm: dpm, qr: ct.qr, qrModule: q, bar: ct.bar, barModule: x}
	b := &builder{ct: ct, p: p}
	m, slack := margins(size, dpm)
	gap := max(1, t/4)
	small := max(mmDots(1.4, dpm), t*9/10)

	// Horizontal fit of everything first (cheap), vertical at the end.
	tp := b.shrink(styleBold, t, t*7/5, W-2*m, ct.c.Title)
	if tp == 0 {
		return nil, textErr("the title")
	}
	qz := qrQuiet * q
	d := ct.qr.n * q
	qrLeft := max(qz+slack, m)
	colX := qrLeft + d + qz
	colW := W - m - colX
	if colW < 6*t {
		return nil, &fitError{part: "qr", needMM: float64(d+2*qz) / float64(dpm)}
	}
	barsW := len(ct.bar.bars) * x
	barLeft := max(barQuiet*x+slack, m)
	if barLeft+barsW+barQuiet*x+slack > W {
		return nil, ct.serialErr(size, dpm)
	}
	terms := ct.c.Terms
	contact := ct.contact
	tsz := small
	for _, f := range []struct{ what, s string }{{"the warranty terms", terms}, {"the service contact", contact}} {
		if f.s == "" {
			continue
		}
		if tsz = min(tsz, b.shrink(styleRegular, mmDots(1.4, dpm), small, W-2*m, f.s)); tsz == 0 {
			return nil, textErr(f.what)
		}
	}

	// Beside the bars, if there is room: the check code, large.
	codeX := barLeft + barsW + barQuiet*x
	codeW := W - m - codeX
	code := groupedCode(ct.c.Code)
	barH := mmDots(4.5, dpm)
	codePx := b.shrink(styleMono, t, t*3/2, codeW, code)
	capPx := b.shrink(styleRegular, small*4/5, small, codeW, ct.c.CodeCaption)
	codeBeside := codePx > 0 && capPx > 0
	if codeBeside {
		barH = max(barH, lineHeight(capPx)+lineHeight(codePx))
	}

	// The column beside the QR.
	type line struct {
		field string
		st    style
		s     string
	}
	what := map[string]string{"sku": "the SKU", "serial": "the serial", "batch": "the batch number", "code": "the check code", "scan_hint": "the scan hint", "host": "the check URL's host"}
	col := []line{
		{"model_name", styleBold, b.ellipsis(styleBold, t, colW, ct.c.ModelName)},
		{"sku", styleRegular, "SKU " + ct.c.SKU},
		{"serial", styleMono, "S/N " + ct.c.Serial},
		{"batch", styleRegular, "Batch " + ct.c.Batch},
	}
	if len(ct.c.Accessories) > 0 {
		acc, ok := b.wrap(styleRegular, t, colW, "Acc. ", ct.accessories, ", ")
		if !ok {
			return nil, textErr("an accessory's batch number")
		}
		for _, s := range acc {
			col = append(col, line{"accessories", styleRegular, s})
		}
	}
	if !codeBeside {
		col = append(col, line{"code", styleMono, ct.c.CodeCaption + " " + code})
	}
	col = append(col, line{"scan_hint", styleRegular, ct.c.ScanHint}, line{"host", styleRegular, ct.host})
	for _, l := range col {
		if b.ct.width(l.st, t, l.s) > colW {
			return nil, textErr(what[l.field])
		}
	}

	// Vertical: title, QR block, bars, terms, contact, with the spare
	// height shared between the gaps.
	titleH := lineHeight(tp)
	if m+titleH+d+2*qz+barH+m > H {
		return nil, &fitError{part: "qr", needMM: float64(d+2*qz) / float64(dpm)}
	}
	colH := len(col) * lineHeight(t)
	blockH := max(d+2*qz, colH+qz+gap) // the column starts level with the QR's first row
	footH := 0
	for _, s := range []string{terms, contact} {
		if s != "" {
			footH += lineHeight(tsz)
		}
	}
	used := m + titleH + blockH + barH + gap + footH + m
	if used > H {
		return nil, textErr("the certificate's text")
	}
	spare := (H - used) / 3

	y := m
	b.text("title", styleBold, tp, m, y+ascent(tp), ct.c.Title)
	y += titleH + spare
	p.qrX, p.qrY = qrLeft, y+qz
	cy := p.qrY
	for _, l := range col {
		b.text(l.field, l.st, t, colX, cy+ascent(t), l.s)
		cy += lineHeight(t)
	}
	y += blockH + spare
	p.barX, p.barY, p.barH = barLeft, y, barH
	if codeBeside {
		b.text("code_caption", styleRegular, capPx, codeX, y+ascent(capPx), ct.c.CodeCaption)
		b.text("code", styleMono, codePx, codeX, y+lineHeight(capPx)+ascent(codePx), code)
	}
	y += barH + gap + spare
	for _, f := range []struct{ field, s string }{{"terms", terms}, {"contact", contact}} {
		if f.s != "" {
			b.text(f.field, styleRegular, tsz, m, y+ascent(tsz), f.s)
			y += lineHeight(tsz)
		}
	}
	return p, nil
}

// portrait lays out a tall label (100x150), everything centred:
//
//	title / model name / SKU · batch
//	QR, scan hint and host under it
//	check code
//	Code 128, serial under it
//	accessories / terms / contact
func (ct *content) portrait(size Size, dpm, t, q, x int) (*plan, *fitError) {
	W, H := size.dots(dpm)
	p := &plan{w: W, h: H, dpm: dpm, qr: ct.qr, qrModule: q, bar: ct.bar, barModule: x}
	b := &builder{ct: ct, p: p}
	m := mmDots(2.5, dpm)
	avail := W - 2*m
	small := max(mmDots(1.4, dpm), t*4/5)

	type line struct {
		field string
		st    style
		px    int
		s     string
	}
	fit := func(field string, st style, lo, hi int, s string) (line, bool) {
		px := b.shrink(st, lo, hi, avail, s)
		return line{field, st, px, s}, px > 0
	}
	var head, mid, foot []line
	l, ok := fit("title", styleBold, t, t*8/5, ct.c.Title)
	if !ok {
		return nil, textErr("the title")
	}
	head = append(head, l)
	namePx := t * 5 / 4
	head = append(head, line{"model_name", styleBold, namePx, b.ellipsis(styleBold, namePx, avail, ct.c.ModelName)})
	if l, ok = fit("sku", styleRegular, t, t, "SKU "+ct.c.SKU+" · Batch "+ct.c.Batch); !ok {
		return nil, textErr("the SKU and batch number")
	}
	head = append(head, l)

	qz := qrQuiet * q
	d := ct.qr.n * q
	if d+2*qz > W {
		return nil, &fitError{part: "qr", needMM: float64(d+2*qz) / float64(dpm)}
	}
	if l, ok = fit("scan_hint", styleRegular, small, t, ct.c.ScanHint); !ok {
		return nil, textErr("the scan hint")
	}
	mid = append(mid, l)
	if l, ok = fit("host", styleRegular, small, t, ct.host); !ok {
		return nil, textErr("the check URL's host")
	}
	mid = append(mid, l)
	if l, ok = fit("code_caption", styleRegular, small, t, ct.c.CodeCaption); !ok {
		return nil, textErr("the check code")
	}
	mid = append(mid, l)
	if l, ok = fit("code", styleMono, t, t*2, groupedCode(ct.c.Code)); !ok {
		return nil, textErr("the check code")
	}
	mid = append(mid, l)

	barsW := len(ct.bar.bars) * x
	if ct.barNeed(x, size, dpm) > W {
		return nil, ct.serialErr(size, dpm)
	}
	barH := mmDots(12, dpm)
	if l, ok = fit("serial", styleMono, small, t, ct.c.Serial); !ok {
		return nil, textErr("the serial")
	}
	hri := l

	if len(ct.c.Accessories) > 0 {
		acc, ok := b.wrap(styleRegular, small, avail, "Accessories ", ct.accessories, ", ")
		if !ok {
			return nil, textErr("an accessory's batch number")
		}
		for _, s := range acc {
			foot = append(foot, line{"accessories", styleRegular, small, s})
		}
	}
	for _, f := range []struct{ field, what, s string }{{"terms", "the warranty terms", ct.c.Terms}, {"contact", "the service contact", ct.contact}} {
		if f.s == "" {
			continue
		}
		if l, ok = fit(f.field, styleRegular, mmDots(1.4, dpm), small, f.s); !ok {
			return nil, textErr(f.what)
		}
		foot = append(foot, l)
	}

	height := func(ls []line) int {
		h := 0
		for _, l := range ls {
			h += lineHeight(l.px)
		}
		return h
	}
	gap := t / 2
	used := m + height(head) + (d + 2*qz) + height(mid) + gap + barH + lineHeight(hri.px) + height(foot) + m
	if used > H {
		return nil, textErr("the certificate's text")
	}
	spare := (H - used) / 3

	y := m
	put := func(ls []line) {
		for _, l := range ls {
			w := b.ct.width(l.st, l.px, l.s)
			b.text(l.field, l.st, l.px, (W-w)/2, y+ascent(l.px), l.s)
			y += lineHeight(l.px)
		}
	}
	put(head)
	y += spare
	p.qrX, p.qrY = (W-d)/2, y+qz
	y += d + 2*qz
	put(mid[:1])
	y += gap
	put(mid[1:])
	y += spare
	p.barX, p.barY, p.barH = (W-barsW)/2, y, barH
	y += barH
	put([]line{hri})
	// The footer sits on the bottom margin; rounding leftovers go above it.
	y = H - m - height(foot)
	put(foot)
	return p, nil
}

// render lays ct out on size at dpi, turning a layout that does not fit
// into an error that names a size that does.
func (ct *content) render(size Size, dpi int) (*plan, error) {
	return ct.renderOn(size, dpi, false)
}

// renderOn is render; sheet says the label is on an A4 sheet, whose label
// size cannot be chosen, so the advice is to print a single label instead.
func (ct *content) renderOn(size Size, dpi int, sheet bool) (*plan, error) {
	dpm, err := dotsPerMM(dpi)
	if err != nil {
		return nil, err
	}
	if !size.supported() {
		return nil, policy.Errorf(policy.EInvalid, "size", "size %s is not supported; use one of %s", size, sizeList())
	}
	p, fe := ct.layout(size, dpm)
	if fe == nil {
		return p, nil
	}
	return nil, ct.fitErr(fe, size, dpi, sheet)
}

// fitErr explains fe and suggests the smallest supported size that fits
// at the same resolution, else at the other one.
func (ct *content) fitErr(fe *fitError, size Size, dpi int, sheet bool) error {
	var what string
	switch fe.part {
	case "serial":
		what = fmt.Sprintf("serial %s needs %.0f mm at %d dpi", ct.c.Serial, math.Ceil(fe.needMM), dpi)
	case "qr":
		what = fmt.Sprintf("the check QR (version %d) needs %.0f mm at %d dpi", ct.qr.version, math.Ceil(fe.needMM), dpi)
	default:
		what = fmt.Sprintf("%s does not fit a %s label at %d dpi", fe.what, size, dpi)
	}
	advice := "use size"
	if sheet {
		what += " and a sheet label is " + SheetLabel.String() + " mm"
		advice = "print it as a single label of size"
	}
	for _, d := range []int{dpi, otherDPI(dpi)} {
		dpm, _ := dotsPerMM(d)
		for _, z := range Sizes() {
			if z == size && d == dpi {
				continue
			}
			if _, e := ct.layout(z, dpm); e == nil {
				if d == dpi {
					return policy.Errorf(policy.EInvalid, "size", "%s; %s %s", what, advice, z)
				}
				return policy.Errorf(policy.EInvalid, "size", "%s; %s %s at %d dpi", what, advice, z, d)
			}
		}
	}
	return policy.Errorf(policy.EInvalid, "size", "%s; no supported label size fits it", what)
}

func otherDPI(dpi int) int {
	if dpi == DPI203 {
		return DPI300
	}
	return DPI203
}
