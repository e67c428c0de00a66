package bolt

import (
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// Rule 4 counts only free replacements that followed a quality_problem
// diagnosis: a replacement unit carries that count of its line, and a
// goodwill exchange after no_fault adds nothing to it.
func TestReplacementUnitCountsOnlyQualityExchanges(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "CHG", "C1", "L1", "L2", "L3")
	mustAppend(t, db, "L1", receive("2026-11-01"))
	exchange := func(old, new string, f policy.Finding, hours time.Duration) {
		t.Helper()
		mustAppend(t, db, old, policy.Event{Type: policy.EvIntake, At: at(db, hours*time.Hour), Center: "Shenzhen"})
		mustAppend(t, db, old, policy.Event{Type: policy.EvDiagnosed, At: at(db, (hours-1)*time.Hour), Finding: f})
		mustAppend(t, db, old, policy.Event{Type: policy.EvReplaced, At: at(db, (hours-2)*time.Hour), NewSerial: new})
	}
	exchange("L1", "L2", policy.NoFault, 10)
	exchange("L2", "L3", policy.QualityProblem, 5)
	for serial, want := range map[string]int{"L1": 0, "L2": 0, "L3": 1} {
		rec, err := db.Get(serial)
		must(t, err)
		if rec.Item.Exchanges != want {
			t.Errorf("%s.Exchanges = %d, want %d", serial, rec.Item.Exchanges, want)
		}
	}
}
