package bolt

import (
	"github.com/sanbao/sanbao/registry"

	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
)

func day(s string) policy.Date {
	d, err := policy.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestNoticeForShowsTheMostSevereThenTheLatest: of the notices of a unit's
// batches begun by today, a recall wins over any advisory, then the later
// start date, then the later setting; one that starts after today is not
// shown yet.
func TestNoticeForShowsTheMostSevereThenTheLatest(t *testing.T) {
	at := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
	recallOld := registry.Notice{Batch: "B1", Severity: registry.SeverityRecall, Since: day("2026-11-01"), SetAt: at}
	recallNew := registry.Notice{Batch: "CB1", Severity: registry.SeverityRecall, Since: day("2026-11-15"), SetAt: at}
	recallNewLaterSet := registry.Notice{Batch: "CB2", Severity: registry.SeverityRecall, Since: day("2026-11-15"), SetAt: at.Add(time.Second)}
	advisoryNewest := registry.Notice{Batch: "CB3", Severity: registry.SeverityAdvisory, Since: day("2026-11-20"), SetAt: at.Add(time.Hour)}
	recallTomorrow := registry.Notice{Batch: "CB4", Severity: registry.SeverityRecall, Since: day("2026-11-21"), SetAt: at}
	advisoryOld := registry.Notice{Batch: "CB5", Severity: registry.SeverityAdvisory, Since: day("2026-10-01"), SetAt: at}
	today := day("2026-11-20")
	for _, c := range []struct {
		name string
		ns   []registry.Notice
		want string // the batch of the notice shown, "" for none
	}{
		{"none", nil, ""},
		{"a recall over a newer advisory", []registry.Notice{advisoryNewest, recallOld}, "B1"},
		{"the later of two recalls", []registry.Notice{recallOld, recallNew}, "CB1"},
		{"the later set of two recalls from the same day", []registry.Notice{recallNewLaterSet, recallNew}, "CB2"},
		{"the later of two advisories", []registry.Notice{advisoryOld, advisoryNewest}, "CB3"},
		{"a recall from tomorrow is not shown today", []registry.Notice{recallTomorrow, advisoryOld}, "CB5"},
		{"only one from tomorrow: nothing", []registry.Notice{recallTomorrow}, ""},
		{"a notice from today is shown", []registry.Notice{advisoryNewest}, "CB3"},
	} {
		got := ""
		if n := registry.NoticeFor(c.ns, today); n != nil {
			got = n.Batch
		}
		if got != c.want {
			t.Errorf("%s: shows %q, want %q", c.name, got, c.want)
		}
	}
}

// TestNoticeBatchesAreTheUnitsAndItsAccessories: a unit is concerned by
// its own batch, its bundled accessories' and every batch an accessory
// exchange brought, each once.
func TestNoticeBatchesAreTheUnitsAndItsAccessories(t *testing.T) {
	rec := registry.Record{
		Item: policy.Item{Batch: "B1", Accessories: []policy.Accessory{{SKU: "CHG", Batch: "CB1"}, {SKU: "CBL", Batch: "B1"}}},
		History: []policy.Event{
			{Type: policy.EvReceived},
			{Type: policy.EvAccessoryReplaced, SKU: "CHG", NewBatch: "CB2"},
			{Type: policy.EvAccessoryReplaced, SKU: "CHG", NewBatch: "CB3"},
		},
	}
	if got, want := registry.NoticeBatches(rec), []string{"B1", "CB1", "CB2", "CB3"}; !slices.Equal(got, want) {
		t.Fatalf("NoticeBatches = %v, want %v", got, want)
	}
}

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
	if _, _, err := db.PutNotice(admin, registry.Notice{Batch: "B1", Severity: registry.SeverityRecall, Text: "召回", TextEN: "Recall", Since: day("2026-11-18")}); err != nil {
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
