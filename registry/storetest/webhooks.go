package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// Webhooks: subscriptions, the outbox filled by every event write, claims
// with leases, attempts recorded, dead deliveries retried.

func (e *env) subscribe(url string, events ...string) registry.Subscription {
	e.t.Helper()
	s, err := e.s.CreateSubscription(admin, url, events)
	if err != nil {
		e.t.Fatalf("CreateSubscription(%s, %v): %v", url, events, err)
	}
	return s
}

// queued lists a webhook's deliveries oldest first as "type serial seq status".
func (e *env) queued(sub string) []string {
	e.t.Helper()
	ds, _, err := e.s.Deliveries(sub, "", "", registry.MaxLimit)
	must(e.t, err)
	var out []string
	for _, d := range slices.Backward(ds) {
		out = append(out, fmt.Sprintf("%s %s %d %s", d.Type, d.Serial, d.Seq, d.Status))
	}
	return out
}

func testCreateSubscriptionChecksURLAndEvents(t *testing.T, h Harness) {
	e := open(t, h)
	for _, c := range []struct {
		name, url string
		events    []string
		field     string
	}{
		{"no url", "", []string{"*"}, "url"},
		{"ftp scheme", "ftp://erp.example.com/hook", []string{"*"}, "url"},
		{"relative", "/hook", []string{"*"}, "url"},
		{"no host", "https:///hook", []string{"*"}, "url"},
		{"credentials in the url", "https://user:pw@erp.example.com/hook", []string{"*"}, "url"},
		{"no events", "https://erp.example.com/hook", nil, "events"},
		{"unknown event type", "https://erp.example.com/hook", []string{"received", "sold"}, "events"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.s.CreateSubscription(admin, c.url, c.events)
			wantCode(t, err, policy.EInvalid)
			if f := err.(*policy.Error).Field; f != c.field {
				t.Fatalf("field %q; want %q (%v)", f, c.field, err)
			}
		})
	}
	subs, err := e.s.Subscriptions()
	must(t, err)
	if len(subs) != 0 {
		t.Fatalf("refused subscriptions were stored: %+v", subs)
	}
}

func testSubscriptionSecretIsReturnedOnceAndNeverListed(t *testing.T, h Harness) {
	e := open(t, h)
	s := e.subscribe(" https://erp.example.com/hook ", "received", "replaced", "received")
	if len(s.Secret) != 32 || !strings.HasPrefix(s.ID, "wh_") || s.URL != "https://erp.example.com/hook" {
		t.Fatalf("created %+v", s)
	}
	if !slices.Equal(s.Events, []string{"received", "replaced"}) {
		t.Fatalf("events %v; want the duplicates dropped", s.Events)
	}
	got, err := e.s.Subscription(s.ID)
	must(t, err)
	list, err := e.s.Subscriptions()
	must(t, err)
	if got.Secret != nil || len(list) != 1 || list[0].Secret != nil || list[0].ID != s.ID {
		t.Fatalf("read back %+v, listed %+v: the secret must not be", got, list)
	}
	wild := e.subscribe("https://crm.example.com/", "received", "*")
	if !slices.Equal(wild.Events, []string{"*"}) {
		t.Fatalf("events %v; want [*]", wild.Events)
	}
	_, err = e.s.Subscription("wh_nosuchhook0")
	wantCode(t, err, policy.ENotFound)
}

