package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportListsEveryBadRowWithItsLineAtOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sanbao.db")
	withModel(t, db, "M1")
	m := newMain(nil)
	m.Stdin = strings.NewReader("serial,sku,batch,produced_on\nS1,M1,B1,2026-02-30\n\nS2,NOPE,B1,\n.,M1,B1,\n")
	var stdout, stderr bytes.Buffer
	if err := m.Run(context.Background(), []string{"import", "--db", db, "-"}, &stdout, &stderr); err == nil {
		t.Fatal("import with bad rows succeeded")
	}
	for _, want := range []string{`row 1 serial "S1" (line 2)`, `row 2 serial "S2" (line 4)`, `row 3 serial "." (line 5)`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not say %s:\n%s", want, stderr.String())
		}
	}
}

func TestServeRefusesAMalformedZPLFont(t *testing.T) {
	for _, font := range []string{"SIMSUN.FNT", "E:SIM^FS", "e:simsun.fnt", "E:"} {
		db := filepath.Join(t.TempDir(), "never.db")
		_, _, err := run(t, nil, "serve", "--addr", "127.0.0.1:0", "--db", db, "--zpl-font", font)
		wantUsageError(t, err, "--zpl-font", "E:SIMSUN.FNT")
	}
	db := filepath.Join(t.TempDir(), "never.db")
	_, _, err := run(t, env{"SANBAO_ZPL_FONT": "E:bad font"}, "serve", "--addr", "127.0.0.1:0", "--db", db)
	wantUsageError(t, err, "SANBAO_ZPL_FONT")
}
