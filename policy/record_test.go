package policy

import (
	"slices"
	"testing"
	"time"
)

func TestAccessoriesOnRecordCarryTheLatestExchangedBatch(t *testing.T) {
	p := Default()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	item := Item{Serial: "S1", SKU: "P1", Kind: KindProduct, WarrantyMonths: 12, Batch: "B1",
		Accessories: []Accessory{
			{SKU: "CHG-1", Batch: "CB1", Kind: KindAdapter, WarrantyMonths: 12},
			{SKU: "CBL-1", Batch: "CC1", Kind: KindAccessory, WarrantyMonths: 12},
		}}
	received := Event{Seq: 1, Type: EvReceived, On: Date{2026, 3, 1}, Evidence: Courier}
	first := Event{Seq: 2, Type: EvAccessoryReplaced, At: at("2026-05-01T10:00:00+08:00"), SKU: "CHG-1", NewBatch: "CB2"}
	second := Event{Seq: 3, Type: EvAccessoryReplaced, At: at("2026-09-01T10:00:00+08:00"), SKU: "CHG-1", NewBatch: "CB3"}
	backfilled := Event{Seq: 4, Type: EvAccessoryReplaced, At: at("2026-04-01T10:00:00+08:00"), SKU: "CHG-1", NewBatch: "CB0"}
	for _, tt := range []struct {
		name    string
		history []Event
		want    []string
	}{
		{"no exchange keeps the batches registered", []Event{received}, []string{"CB1", "CC1"}},
		{"an exchange puts its new batch on record", []Event{received, first}, []string{"CB2", "CC1"}},
		{"the latest of two exchanges is on record", []Event{received, first, second}, []string{"CB3", "CC1"}},
		{"a back-filled earlier exchange does not displace the latest", []Event{received, first, second, backfilled}, []string{"CB3", "CC1"}},
		{"an exchange before any receipt still counts", []Event{first}, []string{"CB2", "CC1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, a := range p.AccessoriesOnRecord(item, tt.history) {
				got = append(got, a.Batch)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("batches on record %v, want %v", got, tt.want)
			}
			if item.Accessories[0].Batch != "CB1" {
				t.Fatal("AccessoriesOnRecord changed the item it was given")
			}
		})
	}
	if got := p.AccessoriesOnRecord(Item{Serial: "S2"}, nil); got != nil {
		t.Errorf("an item without accessories: %v, want nil", got)
	}
}
