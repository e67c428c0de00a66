package labels

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"strings"
	"sync"

	"github.com/sanbao/sanbao/policy"
)

// CodeLen is the length of a check code.
const CodeLen = 8

// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code read
// off a label and typed by hand has no look-alike letters.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// CheckCode is the check code printed on serial's certificate and carried in
// its QR: the first 40 bits of HMAC-SHA256(secret, serial) in Crockford
// base32, 8 characters. Knowing a serial without the secret gives no code,
// so the public page cannot be used to enumerate serials.
func CheckCode(secret []byte, serial string) string {
	code := checkCode(secret, serial)
	return string(code[:])
}

func checkCode(secret []byte, serial string) [CodeLen]byte {
	p := macPool(secret)
	m := p.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(serial))
	var sum [sha256.Size]byte
	code := encodeCode(m.Sum(sum[:0]))
	p.Put(m)
	return code
}

// macs keeps HMACs keyed with each secret for reuse (Reset goes back to
// the keyed state): keying one took most of a check's allocations, and
// every view of the public page verifies a code. The secrets are the
// store's, which it holds in memory anyway; a process that has seen more
// than maxMACSecrets of them (tests open many stores) starts afresh.
var macs = struct {
	sync.RWMutex
	m map[string]*sync.Pool
}{m: map[string]*sync.Pool{}}

const maxMACSecrets = 16

func macPool(secret []byte) *sync.Pool {
	macs.RLock()
	p := macs.m[string(secret)]
	macs.RUnlock()
	if p != nil {
		return p
	}
	key := bytes.Clone(secret)
	p = &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
	macs.Lock()
	if len(macs.m) >= maxMACSecrets {
		clear(macs.m)
	}
	macs.m[string(key)] = p
	macs.Unlock()
	return p
}

func encodeCode(sum []byte) [CodeLen]byte {
	// 40 bits, most significant first: 8 groups of 5.
	v := uint64(sum[0])<<32 | uint64(sum[1])<<24 | uint64(sum[2])<<16 | uint64(sum[3])<<8 | uint64(sum[4])
	var out [CodeLen]byte
	for i := CodeLen - 1; i >= 0; i-- {
		out[i] = crockford[v&31]
		v >>= 5
	}
	return out
}

// VerifyCode reports whether code is serial's check code under any of
// secrets (the current one and the previous one during a rotation; empty
// secrets never match). The typed code is normalised the Crockford way:
// case ignored, I and L read as 1, O as 0, hyphens and spaces dropped.
//
// It does the same work whatever the input: every secret is tried and every
// comparison is constant-time, so the time taken says nothing about how
// close a guess was or which secret matched.
func VerifyCode(secrets [][]byte, serial, code string) bool {
	typed, n := normaliseCode(code)
	ok := subtle.ConstantTimeEq(int32(n), CodeLen)
	match := 0
	for _, s := range secrets {
		want := checkCode(s, serial)
		eq := subtle.ConstantTimeCompare(typed[:], want[:])
		match |= eq & subtle.ConstantTimeEq(int32(min(len(s), 1)), 1)
	}
	return ok&match == 1
}

// normaliseCode maps a typed code onto the alphabet. It returns the first
// CodeLen characters and how many characters there were in all (so a longer
// or shorter code still costs a full comparison and then fails).
func normaliseCode(code string) ([CodeLen]byte, int) {
	var out [CodeLen]byte
	n := 0
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c == '-' || c == ' ':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		}
		switch c {
		case 'I', 'L':
			c = '1'
		case 'O':
			c = '0'
		}
		if n < CodeLen {
			out[n] = c
		}
		n++
	}
	return out, n
}

// validCode reports whether code is a well-formed check code as CheckCode
// makes them (exactly 8 characters of the alphabet, upper case).
func validCode(code string) bool {
	if len(code) != CodeLen {
		return false
	}
	for i := 0; i < len(code); i++ {
		if strings.IndexByte(crockford, code[i]) < 0 {
			return false
		}
	}
	return true
}

// maxDigitalLinkSerial is the longest serial GS1's AI 21 allows.
const maxDigitalLinkSerial = 20

// CheckURL is the address a certificate's QR carries:
//
//	{publicURL}/01/{GTIN-14}/21/{serial}?k={code}   GS1 Digital Link, when the model has a GTIN and serial fits AI 21 (<= 20 characters)
//	{publicURL}/c/{serial}?k={code}                 otherwise
//
// Trailing slashes of publicURL are dropped. gtin14 may be any valid GTIN
// (8, 12, 13 or 14 digits; it is zero-padded to 14); "" or an invalid GTIN
// gives the /c/ form, which the public page serves too. serial must be a
// valid serial (policy.Ident): its characters need no percent-encoding.
// The public page verifies what this builds, so this is the one place the
// format lives.
func CheckURL(publicURL, gtin14, serial, code string) string {
	base := strings.TrimRight(publicURL, "/")
	if gtin14 != "" && len(serial) <= maxDigitalLinkSerial {
		if g, err := policy.GTIN(gtin14); err == nil {
			return base + "/01/" + g + "/21/" + serial + "?k=" + code
		}
	}
	return base + "/c/" + serial + "?k=" + code
}
