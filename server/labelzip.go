package server

import (
	"archive/zip"
	"bytes"
	"io"
	"strconv"
	"time"

	"github.com/sanbao/sanbao/labels"
)

// zipFormat is the PNG files of a batch or list, one a label, in a zip
// (POST /api/v1/labels with "format": "png").
var zipFormat = labelFormat{"zip", "application/zip", labels.PNG}

// pngZip is the labelSink of zipFormat: each certificate drawn as a PNG of
// the job's size and dpi, stored (PNG is compressed already) as
// SERIAL.png, SERIAL-2.png for a serial listed again, and so on.
type pngZip struct {
	zw   *zip.Writer
	size labels.Size
	dpi  int
	at   time.Time // the files' modification time
	buf  bytes.Buffer
	seen map[string]int
}

func newPNGZip(w io.Writer, size labels.Size, dpi int, at time.Time) *pngZip {
	return &pngZip{zw: zip.NewWriter(w), size: size, dpi: dpi, at: at, seen: map[string]int{}}
}

// Add draws c whole before its entry is started, so that a label that
// cannot be printed leaves no entry. Errors: labels.PNG's, and the
// writer's.
func (z *pngZip) Add(c labels.Certificate) error {
	z.buf.Reset()
	if err := labels.PNG(&z.buf, c, z.size, z.dpi); err != nil {
		return err
	}
	z.seen[c.Serial]++
	name := c.Serial
	if n := z.seen[c.Serial]; n > 1 {
		name += "-" + strconv.Itoa(n)
	}
	w, err := z.zw.CreateHeader(&zip.FileHeader{Name: name + ".png", Method: zip.Store, Modified: z.at})
	if err != nil {
		return err
	}
	_, err = w.Write(z.buf.Bytes())
	return err
}

// Close writes the zip's directory.
func (z *pngZip) Close() error { return z.zw.Close() }
