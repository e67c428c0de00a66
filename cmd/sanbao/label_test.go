package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/sanbao/sanbao/labels"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
)

// labelDB is a database holding serial S1 of model M1 (and the GTIN model G1
// with serial G-1), and the check secret kept in it.
func labelDB(t *testing.T) (string, []byte) {
	t.Helper()
	db := tempDB(t)
	reg, err := bolt.Open(db, bolt.Options{Timeout: lockTimeout})
	if err != nil {
		t.Fatal(err)
	}
	a := registry.Actor{Name: "test"}
	for _, m := range []policy.Model{
		{SKU: "M1", Name: "IMASK 智能口罩", Kind: policy.KindProduct},
		{SKU: "G1", Name: "IMASK Pro", Kind: policy.KindProduct, GTIN: "6901234567892"},
	} {
		if _, _, err := reg.PutModel(a, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.Register(a, []registry.Row{{Serial: "S1", SKU: "M1", Batch: "B1"}, {Serial: "G-1", SKU: "G1", Batch: "B1"}}); err != nil {
		t.Fatal(err)
	}
	secret := reg.CheckSecrets()[0]
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	return db, secret
}

// decodeLabel reads the QR code and the Code 128 of a label PNG.
func decodeLabel(t *testing.T, img image.Image) (qr, bar string) {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		t.Fatalf("no QR code found on the label: %v", err)
	}
	code, err := oned.NewCode128Reader().Decode(bmp, hints)
	if err != nil {
		t.Fatalf("no Code 128 found on the label: %v", err)
	}
	return res.GetText(), code.GetText()
}

func TestLabelWritesADecodableCertificate(t *testing.T) {
	db, secret := labelDB(t)
	dir := t.TempDir()
	fileSecret := []byte("0123456789abcdef0123456789abcdef")
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, append(fileSecret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		args         []string
		wantW, wantH int
		wantURL      string
	}{
		{"defaults: 50x30 at 203 dpi", nil, 400, 240,
			"https://w.example.com/c/S1?k=" + labels.CheckCode(secret, "S1")},
		{"300 dpi", []string{"--dpi", "300"}, 600, 360,
			"https://w.example.com/c/S1?k=" + labels.CheckCode(secret, "S1")},
		{"secret from file, as serve uses it", []string{"--check-secret-file", secretFile}, 400, 240,
			"https://w.example.com/c/S1?k=" + labels.CheckCode(fileSecret, "S1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "label.png")
			args := append([]string{"label", "--db", db, "--serial", "S1", "--format", "png",
				"--public-url", "https://w.example.com", "-o", out}, tt.args...)
			mustRun(t, args...)
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != tt.wantW || b.Dy() != tt.wantH {
				t.Errorf("label is %dx%d, want %dx%d", b.Dx(), b.Dy(), tt.wantW, tt.wantH)
			}
			if qr, bar := decodeLabel(t, img); qr != tt.wantURL || bar != "S1" {
				t.Errorf("QR = %q, Code 128 = %q; want %q, S1", qr, bar, tt.wantURL)
			}
		})
	}
}

func TestLabelFormats(t *testing.T) {
	db, secret := labelDB(t)
	dir := t.TempDir()
	t.Chdir(dir)
	m := newMain(env{"SANBAO_DB": db, "SANBAO_PUBLIC_URL": "https://w.example.com"})
	var stdout, stderr bytes.Buffer

	// Default output name SERIAL.FORMAT; GTIN model: Digital Link in the label.
	if err := m.Run(t.Context(), []string{"label", "--serial", "G-1", "--format", "zpl"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	zpl, err := os.ReadFile(filepath.Join(dir, "G-1.zpl"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(zpl)
	wantURL := "https://w.example.com/01/06901234567892/21/G-1?k=" + labels.CheckCode(secret, "G-1")
	if !strings.HasPrefix(s, "^XA") || !strings.HasSuffix(strings.TrimSpace(s), "^XZ") || !strings.Contains(s, wantURL) {
		t.Errorf("ZPL is not one label carrying %s:\n%s", wantURL, s)
	}

	stdout.Reset()
	if err := m.Run(t.Context(), []string{"label", "--serial", "S1", "--format", "pdf", "-o", "-"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if pdf := stdout.Bytes(); !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf[len(pdf)-32:], []byte("%%EOF")) {
		t.Errorf("stdout is not a whole PDF: %.40q ... %q", pdf, pdf[max(0, len(pdf)-32):])
	}
}

func TestLabelErrorsNameTheFlag(t *testing.T) {
	db, _ := labelDB(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"serial missing", nil, "--serial"},
		{"serial malformed", []string{"--serial", "S 1/2"}, "--serial"},
		{"serial unknown", []string{"--serial", "NOPE"}, "--serial"},
		{"format unknown", []string{"--serial", "S1", "--format", "gif"}, "--format"},
		{"dpi unsupported", []string{"--serial", "S1", "--dpi", "600"}, "--dpi"},
		{"size unsupported", []string{"--serial", "S1", "--size", "10x10"}, "--size"},
		{"public url relative", []string{"--serial", "S1", "--public-url", "w.example.com"}, "--public-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "label")
			_, _, err := run(t, nil, append([]string{"label", "--db", db, "-o", out}, tt.args...)...)
			wantUsageError(t, err, tt.want)
			if _, err := os.Stat(out); err == nil {
				t.Error("a refused label left a file")
			}
		})
	}
}

// The label file is written through a temporary file of its own: a symlink
// planted at the old predictable name (OUT.tmp) or at OUT itself is never
// written through, and the file is readable by others (a label holds
// nothing its print does not show) but writable by its owner only.
func TestLabelFileNeverFollowsAPlantedSymlink(t *testing.T) {
	db, _ := labelDB(t)
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "S1.zpl")
	for _, link := range []string{out + ".tmp", out} {
		os.Remove(out)
		if err := os.Symlink(victim, link); err != nil {
			t.Fatal(err)
		}
		mustRun(t, "label", "--db", db, "--serial", "S1", "--format", "zpl", "--public-url", "https://w.example.com", "-o", out)
		if b, _ := os.ReadFile(victim); string(b) != "precious" {
			t.Fatalf("the label was written through the symlink %s", link)
		}
		fi, err := os.Lstat(out)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want a regular file -rw-r--r--", out, fi.Mode())
		}
		os.Remove(out + ".tmp")
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".S1.zpl.*"))
	if len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
