package bolt

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// TestUnscopedKeysStillAnswerTheirRetries: a key stored before keys were
// scoped to their caller (an upgrade within the 24 hours) still answers a
// retry instead of writing the event twice, and is pruned like any other.
func TestUnscopedKeysStillAnswerTheirRetries(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1")
	hash := sha256.Sum256([]byte("POST /api/v1/items/S1/events {transferred}"))
	must(t, db.bolt.Update(func(tx *bbolt.Tx) error {
		return storeKey(tx, []byte("old-1"), hash, []byte(`{"first":true}`), db.clock.Now())
	}))
	ev := policy.Event{Type: policy.EvTransferred, On: date("2026-11-19")}
	o, err := db.Append(registry.Write{Actor: desk, IdempotencyKey: "old-1", RequestHash: hash, Answer: answer}, "S1", ev)
	must(t, err)
	if string(o.Replay) != `{"first":true}` {
		t.Fatalf("retry of an unscoped key: %+v; want the stored answer", o)
	}
	_, err = db.Append(registry.Write{Actor: desk, IdempotencyKey: "old-1", RequestHash: [32]byte{1}, Answer: answer}, "S1", ev)
	wantCode(t, err, policy.EConflict, "Idempotency-Key")

	db.clock.Advance(registry.IdempotencyTTL + time.Hour)
	_, err = db.Append(registry.Write{Actor: desk, IdempotencyKey: "new-1", RequestHash: hash, Answer: answer}, "S1", ev)
	must(t, err)
	must(t, db.bolt.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketIdempotency).Get([]byte("old-1")) != nil {
			t.Error("an expired unscoped key was kept")
		}
		return nil
	}))
}
