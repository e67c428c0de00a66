package server

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestScreenshotComparisonToleratesACaretNotAMovedLayout checks the
// browser test's comparison on a reviewed golden: a caret's worth of
// pixels passes, the page moved down by a line does not, nor another size.
func TestScreenshotComparisonToleratesACaretNotAMovedLayout(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "shots", "01-sign-in.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(golden))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	variant := func(f func(dst *image.RGBA)) []byte {
		dst := image.NewRGBA(b)
		draw.Draw(dst, b, img, b.Min, draw.Src)
		f(dst)
		var buf bytes.Buffer
		if err := png.Encode(&buf, dst); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	caret := variant(func(dst *image.RGBA) {
		draw.Draw(dst, image.Rect(100, 100, 102, 120), image.NewUniform(color.Black), image.Point{}, draw.Src)
	})
	moved := variant(func(dst *image.RGBA) {
		draw.Draw(dst, b.Add(image.Pt(0, 24)), img, b.Min, draw.Src)
	})
	var buf bytes.Buffer
	png.Encode(&buf, img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(0, 0, b.Dx(), b.Dy()-10)))
	diff := filepath.Join(t.TempDir(), "diff.png")
	for _, tc := range []struct {
		name  string
		got   []byte
		match bool
	}{{"the golden itself", golden, true}, {"a caret", caret, true}, {"moved down 24 px", moved, false}, {"10 px shorter", buf.Bytes(), false}} {
		if msg := compareShots(golden, tc.got, diff); (msg == "") != tc.match {
			t.Errorf("%s: match %v, want %v (%s)", tc.name, msg == "", tc.match, msg)
		}
	}
}
