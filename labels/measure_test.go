package labels

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"testing"
)

// ink reports whether the pixel at (x, y) of a decoded PNG is printed.
func ink(img image.Image, x, y int) bool {
	r, _, _, _ := img.At(x, y).RGBA()
	return r < 0x8000
}

// blankRun counts blank pixels from (x, y) stepping by (dx, dy) until ink
// or the image edge: beyond the edge is not label, so it is no quiet zone.
func blankRun(img image.Image, x, y, dx, dy int) int { return pixelRun(img, x, y, dx, dy, false) }

// pixelRun counts pixels printed (or blank) from (x, y) stepping by (dx, dy).
func pixelRun(img image.Image, x, y, dx, dy int, printed bool) int {
	n := 0
	for p := (image.Point{x, y}); p.In(img.Bounds()) && ink(img, p.X, p.Y) == printed; p = p.Add(image.Point{dx, dy}) {
		n++
	}
	return n
}

// The geometry is read off the decoded PNG; the plan only says where to
// look and what the symbols should hold.
func TestPNGBarcodesHaveWholeDotModulesAndFullQuietZones(t *testing.T) {
	for _, z := range Sizes() {
		for _, dpi := range []int{DPI203, DPI300} {
			for i, c := range roundTripCerts() {
				t.Run(fmt.Sprintf("%s-%d-%d", z, dpi, i), func(t *testing.T) {
					_, img := renderPNG(t, c, z, dpi)
					W, H := z.dots(map[int]int{DPI203: 8, DPI300: 12}[dpi])
					if b := img.Bounds(); b.Dx() != W || b.Dy() != H {
						t.Fatalf("image is %v, want exactly %d×%d dots", b.Size(), W, H)
					}
					ct, err := prepare(c)
					if err != nil {
						t.Fatal(err)
					}
					p, err := ct.render(z, dpi)
					if err != nil {
						t.Fatal(err)
					}
					checkQR(t, img, p)
					checkBars(t, img, p)
				})
			}
		}
	}
}

func checkQR(t *testing.T, img image.Image, p *plan) {
	t.Helper()
	q, n := p.qrModule, p.qr.n
	if min := int(minQRModuleMM*float64(p.dpm) + 0.999); q < min {
		t.Errorf("QR module is %d dots, under the %d-dot minimum", q, min)
	}
	// Every module is a q×q block of one colour, the one the symbol says.
	for my := 0; my < n; my++ {
		for mx := 0; mx < n; mx++ {
			want := p.qr.dark[my][mx]
			for y := 0; y < q; y++ {
				for x := 0; x < q; x++ {
					if ink(img, p.qrX+mx*q+x, p.qrY+my*q+y) != want {
						t.Fatalf("QR module (%d,%d) is not a whole %d×%d block", mx, my, q, q)
					}
				}
			}
		}
	}
	// Blank margins: from each edge row and column of the symbol outwards.
	need := qrQuiet * q
	side := func(name string, got int) {
		if got < need {
			t.Errorf("QR %s quiet zone is %d dots, want >= %d (4 modules)", name, got, need)
		}
	}
	d := n * q
	for i := 0; i < d; i++ {
		side("left", blankRun(img, p.qrX-1, p.qrY+i, -1, 0))
		side("right", blankRun(img, p.qrX+d, p.qrY+i, 1, 0))
		side("top", blankRun(img, p.qrX+i, p.qrY-1, 0, -1))
		side("bottom", blankRun(img, p.qrX+i, p.qrY+d, 0, 1))
	}
}

func checkBars(t *testing.T, img image.Image, p *plan) {
	t.Helper()
	x := p.barModule
	if x < minBarModule {
		t.Errorf("Code 128 module is %d dots, under 2", x)
	}
	// Each module is x dots wide, one colour over the full bar height.
	for m, bar := range p.bar.bars {
		for dx := 0; dx < x; dx++ {
			for y := p.barY; y < p.barY+p.barH; y++ {
				if ink(img, p.barX+m*x+dx, y) != bar {
					t.Fatalf("Code 128 module %d is not a whole %d-dot bar or space", m, x)
				}
			}
		}
	}
	if !p.bar.bars[0] || !p.bar.bars[len(p.bar.bars)-1] {
		t.Fatal("the symbol does not start and end with a bar")
	}
	need := barQuiet * x
	right := p.barX + len(p.bar.bars)*x
	for y := p.barY; y < p.barY+p.barH; y++ {
		if got := blankRun(img, p.barX-1, y, -1, 0); got < need {
			t.Errorf("Code 128 left quiet zone is %d dots at row %d, want >= %d (10 modules)", got, y, need)
			return
		}
		if got := blankRun(img, right, y, 1, 0); got < need {
			t.Errorf("Code 128 right quiet zone is %d dots at row %d, want >= %d (10 modules)", got, y, need)
			return
		}
	}
	if h := float64(p.barH) / float64(p.dpm); h < 4 {
		t.Errorf("bars are %.1f mm high, want >= 4 mm", h)
	}
}

// A driver or viewer that honours pHYs prints the image at its real size.
func TestPNGIsOneBitAndRecordsItsResolution(t *testing.T) {
	for dpi, dotsPerMetre := range map[int]uint32{DPI203: 8000, DPI300: 12000} {
		data, _ := renderPNG(t, sampleCert(), Size50x30, dpi)
		if string(data[12:16]) != "IHDR" || data[24] != 1 || data[25] != 0 {
			t.Errorf("%d dpi: not a 1-bit greyscale PNG (bit depth %d, colour type %d)", dpi, data[24], data[25])
		}
		i := bytes.Index(data, []byte("pHYs"))
		if i < 0 {
			t.Fatalf("%d dpi: no pHYs chunk", dpi)
		}
		x, y, unit := binary.BigEndian.Uint32(data[i+4:]), binary.BigEndian.Uint32(data[i+8:]), data[i+12]
		if x != dotsPerMetre || y != dotsPerMetre || unit != 1 {
			t.Errorf("%d dpi: pHYs says %d×%d per unit %d, want %d per metre", dpi, x, y, unit, dotsPerMetre)
		}
	}
}
