package labels

import (
	"strings"

	"github.com/boombuler/barcode/code128"
	"github.com/sanbao/sanbao/policy"
	qrcode "github.com/skip2/go-qrcode"
)

// Barcode rules. Narrow bars under two dots scan poorly on thermal prints;
// scanners need ten blank modules beside a Code 128 and four around a QR.
const (
	minBarModule = 2  // dots
	barQuiet     = 10 // modules each side
	qrQuiet      = 4  // modules each side
	maxQRModule  = 10 // ^BQ's largest magnification
)

// minQRModuleMM is the smallest QR module printed: a third of a millimetre
// (3 dots at 203 dpi, 4 at 300) still scans with any phone camera.
const minQRModuleMM = 1.0 / 3

// qrSymbol is a check URL encoded at error-correction level M, without
// its quiet zone (the layout keeps that white).
type qrSymbol struct {
	url     string
	version int
	n       int      // modules per side
	dark    [][]bool // [y][x]
}

func encodeQR(url string) (qrSymbol, error) {
	q, err := qrcode.New(url, qrcode.Medium)
	if err != nil {
		return qrSymbol{}, policy.Errorf(policy.EInvalid, "url", "the check URL cannot be encoded as a QR: %v", err)
	}
	q.DisableBorder = true
	bits := q.Bitmap()
	return qrSymbol{url: url, version: q.VersionNumber, n: len(bits), dark: bits}, nil
}

// barSymbol is a serial encoded as Code 128, bars and spaces one module
// each, without quiet zones.
type barSymbol struct {
	bars []bool // true = bar
	zpl  string // the same symbol as ^BC field data (explicit subsets)
}

func encodeBar(serial string) (barSymbol, error) {
	bc, err := code128.Encode(serial)
	if err != nil {
		return barSymbol{}, policy.Errorf(policy.EInvalid, "serial", "serial %q cannot be encoded as Code 128: %v", serial, err)
	}
	n := bc.Bounds().Dx()
	s := barSymbol{bars: make([]bool, n), zpl: zplCode128(serial)}
	for x := 0; x < n; x++ {
		r, _, _, _ := bc.At(x, 0).RGBA()
		s.bars[x] = r < 0x8000
	}
	return s, nil
}

// zplCode128 is serial as ^BC field data in "no mode", with the subset
// start and shift codes spelled out (>: start B, >; start C, >5 to C, >6 to
// B) exactly as boombuler chooses them: C for a run of four or more digits
// (two once in C), B otherwise. The printer then draws the very symbol the
// PNG shows, of the width the layout reserved. Serials hold only
// 0-9 A-Z a-z - . _, all in subset B and none of them '>'.
func zplCode128(serial string) string {
	const (
		none = iota
		setB
		setC
	)
	var b strings.Builder
	cur := none
	for i := 0; i < len(serial); {
		need := 4
		if cur == setC {
			need = 2
		}
		if digits(serial[i:], need) {
			switch cur {
			case none:
				b.WriteString(">;")
			case setB:
				b.WriteString(">5")
			}
			cur = setC
			b.WriteString(serial[i : i+2])
			i += 2
			continue
		}
		switch cur {
		case none:
			b.WriteString(">:")
		case setC:
			b.WriteString(">6")
		}
		cur = setB
		b.WriteByte(serial[i])
		i++
	}
	return b.String()
}

func digits(s string, n int) bool {
	if len(s) < n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
