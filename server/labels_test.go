package server

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/sanbao/sanbao/labels"
	"github.com/sanbao/sanbao/policy"
)

// raceEnabled is whether the test binary runs under the race detector, which
// makes label rendering about ten times slower. The label tests that draw
// hundreds of labels draw a tenth as many under it (CI runs -race), with the
// same assertions; go test without -race runs the full counts.
var raceEnabled = func() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}()

func scaled(n int) int {
	if raceEnabled {
		return n / 10
	}
	return n
}

// labelEnv is a server with model M1 (no GTIN), G1 (GTIN 6901234567892),
// serial S1 of M1 in batch B1 (with a bundled charger of batch CB2411) and
// G100 of G1.
func labelEnv(t testing.TB, mod ...func(*Config)) *env {
	t.Helper()
	e := newEnv(t, mod...)
	e.seedModels()
	must(t, e.do(req{Method: "PUT", Path: "/api/v1/models/G1", Token: e.warehouse,
		Body: map[string]any{"name": "IMASK Air", "kind": "product", "gtin": "6901234567892"}}), http.StatusCreated)
	e.register("B1", "S1")
	must(t, e.post("/api/v1/items", e.warehouse, map[string]any{"items": []map[string]any{
		{"serial": "G100", "sku": "G1", "batch": "BG", "produced_on": "2026-10-01"}}}), http.StatusCreated)
	return e
}

// serialsFrom makes n serials prefix00000, prefix00001, … (serial order is
// numeric order).
func serialsFrom(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	return out
}

func (e *env) code(serial string) string { return labels.CheckCode(e.db.CheckSecrets()[0], serial) }

var tryHarder = map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}

// scan decodes the QR and the Code 128 of a label image.
func scan(t *testing.T, img image.Image) (qr, bar string) {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	b, err := oned.NewCode128Reader().Decode(bmp, tryHarder)
	if err != nil {
		t.Fatalf("no Code 128 found: %v", err)
	}
	r, err := qrcode.NewQRCodeReader().Decode(bmp, tryHarder)
	if err == nil {
		return r.GetText(), b.GetText()
	}
	// gozxing's QR detector misses about one random code in 300 that
	// other decoders read (the check code differs per test database, so
	// the miss is random): ask zbarimg, as the labels package's tests do,
	// before calling the label unreadable.
	if _, lerr := exec.LookPath("zbarimg"); lerr != nil {
		t.Fatalf("gozxing found no QR code (%v) and zbarimg is not installed to check", err)
	}
	var buf bytes.Buffer
	if perr := png.Encode(&buf, img); perr != nil {
		t.Fatal(perr)
	}
	cmd := exec.Command("zbarimg", "--raw", "-q", "--set", "*.enable=0", "--set", "qrcode.enable=1", "-")
	cmd.Stdin = &buf
	out, zerr := cmd.Output()
	if zerr != nil {
		t.Fatalf("no QR code found by gozxing (%v) nor zbarimg (%v)", err, zerr)
	}
	t.Logf("gozxing missed the QR code (%v); zbarimg read it", err)
	return strings.TrimSpace(string(out)), b.GetText()
}

var (
	zplBlock = regexp.MustCompile(`(?s)\^XA.*?\^XZ`)
	zplBC    = regexp.MustCompile(`\^BC[^^]*\^FH\^FD([^^]*)\^FS`)
	zplHex   = regexp.MustCompile(`_[0-9A-Fa-f]{2}`)
)

// bcData is the data of a ^BC field as a scanner reads it: without the
// subset invocation codes (>: >; >5 >6) and with ^FH's _XX escapes decoded.
func bcData(field string) string {
	var b strings.Builder
	for i := 0; i < len(field); i++ {
		if field[i] == '>' && i+1 < len(field) {
			i++
			continue
		}
		b.WriteByte(field[i])
	}
	return zplHex.ReplaceAllStringFunc(b.String(), func(h string) string {
		v, _ := strconv.ParseUint(h[1:], 16, 8)
		return string(rune(v))
	})
}

