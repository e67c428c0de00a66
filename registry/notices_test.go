package registry

import (
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
	recallOld := Notice{Batch: "B1", Severity: SeverityRecall, Since: day("2026-11-01"), SetAt: at}
	recallNew := Notice{Batch: "CB1", Severity: SeverityRecall, Since: day("2026-11-15"), SetAt: at}
	recallNewLaterSet := Notice{Batch: "CB2", Severity: SeverityRecall, Since: day("2026-11-15"), SetAt: at.Add(time.Second)}
	advisoryNewest := Notice{Batch: "CB3", Severity: SeverityAdvisory, Since: day("2026-11-20"), SetAt: at.Add(time.Hour)}
	recallTomorrow := Notice{Batch: "CB4", Severity: SeverityRecall, Since: day("2026-11-21"), SetAt: at}
	advisoryOld := Notice{Batch: "CB5", Severity: SeverityAdvisory, Since: day("2026-10-01"), SetAt: at}
	today := day("2026-11-20")
	for _, c := range []struct {
		name string
		ns   []Notice
		want string // the batch of the notice shown, "" for none
	}{
		{"none", nil, ""},
		{"a recall over a newer advisory", []Notice{advisoryNewest, recallOld}, "B1"},
		{"the later of two recalls", []Notice{recallOld, recallNew}, "CB1"},
		{"the later set of two recalls from the same day", []Notice{recallNewLaterSet, recallNew}, "CB2"},
		{"the later of two advisories", []Notice{advisoryOld, advisoryNewest}, "CB3"},
		{"a recall from tomorrow is not shown today", []Notice{recallTomorrow, advisoryOld}, "CB5"},
		{"only one from tomorrow: nothing", []Notice{recallTomorrow}, ""},
		{"a notice from today is shown", []Notice{advisoryNewest}, "CB3"},
	} {
		got := ""
		if n := NoticeFor(c.ns, today); n != nil {
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
	rec := Record{
		Item: policy.Item{Batch: "B1", Accessories: []policy.Accessory{{SKU: "CHG", Batch: "CB1"}, {SKU: "CBL", Batch: "B1"}}},
		History: []policy.Event{
			{Type: policy.EvReceived},
			{Type: policy.EvAccessoryReplaced, SKU: "CHG", NewBatch: "CB2"},
			{Type: policy.EvAccessoryReplaced, SKU: "CHG", NewBatch: "CB3"},
		},
	}
	if got, want := NoticeBatches(rec), []string{"B1", "CB1", "CB2", "CB3"}; !slices.Equal(got, want) {
		t.Fatalf("NoticeBatches = %v, want %v", got, want)
	}
}
