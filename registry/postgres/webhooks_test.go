package postgres

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// TestReplicasClaimEachDeliveryOnce: two replicas on one database claiming
// at the same time get disjoint deliveries, which together are every one.
func TestReplicasClaimEachDeliveryOnce(t *testing.T) {
	dsn := schemaDSN(t)
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	o := registry.Options{Now: func() time.Time { return now }}
	a, b := openTest(t, dsn, o), openTest(t, dsn, o)
	actor := registry.Actor{Name: "test"}
	if _, _, err := a.PutModel(actor, policy.Model{SKU: "P1", Name: "Mask", Kind: policy.KindProduct}); err != nil {
		t.Fatal(err)
	}
	const n = 300
	rows := make([]registry.Row, n)
	evs := make([]registry.EventRow, n)
	for i := range rows {
		rows[i] = registry.Row{Serial: fmt.Sprintf("R%04d", i), SKU: "P1", Batch: "B1", ProducedOn: policy.Date{Year: 2026, Month: 10, Day: 1}}
		evs[i] = registry.EventRow{Serial: rows[i].Serial, Event: policy.Event{Type: policy.EvDispatched, On: policy.Date{Year: 2026, Month: 11, Day: 1}, Order: "O1"}}
	}
	if _, err := a.Register(actor, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateSubscription(actor, "https://erp.example.com/hook", []string{"*"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AppendMany(registry.Write{Actor: actor}, evs); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for _, s := range []*Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := s.ClaimDeliveries(now, time.Hour, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
					if d.Event.Seq != 1 || d.Record.Item.Serial != d.Serial {
						t.Errorf("claimed %s without its event: %+v", d.ID, d.Event)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d deliveries claimed; want %d", len(seen), n)
	}
	for id, times := range seen {
		if times != 1 {
			t.Errorf("delivery %s claimed %d times", id, times)
		}
	}
}