func testEveryEventWritePathQueuesOneDeliveryPerMatchingSubscription(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1", "S2", "S3")
	all := e.subscribe("https://erp.example.com/all", "*")
	recv := e.subscribe("https://erp.example.com/recv", "received")

	e.append("S1", dispatch("2026-11-10", "O1"))
	_, err := e.s.AppendMany(registry.Write{Actor: desk}, []registry.EventRow{
		{Serial: "S2", Event: dispatch("2026-11-10", "O1")}, {Serial: "S3", Event: dispatch("2026-11-10", "O2")}, {Serial: "S3", Event: receive("2026-11-12")},
	})
	must(t, err)
	_, err = e.s.ReceiveOrder(registry.Write{Actor: desk}, "O1", date("2026-11-13"), policy.Courier)
	must(t, err)
	e.append("S1", policy.Event{Type: policy.EvCorrected, Corrects: 1, Order: "O9", Reason: "wrong order typed"})

	wantAll := []string{
		"dispatched S1 1 pending",
		"dispatched S2 1 pending", "dispatched S3 1 pending", "received S3 2 pending",
		"received S1 2 pending", "received S2 2 pending",
		"corrected S1 3 pending",
	}
	if got := e.queued(all.ID); !slices.Equal(got, wantAll) {
		t.Fatalf("deliveries to * =\n%q\nwant\n%q", got, wantAll)
	}
	wantRecv := []string{"received S3 2 pending", "received S1 2 pending", "received S2 2 pending"}
	if got := e.queued(recv.ID); !slices.Equal(got, wantRecv) {
		t.Fatalf("deliveries to received =\n%q\nwant\n%q", got, wantRecv)
	}
	n, err := e.s.PendingDeliveries()
	must(t, err)
	if n != 10 {
		t.Fatalf("outbox holds %d; want 10", n)
	}
}

func testARefusedWriteQueuesNothing(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1", "S2")
	sub := e.subscribe("https://erp.example.com/all", "*")
	_, err := e.s.AppendMany(registry.Write{Actor: desk}, []registry.EventRow{
		{Serial: "S1", Event: dispatch("2026-11-10", "O1")}, {Serial: "S2", Event: receive("2026-11-12")},
		{Serial: "NOPE", Event: dispatch("2026-11-10", "O1")},
	})
	wantCode(t, err, policy.EInvalid)
	_, err = e.s.Append(registry.Write{Actor: desk}, "S1", policy.Event{Type: policy.EvCorrected, Corrects: 7, Reason: "x"})
	if err == nil {
		t.Fatal("correcting a missing event was accepted")
	}
	if got := e.queued(sub.ID); len(got) != 0 {
		t.Fatalf("refused writes queued %q", got)
	}
}

func testAClaimedDeliveryCarriesTheItemAsItStoodAfterTheEvent(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1")
	e.subscribe("https://erp.example.com/all", "dispatched", "transferred")
	e.append("S1", dispatch("2026-11-10", "O1"))
	e.append("S1", receive("2026-11-12"))
	e.append("S1", policy.Event{Type: policy.EvTransferred, On: date("2026-11-14"), Note: "to Beijing"})
	ds, err := e.s.ClaimDeliveries(e.clock.Now(), time.Minute, 10)
	must(t, err)
	if len(ds) != 2 {
		t.Fatalf("claimed %d; want 2", len(ds))
	}
	for i, want := range []struct {
		seq   uint64
		typ   policy.EventType
		types []policy.EventType
	}{
		{1, policy.EvDispatched, []policy.EventType{policy.EvDispatched}},
		{3, policy.EvTransferred, []policy.EventType{policy.EvDispatched, policy.EvReceived, policy.EvTransferred}},
	} {
		d := ds[i]
		var types []policy.EventType
		for _, ev := range d.Record.History {
			types = append(types, ev.Type)
		}
		if d.Event.Seq != want.seq || d.Event.Type != want.typ || d.Seq != want.seq || d.Record.Item.Serial != "S1" || !slices.Equal(types, want.types) {
			t.Errorf("claim %d: event %d %s, history %v; want %d %s, %v", i, d.Event.Seq, d.Event.Type, types, want.seq, want.typ, want.types)
		}
	}
}

