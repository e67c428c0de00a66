package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sanbao/sanbao/labels"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
)

var labelCommand = &command{
	name:     "label",
	synopsis: "--serial S --format png|zpl|pdf [--db FILE] [--public-url URL] [--policy FILE] [--dpi 203|300] [--size 50x30] [-o OUT]",
	summary:  "render one serial's certificate label (offline); writes SERIAL.FORMAT unless -o says otherwise",
	maxArgs:  0,
	setup:    (*Main).setupLabel,
}

// labelFormats are the renderers of one certificate.
var labelFormats = map[string]func(io.Writer, labels.Certificate, labels.Size, int) error{
	"png": labels.PNG,
	"zpl": labels.ZPL,
	"pdf": labels.PDF,
}

func (m *Main) setupLabel(f *flags) runFunc {
	db := dbFlag(f)
	serial := f.String("serial", "", "`serial` whose certificate to render")
	format := f.String("format", "png", "`format`: png, zpl or pdf (a one-label page)")
	publicURL := f.String("public-url", "", "public base `URL` of the check link in the QR code, as given to serve (default http://"+defaultAddr+")")
	policyFile := f.String("policy", "", "warranty policy JSON `file`, as given to serve (terms and contact printed)")
	secretFile := f.String("check-secret-file", "", "`file` holding the check-code secret, as given to serve")
	dpi := f.String("dpi", "203", "printer `resolution`: 203 or 300 dpi")
	size := f.String("size", labels.DefaultSize.String(), "label `size` in millimetres, WIDTHxHEIGHT: "+sizeList())
	output := f.String("output", "", "output `file`; - for stdout (default SERIAL.FORMAT)")
	f.alias("o", "output")

	return func(ctx context.Context, _ []string, stdout, stderr io.Writer) (err error) {
		s, err := policy.Ident("serial", *serial)
		if err != nil {
			return withField(f, err, map[string]string{"serial": "serial"})
		}
		render, ok := labelFormats[*format]
		if !ok {
			return f.errorf("format", "%q is not png, zpl or pdf", *format)
		}
		d, err := labels.ParseDPI(*dpi)
		if err != nil {
			return withField(f, err, map[string]string{"dpi": "dpi"})
		}
		sz, err := labels.ParseSize(*size)
		if err != nil {
			return withField(f, err, map[string]string{"size": "size"})
		}
		base, err := checkPublicURL(f, *publicURL)
		if err != nil {
			return err
		}
		if base == "" {
			base = "http://" + defaultAddr
			fmt.Fprintf(stderr, "warning: --public-url is not set; the QR code points at %s\n", base)
		}
		pol, err := loadPolicy(f, *policyFile)
		if err != nil {
			return err
		}
		secret, err := readSecret(f, "check-secret-file", *secretFile)
		if err != nil {
			return err
		}

		reg, err := bolt.Open(*db, bolt.Options{Options: registry.Options{Policy: pol, CheckSecret: secret}, Timeout: lockTimeout, ReadOnly: true})
		if err != nil {
			return err
		}
		defer closeDB(reg, *db, &err)
		rec, err := reg.Get(s)
		if policy.ErrorCode(err) == policy.ENotFound {
			return f.errorf("serial", "%s is not registered in %s", s, *db)
		} else if err != nil {
			return err
		}
		model, err := reg.Model(rec.Item.SKU)
		if err != nil {
			return fmt.Errorf("model %s of serial %s: %w", rec.Item.SKU, s, err)
		}
		cert := labels.NewCertificate(pol, model, rec.Item, rec.History, base, reg.CheckSecrets()[0])

		// Render whole before writing, so a refused label leaves no file.
		var buf bytes.Buffer
		if err := render(&buf, cert, sz, d); err != nil {
			return withField(f, err, map[string]string{"size": "size", "dpi": "dpi"})
		}
		out := *output
		if out == "" {
			out = s + "." + *format
		}
		if out == "-" {
			_, err = stdout.Write(buf.Bytes())
			return err
		}
		if err := writeFile(out, buf.Bytes()); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s (%s, %s mm, %d dpi)\n", out, *format, sz, d)
		return nil
	}
}

// sizeList names the label sizes the labels package lays out.
func sizeList() string {
	var s []string
	for _, z := range labels.Sizes() {
		s = append(s, z.String())
	}
	return strings.Join(s, ", ")
}

// labelFileMode is a label file's permission: a label is printed and
// handed on, and holds nothing that its print does not show.
const labelFileMode = 0o644

// writeFile writes b to path through a temporary file of an unpredictable
// name in the same directory (os.CreateTemp opens it with O_EXCL, so a
// symlink planted there is never followed), synced and renamed into place,
// so a reader never sees half a label. A symlink at path itself is
// replaced, not written through.
func writeFile(path string, b []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Chmod(labelFileMode); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
