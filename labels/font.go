package labels

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"image"
	"io"
	"math"
	"sync"
	"sync/atomic"

	"github.com/sanbao/sanbao/policy"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// Fonts. Latin text uses the Go fonts (BSD licence, part of x/image, so
// nothing more to embed): Go Regular and Go Bold for text, Go Mono Bold for
// serials and check codes, where 0/O and 1/l must not be confused. Chinese
// uses cjk.ttf.gz, a 2.8 MB subset (1.5 MB compressed) of Droid Sans
// Fallback covering all 20,902 basic CJK ideographs, so any Chinese model
// name prints; see font/gen.sh. Both are TrueType-outline fonts, which
// fpdf's UTF-8 font support requires (Noto CJK's CFF outlines would not do).
//
//go:embed font/cjk.ttf.gz
var cjkGz []byte

// fontID names one font file.
type fontID uint8

const (
	fontSans fontID = iota
	fontBold
	fontMono
	fontCJK
	numFonts
)

// style is how a text is set. Every style falls back to the CJK font for
// characters its Latin font lacks; bold CJK is emboldened by overprinting,
// since the CJK font has one weight.
type style uint8

const (
	styleRegular style = iota
	styleBold
	styleMono
	numStyles
)

func (s style) latin() fontID { return [...]fontID{fontSans, fontBold, fontMono}[s] }
func (s style) bold() bool    { return s != styleRegular }

// face is one parsed font plus a per-rune cache of glyph presence and
// advance (in ems: widths scale linearly with size, as nothing is hinted).
type face struct {
	data   []byte
	sf     *sfnt.Font
	otf    *opentype.Font
	upem   float64
	ascii  [128]glyphInfo
	other  sync.Map // rune -> glyphInfo
	notdef glyphInfo
	mu     sync.Mutex
	sized  map[int]font.Face // px -> rasteriser; guarded by mu (faces are not safe for concurrent use)
}

type glyphInfo struct {
	ok   bool    // the font has the glyph
	adv  float64 // advance in ems
	xMax float64 // right edge of the outline in ems; beyond adv for some glyphs
}

var (
	fontsOnce sync.Once
	fonts     [numFonts]*face
	fontsErr  error
)

// loadFonts parses the fonts on first use (the CJK font is decompressed
// then), not at program start: a server that never prints pays nothing.
func loadFonts() error {
	fontsOnce.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(cjkGz))
		if err != nil {
			fontsErr = err
			return
		}
		cjk, err := io.ReadAll(zr)
		if err != nil {
			fontsErr = err
			return
		}
		for id, data := range [numFonts][]byte{goregular.TTF, gobold.TTF, gomonobold.TTF, cjk} {
			f, err := newFace(data)
			if err != nil {
				fontsErr = err
				return
			}
			fonts[id] = f
		}
	})
	return fontsErr
}

func newFace(data []byte) (*face, error) {
	otf, err := opentype.Parse(data)
	if err != nil {
		return nil, err
	}
	f := &face{data: data, sf: otf, otf: otf, upem: float64(otf.UnitsPerEm()), sized: map[int]font.Face{}}
	var buf sfnt.Buffer
	for r := rune(0); r < 128; r++ {
		f.ascii[r] = f.lookup(&buf, r)
	}
	f.notdef = f.metrics(&buf, 0)
	return f, nil
}

func (f *face) lookup(buf *sfnt.Buffer, r rune) glyphInfo {
	x, err := f.sf.GlyphIndex(buf, r)
	if err != nil || x == 0 {
		return glyphInfo{}
	}
	return f.metrics(buf, x)
}

func (f *face) metrics(buf *sfnt.Buffer, x sfnt.GlyphIndex) glyphInfo {
	// In font units: ppem = upem gives them unscaled.
	ppem := fixed.Int26_6(f.upem * 64)
	adv, err := f.sf.GlyphAdvance(buf, x, ppem, font.HintingNone)
	if err != nil {
		return glyphInfo{}
	}
	g := glyphInfo{ok: x != 0, adv: float64(adv) / 64 / f.upem}
	if segs, err := f.sf.LoadGlyph(buf, x, ppem, nil); err == nil {
		g.xMax = float64(segs.Bounds().Max.X) / 64 / f.upem
	}
	return g
}

func (f *face) info(r rune) glyphInfo {
	if r >= 0 && r < 128 {
		return f.ascii[r]
	}
	if v, ok := f.other.Load(r); ok {
		return v.(glyphInfo)
	}
	var buf sfnt.Buffer
	g := f.lookup(&buf, r)
	f.other.Store(r, g)
	return g
}

// pick chooses the font that draws r in style s: the style's Latin font,
// else the CJK font, else the Latin font's "missing glyph" box.
func pick(s style, r rune) (fontID, glyphInfo) {
	lat := s.latin()
	if g := fonts[lat].info(r); g.ok {
		return lat, g
	}
	if g := fonts[fontCJK].info(r); g.ok {
		return fontCJK, g
	}
	return lat, fonts[lat].notdef
}

// missing is printed for a character no label font has (an emoji, a
// script neither font covers): the replacement character, which the Go
// fonts have. Passing such a character on would draw a different box in
// each format, and the PDF library panics on any above U+FFFF.
const missing = '\uFFFD'