// zplSerials checks z is a sequence of whole ^XA…^XZ labels with nothing
// between them, and returns the Code 128 data of each, in order.
func zplSerials(t *testing.T, z string) []string {
	t.Helper()
	blocks := zplBlock.FindAllString(z, -1)
	if n := strings.Count(z, "^XA"); n != len(blocks) || strings.Count(z, "^XZ") != len(blocks) {
		t.Fatalf("%d ^XA, %d ^XZ, %d whole labels", n, strings.Count(z, "^XZ"), len(blocks))
	}
	if rest := strings.TrimSpace(zplBlock.ReplaceAllString(z, "")); rest != "" {
		t.Fatalf("text outside the labels: %.200q", rest)
	}
	out := make([]string, len(blocks))
	for i, b := range blocks {
		m := zplBC.FindAllStringSubmatch(b, -1)
		if len(m) != 1 {
			t.Fatalf("label %d has %d ^BC fields:\n%s", i+1, len(m), b)
		}
		out[i] = bcData(m[0][1])
	}
	return out
}

var pdfPage = regexp.MustCompile(`/Type\s*/Page([^s]|$)`)

// pdfPages counts a PDF's pages, with pdfinfo too when it is installed.
func pdfPages(t *testing.T, pdf []byte) int {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.40q", pdf)
	}
	n := len(pdfPage.FindAll(pdf, -1))
	if tool, err := exec.LookPath("pdfinfo"); err == nil {
		f := t.TempDir() + "/labels.pdf"
		if err := os.WriteFile(f, pdf, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(tool, f).CombinedOutput()
		if err != nil {
			t.Fatalf("pdfinfo: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(out)
		if m == nil || string(m[1]) != strconv.Itoa(n) {
			t.Fatalf("pdfinfo says %q, the page objects %d", m, n)
		}
	}
	return n
}

func wantAttachment(t *testing.T, r response, contentType, filename string) {
	t.Helper()
	if got := r.Header.Get("Content-Type"); got != contentType {
		t.Errorf("Content-Type %q, want %q", got, contentType)
	}
	if got, want := r.Header.Get("Content-Disposition"), `attachment; filename="`+filename+`"`; got != want {
		t.Errorf("Content-Disposition %q, want %q", got, want)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q: a label carries a check code, it must not be cached", got)
	}
}

func TestItemLabelPNGCarriesTheCheckURLAndTheSerial(t *testing.T) {
	for _, tc := range []struct {
		name, publicURL, serial, query string
		wantURL                        func(e *env) string
		w, h                           int
	}{
		{"no GTIN: /c/ under the request's host when no public URL is set", "", "S1", "",
			func(e *env) string { return e.ts.URL + "/c/S1?k=" + e.code("S1") }, 400, 240},
		{"a GTIN: a GS1 Digital Link under the public URL", "https://w.example.com", "G100", "?format=png",
			func(e *env) string { return "https://w.example.com/01/06901234567892/21/G100?k=" + e.code("G100") }, 400, 240},
		{"size and dpi are honoured", "https://w.example.com", "S1", "?size=60x40&dpi=300",
			func(e *env) string { return "https://w.example.com/c/S1?k=" + e.code("S1") }, 720, 480},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := labelEnv(t, func(c *Config) { c.PublicURL = tc.publicURL })
			r := must(t, e.get("/api/v1/items/"+tc.serial+"/label"+tc.query, e.service), http.StatusOK)
			wantAttachment(t, r, "image/png", "label-"+tc.serial+".png")
			img, err := png.Decode(bytes.NewReader(r.Body))
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Errorf("image %dx%d, want %dx%d", b.Dx(), b.Dy(), tc.w, tc.h)
			}
			qr, bar := scan(t, img)
			if want := tc.wantURL(e); qr != want {
				t.Errorf("QR %q, want %q", qr, want)
			}
			if bar != tc.serial {
				t.Errorf("Code 128 %q, want %q", bar, tc.serial)
			}
			k := qr[strings.LastIndex(qr, "k=")+2:]
			if !labels.VerifyCode(e.db.CheckSecrets(), tc.serial, k) {
				t.Errorf("the check code %q in the QR does not verify", k)
			}
		})
	}
}

