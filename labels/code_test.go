package labels

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
)

var testSecret = []byte("sanbao-test-secret")

// The expected codes were computed independently (Python's hmac and
// hashlib): HMAC-SHA256, first 40 bits, Crockford base32.
func TestCheckCodeIsTheFirst40BitsOfTheHMACInCrockfordBase32(t *testing.T) {
	allBytes := make([]byte, 32)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	tests := []struct {
		secret []byte
		serial string
		want   string
	}{
		{testSecret, "SN0012345678", "DHXM6XB4"},
		{testSecret, "A", "BKBP4B0B"},
		{[]byte("another secret"), "SN0012345678", "ZGKAY5JS"},
		{allBytes, "imask_2024-11.x", "NG2K8Q4X"},
		{testSecret, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "RHJ07RBT"},
	}
	for _, tt := range tests {
		if got := CheckCode(tt.secret, tt.serial); got != tt.want {
			t.Errorf("CheckCode(%q, %q) = %q, want %q", tt.secret, tt.serial, got, tt.want)
		}
	}
}

func TestCheckCodeUsesOnlyTheUnambiguousAlphabet(t *testing.T) {
	for i := 0; i < 2000; i++ {
		c := CheckCode(testSecret, "SN"+itoa(i))
		if len(c) != CodeLen || strings.ContainsAny(c, "ILOU") || strings.ToUpper(c) != c {
			t.Fatalf("code %q", c)
		}
	}
}

func TestVerifyCodeAcceptsWhatAPersonTypes(t *testing.T) {
	previous := []byte("old secret")
	secrets := [][]byte{testSecret, previous}
	tests := []struct {
		name   string
		serial string
		code   string
		want   bool
	}{
		{"exact", "SN0012345678", "DHXM6XB4", true},
		{"lower case", "SN0012345678", "dhxm6xb4", true},
		{"grouped as printed", "SN0012345678", "DHXM-6XB4", true},
		{"spaces", "SN0012345678", " DHXM 6XB4 ", true},
		{"letter O typed for zero", "A", "bkbp4bOb", true}, // BKBP4B0B
		{"previous secret still accepted", "SN0012345678", CheckCode(previous, "SN0012345678"), true},
		{"one character wrong", "SN0012345678", "DHXM6XB5", false},
		{"too short", "SN0012345678", "DHXM6XB", false},
		{"too long", "SN0012345678", "DHXM6XB40", false},
		{"empty", "SN0012345678", "", false},
		{"another serial's code", "SN0012345678", CheckCode(testSecret, "SN0012345679"), false},
		{"serials are case-sensitive", "sn0012345678", "DHXM6XB4", false},
		{"a retired secret is not accepted", "SN0012345678", CheckCode([]byte("retired"), "SN0012345678"), false},
	}
	for _, tt := range tests {
		if got := VerifyCode(secrets, tt.serial, tt.code); got != tt.want {
			t.Errorf("%s: VerifyCode(%q, %q) = %v, want %v", tt.name, tt.serial, tt.code, got, tt.want)
		}
	}
}

func TestVerifyCodeReadsIAndLAsOne(t *testing.T) {
	// Find a serial whose code holds a 1, then type it as I and as l.
	for i := 0; ; i++ {
		s := "SN" + itoa(i)
		c := CheckCode(testSecret, s)
		if !strings.Contains(c, "1") {
			continue
		}
		for _, typed := range []string{strings.ReplaceAll(c, "1", "I"), strings.ReplaceAll(c, "1", "l")} {
			if !VerifyCode([][]byte{testSecret}, s, typed) {
				t.Errorf("code %s typed as %s rejected", c, typed)
			}
		}
		return
	}
}

func TestVerifyCodeNeverMatchesUnderAnEmptySecret(t *testing.T) {
	code := CheckCode(nil, "SN1")
	if VerifyCode([][]byte{nil}, "SN1", code) || VerifyCode([][]byte{{}}, "SN1", code) || VerifyCode(nil, "SN1", code) {
		t.Error("a code made with an empty secret was accepted")
	}
	if !VerifyCode([][]byte{nil, testSecret}, "SN1", CheckCode(testSecret, "SN1")) {
		t.Error("an empty previous secret stopped the current one from matching")
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		name                    string
		public, gtin, serial, k string
		want                    string
	}{
		{"GS1 Digital Link with a GTIN", "https://check.example.cn", "09506000134352", "SN1", "K",
			"https://check.example.cn/01/09506000134352/21/SN1?k=K"},
		{"GTIN-13 zero-padded to 14 digits", "https://check.example.cn", "6901234567892", "SN1", "K",
			"https://check.example.cn/01/06901234567892/21/SN1?k=K"},
		{"GTIN-8 zero-padded to 14 digits", "https://check.example.cn", "12345670", "SN1", "K",
			"https://check.example.cn/01/00000012345670/21/SN1?k=K"},
		{"no GTIN: short form", "https://check.example.cn", "", "SN1", "K",
			"https://check.example.cn/c/SN1?k=K"},
		{"20-character serial still fits AI 21", "https://c.example", "09506000134352", "ABCDEFGHIJ0123456789", "K",
			"https://c.example/01/09506000134352/21/ABCDEFGHIJ0123456789?k=K"},
		{"21-character serial does not fit AI 21", "https://c.example", "09506000134352", "ABCDEFGHIJ01234567890", "K",
			"https://c.example/c/ABCDEFGHIJ01234567890?k=K"},
		{"trailing slashes of the public URL dropped", "https://c.example/", "", "SN1", "K",
			"https://c.example/c/SN1?k=K"},
		{"public URL with a path prefix", "https://example.cn/warranty//", "", "SN1", "K",
			"https://example.cn/warranty/c/SN1?k=K"},
		{"invalid GTIN falls back to the short form", "https://c.example", "09506000134353", "SN1", "K",
			"https://c.example/c/SN1?k=K"},
	}
	for _, tt := range tests {
		if got := CheckURL(tt.public, tt.gtin, tt.serial, tt.k); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

// Codes come out the same however many secrets the process has seen and in
// whatever order (the keyed HMACs are reused per secret): each is the
// first 40 bits of HMAC-SHA256, computed here afresh, in Crockford base32.
func TestCheckCodeIsTheHMACWhateverTheSecretsSeen(t *testing.T) {
	for round := range 2 {
		for i := range 3 * maxMACSecrets {
			secret := []byte(fmt.Sprintf("secret-%d", i))
			serial := fmt.Sprintf("S-%d-%d", round, i)
			m := hmac.New(sha256.New, secret)
			m.Write([]byte(serial))
			if want := crockford40(m.Sum(nil)); CheckCode(secret, serial) != want || !VerifyCode([][]byte{secret}, serial, want) {
				t.Fatalf("secret %d: CheckCode %q, want %q", i, CheckCode(secret, serial), want)
			}
		}
	}
}

// crockford40 writes the first 40 bits of sum as 8 Crockford base32 digits.
func crockford40(sum []byte) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var b strings.Builder
	for i := range 8 {
		bit := i * 5
		v := (int(sum[bit/8])<<8 | int(sum[bit/8+1])) >> (11 - bit%8) & 31
		b.WriteByte(alphabet[v])
	}
	return b.String()
}
