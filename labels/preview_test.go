package labels

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var previewDir = flag.String("preview", "", "write sample labels into this directory to look at")

func TestPreview(t *testing.T) {
	if *previewDir == "" {
		t.Skip("run with -preview DIR to write sample labels")
	}
	for _, z := range Sizes() {
		for _, dpi := range []int{203, 300} {
			f, err := os.Create(filepath.Join(*previewDir, z.String()+"-"+itoa(dpi)+".png"))
			if err != nil {
				t.Fatal(err)
			}
			if err := PNG(f, sampleCert(), z, dpi); err != nil {
				t.Error(z, dpi, err)
			}
			f.Close()
		}
	}
}

func TestPreviewPDF(t *testing.T) {
	if *previewDir == "" {
		t.Skip("run with -preview DIR to write sample labels")
	}
	f, err := os.Create(filepath.Join(*previewDir, "sheet.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := NewSheet(f)
	for i := 0; i < 25; i++ {
		c := sampleCert()
		c.Serial = fmt.Sprintf("SN%010d", i)
		c.Code = CheckCode([]byte("k"), c.Serial)
		c.URL = CheckURL("https://check.imask.com.cn", "6901234567892", c.Serial, c.Code)
		if err := s.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	g, _ := os.Create(filepath.Join(*previewDir, "label.pdf"))
	defer g.Close()
	if err := PDF(g, sampleCert(), Size50x30, 203); err != nil {
		t.Fatal(err)
	}
}