func TestItemLabelZPLAndPDF(t *testing.T) {
	e := labelEnv(t, func(c *Config) { c.PublicURL = "https://w.example.com" })

	r := must(t, e.get("/api/v1/items/G100/label?format=zpl", e.warehouse), http.StatusOK)
	wantAttachment(t, r, "text/plain; charset=utf-8", "label-G100.zpl")
	z := string(r.Body)
	if got := zplSerials(t, z); len(got) != 1 || got[0] != "G100" {
		t.Errorf("^BC data %q, want one label of G100", got)
	}
	if want := "^FDMA,https://w.example.com/01/06901234567892/21/G100?k=" + e.code("G100") + "^FS"; !strings.Contains(z, want) {
		t.Errorf("no QR field %s in\n%s", want, z)
	}
	if !strings.Contains(z, "^PW400") || !strings.Contains(z, "^LL240") {
		t.Errorf("not a 50x30 label at 203 dpi:\n%s", z)
	}
	r = must(t, e.get("/api/v1/items/S1/label?format=zpl&dpi=300", e.admin), http.StatusOK)
	if z := string(r.Body); !strings.Contains(z, "^PW600") || !strings.Contains(z, "^LL360") {
		t.Errorf("dpi=300: not 600x360 dots:\n%s", z)
	}

	r = must(t, e.get("/api/v1/items/S1/label?format=pdf", e.service), http.StatusOK)
	wantAttachment(t, r, "application/pdf", "label-S1.pdf")
	if n := pdfPages(t, r.Body); n != 1 {
		t.Errorf("%d pages, want 1", n)
	}
}

func TestItemLabelRefusals(t *testing.T) {
	e := labelEnv(t)
	long := "ABCDEFGHIJKLMN" // 14 letters of Code 128 set B: wider than 50 mm at 2 dots a module
	e.register("B1", long)
	for _, tc := range []struct {
		name, path, token string
		status            int
		code, field, says string
	}{
		{"no key", "/api/v1/items/S1/label", "", 401, policy.EUnauthorized, "", ""},
		{"an unknown format", "/api/v1/items/S1/label?format=gif", e.service, 400, policy.EInvalid, "format", "gif"},
		{"an unsupported dpi", "/api/v1/items/S1/label?dpi=600", e.service, 400, policy.EInvalid, "dpi", "203 or 300"},
		{"an unsupported size", "/api/v1/items/S1/label?size=1x1", e.service, 400, policy.EInvalid, "size", "50x30"},
		{"a malformed serial", "/api/v1/items/S%20%211/label", e.service, 400, policy.EInvalid, "serial", ""},
		{"an unknown serial", "/api/v1/items/NOPE/label", e.service, 404, policy.ENotFound, "serial", "NOPE"},
		{"a serial too wide for the size names one that fits", "/api/v1/items/" + long + "/label?format=zpl", e.service, 422, policy.EInvalid, "size", "use size 60x40"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			er := wantError(t, e.get(tc.path, tc.token), tc.status, tc.code, tc.field)
			if msg := er["message"].(string); !strings.Contains(msg, tc.says) {
				t.Errorf("message %q does not say %q", msg, tc.says)
			}
		})
	}
	// The size it names does fit.
	r := must(t, e.get("/api/v1/items/"+long+"/label?size=60x40", e.service), http.StatusOK)
	img, err := png.Decode(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	if _, bar := scan(t, img); bar != long {
		t.Errorf("Code 128 %q, want %q", bar, long)
	}
}

// postLabels posts a label request and returns the answer (validated
// against openapi.json by e.do).
func (e *env) postLabels(token string, body map[string]any) response {
	e.t.Helper()
	return e.post("/api/v1/labels", token, body)
}

