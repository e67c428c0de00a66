package labels

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// roundTrip certificates: a Digital Link with a digit run (Code 128 subset
// C), and a /c/ link with lower case and the punctuation serials may hold.
func roundTripCerts() []Certificate {
	return []Certificate{sampleCert(), cert("ab_12.Z-9", "")}
}

func TestPNGScansBackToTheCheckURLAndTheSerial(t *testing.T) {
	zbarimg := needTool(t, "zbarimg", "zbar-tools")
	dir := t.TempDir()
	for _, z := range Sizes() {
		for _, dpi := range []int{DPI203, DPI300} {
			for i, c := range roundTripCerts() {
				name := fmt.Sprintf("%s-%d-%d", z, dpi, i)
				t.Run(name, func(t *testing.T) {
					data, img := renderPNG(t, c, z, dpi)
					qr, bar := zxing(t, img)
					if qr != c.URL {
						t.Errorf("gozxing QR = %q, want %q", qr, c.URL)
					}
					if bar != c.Serial {
						t.Errorf("gozxing Code 128 = %q, want %q", bar, c.Serial)
					}
					path := filepath.Join(dir, name+".png")
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}
					got := zbar(t, zbarimg, path)
					want := []string{c.URL, c.Serial}
					slices.Sort(got)
					slices.Sort(want)
					if !slices.Equal(got, want) {
						t.Errorf("zbarimg read %q, want %q", got, want)
					}
				})
			}
		}
	}
}

// pageImages rasterises a PDF at 300 dpi with pdftoppm, one image per page.
func pageImages(t *testing.T, pdf []byte) []image.Image {
	t.Helper()
	pdftoppm := needTool(t, "pdftoppm", "poppler-utils")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(pdftoppm, "-r", "300", "-png", in, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "page-*.png"))
	slices.Sort(files)
	var pages []image.Image
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, img)
	}
	return pages
}

// px300 is how many pixels pdftoppm -r 300 makes of mm (it rounds up).
func px300(mm float64) int { return int(math.Ceil(mm * 300 / 25.4)) }

// crop cuts the rectangle (x, y, w, h) in mm out of a 300 dpi page image.
func crop(img image.Image, x, y, w, h float64) image.Image {
	px := func(mm float64) int { return int(mm * 300 / 25.4) }
	r := image.Rect(px(x), px(y), px(x+w), px(y+h))
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for yy := 0; yy < r.Dy(); yy++ {
		for xx := 0; xx < r.Dx(); xx++ {
			out.Set(xx, yy, img.At(r.Min.X+xx, r.Min.Y+yy))
		}
	}
	return out
}

func TestSheetPrintsScannableLabelsInTheAveryL7160Grid(t *testing.T) {
	zbarimg := needTool(t, "zbarimg", "zbar-tools")
	var certs []Certificate
	for i := 0; i < PerSheet+2; i++ {
		certs = append(certs, cert(fmt.Sprintf("SN%010d", i), "6901234567892"))
	}
	certs[PerSheet-1] = cert("ab_12.Z-9", "") // last label of page 1
	var buf bytes.Buffer
	s := NewSheet(&buf)
	for _, c := range certs {
		if err := s.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	pages := pageImages(t, buf.Bytes())
	if len(pages) != 2 {
		t.Fatalf("%d labels made %d pages, want 2", len(certs), len(pages))
	}
	if b := pages[0].Bounds(); b.Dx() != px300(sheetW) || b.Dy() != px300(sheetH) {
		t.Errorf("page is %v pixels at 300 dpi, want A4 (%d×%d)", b.Size(), px300(sheetW), px300(sheetH))
	}
	dir := t.TempDir()
	for _, i := range []int{0, 4, PerSheet - 1, PerSheet, PerSheet + 1} {
		page, pos := pages[i/PerSheet], i%PerSheet
		x := sheetLeft + float64(pos%sheetCols)*sheetColumnPitch
		y := sheetTop + float64(pos/sheetCols)*sheetRowPitch
		label := crop(page, x, y, SheetLabel.W, SheetLabel.H)
		qr, bar := zxing(t, label)
		if qr != certs[i].URL || bar != certs[i].Serial {
			t.Errorf("label %d (page %d, row %d, column %d) read %q / %q, want %q / %q",
				i, i/PerSheet+1, pos/sheetCols+1, pos%sheetCols+1, qr, bar, certs[i].URL, certs[i].Serial)
		}
		path := filepath.Join(dir, fmt.Sprintf("label-%d.png", i))
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, label); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got := zbar(t, zbarimg, path)
		want := []string{certs[i].URL, certs[i].Serial}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("label %d: zbarimg read %q, want %q", i, got, want)
		}
	}
}

func TestSingleLabelPDFScansBack(t *testing.T) {
	for _, dpi := range []int{DPI203, DPI300} {
		c := sampleCert()
		var buf bytes.Buffer
		if err := PDF(&buf, c, Size50x30, dpi); err != nil {
			t.Fatal(err)
		}
		pages := pageImages(t, buf.Bytes())
		if len(pages) != 1 {
			t.Fatalf("%d pages, want 1", len(pages))
		}
		if b := pages[0].Bounds(); b.Dx() != px300(50) || b.Dy() != px300(30) {
			t.Errorf("page is %v pixels at 300 dpi, want 50×30 mm (%d×%d)", b.Size(), px300(50), px300(30))
		}
		qr, bar := zxing(t, pages[0])
		if qr != c.URL || bar != c.Serial {
			t.Errorf("%d dpi: read %q / %q, want %q / %q", dpi, qr, bar, c.URL, c.Serial)
		}
	}
}
