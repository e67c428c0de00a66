package postgres

import (
	"crypto/sha256"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
	"github.com/sanbao/sanbao/registry/storetest"
)

// TestMigrateBoltToPostgresAndBack: a registry of every kind of record
// copied from a bbolt file into PostgreSQL and from there into a new file
// reads the same in all three (Digest: counts and every item's history),
// and the copies keep working: keys authenticate, an Idempotency-Key
// replays, the check-code secret is the same.
func TestMigrateBoltToPostgresAndBack(t *testing.T) {
	clock := storetest.NewClock()
	dir := t.TempDir()
	src, err := bolt.Open(filepath.Join(dir, "src.db"), bolt.Options{Options: registry.Options{Now: clock.Now}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	admin := registry.Actor{KeyID: "adminkey0001", Name: "admin"}
	for _, m := range []policy.Model{
		{SKU: "P1", Name: "Mask One", Kind: policy.KindProduct},
		{SKU: "CHG", Name: "Charger", Kind: policy.KindAccessory},
	} {
		if _, _, err := src.PutModel(admin, m); err != nil {
			t.Fatal(err)
		}
	}
	_, err = src.Register(admin, []registry.Row{
		{Serial: "S1", SKU: "P1", Batch: "B1", Accessories: []registry.Bundle{{SKU: "CHG", Batch: "CB1"}}},
		{Serial: "S2", SKU: "P1", Batch: "B1"},
		{Serial: "S3", SKU: "P1", Batch: "B2", ProducedOn: policy.Date{Year: 2026, Month: 10, Day: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := src.CreateKey(admin, "desk", registry.RoleService)
	if err != nil {
		t.Fatal(err)
	}
	hook, err := src.CreateSubscription(admin, "https://erp.example.com/hook", []string{"received", "replaced"})
	if err != nil {
		t.Fatal(err)
	}
	at := func(ago time.Duration) time.Time { return clock.Now().Add(-ago) }
	w := registry.Write{Actor: admin}
	for _, e := range []struct {
		serial string
		ev     policy.Event
	}{
		{"S1", policy.Event{Type: policy.EvDispatched, On: policy.Date{Year: 2026, Month: 11, Day: 10}, Order: "O1"}},
		{"S1", policy.Event{Type: policy.EvReceived, On: policy.Date{Year: 2026, Month: 11, Day: 11}, Evidence: policy.Courier}},
		{"S1", policy.Event{Type: policy.EvIntake, At: at(5 * time.Hour), Center: "Shenzhen"}},
		{"S1", policy.Event{Type: policy.EvAccessoryReplaced, At: at(4 * time.Hour), SKU: "CHG", NewBatch: "CB2"}},
		{"S1", policy.Event{Type: policy.EvDiagnosed, At: at(3 * time.Hour).In(time.FixedZone("", 8*3600)), Finding: policy.QualityProblem}},
		{"S1", policy.Event{Type: policy.EvReplaced, At: at(2 * time.Hour), NewSerial: "S2"}},
		{"S3", policy.Event{Type: policy.EvReceived, On: policy.Date{Year: 2026, Month: 11, Day: 12}, Evidence: policy.Customer}},
		{"S3", policy.Event{Type: policy.EvIntake, At: at(time.Hour), Center: "Beijing"}},
	} {
		if _, err := src.Append(w, e.serial, e.ev); err != nil {
			t.Fatalf("%s %s: %v", e.serial, e.ev.Type, err)
		}
	}
	keyed := registry.Write{Actor: admin, IdempotencyKey: "k-1", RequestHash: sha256.Sum256([]byte("req")),
		Answer: func(o registry.Outcome) ([]byte, error) { return json.Marshal(o.Appended) }}
	first, err := src.Append(keyed, "S3", policy.Event{Type: policy.EvTransferred, On: policy.Date{Year: 2026, Month: 11, Day: 19}})
	if err != nil {
		t.Fatal(err)
	}
	src.Scan("S2", clock.Now())
	// Deliveries of every status: delivered, dead, pending after a failure.
	claimed, err := src.ClaimDeliveries(clock.Now(), time.Minute, 10)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claimed %d deliveries (%v); want 3", len(claimed), err)
	}
	if err := src.FinishDeliveries([]registry.Attempt{
		{Subscription: hook.ID, Delivery: claimed[0].ID, At: clock.Now(), Delivered: true},
		{Subscription: hook.ID, Delivery: claimed[1].ID, At: clock.Now(), Error: "HTTP 500"},
		{Subscription: hook.ID, Delivery: claimed[2].ID, At: clock.Now(), Error: "HTTP 503", Retry: clock.Now().Add(time.Minute)},
	}); err != nil {
		t.Fatal(err)
	}
	// Notices: one on a production batch, one on an accessory batch.
	for _, n := range []registry.Notice{
		{Batch: "B1", Severity: registry.SeverityRecall, Text: "电池召回", TextEN: "Battery recall", Since: policy.Date{Year: 2026, Month: 11, Day: 18}},
		{Batch: "CB2", Severity: registry.SeverityAdvisory, Text: "充电器提示", Since: policy.Date{Year: 2026, Month: 11, Day: 19}},
	} {
		if _, _, err := src.PutNotice(admin, n); err != nil {
			t.Fatal(err)
		}
	}
	notices, err := src.Notices()
	if err != nil {
		t.Fatal(err)
	}
	want, err := registry.Digest(src)
	if err != nil {
		t.Fatal(err)
	}
	if want.Items != 3 || want.Events != 9 || want.Carriers != 2 || want.Keys != 1 || want.Idempotency != 1 || want.Webhooks != 1 || want.Deliveries != 3 || want.Notices != 2 {
		t.Fatalf("source %v", want)
	}

	pg := openTest(t, schemaDSN(t), registry.Options{Now: clock.Now})
	if err := pg.Load(func(sink registry.Sink) error { return src.Dump(sink) }); err != nil {
		t.Fatal(err)
	}
	if got, err := registry.Digest(pg); err != nil || got != want {
		t.Fatalf("PostgreSQL copy %v (%v); want %v", got, err, want)
	}
	if err := pg.Load(func(sink registry.Sink) error { return src.Dump(sink) }); policy.ErrorCode(err) != policy.EConflict {
		t.Fatalf("a second load into a registry holding data: %v; want a conflict", err)
	}
	back, err := bolt.Open(filepath.Join(dir, "back.db"), bolt.Options{Options: registry.Options{Now: clock.Now}})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if err := back.Load(func(sink registry.Sink) error { return pg.Dump(sink) }); err != nil {
		t.Fatal(err)
	}
	if got, err := registry.Digest(back); err != nil || got != want {
		t.Fatalf("copy back to a file %v (%v); want %v", got, err, want)
	}
	if err := back.Check(); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]registry.Store{"postgres": pg, "file": back} {
		if _, err := s.Authenticate(token); err != nil {
			t.Errorf("%s: the migrated key: %v", name, err)
		}
		if string(s.CheckSecrets()[0]) != string(src.CheckSecrets()[0]) {
			t.Errorf("%s: the check-code secret changed", name)
		}
		o, err := s.Append(keyed, "S3", policy.Event{Type: policy.EvTransferred, On: policy.Date{Year: 2026, Month: 11, Day: 19}})
		if want, _ := json.Marshal(first.Appended); err != nil || string(o.Replay) != string(want) {
			t.Errorf("%s: the migrated Idempotency-Key: %v %q", name, err, o.Replay)
		}
		if got, err := s.Notices(); err != nil || !slices.Equal(got, notices) {
			t.Errorf("%s: notices %+v (%v); want %+v", name, got, err, notices)
		}
		p, err := s.Batch("CB2", "", 0)
		if err != nil || !slices.Equal(p.CarriedBy, []string{"S1"}) {
			t.Errorf("%s: batch CB2 %+v %v", name, p, err)
		}
		if cases, err := s.OpenCases(); err != nil || len(cases) != 1 || cases[0].Item.Serial != "S3" {
			t.Errorf("%s: open cases %+v %v", name, cases, err)
		}
		if st, _ := s.Stats(); st != (registry.Stats{Items: 3, Models: 2, OpenCases: 1}) {
			t.Errorf("%s: stats %+v", name, st)
		}
		if rec, err := s.Get("S2"); err != nil || rec.Scans.Count != 1 || rec.Item.Replaces != "S1" {
			t.Errorf("%s: S2 %+v %v", name, rec, err)
		}
		// The pending delivery is still due, with its id; a new event's
		// delivery is numbered after the copied ones.
		due, err := s.ClaimDeliveries(clock.Now().Add(time.Hour), time.Minute, 10)
		if err != nil || len(due) != 1 || due[0].ID != claimed[2].ID || due[0].Attempts != 1 || len(due[0].Secret) != 32 {
			t.Errorf("%s: due deliveries %+v %v", name, due, err)
		}
		if _, err := s.Append(w, "S2", policy.Event{Type: policy.EvReceived, On: policy.Date{Year: 2026, Month: 11, Day: 20}, Evidence: policy.Courier}); err != nil {
			t.Fatalf("%s: a receipt after the copy: %v", name, err)
		}
		if ds, _, err := s.Deliveries(hook.ID, "", "", 1); err != nil || len(ds) != 1 || ds[0].ID <= claimed[2].ID || ds[0].Serial != "S2" {
			t.Errorf("%s: the newest delivery %+v %v; want S2's, after %s", name, ds, err, claimed[2].ID)
		}
	}
}
