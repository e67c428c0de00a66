// Package labels renders the three-guarantees certificate label (三包凭证)
// and holds the check code that ties a printed label to the public check
// page. It is pure: callers pass every datum (NewCertificate assembles one
// from the registry's model and item and the policy), and the only I/O is
// the io.Writer given. It imports policy and nothing else of sanbao.
//
// # Check codes
//
// CheckCode, VerifyCode and CheckURL are the one implementation of the
// code printed on a label and verified by the public page:
//
//	code = Crockford-base32(first 40 bits of HMAC-SHA256(secret, serial))   8 characters
//	URL  = {public_url}/01/{GTIN-14}/21/{serial}?k={code}   GS1 Digital Link, model with a GTIN, serial <= 20 characters
//	       {public_url}/c/{serial}?k={code}                 otherwise
//
// VerifyCode forgives what people type (case, I/L for 1, O for 0, hyphens
// and spaces), tries every secret given (current and previous, for a
// rotation) and takes the same time whatever the input.
//
// # Renderers
//
//	PNG(w, c, size, dpi)        1-bit PNG of exactly size at 203 dpi (8 dots/mm) or 300 dpi (12 dots/mm)
//	ZPL(w, c, size, dpi)        one ^XA…^XZ label; NewZPLBatch streams many
//	PDF(w, c, size, dpi)        one label-sized PDF page
//	NewSheet(w) / Add / Close   A4 sheets of Avery L7160 labels (3 × 7 of 63.5 × 38.1 mm)
//
// All four draw one layout: what the PNG preview shows is what the printer
// and the sheet print. QR codes (level M, 4-module quiet zone) and Code 128
// (10-module quiet zones, bars of two dots or more) are drawn with whole
// dots per module; ZPL uses the printer's own ^BQ and ^BC, and PDF draws
// modules as vector rectangles, never images. A certificate that does not
// fit the label chosen — a serial whose Code 128 would need bars under two
// dots, a check URL whose QR would need modules under a third of a
// millimetre, text that cannot be set at 1.4 mm — is refused, never printed
// unscannable or clipped: the error names the smallest size that fits.
//
// # Errors
//
// Every renderer validates the certificate before writing anything and
// returns a *policy.Error:
//
//	EInvalid "serial", "sku", "batch", "accessories"   not a valid identifier (policy.Ident)
//	EInvalid "code"                                    not 8 characters of the Crockford alphabet
//	EInvalid "url"                                     not an absolute http(s) URL of printable ASCII, <= 300 characters
//	EInvalid "model_name", "title", "terms", "mailbox", "phone"   not single-line text within its length
//	EInvalid "size"                                    unsupported size, or the certificate does not fit (the message names a size that does)
//	EInvalid "dpi"                                     not 203 or 300
//	EInvalid "font"                                    ZPLBatch.Font not a printer font name
//	EInternal                                          the embedded fonts failed to load or an image failed to encode (a bug)
//
// Any other error comes from the io.Writer.
//
// # Fonts
//
// Latin text is set in the Go fonts (Go Regular, Go Bold, Go Mono Bold for
// serials and codes), Chinese in an embedded subset of Droid Sans Fallback
// (Apache 2.0; font/gen.sh, font/LICENSE-DroidSansFallback) holding all
// 20,902 basic CJK ideographs: any Chinese model name prints, and the
// binary needs no font installed. ZPL text beyond Latin-1 uses a font
// resident in the printer (ZPLBatch.Font, DefaultZPLFont).
package labels
