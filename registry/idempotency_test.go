package registry

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	bolt "go.etcd.io/bbolt"
)

// TestIdempotencyKeysAreTheCallers: the contract's retry guarantee is per
// client. Another key sending the same Idempotency-Key and the same request
// is a new write, never the first caller's answer replayed.
func TestIdempotencyKeysAreTheCallers(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1")
	dock := Actor{KeyID: "dockkey00001", Name: "dock 1"}
	root := Actor{KeyID: "rootkey00001", Name: "root"}
	hash := sha256.Sum256([]byte("POST /api/v1/items/S1/events {transferred}"))
	ev := policy.Event{Type: policy.EvTransferred, On: date("2026-11-19")}
	for i, who := range []Actor{dock, root} {
		o, err := db.Append(Write{Actor: who, IdempotencyKey: "rep-1", RequestHash: hash, Answer: answer}, "S1", ev)
		must(t, err)
		if o.Replay != nil || len(o.Appended) != 1 {
			t.Fatalf("caller %d (%s): %+v; want a new write, not a replay", i, who.Name, o)
		}
	}
	// Each caller's retry is still its own replay.
	for _, who := range []Actor{dock, root} {
		o, err := db.Append(Write{Actor: who, IdempotencyKey: "rep-1", RequestHash: hash, Answer: answer}, "S1", ev)
		must(t, err)
		if o.Replay == nil {
			t.Fatalf("%s's retry wrote again", who.Name)
		}
	}
	// A conflict is the caller's too: another body under root's key is
	// refused, and dock's key is untouched by it.
	_, err := db.Append(Write{Actor: root, IdempotencyKey: "rep-1", RequestHash: [32]byte{7}, Answer: answer}, "S1", ev)
	wantCode(t, err, policy.EConflict, "Idempotency-Key reused with a different request")
	if rec, _ := db.Get("S1"); len(rec.History) != 2 {
		t.Fatalf("history holds %d events; want 2 (one per caller)", len(rec.History))
	}
	// Callers without a key (customer confirmations) are scoped by name.
	cust := Actor{Name: "customer"}
	o, err := db.Append(Write{Actor: cust, IdempotencyKey: "rep-1", RequestHash: hash, Answer: answer}, "S1", ev)
	must(t, err)
	if o.Replay != nil {
		t.Fatal("a keyless caller got a keyed caller's answer")
	}
}

// TestUnscopedKeysStillAnswerTheirRetries: a key stored before keys were
// scoped to their caller (an upgrade within the 24 hours) still answers a
// retry instead of writing the event twice, and is pruned like any other.
func TestUnscopedKeysStillAnswerTheirRetries(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1")
	hash := sha256.Sum256([]byte("POST /api/v1/items/S1/events {transferred}"))
	must(t, db.bolt.Update(func(tx *bolt.Tx) error {
		return storeKey(tx, []byte("old-1"), hash, []byte(`{"first":true}`), db.clock.Now())
	}))
	ev := policy.Event{Type: policy.EvTransferred, On: date("2026-11-19")}
	o, err := db.Append(Write{Actor: desk, IdempotencyKey: "old-1", RequestHash: hash, Answer: answer}, "S1", ev)
	must(t, err)
	if string(o.Replay) != `{"first":true}` {
		t.Fatalf("retry of an unscoped key: %+v; want the stored answer", o)
	}
	_, err = db.Append(Write{Actor: desk, IdempotencyKey: "old-1", RequestHash: [32]byte{1}, Answer: answer}, "S1", ev)
	wantCode(t, err, policy.EConflict, "Idempotency-Key")

	db.clock.Advance(IdempotencyTTL + time.Hour)
	_, err = db.Append(Write{Actor: desk, IdempotencyKey: "new-1", RequestHash: hash, Answer: answer}, "S1", ev)
	must(t, err)
	must(t, db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketIdempotency).Get([]byte("old-1")) != nil {
			t.Error("an expired unscoped key was kept")
		}
		return nil
	}))
}
