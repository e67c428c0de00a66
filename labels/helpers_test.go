package labels

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/sanbao/sanbao/policy"
)

func itoa(i int) string { return strconv.Itoa(i) }

// cert builds a certificate for serial as NewCertificate would, with the
// test secret.
func cert(serial, gtin string) Certificate {
	code := CheckCode(testSecret, serial)
	return Certificate{
		ModelName:   "IMASK 智能口罩 Pro",
		SKU:         "MASK-PRO",
		Serial:      serial,
		Batch:       "B2411",
		Code:        code,
		URL:         CheckURL("https://check.imask.com.cn", gtin, serial, code),
		Accessories: []Accessory{{"CHG-1", "CB2411"}},
		Terms:       Terms(12, 7, 15),
		Mailbox:     "service@imask.com.cn",
		Phone:       "400-668-9229",
	}
}

func sampleCert() Certificate { return cert("SN0012345678", "6901234567892") }

// needTool finds an external program, skipping the test when it is missing
// — except under CI (env CI set), which installs it, where that is a failure.
func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p := optionalTool(t, name, pkg)
	if p == "" {
		t.Skipf("%s not found: install Debian package %s to run this test", name, pkg)
	}
	return p
}

// optionalTool is needTool for a check that a test can leave out: "" (and
// a note in the log) when the program is missing, except under CI.
func optionalTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found (Debian package %s); CI must install it", name, pkg)
	}
	t.Logf("%s not found: install Debian package %s to check with it too", name, pkg)
	return ""
}

func renderPNG(t testing.TB, c Certificate, z Size, dpi int) ([]byte, image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := PNG(&buf, c, z, dpi); err != nil {
		t.Fatalf("PNG %s at %d dpi: %v", z, dpi, err)
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("decoding our own PNG: %v", err)
	}
	return buf.Bytes(), img
}

var tryHarder = map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}

// zxing decodes the QR and the Code 128 in img in-process.
func zxing(t testing.TB, img image.Image) (qr, bar string) {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := qrcode.NewQRCodeReader().Decode(bmp, tryHarder); err == nil {
		qr = r.GetText()
	} else {
		t.Errorf("gozxing found no QR: %v", err)
	}
	if r, err := oned.NewCode128Reader().Decode(bmp, tryHarder); err == nil {
		bar = r.GetText()
	} else {
		t.Errorf("gozxing found no Code 128: %v", err)
	}
	return qr, bar
}

// zbar decodes every symbol in the PNG file at path with zbarimg.
func zbar(t testing.TB, zbarimg, path string) []string {
	t.Helper()
	out, err := exec.Command(zbarimg, "--raw", "-q", path).Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 4) { // 4: nothing found
		t.Fatalf("zbarimg %s: %v", path, err)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			got = append(got, l)
		}
	}
	return got
}

// wantInvalid checks that err is a *policy.Error EInvalid on field whose
// message holds every one of parts.
func wantInvalid(t *testing.T, err error, field string, parts ...string) {
	t.Helper()
	var pe *policy.Error
	if !errors.As(err, &pe) || pe.Code != policy.EInvalid || pe.Field != field {
		t.Fatalf("got %v, want an %s error on field %q", err, policy.EInvalid, field)
	}
	for _, p := range parts {
		if !strings.Contains(pe.Message, p) {
			t.Errorf("message %q does not say %q", pe.Message, p)
		}
	}
}
