package labels

import (
	"fmt"
	"image"
	"testing"
)

// The standards' quiet zones, as literals: ISO/IEC 18004 asks for 4 blank
// modules around a QR code, ISO/IEC 15417 for 10 beside a Code 128. The
// module sizes are measured off the decoded image, never taken from the
// renderer, and so are the blank margins; the plan only says where the two
// symbols begin.
const (
	standardQRQuiet   = 4
	standardCode128QZ = 10
)

// inkRun counts printed pixels from (x, y) stepping by (dx, dy).
func inkRun(img image.Image, x, y, dx, dy int) int { return pixelRun(img, x, y, dx, dy, true) }

func TestQuietZonesMeasuredOnThePrintAreTheStandards(t *testing.T) {
	for _, z := range Sizes() {
		for _, dpi := range []int{DPI203, DPI300} {
			for i, c := range roundTripCerts() {
				t.Run(fmt.Sprintf("%s-%d-%d", z, dpi, i), func(t *testing.T) {
					_, img := renderPNG(t, c, z, dpi)
					ct, err := prepare(c)
					if err != nil {
						t.Fatal(err)
					}
					p, err := ct.render(z, dpi)
					if err != nil {
						t.Fatal(err)
					}
					measureQR(t, img, p.qrX, p.qrY)
					measureCode128(t, img, p.barX, p.barY+p.barH/2)
				})
			}
		}
	}
}

// measureQR reads the QR's module from its top-left finder pattern (a
// 7-module dark square whose top row is one dark run, and whose second row
// is dark, light for 5 modules, dark), finds the symbol's width from the
// top-right finder pattern, and checks 4 blank modules on each side.
func measureQR(t *testing.T, img image.Image, x0, y0 int) {
	t.Helper()
	if !ink(img, x0, y0) || ink(img, x0-1, y0) || ink(img, x0, y0-1) {
		t.Fatalf("no QR symbol corner at (%d,%d)", x0, y0)
	}
	seven := inkRun(img, x0, y0, 1, 0)
	q := seven / 7
	if q == 0 || seven%7 != 0 || inkRun(img, x0, y0, 0, 1) != seven {
		t.Fatalf("finder pattern of %d dots is not 7 whole modules", seven)
	}
	if light := inkRun(img, x0+q, y0+q, 1, 0); light != 0 {
		t.Fatalf("finder pattern has no light ring")
	}
	// The top-right finder pattern ends the symbol's first row: its dark run
	// is the last one of that row before the quiet zone.
	right := x0 + seven
	for x := right; x < img.Bounds().Max.X; x++ {
		if ink(img, x, y0) {
			if run := inkRun(img, x, y0, 1, 0); run == seven && inkRun(img, x, y0, 0, 1) == seven {
				right = x + seven
				break
			}
		}
	}
	d := right - x0
	if d%q != 0 || d/q < 21 || (d/q-17)%4 != 0 {
		t.Fatalf("QR symbol %d dots wide is not a QR code of %d-dot modules", d, q)
	}
	need := standardQRQuiet * q
	for i := 0; i < d; i++ {
		for _, s := range []struct {
			side         string
			x, y, dx, dy int
		}{
			{"left", x0 - 1, y0 + i, -1, 0}, {"right", x0 + d, y0 + i, 1, 0},
			{"top", x0 + i, y0 - 1, 0, -1}, {"bottom", x0 + i, y0 + d, 0, 1},
		} {
			if got := blankRun(img, s.x, s.y, s.dx, s.dy); got < need {
				t.Fatalf("QR %s quiet zone is %d dots (%.1f modules of %d dots), want 4 modules", s.side, got, float64(got)/float64(q), q)
			}
		}
	}
}

// measureCode128 reads the bar module off the start pattern (every Code 128
// starts with a 2-module bar and ends with a 2-module bar: the stop pattern
// 2331112), finds the symbol's right end, and checks 10 blank modules on
// each side of the row.
func measureCode128(t *testing.T, img image.Image, x0, y int) {
	t.Helper()
	if !ink(img, x0, y) || ink(img, x0-1, y) {
		t.Fatalf("no Code 128 start at (%d,%d)", x0, y)
	}
	first := inkRun(img, x0, y, 1, 0)
	x := first / 2
	if x == 0 || first%2 != 0 {
		t.Fatalf("the first bar is %d dots: not 2 whole modules", first)
	}
	// Runs until a blank longer than any a Code 128 holds (4 modules).
	end := x0
	for px := x0; px < img.Bounds().Max.X; {
		if ink(img, px, y) {
			px += inkRun(img, px, y, 1, 0)
			end = px
			continue
		}
		blank := blankRun(img, px, y, 1, 0)
		if blank > 4*x {
			break
		}
		px += blank
	}
	if w := end - x0; w%x != 0 || (w/x-2)%11 != 0 {
		t.Fatalf("Code 128 of %d dots is not made of 11-module symbols and a 13-module stop at %d dots a module", w, x)
	}
	need := standardCode128QZ * x
	if got := blankRun(img, x0-1, y, -1, 0); got < need {
		t.Errorf("Code 128 left quiet zone is %d dots (%.1f modules), want 10 modules", got, float64(got)/float64(x))
	}
	if got := blankRun(img, end, y, 1, 0); got < need {
		t.Errorf("Code 128 right quiet zone is %d dots (%.1f modules), want 10 modules", got, float64(got)/float64(x))
	}
}