func TestBatchLabelsZPLHaveOneLabelPerSerialInSerialOrder(t *testing.T) {
	e := labelEnv(t)
	n := scaled(1000)
	serials := serialsFrom("SN", n)
	e.register("B1000", serials...)
	r := must(t, e.postLabels(e.warehouse, map[string]any{"batch": "B1000", "format": "zpl"}), http.StatusOK)
	wantAttachment(t, r, "text/plain; charset=utf-8", "labels-B1000.zpl")
	if got := r.Header.Get("X-Label-Count"); got != strconv.Itoa(n) {
		t.Errorf("X-Label-Count %q, want %d", got, n)
	}
	if got := r.Header.Get("Content-Length"); got != strconv.Itoa(len(r.Body)) {
		t.Errorf("Content-Length %q, body %d bytes", got, len(r.Body))
	}
	got := zplSerials(t, string(r.Body))
	if len(got) != n {
		t.Fatalf("%d labels, want %d", len(got), n)
	}
	for i := range got {
		if got[i] != serials[i] {
			t.Fatalf("label %d is %s, want %s", i+1, got[i], serials[i])
		}
	}
	// Each label is one ZPL of the same certificate the single route gives.
	one := must(t, e.get("/api/v1/items/"+serials[n-1]+"/label?format=zpl", e.warehouse), http.StatusOK)
	if !bytes.HasSuffix(r.Body, one.Body) {
		t.Errorf("the last label differs from the single label of %s", serials[n-1])
	}
}

// "format": "png" is a zip of one PNG a label, named by serial (a serial
// listed again gets -2, -3…), each the certificate the single route draws.
func TestLabelsPNGAreAZipOfOneImageALabel(t *testing.T) {
	e := labelEnv(t)
	e.register("BZ", "Z1", "Z2", "Z3")
	for _, tc := range []struct {
		name  string
		body  map[string]any
		file  string
		names []string
		w, h  int
	}{
		{"a batch", map[string]any{"batch": "BZ", "format": "png"}, "labels-BZ.zip",
			[]string{"Z1.png", "Z2.png", "Z3.png"}, 400, 240},
		{"a list with a repeat, 300 dpi", map[string]any{"serials": []string{"Z3", "Z1", "Z3"}, "format": "png", "dpi": 300},
			"labels-Z3-Z3.zip", []string{"Z3.png", "Z1.png", "Z3-2.png"}, 600, 360},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := must(t, e.postLabels(e.warehouse, tc.body), http.StatusOK)
			wantAttachment(t, r, "application/zip", tc.file)
			if got := r.Header.Get("X-Label-Count"); got != strconv.Itoa(len(tc.names)) {
				t.Errorf("X-Label-Count %q, want %d", got, len(tc.names))
			}
			zr, err := zip.NewReader(bytes.NewReader(r.Body), int64(len(r.Body)))
			if err != nil {
				t.Fatalf("not a zip: %v", err)
			}
			if len(zr.File) != len(tc.names) {
				t.Fatalf("%d files in the zip, want %d", len(zr.File), len(tc.names))
			}
			for i, f := range zr.File {
				if f.Name != tc.names[i] {
					t.Errorf("file %d is %s, want %s", i+1, f.Name, tc.names[i])
				}
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				img, err := png.Decode(rc)
				rc.Close()
				if err != nil {
					t.Fatalf("%s is not a PNG: %v", f.Name, err)
				}
				if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
					t.Errorf("%s is %dx%d, want %dx%d", f.Name, b.Dx(), b.Dy(), tc.w, tc.h)
				}
				serial := strings.TrimSuffix(strings.SplitN(f.Name, "-", 2)[0], ".png")
				if _, bar := scan(t, img); bar != serial {
					t.Errorf("%s carries Code 128 %q, want %s", f.Name, bar, serial)
				}
			}
		})
	}
}

func TestBatchLabelsPDFIsA4SheetsOf21(t *testing.T) {
	e := labelEnv(t)
	n := scaled(1000)
	e.register("B1000", serialsFrom("SN", n)...)
	r := must(t, e.postLabels(e.admin, map[string]any{"batch": "B1000", "format": "pdf"}), http.StatusOK)
	wantAttachment(t, r, "application/pdf", "labels-B1000.pdf")
	if got, want := pdfPages(t, r.Body), (n+labels.PerSheet-1)/labels.PerSheet; got != want {
		t.Errorf("%d pages for %d labels, want %d", got, n, want)
	}
	if got := r.Header.Get("X-Label-Count"); got != strconv.Itoa(n) {
		t.Errorf("X-Label-Count %q, want %d", got, n)
	}
}

