package labels

import (
	"math"
	"strconv"
	"strings"

	"github.com/sanbao/sanbao/policy"
)

// Size is a label's width and height in millimetres, as label stock is
// sold: 50x30 is 50 mm wide (across the printer) and 30 mm long.
type Size struct {
	W, H float64
}

// The label sizes the layouts are designed and tested for.
var (
	Size50x30   = Size{50, 30}
	Size60x40   = Size{60, 40}
	Size70x50   = Size{70, 50}
	Size100x150 = Size{100, 150} // 4×6 in shipping labels
	// SheetLabel is one label of an Avery L7160 A4 sheet (see Sheet); it
	// is also accepted by ParseSize for a single label.
	SheetLabel = Size{63.5, 38.1}
)

// DefaultSize is the size used when none is given.
var DefaultSize = Size50x30

// Sizes lists the supported sizes, smallest first; error messages that
// suggest a size pick the first that fits.
func Sizes() []Size {
	return []Size{Size50x30, Size60x40, SheetLabel, Size70x50, Size100x150}
}

// String is the size as ParseSize reads it, e.g. "50x30" or "63.5x38.1".
func (s Size) String() string {
	return strconv.FormatFloat(s.W, 'f', -1, 64) + "x" + strconv.FormatFloat(s.H, 'f', -1, 64)
}

// supported reports whether s is one of Sizes.
func (s Size) supported() bool {
	for _, t := range Sizes() {
		if s == t {
			return true
		}
	}
	return false
}

// dots is the label's width and height in printer dots at dpm dots per
// millimetre, rounded down: a printer cannot print a partial dot.
func (s Size) dots(dpm int) (int, int) {
	// The epsilon keeps 38.1 mm × 12 from becoming 457.19999 and losing a dot.
	return int(math.Floor(s.W*float64(dpm) + 1e-9)), int(math.Floor(s.H*float64(dpm) + 1e-9))
}

// ParseSize reads a label size "WxH" in millimetres ("50x30", "50X30",
// "50×30", "50x30mm"); "" is DefaultSize. Only the sizes in Sizes are
// accepted, because only those have a tested layout. Errors are
// *policy.Error EInvalid, field "size", listing the supported sizes.
func ParseSize(s string) (Size, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return DefaultSize, nil
	}
	t = strings.TrimSuffix(t, "mm")
	t = strings.ReplaceAll(t, "×", "x")
	w, h, ok := strings.Cut(t, "x")
	if ok {
		wf, err1 := strconv.ParseFloat(strings.TrimSpace(w), 64)
		hf, err2 := strconv.ParseFloat(strings.TrimSpace(h), 64)
		if err1 == nil && err2 == nil {
			if z := (Size{wf, hf}); z.supported() {
				return z, nil
			}
		}
	}
	return Size{}, policy.Errorf(policy.EInvalid, "size", "size %q is not supported; use one of %s (width x height in mm)", s, sizeList())
}

func sizeList() string {
	var b strings.Builder
	for i, z := range Sizes() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(z.String())
	}
	return b.String()
}

// The printer resolutions supported: 203 dpi heads have 8 dots per mm,
// "300 dpi" heads 12 (304.8 dpi).
const (
	DPI203 = 203
	DPI300 = 300
)

// DefaultDPI is the resolution used when none is given.
const DefaultDPI = DPI203

// ParseDPI reads a printer resolution, "203" or "300"; "" is DefaultDPI.
// Errors are *policy.Error EInvalid, field "dpi".
func ParseDPI(s string) (int, error) {
	switch strings.TrimSpace(s) {
	case "":
		return DefaultDPI, nil
	case "203":
		return DPI203, nil
	case "300":
		return DPI300, nil
	}
	return 0, policy.Errorf(policy.EInvalid, "dpi", "dpi %q is not supported; use 203 or 300", s)
}

// dotsPerMM maps a supported resolution to dots per millimetre.
func dotsPerMM(dpi int) (int, error) {
	switch dpi {
	case DPI203:
		return 8, nil
	case DPI300:
		return 12, nil
	}
	return 0, policy.Errorf(policy.EInvalid, "dpi", "dpi %d is not supported; use 203 or 300", dpi)
}
