package labels

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
)

var previewDir = flag.String("preview", "", "also write every test certificate as PNG, ZPL and PDF into this directory, to look at")

// previewDots is each supported size in printer dots, worked out by hand:
// 203 dpi prints 8 dots a millimetre, 300 dpi 12; a part dot is not printed.
var previewDots = map[string][2][2]int{
	"50x30":     {{400, 240}, {600, 360}},
	"60x40":     {{480, 320}, {720, 480}},
	"63.5x38.1": {{508, 304}, {762, 457}},
	"70x50":     {{560, 400}, {840, 600}},
	"100x150":   {{800, 1200}, {1200, 1800}},
}

var useSize = regexp.MustCompile(`use size (\S+)$`)

// TestPreview renders every layout test certificate in every size and
// resolution as files a printer or viewer gets (into -preview DIR, for a
// person to look at, or a temporary directory): each PNG decodes at the
// size's exact dots, each ZPL is one ^XA…^XZ label, the A4 sheet of
// PerSheet+3 labels has two pages; a certificate refused at a size names
// another size, and renders at that one.
func TestPreview(t *testing.T) {
	dir := *previewDir
	if dir == "" {
		dir = t.TempDir()
	}
	write := func(name string, render func(f *os.File) error) ([]byte, error) {
		t.Helper()
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		err = render(f)
		if cerr := f.Close(); cerr != nil {
			t.Fatal(cerr)
		}
		b, rerr := os.ReadFile(path)
		if rerr != nil {
			t.Fatal(rerr)
		}
		return b, err
	}
	if len(previewDots) != len(Sizes()) {
		t.Errorf("%d sizes supported, %d in the table", len(Sizes()), len(previewDots))
	}
	for name, c := range layoutCerts() {
		name = strings.ReplaceAll(name, " ", "-")
		for _, z := range Sizes() {
			for i, dpi := range []int{DPI203, DPI300} {
				base := fmt.Sprintf("%s-%s-%d", name, z, dpi)
				b, err := write(base+".png", func(f *os.File) error { return PNG(f, c, z, dpi) })
				if err != nil {
					checkRefusal(t, base, err, c, dpi)
					continue
				}
				img, derr := png.Decode(bytes.NewReader(b))
				want := previewDots[z.String()][i]
				if derr != nil || img.Bounds().Dx() != want[0] || img.Bounds().Dy() != want[1] {
					t.Errorf("%s.png: %v, want a %d×%d image (%v)", base, img.Bounds().Size(), want[0], want[1], derr)
				}
				b, err = write(base+".zpl", func(f *os.File) error { return ZPL(f, c, z, dpi) })
				if err != nil || !bytes.HasPrefix(b, []byte("^XA")) || !bytes.HasSuffix(bytes.TrimSpace(b), []byte("^XZ")) || bytes.Count(b, []byte("^XA")) != 1 {
					t.Errorf("%s.zpl: not one ^XA…^XZ label (%v)", base, err)
				}
			}
		}
	}
	b, err := write("sheet.pdf", func(f *os.File) error {
		s := NewSheet(f)
		for i := 0; i < PerSheet+3; i++ {
			if err := s.Add(cert(fmt.Sprintf("SN%010d", i), "6901234567892")); err != nil {
				return err
			}
		}
		return s.Close()
	})
	if pages := len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(b, -1)); err != nil || pages != 2 {
		t.Errorf("sheet.pdf of %d labels: %d pages, want 2 (%v)", PerSheet+3, pages, err)
	}
	b, err = write("label-50x30.pdf", func(f *os.File) error { return PDF(f, sampleCert(), Size50x30, DPI203) })
	if pages := len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(b, -1)); err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) || pages != 1 {
		t.Errorf("label-50x30.pdf: %d pages, want one (%v)", pages, err)
	}
}

// checkRefusal checks a certificate refused at a size: an invalid size
// naming another size, at which it renders.
func checkRefusal(t *testing.T, what string, err error, c Certificate, dpi int) {
	t.Helper()
	var pe *policy.Error
	m := useSize.FindStringSubmatch(err.Error())
	if !errors.As(err, &pe) || pe.Code != policy.EInvalid || pe.Field != "size" || m == nil {
		t.Errorf("%s: refused with %v, want invalid_field size naming a size that fits", what, err)
		return
	}
	z, perr := ParseSize(m[1])
	if perr != nil {
		t.Errorf("%s: the size named, %q, is not one: %v", what, m[1], perr)
		return
	}
	if err := PNG(&bytes.Buffer{}, c, z, dpi); err != nil {
		t.Errorf("%s: refused naming %s, which refuses it too: %v", what, z, err)
	}
}