func TestListedSerialsArePrintedInTheOrderGiven(t *testing.T) {
	e := labelEnv(t)
	e.register("B2", "S2", "S3")
	list := []string{"S3", " S1\n", "G100", "S3"} // trimmed as scanned; repeats printed again
	r := must(t, e.postLabels(e.warehouse, map[string]any{"serials": list, "format": "zpl", "size": "60x40", "dpi": 300}), http.StatusOK)
	wantAttachment(t, r, "text/plain; charset=utf-8", "labels-S3-S3.zpl")
	if got, want := zplSerials(t, string(r.Body)), []string{"S3", "S1", "G100", "S3"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("labels %v, want %v", got, want)
	}
	if !strings.Contains(string(r.Body), "^PW720") {
		t.Errorf("not 60x40 at 300 dpi")
	}
	r = must(t, e.postLabels(e.warehouse, map[string]any{"serials": []string{"S1"}, "format": "pdf"}), http.StatusOK)
	wantAttachment(t, r, "application/pdf", "labels-S1.pdf")
	if n := pdfPages(t, r.Body); n != 1 {
		t.Errorf("%d pages, want 1", n)
	}
}

func TestLabelRequestsAreRefusedBeforeAnyByte(t *testing.T) {
	e := labelEnv(t)
	long := "ABCDEFGHIJKLMN"                      // too wide for 50x30 at 203 dpi
	longest := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef" // too wide for a sheet label
	e.register("BL", long, longest)
	tooMany := make([]string, MaxLabels+1)
	for i := range tooMany {
		tooMany[i] = "S1"
	}
	for _, tc := range []struct {
		name   string
		token  string
		body   any
		status int
		code   string
		field  string
		says   string
		rows   []string // serials of the rows, in order
	}{
		{"no key", "", map[string]any{"batch": "B1", "format": "zpl"}, 401, policy.EUnauthorized, "", "", nil},
		{"a service key", e.service, map[string]any{"batch": "B1", "format": "zpl"}, 403, policy.EForbidden, "", "", nil},
		{"an unknown field", e.warehouse, `{"batch": "B1", "format": "zpl", "copies": 2}`, 400, policy.EBadRequest, "", "copies", nil},
		{"no format", e.warehouse, map[string]any{"batch": "B1"}, 422, policy.EInvalid, "format", "required", nil},
		{"format gif", e.warehouse, map[string]any{"batch": "B1", "format": "gif"}, 422, policy.EInvalid, "format", "pdf, zpl or png", nil},
		{"an unsupported size for PNG files", e.warehouse, map[string]any{"batch": "B1", "format": "png", "size": "1x1"}, 422, policy.EInvalid, "size", "50x30", nil},
		{"an unsupported size", e.warehouse, map[string]any{"batch": "B1", "format": "zpl", "size": "1x1"}, 422, policy.EInvalid, "size", "50x30", nil},
		{"an unsupported dpi", e.warehouse, map[string]any{"batch": "B1", "format": "zpl", "dpi": 600}, 422, policy.EInvalid, "dpi", "203 or 300", nil},
		{"a dpi as text", e.warehouse, map[string]any{"batch": "B1", "format": "zpl", "dpi": "300"}, 422, policy.EInvalid, "dpi", "number", nil},
		{"a size for PDF sheets", e.warehouse, map[string]any{"batch": "B1", "format": "pdf", "size": "50x30"}, 422, policy.EInvalid, "size", "63.5x38.1", nil},
		{"a dpi for PDF sheets", e.warehouse, map[string]any{"batch": "B1", "format": "pdf", "dpi": 300}, 422, policy.EInvalid, "dpi", "zpl", nil},
		{"batch and serials", e.warehouse, map[string]any{"batch": "B1", "serials": []string{"S1"}, "format": "zpl"}, 422, policy.EInvalid, "batch", "not both", nil},
		{"neither batch nor serials", e.warehouse, map[string]any{"format": "zpl"}, 422, policy.EInvalid, "batch", "serials", nil},
		{"an empty list", e.warehouse, map[string]any{"serials": []string{}, "format": "zpl"}, 422, policy.EInvalid, "serials", "at least one", nil},
		{"a malformed batch", e.warehouse, map[string]any{"batch": "B 1", "format": "zpl"}, 422, policy.EInvalid, "batch", "", nil},
		{"an unknown batch", e.warehouse, map[string]any{"batch": "NOPE", "format": "pdf"}, 404, policy.ENotFound, "batch", "NOPE", nil},
		{"a batch of accessories only", e.warehouse, map[string]any{"batch": "CB2411", "format": "pdf"}, 404, policy.ENotFound, "batch", "no registered serials", nil},
		{"more than MaxLabels serials", e.warehouse, map[string]any{"serials": tooMany, "format": "zpl"}, 413, policy.ETooLarge, "serials", "10000", nil},
		{"unknown and malformed serials, each named", e.warehouse, map[string]any{"serials": []string{"S1", "NOPE", "S1", "bad serial!", "NOPE2"}, "format": "zpl"},
			422, policy.EInvalid, "serials", "3 of the 5 serials", []string{"NOPE", "bad serial!", "NOPE2"}},
		{"a serial too wide for the ZPL size names a size that fits", e.warehouse, map[string]any{"serials": []string{"S1", long}, "format": "zpl"},
			422, policy.EInvalid, "size", "label of " + long + ": serial " + long + " needs", []string{long}},
		{"a batch with labels too wide for the size lists them all", e.warehouse, map[string]any{"batch": "BL", "format": "zpl"},
			422, policy.EInvalid, "size", "2 of the 2 labels cannot be printed", []string{long, longest}},
		{"a serial too wide for a sheet label says to print it single", e.warehouse, map[string]any{"batch": "BL", "format": "pdf"},
			422, policy.EInvalid, "size", "print it as a single label of size", []string{longest}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(req{Method: "POST", Path: "/api/v1/labels", Token: tc.token, Body: tc.body})
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q: an error must be the JSON error shape", ct)
			}
			er := wantError(t, r, tc.status, tc.code, tc.field)
			if msg := er["message"].(string); !strings.Contains(msg, tc.says) {
				t.Errorf("message %q does not say %q", msg, tc.says)
			}
			rows, _ := er["rows"].([]any)
			var got []string
			for _, row := range rows {
				got = append(got, row.(map[string]any)["serial"].(string))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.rows) {
				t.Errorf("rows name %q, want %q", got, tc.rows)
			}
		})
	}
}

