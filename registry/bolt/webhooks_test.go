package bolt

import (
	"testing"
	"time"
)

func TestACrashDropsLeasesSoEveryPendingDeliveryIsSentAgainWithItsID(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1")
	if _, err := db.CreateSubscription(admin, "https://erp.example.com/all", []string{"*"}); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, db, "S1", dispatch("2026-11-10", "O1"))
	claimed, err := db.ClaimDeliveries(db.clock.Now(), time.Hour, 10)
	must(t, err)
	db = db.reopen(t)
	again, err := db.ClaimDeliveries(db.clock.Now(), time.Hour, 10)
	must(t, err)
	if len(claimed) != 1 || len(again) != 1 || again[0].ID != claimed[0].ID || again[0].Event.Seq != 1 {
		t.Fatalf("claimed %+v before the restart, %+v after; want the same delivery", claimed, again)
	}
}
