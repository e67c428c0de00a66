package bolt

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// TestNoticesAreCopiedByBackupAndDump: a backup of the file and a Dump
// loaded into a new file both keep the notices as they were set.
func TestNoticesAreCopiedByBackupAndDump(t *testing.T) {
	db := MustOpen(t)
	if _, _, err := db.PutModel(admin, policy.Model{SKU: "P1", Name: "Mask", Kind: policy.KindProduct}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Register(admin, []registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.PutNotice(admin, registry.Notice{Batch: "B1", Severity: registry.SeverityRecall, Text: "召回", TextEN: "Recall", Since: date("2026-11-18")}); err != nil {
		t.Fatal(err)
	}
	want, err := db.Notices()
	if err != nil || len(want) != 1 {
		t.Fatalf("notices %+v, %v", want, err)
	}

	var snap bytes.Buffer
	if _, err := db.Backup(&snap); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(path, snap.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	restored := mustOpenPath(t, path)
	if got, err := restored.Notices(); err != nil || !slices.Equal(got, want) {
		t.Errorf("backup: notices %+v (%v); want %+v", got, err, want)
	}

	copied := MustOpen(t)
	if err := copied.Load(func(s registry.Sink) error { return db.Dump(s) }); err != nil {
		t.Fatal(err)
	}
	if got, err := copied.Notices(); err != nil || !slices.Equal(got, want) {
		t.Errorf("dump and load: notices %+v (%v); want %+v", got, err, want)
	}
	a, errA := registry.Digest(db)
	b, errB := registry.Digest(copied)
	if errA != nil || errB != nil || a != b || a.Notices != 1 {
		t.Errorf("digests %v (%v) and %v (%v)", a, errA, b, errB)
	}
}