func testClaimLeasesDeliveriesUntilTheAttemptIsRecorded(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1", "S2", "S3")
	sub := e.subscribe("https://erp.example.com/all", "*")
	for _, s := range []string{"S1", "S2", "S3"} {
		e.append(s, dispatch("2026-11-10", "O1"))
	}
	now := e.clock.Now()
	first, err := e.s.ClaimDeliveries(now, 30*time.Second, 2)
	must(t, err)
	if len(first) != 2 || first[0].Serial != "S1" || first[1].Serial != "S2" || first[0].URL != "https://erp.example.com/all" || len(first[0].Secret) != 32 {
		t.Fatalf("first claim %+v", first)
	}
	second, err := e.s.ClaimDeliveries(now, 30*time.Second, 10)
	must(t, err)
	if len(second) != 1 || second[0].Serial != "S3" {
		t.Fatalf("second claim %+v; want only S3 (S1 and S2 are leased)", second)
	}
	// S1 delivered, S2 failed (due in a minute); S3's lease runs out.
	must(t, e.s.FinishDeliveries([]registry.Attempt{
		{Subscription: first[0].Subscription, Delivery: first[0].ID, At: now, Delivered: true},
		{Subscription: first[1].Subscription, Delivery: first[1].ID, At: now, Error: "HTTP 500: oops", Retry: now.Add(time.Minute)},
	}))
	later, err := e.s.ClaimDeliveries(now.Add(31*time.Second), time.Hour, 10)
	must(t, err)
	if len(later) != 1 || later[0].Serial != "S3" || later[0].ID != second[0].ID {
		t.Fatalf("after the lease %+v; want S3 again with the same id", later)
	}
	retry, err := e.s.ClaimDeliveries(now.Add(61*time.Second), 30*time.Second, 10)
	must(t, err)
	if len(retry) != 1 || retry[0].ID != first[1].ID || retry[0].Attempts != 1 || retry[0].LastError != "HTTP 500: oops" {
		t.Fatalf("retry claim %+v; want S2 with its first attempt's error", retry)
	}
	want := []string{"dispatched S1 1 delivered", "dispatched S2 1 pending", "dispatched S3 1 pending"}
	if got := e.queued(sub.ID); !slices.Equal(got, want) {
		t.Fatalf("deliveries %q; want %q", got, want)
	}
}

func testADeadDeliveryCanBeRetriedAndNothingElse(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1", "S2")
	sub := e.subscribe("https://erp.example.com/all", "*")
	e.append("S1", dispatch("2026-11-10", "O1"))
	e.append("S2", dispatch("2026-11-10", "O1"))
	now := e.clock.Now()
	ds, err := e.s.ClaimDeliveries(now, time.Minute, 10)
	must(t, err)
	must(t, e.s.FinishDeliveries([]registry.Attempt{{Subscription: ds[0].Subscription, Delivery: ds[0].ID, At: now, Error: "connection refused"}}))
	must(t, e.s.FinishDeliveries([]registry.Attempt{{Subscription: ds[1].Subscription, Delivery: ds[1].ID, At: now, Delivered: true}}))
	// A second outcome for a finished delivery changes nothing.
	must(t, e.s.FinishDeliveries([]registry.Attempt{{Subscription: ds[1].Subscription, Delivery: ds[1].ID, At: now, Error: "late"}}))

	dead, _, err := e.s.Deliveries(sub.ID, registry.DeliveryDead, "", 0)
	must(t, err)
	if len(dead) != 1 || dead[0].ID != ds[0].ID || dead[0].LastError != "connection refused" || dead[0].Attempts != 1 {
		t.Fatalf("dead deliveries %+v", dead)
	}
	if none, err := e.s.ClaimDeliveries(now.Add(time.Hour), time.Minute, 10); err != nil || len(none) != 0 {
		t.Fatalf("claimed %+v, %v; dead and delivered ones are not due", none, err)
	}
	_, err = e.s.RetryDelivery(admin, sub.ID, ds[1].ID)
	wantCode(t, err, policy.EConflict, "delivered")
	_, err = e.s.RetryDelivery(admin, sub.ID, "msg_0000000000000099")
	wantCode(t, err, policy.ENotFound)
	_, err = e.s.RetryDelivery(admin, sub.ID, "nonsense")
	wantCode(t, err, policy.ENotFound)

	e.clock.Advance(2 * time.Hour)
	d, err := e.s.RetryDelivery(admin, sub.ID, ds[0].ID)
	must(t, err)
	if d.Status != registry.DeliveryPending || !d.Since.Equal(e.clock.Now()) || d.Attempts != 1 {
		t.Fatalf("retried %+v; want pending, a new window, the attempts kept", d)
	}
	again, err := e.s.ClaimDeliveries(e.clock.Now(), time.Minute, 10)
	must(t, err)
	if len(again) != 1 || again[0].ID != ds[0].ID {
		t.Fatalf("claimed %+v after the retry", again)
	}
	entries, _, err := e.s.Audit("", 0)
	must(t, err)
	if last := entries[len(entries)-1]; last.Action != "webhook.retry" || last.Target != ds[0].ID {
		t.Fatalf("last audit entry %+v; want webhook.retry of %s", last, ds[0].ID)
	}
}

