package labels

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"io"
	"sync"

	"github.com/sanbao/sanbao/policy"
)

// blackWhite is the palette of a thermal print: index 0 paper, 1 ink.
var blackWhite = color.Palette{color.White, color.Black}

// pngWriter holds what encoding one PNG needs, pooled: labels are printed
// by the thousand and each would otherwise allocate its compressor.
type pngWriter struct {
	idat bytes.Buffer
	zw   *zlib.Writer
	row  []byte
	out  bytes.Buffer
}

var pngWriters = sync.Pool{New: func() any {
	e := &pngWriter{}
	e.zw, _ = zlib.NewWriterLevel(&e.idat, zlib.BestSpeed)
	return e
}}

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

// writePNG encodes img (palette index 0 paper, 1 ink) as a 1-bit grayscale
// PNG recording dpm dots per millimetre. image/png would do, but reads a
// 1-bit image one pixel at a time through an interface; packing the bits
// here makes a certificate several times faster, and writes pHYs, which
// image/png cannot.
func writePNG(w io.Writer, img *image.Paletted, dpm int) error {
	e := pngWriters.Get().(*pngWriter)
	defer pngWriters.Put(e)
	W, H := img.Rect.Dx(), img.Rect.Dy()
	stride := (W + 7) / 8
	if cap(e.row) < 1+stride {
		e.row = make([]byte, 1+stride)
	}
	row := e.row[:1+stride] // filter type 0 (none), then the packed row
	e.idat.Reset()
	e.zw.Reset(&e.idat)
	for y := 0; y < H; y++ {
		pix := img.Pix[y*img.Stride : y*img.Stride+W]
		clear(row)
		for x, ink := range pix {
			if ink == 0 { // 1 is white in a 1-bit grayscale PNG
				row[1+x>>3] |= 0x80 >> (x & 7)
			}
		}
		if _, err := e.zw.Write(row); err != nil {
			return policy.Errorf(policy.EInternal, "", "compressing PNG: %v", err)
		}
	}
	if err := e.zw.Close(); err != nil {
		return policy.Errorf(policy.EInternal, "", "compressing PNG: %v", err)
	}
	e.out.Reset()
	e.out.WriteString("\x89PNG\r\n\x1a\n")
	var hdr [13]byte
	binary.BigEndian.PutUint32(hdr[0:], uint32(W))
	binary.BigEndian.PutUint32(hdr[4:], uint32(H))
	hdr[8] = 1 // bit depth; colour type 0 (grey), deflate, no filter set, no interlace
	chunk(&e.out, "IHDR", hdr[:])
	var phys [9]byte
	binary.BigEndian.PutUint32(phys[0:], uint32(dpm*1000)) // dots per metre
	binary.BigEndian.PutUint32(phys[4:], uint32(dpm*1000))
	phys[8] = 1 // unit: metre
	chunk(&e.out, "pHYs", phys[:])
	chunk(&e.out, "IDAT", e.idat.Bytes())
	chunk(&e.out, "IEND", nil)
	_, err := w.Write(e.out.Bytes())
	return err
}

func chunk(b *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	b.Write(n[:])
	start := b.Len()
	b.WriteString(typ)
	b.Write(data)
	binary.BigEndian.PutUint32(n[:], crc32.ChecksumIEEE(b.Bytes()[start:]))
	b.Write(n[:])
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
	pen := t.x
	for _, r := range t.s {
		id, m := pick(t.st, r)
		g := glyph(id, t.st.bold() && id == fontCJK, t.px, r)
		ox, oy := pen+g.r.Min.X, t.base+g.r.Min.Y
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
		pen += advance(m.adv, t.px)
	}
}