// printable reports whether every style can draw r. The fonts are loaded.
func printable(r rune) bool {
	if fonts[fontCJK].info(r).ok {
		return true
	}
	for st := range numStyles {
		if !fonts[st.latin()].info(r).ok {
			return false
		}
	}
	return true
}

// substitute returns s with each character no label font has replaced by
// missing. The fonts are loaded.
func substitute(s string) string {
	for i, r := range s {
		if !printable(r) {
			b := []rune(s[:i])
			for _, r := range s[i:] {
				if !printable(r) {
					r = missing
				}
				b = append(b, r)
			}
			return string(b)
		}
	}
	return s
}

// Unprintable returns the first character of s that no label font has, so
// that a text printed on labels (a model name) can be refused where it
// enters rather than printed as a replacement mark; ok is false when every
// character prints. Errors: EInternal when the fonts cannot be loaded.
func Unprintable(s string) (r rune, ok bool, err error) {
	if err := loadFonts(); err != nil {
		return 0, false, policy.Errorf(policy.EInternal, "", "label fonts: %v", err)
	}
	for _, r := range s {
		if !printable(r) {
			return r, true, nil
		}
	}
	return 0, false, nil
}

// advance is how far the pen moves after a glyph of em advance adv at px
// dots per em: whole dots, so that the same letter pair is always the same
// distance apart (fractional pens rounded glyph by glyph space unhinted
// text unevenly at 203 dpi).
func advance(adv float64, px int) int { return int(math.Round(adv * float64(px))) }

// textWidth is the width of s in style st at px dots per em, in dots: where
// the pen ends, or where the ink does if a glyph reaches past its advance.
func textWidth(st style, px int, s string) int {
	pen, ink := 0, 0
	for _, r := range s {
		_, g := pick(st, r)
		ink = max(ink, pen+int(math.Ceil(g.xMax*float64(px)))+1) // +1: coverage rounds outwards
		pen += advance(g.adv, px)
	}
	return max(pen, ink)
}

// Vertical metrics of a line set at px per em, shared by every style so
// mixed lines align: ascent above the baseline, descent below.
func ascent(px int) int  { return (px*23 + 24) / 25 } // 0.92 em
func descent(px int) int { return (px*6 + 24) / 25 }  // 0.24 em
func lineHeight(px int) int {
	return ascent(px) + descent(px)
}

// bitmap is a glyph rendered in black and white: the dots to print,
// relative to the pen position on the baseline.
type bitmap struct {
	r    image.Rectangle
	bits []bool // r.Dx()*r.Dy(), row-major
}

type glyphKey struct {
	font fontID
	bold bool
	px   uint16
	r    rune
}

// The glyph cache is bounded: past maxGlyphs, glyphs are rendered each time
// instead of kept (only labels with thousands of distinct ideographs in
// many sizes would get there).
const maxGlyphs = 200_000

var (
	glyphs     sync.Map // glyphKey -> *bitmap
	glyphCount atomic.Int64
)

// coverage above which a dot is printed. A little under half keeps thin
// strokes of small ideographs from dropping out on a 1-bit thermal print.
const inkThreshold = 0x70

func glyph(id fontID, bold bool, px int, r rune) *bitmap {
	k := glyphKey{id, bold, uint16(px), r}
	if v, ok := glyphs.Load(k); ok {
		return v.(*bitmap)
	}
	b := rasterise(id, bold, px, r)
	if glyphCount.Load() < maxGlyphs {
		if _, loaded := glyphs.LoadOrStore(k, b); !loaded {
			glyphCount.Add(1)
		}
	}
	return b
}

func rasterise(id fontID, bold bool, px int, r rune) *bitmap {
	f := fonts[id]
	f.mu.Lock()
	defer f.mu.Unlock()
	fc, ok := f.sized[px]
	if !ok {
		var err error
		fc, err = opentype.NewFace(f.otf, &opentype.FaceOptions{Size: float64(px), DPI: 72, Hinting: font.HintingNone})
		if err != nil {
			return &bitmap{}
		}
		f.sized[px] = fc
	}
	dr, mask, mp, _, ok := fc.Glyph(fixed.Point26_6{}, r)
	if !ok || dr.Empty() {
		return &bitmap{}
	}
	// Overprinting shifted right emboldens the one-weight CJK font.
	shift := 0
	if bold && id == fontCJK && px >= 18 {
		shift = max(1, px/22)
	}
	out := &bitmap{r: image.Rect(dr.Min.X, dr.Min.Y, dr.Max.X+shift, dr.Max.Y)}
	w := out.r.Dx()
	out.bits = make([]bool, w*out.r.Dy())
	for y := dr.Min.Y; y < dr.Max.Y; y++ {
		for x := dr.Min.X; x < dr.Max.X; x++ {
			_, _, _, a := mask.At(mp.X+x-dr.Min.X, mp.Y+y-dr.Min.Y).RGBA()
			if a>>8 >= inkThreshold {
				i := (y-dr.Min.Y)*w + x - dr.Min.X
				for s := 0; s <= shift; s++ {
					out.bits[i+s] = true
				}
			}
		}
	}
	return out
}