func testDeliveriesAreListedNewestFirstByPage(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1")
	a := e.subscribe("https://erp.example.com/a", "*")
	b := e.subscribe("https://erp.example.com/b", "*")
	e.append("S1", dispatch("2026-11-10", "O1"))
	e.append("S1", receive("2026-11-12"))
	e.append("S1", policy.Event{Type: policy.EvTransferred, On: date("2026-11-14")})
	page, next, err := e.s.Deliveries(b.ID, "", "", 2)
	must(t, err)
	if len(page) != 2 || page[0].Seq != 3 || page[1].Seq != 2 || next != page[1].ID {
		t.Fatalf("first page %+v next %q", page, next)
	}
	page, next, err = e.s.Deliveries(b.ID, "", next, 2)
	must(t, err)
	if len(page) != 1 || page[0].Seq != 1 || page[0].Subscription != b.ID || next != "" {
		t.Fatalf("second page %+v next %q", page, next)
	}
	if page, _, err := e.s.Deliveries(a.ID, registry.DeliveryDelivered, "", 0); err != nil || len(page) != 0 {
		t.Fatalf("delivered of a: %+v %v", page, err)
	}
	_, _, err = e.s.Deliveries(a.ID, "lost", "", 0)
	wantCode(t, err, policy.EInvalid, "status")
	_, _, err = e.s.Deliveries(a.ID, "", "msg_x", 0)
	wantCode(t, err, policy.EInvalid, "after")
	_, _, err = e.s.Deliveries("wh_nosuchhook0", "", "", 0)
	wantCode(t, err, policy.ENotFound)
}

func testDeletingASubscriptionDropsItsPendingDeliveries(t *testing.T, h Harness) {
	e := open(t, h)
	e.seedModels()
	e.register("P1", "B1", "S1")
	gone := e.subscribe("https://erp.example.com/gone", "*")
	kept := e.subscribe("https://erp.example.com/kept", "*")
	e.append("S1", dispatch("2026-11-10", "O1"))
	claimed, err := e.s.ClaimDeliveries(e.clock.Now(), time.Minute, 10)
	must(t, err)
	must(t, e.s.DeleteSubscription(admin, gone.ID))
	wantCode(t, e.s.DeleteSubscription(admin, gone.ID), policy.ENotFound)
	for _, c := range claimed {
		// An attempt in flight when its webhook went is dropped quietly.
		must(t, e.s.FinishDeliveries([]registry.Attempt{{Subscription: c.Subscription, Delivery: c.ID, At: e.clock.Now(), Error: "HTTP 500", Retry: e.clock.Now()}}))
	}
	e.append("S1", receive("2026-11-12"))
	n, err := e.s.PendingDeliveries()
	must(t, err)
	want := []string{"dispatched S1 1 pending", "received S1 2 pending"}
	if got := e.queued(kept.ID); !slices.Equal(got, want) || n != 2 {
		t.Fatalf("kept webhook's deliveries %q, outbox %d; want %q and 2", got, n, want)
	}
}
