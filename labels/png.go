package labels

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"sync"

	"github.com/sanbao/sanbao/policy"
)

// blackWhite is the palette of a thermal print: index 0 paper, 1 ink. A
// two-colour palette makes a 1-bit PNG, small and quick to encode, and
// shows exactly the dots the printer will burn.
var blackWhite = color.Palette{color.White, color.Black}

type encoderPool struct{ p sync.Pool }

func (e *encoderPool) Get() *png.EncoderBuffer {
	b, _ := e.p.Get().(*png.EncoderBuffer)
	return b
}
func (e *encoderPool) Put(b *png.EncoderBuffer) { e.p.Put(b) }

var (
	pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &encoderPool{}}
	bufPool    = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// PNG writes c as a 1-bit black-and-white PNG of exactly size at dpi: 400×240
// pixels for 50x30 at 203 dpi (8 dots/mm), 600×360 at 300 dpi (12 dots/mm).
// The file records its resolution (pHYs), so an image viewer or driver that
// honours it prints the label at 100%. Every QR and Code 128 module is a
// whole number of pixels, with its quiet zone kept white.
//
// Errors are *policy.Error EInvalid: field "dpi" (not 203 or 300), "size"
// (unsupported, or the certificate does not fit: the message names a size
// that does — a serial whose Code 128 would need bars under two dots, or a
// QR under a third of a millimetre per module, is refused, never printed
// unscannable), or the certificate field at fault (see Certificate); any
// other error is from w.
func PNG(w io.Writer, c Certificate, size Size, dpi int) error {
	ct, err := prepare(c)
	if err != nil {
		return err
	}
	p, err := ct.render(size, dpi)
	if err != nil {
		return err
	}
	return writePNG(w, p.raster(), p.dpm)
}

func writePNG(w io.Writer, img image.Image, dpm int) error {
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	if err := pngEncoder.Encode(buf, img); err != nil {
		return policy.Errorf(policy.EInternal, "", "encoding PNG: %v", err)
	}
	// The signature (8 bytes) and IHDR (25) come first; pHYs goes after.
	b := buf.Bytes()
	const head = 8 + 25
	if _, err := w.Write(b[:head]); err != nil {
		return err
	}
	if _, err := w.Write(physChunk(dpm)); err != nil {
		return err
	}
	_, err := w.Write(b[head:])
	return err
}

// physChunk is a PNG pHYs chunk: dpm dots per millimetre in both axes.
func physChunk(dpm int) []byte {
	c := make([]byte, 4+4+9+4)
	binary.BigEndian.PutUint32(c[0:], 9)
	copy(c[4:], "pHYs")
	binary.BigEndian.PutUint32(c[8:], uint32(dpm*1000))
	binary.BigEndian.PutUint32(c[12:], uint32(dpm*1000))
	c[16] = 1 // unit: metre
	binary.BigEndian.PutUint32(c[17:], crc32.ChecksumIEEE(c[4:17]))
	return c
}

// raster draws the plan into a 1-bit image.
func (p *plan) raster() *image.Paletted {
	img := image.NewPaletted(image.Rect(0, 0, p.w, p.h), blackWhite)
	q := p.qrModule
	for y, row := range p.qr.dark {
		for x, dark := range row {
			if dark {
				fill(img, p.qrX+x*q, p.qrY+y*q, q, q)
			}
		}
	}
	for x, bar := range p.bar.bars {
		if bar {
			fill(img, p.barX+x*p.barModule, p.barY, p.barModule, p.barH)
		}
	}
	for _, t := range p.texts {
		drawText(img, t)
	}
	return img
}

func fill(img *image.Paletted, x, y, w, h int) {
	r := image.Rect(x, y, x+w, y+h).Intersect(img.Rect)
	for yy := r.Min.Y; yy < r.Max.Y; yy++ {
		row := img.Pix[yy*img.Stride+r.Min.X : yy*img.Stride+r.Max.X]
		for i := range row {
			row[i] = 1
		}
	}
}

func drawText(img *image.Paletted, t textOp) {
	pen := float64(t.x)
	for _, r := range t.s {
		id, adv := pick(t.st, r)
		g := glyph(id, t.st.bold() && id == fontCJK, t.px, r)
		ox, oy := int(math.Round(pen))+g.r.Min.X, t.base+g.r.Min.Y
		gw := g.r.Dx()
		for y := 0; y < g.r.Dy(); y++ {
			iy := oy + y
			if iy < 0 || iy >= img.Rect.Max.Y {
				continue
			}
			bits := g.bits[y*gw : (y+1)*gw]
			row := img.Pix[iy*img.Stride:]
			for x, on := range bits {
				if ix := ox + x; on && ix >= 0 && ix < img.Rect.Max.X {
					row[ix] = 1
				}
			}
		}
		pen += adv * float64(t.px)
	}
}