func TestUnknownSerialRowsSayWhereAndWhy(t *testing.T) {
	e := labelEnv(t)
	r := e.postLabels(e.warehouse, map[string]any{"serials": []string{"S1", "NOPE"}, "format": "pdf"})
	er := wantError(t, r, 422, policy.EInvalid, "serials")
	row := er["rows"].([]any)[0].(map[string]any)
	if row["row"] != float64(2) || row["code"] != policy.ENotFound || !strings.Contains(row["message"].(string), "NOPE is not registered") {
		t.Errorf("row %v, want row 2, not_found, naming NOPE", row)
	}
	if er["bad_rows"] != float64(1) {
		t.Errorf("bad_rows %v, want 1", er["bad_rows"])
	}
}

func TestLabelFilesLeaveNoTemporaryFile(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	e := labelEnv(t)
	e.register("BL", "ABCDEFGHIJKLMN")
	must(t, e.postLabels(e.warehouse, map[string]any{"batch": "B1", "format": "zpl"}), http.StatusOK)
	must(t, e.postLabels(e.warehouse, map[string]any{"batch": "B1", "format": "pdf"}), http.StatusOK)
	wantError(t, e.postLabels(e.warehouse, map[string]any{"batch": "BL", "format": "zpl"}), 422, policy.EInvalid, "size")
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range left {
		t.Errorf("left behind: %s", f.Name())
	}
}

