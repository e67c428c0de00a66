package main

import (
	"context"
	"errors"
	"io"
)

var labelCommand = &command{
	name:     "label",
	synopsis: "--serial S --format png|zpl|pdf [--db FILE] [--public-url URL] [--policy FILE] [--dpi 203|300] [--size 50x30] [-o OUT]",
	summary:  "render one serial's certificate label (offline)",
	maxArgs:  0,
	setup:    (*Main).setupLabel,
}

func (m *Main) setupLabel(f *flags) runFunc {
	dbFlag(f)
	f.String("serial", "", "`serial` to print")
	f.String("format", "png", "`format`: png, zpl or pdf")
	f.String("public-url", "", "public base `URL` of the check link in the QR code")
	f.String("policy", "", "warranty policy JSON `file` (terms and contact printed)")
	f.Int("dpi", 203, "printer resolution: 203 or 300")
	f.String("size", "50x30", "label `size` in millimetres, WIDTHxHEIGHT")
	f.String("output", "", "output `file` (- for stdout)")
	f.alias("o", "output")
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return errors.New("label: labels not available yet")
	}
}
