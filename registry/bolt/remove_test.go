package bolt

import (
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// An unregistered serial leaves every count and index it was in: its
// batch (as a member), the batches of its bundled accessories (as a
// carrier, once however many accessories share a batch) and the item
// counter; a batch left empty is no longer listed.
func TestDeleteItemLeavesCountsAndIndexes(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	bundle := []registry.Bundle{{SKU: "CHG", Batch: "AB1"}, {SKU: "ADP", Batch: "AB1"}}
	_, err := db.Register(admin, []registry.Row{
		{Serial: "S1", SKU: "P1", Batch: "B1", ProducedOn: date("2026-10-01"), Accessories: bundle},
		{Serial: "S2", SKU: "P1", Batch: "B1", ProducedOn: date("2026-10-01"), Accessories: bundle},
		{Serial: "S3", SKU: "P1", Batch: "B2", ProducedOn: date("2026-10-01")},
	})
	must(t, err)

	must(t, db.DeleteItem(admin, " S1 ", "typed twice"))
	if _, err := db.Get("S1"); policy.ErrorCode(err) != policy.ENotFound {
		t.Errorf("Get(S1) after the deletion: %v, want not_found", err)
	}
	b1, err := db.Batch("B1", "", 0)
	must(t, err)
	if b1.Count != 1 || len(b1.Serials) != 1 || b1.Serials[0] != "S2" {
		t.Errorf("batch B1: count %d, serials %v; want 1, [S2]", b1.Count, b1.Serials)
	}
	ab, err := db.Batch("AB1", "", 0)
	must(t, err)
	if ab.Carriers != 1 || len(ab.CarriedBy) != 1 || ab.CarriedBy[0] != "S2" {
		t.Errorf("accessory batch AB1: carriers %d, carried by %v; want 1, [S2]", ab.Carriers, ab.CarriedBy)
	}
	must(t, db.DeleteItem(admin, "S3", "wrong batch"))
	list, err := db.Batches()
	must(t, err)
	for _, b := range list {
		if b.Batch == "B2" {
			t.Errorf("the emptied batch B2 is still listed: %+v", b)
		}
	}
	if _, err := db.Batch("B2", "", 0); policy.ErrorCode(err) != policy.ENotFound {
		t.Errorf("Batch(B2) after its last serial left: %v, want not_found", err)
	}
	st, err := db.Stats()
	must(t, err)
	if st.Items != 1 {
		t.Errorf("items counter %d, want 1", st.Items)
	}
	register(t, db, "P1", "B2", "S3")
	if _, err := db.Get("S3"); err != nil {
		t.Errorf("S3 registered again: %v", err)
	}
}

func TestDeleteItemRefusals(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1", "S2")
	_, err := db.Append(registry.Write{Actor: admin}, "S2", policy.Event{Type: policy.EvDispatched, On: date("2026-10-05"), Order: "O1"})
	must(t, err)
	for _, tc := range []struct {
		name, serial, reason, code, field string
	}{
		{"no reason", "S1", "", policy.EInvalid, "reason"},
		{"a blank reason", "S1", "  ", policy.EInvalid, "reason"},
		{"a malformed serial", "S 1", "x", policy.EInvalid, "serial"},
		{"an unknown serial", "S9", "x", policy.ENotFound, "serial"},
		{"a serial with an event", "S2", "x", policy.EConflict, "serial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.DeleteItem(admin, tc.serial, tc.reason)
			wantCode(t, err, tc.code)
			if pe, ok := err.(*policy.Error); !ok || pe.Field != tc.field {
				t.Errorf("error %v, want field %s", err, tc.field)
			}
		})
	}
}

// A model is deleted only while no item uses it, as its model or as a
// bundled accessory's.
func TestDeleteModelOnlyWhileUnused(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	_, err := db.Register(admin, []registry.Row{{Serial: "S1", SKU: "P1", Batch: "B1", ProducedOn: date("2026-10-01"),
		Accessories: []registry.Bundle{{SKU: "ADP", Batch: "AB1"}}}})
	must(t, err)
	wantCode(t, db.DeleteModel(admin, "P1"), policy.EConflict, "S1")
	wantCode(t, db.DeleteModel(admin, "ADP"), policy.EConflict, "S1")
	wantCode(t, db.DeleteModel(admin, "NOPE"), policy.ENotFound)
	must(t, db.DeleteModel(admin, "P24"))
	must(t, db.DeleteModel(admin, "CHG"))
	if _, err := db.Model("P24"); policy.ErrorCode(err) != policy.ENotFound {
		t.Errorf("Model(P24) after the deletion: %v", err)
	}
	st, err := db.Stats()
	must(t, err)
	if st.Models != 2 {
		t.Errorf("models counter %d, want 2", st.Models)
	}
}

// Order lists the serials of an order's last dispatch, corrections
// followed.
func TestOrderFollowsTheLastDispatch(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1", "S2")
	for _, s := range []string{"S2", "S1"} {
		_, err := db.Append(registry.Write{Actor: admin}, s, policy.Event{Type: policy.EvDispatched, On: date("2026-10-05"), Order: "O1"})
		must(t, err)
	}
	_, err := db.Append(registry.Write{Actor: admin}, "S2", policy.Event{Type: policy.EvCorrected, Corrects: 1, Reason: "wrong order", Order: "O2"})
	must(t, err)
	lines, err := db.Order("O1")
	must(t, err)
	if len(lines) != 1 || lines[0].Serial != "S1" || lines[0].State != policy.Dispatched || lines[0].DispatchedOn != date("2026-10-05") {
		t.Errorf("order O1: %+v, want S1 alone, dispatched on 2026-10-05", lines)
	}
	lines, err = db.Order("O2")
	must(t, err)
	if len(lines) != 1 || lines[0].Serial != "S2" {
		t.Errorf("order O2: %+v, want S2", lines)
	}
	wantCode(t, func() error { _, err := db.Order("O9"); return err }(), policy.ENotFound)
}