// TestBatchLabelsAreNotHeldInMemory draws a 10,000-label ZPL batch (1,000
// under -race or -short) and watches the heap: the server renders into a temporary
// file, so neither the labels' images nor the file's bytes stay in memory.
// Measured here: a few MiB of peak growth (mostly garbage between
// collections) for about 10 MB of ZPL, nothing live when the file starts.
func TestBatchLabelsAreNotHeldInMemory(t *testing.T) {
	e := labelEnv(t)
	n := scaled(MaxLabels)
	if testing.Short() {
		n = min(n, 1000)
	}
	serials := serialsFrom("SN", n)
	e.register("BIG", serials...)
	// One label first, so the fonts the labels package loads once are in
	// the baseline.
	must(t, e.get("/api/v1/items/S1/label?format=zpl", e.warehouse), http.StatusOK)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var (
		mu   sync.Mutex
		peak = before.HeapInuse
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() { // samples the heap while the server draws and sends
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				mu.Lock()
				peak = max(peak, m.HeapInuse)
				mu.Unlock()
			}
		}
	}()
	defer func() { close(done); wg.Wait() }()

	body, _ := json.Marshal(map[string]any{"batch": "BIG", "format": "zpl"})
	hr, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/labels", bytes.NewReader(body))
	hr.Header.Set("Authorization", "Bearer "+e.warehouse)
	hr.Header.Set("Content-Type", "application/json")
	res, err := e.ts.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("status %d: %s", res.StatusCode, b)
	}
	size, _ := strconv.ParseInt(res.Header.Get("Content-Length"), 10, 64)

	// Every label is drawn before the first byte: what is live now is what
	// the server keeps while it sends.
	br := bufio.NewReaderSize(res.Body, 64<<10)
	if _, err := br.Peek(1); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var sending runtime.MemStats
	runtime.ReadMemStats(&sending)

	// Read the file as a printer would, checking each label's serial as it
	// passes, without keeping it.
	labelsSeen, bytesSeen := 0, int64(0)
	var label strings.Builder
	for {
		line, err := br.ReadString('\n')
		bytesSeen += int64(len(line))
		switch {
		case strings.HasPrefix(line, "^XA"):
			label.Reset()
		case strings.HasPrefix(line, "^XZ"):
			got := zplSerials(t, "^XA\n"+label.String()+"^XZ")
			if labelsSeen >= n || got[0] != serials[labelsSeen] {
				t.Fatalf("label %d is %v, want %s", labelsSeen+1, got, serials[min(labelsSeen, n-1)])
			}
			labelsSeen++
		default:
			label.WriteString(line)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if labelsSeen != n || bytesSeen != size {
		t.Fatalf("%d labels in %d bytes, want %d in %d (Content-Length)", labelsSeen, bytesSeen, n, size)
	}
	mu.Lock()
	grew := int64(peak) - int64(before.HeapInuse)
	mu.Unlock()
	live := int64(sending.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d labels, %.1f MiB of ZPL: heap in use grew at most %.1f MiB; live heap while sending %+.1f MiB",
		n, float64(size)/(1<<20), float64(grew)/(1<<20), float64(live)/(1<<20))
	if grew > 64<<20 {
		t.Errorf("heap in use grew %.1f MiB drawing %d labels; bound 64 MiB", float64(grew)/(1<<20), n)
	}
	if bound := max(size/2, 2<<20); live > bound {
		t.Errorf("%.1f MiB live while sending a %.1f MiB file: the file is held in memory", float64(live)/(1<<20), float64(size)/(1<<20))
	}
}

// BenchmarkBatchLabelsPDF1000 is one POST /api/v1/labels of a 1,000-label
// batch as PDF (48 A4 sheets), end to end over HTTP on 127.0.0.1: registry
// reads, certificates, drawing, the temporary file and the transfer.
//
//	go test -run '^$' -bench BatchLabelsPDF1000 -benchtime 3x ./server/
func BenchmarkBatchLabelsPDF1000(b *testing.B) {
	e := labelEnv(b)
	e.register("B1000", serialsFrom("SN", 1000)...)
	body, _ := json.Marshal(map[string]any{"batch": "B1000", "format": "pdf"})
	b.ReportAllocs()
	var size int64
	for b.Loop() {
		hr, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/labels", bytes.NewReader(body))
		hr.Header.Set("Authorization", "Bearer "+e.warehouse)
		hr.Header.Set("Content-Type", "application/json")
		res, err := e.ts.Client().Do(hr)
		if err != nil {
			b.Fatal(err)
		}
		size, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("status %d, %v", res.StatusCode, err)
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "labels/s")
	b.ReportMetric(float64(size)/1000, "B/label")
}
