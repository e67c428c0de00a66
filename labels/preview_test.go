package labels

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var previewDir = flag.String("preview", "", "write every test certificate as PNG, ZPL and PDF into this directory, to look at")

// TestPreview renders what the layout tests check, for a person to look
// at: go test -run Preview -preview /tmp/labels ./labels/
func TestPreview(t *testing.T) {
	if *previewDir == "" {
		t.Skip("run with -preview DIR to write sample labels")
	}
	write := func(name string, render func(f *os.File) error) {
		f, err := os.Create(filepath.Join(*previewDir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := render(f); err != nil {
			t.Logf("%s: %v", name, err)
		}
	}
	for name, c := range layoutCerts() {
		name = strings.ReplaceAll(name, " ", "-")
		for _, z := range Sizes() {
			for _, dpi := range []int{DPI203, DPI300} {
				base := fmt.Sprintf("%s-%s-%d", name, z, dpi)
				write(base+".png", func(f *os.File) error { return PNG(f, c, z, dpi) })
				write(base+".zpl", func(f *os.File) error { return ZPL(f, c, z, dpi) })
			}
		}
	}
	write("sheet.pdf", func(f *os.File) error {
		s := NewSheet(f)
		for i := 0; i < PerSheet+3; i++ {
			if err := s.Add(cert(fmt.Sprintf("SN%010d", i), "6901234567892")); err != nil {
				return err
			}
		}
		return s.Close()
	})
	write("label-50x30.pdf", func(f *os.File) error { return PDF(f, sampleCert(), Size50x30, DPI203) })
}
