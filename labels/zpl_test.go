package labels

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/boombuler/barcode/code128"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it after review):\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestZPLMatchesGoldenFiles(t *testing.T) {
	tests := []struct {
		file string
		c    Certificate
		size Size
		dpi  int
	}{
		{"cert-50x30-203.zpl", sampleCert(), Size50x30, DPI203},
		{"cert-50x30-300.zpl", sampleCert(), Size50x30, DPI300},
		{"cert-60x40-203.zpl", cert("ab_12.Z-9", ""), Size60x40, DPI203},
		{"cert-100x150-203.zpl", sampleCert(), Size100x150, DPI203},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := ZPL(&buf, tt.c, tt.size, tt.dpi); err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		golden(t, tt.file, buf.Bytes())
	}
}

// zplCommand is one ^ or ~ command of a ZPL stream: its name (prefix and
// two characters, e.g. "^FO", "^A0", "~JA") and what follows up to the
// next command, line breaks removed.
type zplCommand struct{ name, args string }

func parseZPL(s string) []zplCommand {
	var out []zplCommand
	s = strings.NewReplacer("\n", "", "\r", "").Replace(s)
	for i := 0; i < len(s); {
		if s[i] != '^' && s[i] != '~' {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && s[j] != '^' && s[j] != '~' {
			j++
		}
		name := s[i:min(i+3, j)]
		out = append(out, zplCommand{name, s[min(i+3, j):j]})
		i = j
	}
	return out
}

// unescapeFH undoes ^FH's _XX escapes.
func unescapeFH(t *testing.T, s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' {
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				t.Fatalf("bad escape in %q", s)
			}
			b.WriteByte(byte(v))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestZPLFieldsCannotInjectPrinterCommands(t *testing.T) {
	c := cert("SN_0012_XZ", "")
	c.ModelName = "X^FS^XZ^XA~JA~DG_5E型"
	c.Title = "^XZ~PS_"
	c.Terms = "12 months^FS~JR"
	c.Mailbox = "a^b@example.cn"
	c.Phone = "~~~"
	c.URL = CheckURL("https://example.cn/~warranty_x", "", c.Serial, c.Code)
	var buf bytes.Buffer
	if err := ZPL(&buf, c, Size100x150, DPI203); err != nil {
		t.Fatal(err)
	}
	cmds := parseZPL(buf.String())
	ct, err := prepare(c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ct.render(Size100x150, DPI203)
	if err != nil {
		t.Fatal(err)
	}

	// Exactly the commands the renderer means, in order.
	want := []string{"^XA", "^CI", "^PW", "^LL", "^LH"}
	var data []string
	for _, tx := range p.texts {
		font := "^A0"
		if !latin1(tx.s) {
			font = "^A@"
		}
		want = append(want, "^FO", font, "^FH", "^FD", "^FS")
		data = append(data, tx.s)
	}
	want = append(want, "^FO", "^BQ", "^FH", "^FD", "^FS", "^FO", "^BY", "^BC", "^FH", "^FD", "^FS", "^XZ")
	data = append(data, "MA,"+c.URL, zplCode128(c.Serial))
	var got, gotData []string
	for _, cmd := range cmds {
		got = append(got, cmd.name)
		if cmd.name == "^FD" {
			gotData = append(gotData, unescapeFH(t, cmd.args))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("commands\n got %q\nwant %q", got, want)
	}
	// And every field holds its text, unchanged once unescaped.
	if !slices.Equal(gotData, data) {
		t.Errorf("field data\n got %q\nwant %q", gotData, data)
	}
	if !slices.Contains(data, "X^FS^XZ^XA~JA~DG_5E型") {
		t.Error("the hostile model name was not printed (shortened?); the test proves nothing")
	}
}

func TestZPLBatchIsOneWholeLabelPerCertificate(t *testing.T) {
	var buf bytes.Buffer
	z, err := NewZPLBatch(&buf, Size50x30, DPI203)
	if err != nil {
		t.Fatal(err)
	}
	bad := cert("SN2", "")
	bad.Code = "WRONG"
	for i, c := range []Certificate{cert("SN1", ""), bad, cert("SN3", "")} {
		err := z.Add(c)
		if i == 1 {
			wantInvalid(t, err, "code")
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if n := strings.Count(out, "^XA"); n != 2 || strings.Count(out, "^XZ") != 2 {
		t.Fatalf("%d labels, want 2:\n%s", n, out)
	}
	if !strings.HasPrefix(out, "^XA") || !strings.HasSuffix(out, "^XZ\n") || strings.Contains(out, "SN2") {
		t.Errorf("stream is not two whole labels (SN1, SN3):\n%s", out)
	}
	if strings.Index(out, ">:SN1") > strings.Index(out, ">:SN3") {
		t.Error("labels out of order")
	}
}

func TestZPLBatchRejectsAMalformedPrinterFont(t *testing.T) {
	var buf bytes.Buffer
	z, err := NewZPLBatch(&buf, Size50x30, DPI203)
	if err != nil {
		t.Fatal(err)
	}
	z.Font = "E:X.TTF^XZ"
	wantInvalid(t, z.Add(sampleCert()), "font")
	z.Font = "E:ANMDS.TTF"
	if err := z.Add(sampleCert()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "^A@N,") || !strings.Contains(buf.String(), ",E:ANMDS.TTF^FH") {
		t.Error("the chosen font is not used for the Chinese title")
	}
}

func TestZPLCode128IsTheSymbolOfThePNG(t *testing.T) {
	serials := []string{"SN0012345678", "1234", "123", "12345", "A1234B", "ab_12.Z-9", "0000000000000000000000000000000",
		"X12Y3456Z78901234", "abcdefghijklmnopqrstuvwxyz012345", "9", "99.99-12345678"}
	for _, s := range serials {
		data := zplCode128(s)
		// Symbols: one per subset B character, one per subset C pair, one
		// per start or shift code; then the check symbol.
		symbols, plain, set := 0, "", byte(0)
		for i := 0; i < len(data); {
			symbols++
			if data[i] == '>' {
				switch data[i+1] {
				case ':', '6':
					set = 'B'
				case ';', '5':
					set = 'C'
				default:
					t.Fatalf("%s: unexpected invocation %q", s, data[i:i+2])
				}
				i += 2
				continue
			}
			n := 1
			if set == 'C' {
				n = 2
			}
			plain += data[i : i+n]
			i += n
		}
		if plain != s {
			t.Errorf("%s: ^BC data %q spells %q", s, data, plain)
		}
		bc, err := code128.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		if modules := 11*(symbols+1) + 13; modules != bc.Bounds().Dx() {
			t.Errorf("%s: ^BC data %q is %d modules wide, boombuler's symbol %d", s, data, modules, bc.Bounds().Dx())
		}
	}
}

// Whatever a model name holds, the label is the same commands with the
// name as one field's data.
func FuzzZPLModelNameStaysInItsField(f *testing.F) {
	for _, s := range []string{"IMASK Pro", "^XZ", "~JA", "_", "a^FS^XA~DG", "型号^~_", "\u00ff\u0100", "x\\&y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c := sampleCert()
		c.ModelName = name
		var buf bytes.Buffer
		if err := ZPL(&buf, c, Size100x150, DPI203); err != nil {
			return // refused (empty, control characters, too long): nothing to inject
		}
		out := buf.String()
		if strings.Count(out, "^XA") != 1 || strings.Count(out, "^XZ") != 1 || strings.ContainsRune(out, '~') {
			t.Fatalf("label structure broken by %q:\n%s", name, out)
		}
		var names []string
		for _, cmd := range parseZPL(out) {
			if cmd.name == "^FD" {
				if d := unescapeFH(t, cmd.args); strings.Contains(d, strings.TrimSpace(name)) || strings.HasSuffix(d, "…") {
					names = append(names, d)
				}
			}
			switch cmd.name {
			case "^XA", "^CI", "^PW", "^LL", "^LH", "^FO", "^A0", "^A@", "^FH", "^FD", "^FS", "^BQ", "^BY", "^BC", "^XZ":
			default:
				t.Fatalf("unexpected command %s from model name %q", cmd.name, name)
			}
		}
		if len(names) == 0 {
			t.Errorf("model name %q not found in any field", name)
		}
	})
}
