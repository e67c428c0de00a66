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
	"strconv"
	"strings"
	"testing"
)

// roundTrip certificates: a Digital Link with a digit run (Code 128 subset
// C), and a /c/ link with lower case and the punctuation serials may hold.
func roundTripCerts() []Certificate {
	return []Certificate{sampleCert(), cert("ab_12.Z-9", "")}
}

func TestPNGScansBackToTheCheckURLAndTheSerial(t *testing.T) {
	zbarimg := optionalTool(t, "zbarimg", "zbar-tools")
	dir := t.TempDir()
	for _, z := range Sizes() {
		for _, dpi := range []int{DPI203, DPI300} {
			for i, c := range roundTripCerts() {
				name := fmt.Sprintf("%s-%d-%d", z, dpi, i)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					data, img := renderPNG(t, c, z, dpi)
					qr, bar := zxing(t, img)
					if qr != c.URL {
						t.Errorf("gozxing QR = %q, want %q", qr, c.URL)
					}
					if bar != c.Serial {
						t.Errorf("gozxing Code 128 = %q, want %q", bar, c.Serial)
					}
					if zbarimg == "" {
						return
					}
					got := zbar(t, zbarimg, writeTemp(t, dir, name+".png", data))
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

// pdfCrop rasterises the rectangle (x, y, w, h) mm of page (1-based) of a
// PDF file at 300 dpi with pdftoppm (the whole page when w is 0) into a
// PNG file in dir, and returns its path. Cropping in pdftoppm keeps the
// images small: decoding whole A4 pages is slow under -race.
func pdfCrop(t *testing.T, dir, pdf string, page int, x, y, w, h float64) string {
	t.Helper()
	pdftoppm := needTool(t, "pdftoppm", "poppler-utils")
	px := func(mm float64) string { return strconv.Itoa(int(math.Round(mm * 300 / 25.4))) }
	out := filepath.Join(dir, fmt.Sprintf("p%d-%.0f-%.0f", page, x, y))
	args := []string{"-r", "300", "-png", "-singlefile", "-f", strconv.Itoa(page), "-l", strconv.Itoa(page)}
	if w > 0 {
		args = append(args, "-x", px(x), "-y", px(y), "-W", px(w), "-H", px(h))
	}
	if b, err := exec.Command(pdftoppm, append(args, pdf, out)...).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, b)
	}
	return out + ".png"
}

// pdfInfo returns a PDF's page count and first page size in mm, as
// poppler's pdfinfo reads them.
func pdfInfo(t *testing.T, pdf string) (pages int, w, h float64) {
	t.Helper()
	pdfinfo := needTool(t, "pdfinfo", "poppler-utils")
	out, err := exec.Command(pdfinfo, pdf).Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(l, ":")
		switch k {
		case "Pages":
			fmt.Sscan(v, &pages)
		case "Page size":
			fmt.Sscanf(strings.TrimSpace(v), "%g x %g pts", &w, &h)
		}
	}
	return pages, w * 25.4 / 72, h * 25.4 / 72
}

func checkPages(t *testing.T, pdf string, pages int, w, h float64) {
	t.Helper()
	n, gw, gh := pdfInfo(t, pdf)
	if n != pages || math.Abs(gw-w) > 0.01 || math.Abs(gh-h) > 0.01 {
		t.Errorf("%d pages of %.2f×%.2f mm, want %d of %.2f×%.2f mm", n, gw, gh, pages, w, h)
	}
}

func decodeFile(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func writeTemp(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
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
	dir := t.TempDir()
	pdf := writeTemp(t, dir, "sheet.pdf", buf.Bytes())
	checkPages(t, pdf, 2, sheetW, sheetH) // 23 labels: A4 sheets of 21
	for _, i := range []int{0, 4, PerSheet - 1, PerSheet, PerSheet + 1} {
		page, pos := i/PerSheet+1, i%PerSheet
		x := sheetLeft + float64(pos%sheetCols)*sheetColumnPitch
		y := sheetTop + float64(pos/sheetCols)*sheetRowPitch
		path := pdfCrop(t, dir, pdf, page, x, y, SheetLabel.W, SheetLabel.H)
		img := decodeFile(t, path)
		// Nothing printed within 1 mm of the label's edge: the label is
		// where the grid says, to well under a millimetre.
		edge := 12 // 1 mm at 300 dpi
		b := img.Bounds()
		for yy := b.Min.Y; yy < b.Max.Y; yy++ {
			for xx := b.Min.X; xx < b.Max.X; xx++ {
				inner := image.Rect(b.Min.X+edge, b.Min.Y+edge, b.Max.X-edge, b.Max.Y-edge)
				if !(image.Point{xx, yy}).In(inner) && ink(img, xx, yy) {
					t.Fatalf("label %d: ink at (%d,%d), within 1 mm of the label's edge", i, xx, yy)
				}
			}
		}
		qr, bar := zxing(t, img)
		if qr != certs[i].URL || bar != certs[i].Serial {
			t.Errorf("label %d (page %d, row %d, column %d) read %q / %q, want %q / %q",
				i, page, pos/sheetCols+1, pos%sheetCols+1, qr, bar, certs[i].URL, certs[i].Serial)
		}
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
	zbarimg := needTool(t, "zbarimg", "zbar-tools")
	dir := t.TempDir()
	for _, dpi := range []int{DPI203, DPI300} {
		c := sampleCert()
		var buf bytes.Buffer
		if err := PDF(&buf, c, Size50x30, dpi); err != nil {
			t.Fatal(err)
		}
		pdf := writeTemp(t, dir, fmt.Sprintf("label-%d.pdf", dpi), buf.Bytes())
		checkPages(t, pdf, 1, 50, 30)
		path := pdfCrop(t, dir, pdf, 1, 0, 0, 0, 0)
		img := decodeFile(t, path)
		qr, bar := zxing(t, img)
		got := zbar(t, zbarimg, path)
		want := []string{c.URL, c.Serial}
		slices.Sort(got)
		slices.Sort(want)
		if qr != c.URL || bar != c.Serial || !slices.Equal(got, want) {
			t.Errorf("%d dpi: gozxing read %q / %q, zbarimg %q; want %q / %q", dpi, qr, bar, got, c.URL, c.Serial)
		}
	}
}
