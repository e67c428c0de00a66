package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sanbao/sanbao/registry"
)

// receiver is a webhook endpoint on 127.0.0.1 that verifies every
// signature as the Standard Webhooks specification says a receiver must,
// written here independently of signWebhook.
type receiver struct {
	t      *testing.T
	ts     *httptest.Server
	secret []byte

	mu       sync.Mutex
	answer   func(n int) (int, string) // status and body of the n-th request (0-based)
	requests []hook
}

// hook is one verified request.
type hook struct {
	ID, Timestamp string
	Body          map[string]any
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, answer: func(int) (int, string) { return http.StatusNoContent, "" }}
	r.ts = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.ts.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id, ts := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp")
	r.mu.Lock()
	secret := r.secret
	r.mu.Unlock()
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if got := req.Header.Get("webhook-signature"); got != want || req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		r.t.Errorf("%s with webhook-signature %q, Content-Type %q; want POST, %q, application/json", req.Method, got, req.Header.Get("Content-Type"), want)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		r.t.Errorf("body is not a JSON object: %v: %s", err, body)
	}
	r.mu.Lock()
	n := len(r.requests)
	r.requests = append(r.requests, hook{ID: id, Timestamp: ts, Body: m})
	status, text := r.answer(n)
	r.mu.Unlock()
	if loc, ok := strings.CutPrefix(text, "redirect:"); ok {
		w.Header().Set("Location", loc)
		text = ""
	}
	w.WriteHeader(status)
	io.WriteString(w, text)
}

func (r *receiver) got() []hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hook(nil), r.requests...)
}

// subscribe creates a webhook to r for events and keeps its secret.
func (r *receiver) subscribe(e *env, events ...string) string {
	r.t.Helper()
	res := must(r.t, e.post("/api/v1/webhooks", e.admin, map[string]any{"url": r.ts.URL + "/hook", "events": events}), http.StatusCreated)
	m := res.JSON(r.t)
	secret, ok := strings.CutPrefix(m["secret"].(string), "whsec_")
	raw, err := base64.StdEncoding.DecodeString(secret)
	if !ok || err != nil || len(raw) != 32 {
		r.t.Fatalf("secret %q: want whsec_ and the base64 of 32 bytes", m["secret"])
	}
	r.mu.Lock()
	r.secret = raw
	r.mu.Unlock()
	return m["id"].(string)
}

// waitFor polls cond until it holds; the deadline only stops a hung test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}

// deliveries lists a webhook's deliveries through the API.
func (e *env) deliveries(id, query string) []any {
	e.t.Helper()
	return must(e.t, e.get("/api/v1/webhooks/"+id+"/deliveries"+query, e.admin), http.StatusOK).JSON(e.t)["deliveries"].([]any)
}

func allowPrivate(c *Config) { c.WebhookAllowPrivate = true }

func TestWebhooksAreManagedByAdminsAndTheSecretIsShownOnce(t *testing.T) {
	e := newEnv(t, allowPrivate)
	res := must(t, e.post("/api/v1/webhooks", e.admin, map[string]any{"url": "http://127.0.0.1:9/erp", "events": []string{"received", "replaced"}}), http.StatusCreated)
	created := res.JSON(t)
	id := created["id"].(string)
	if !strings.HasPrefix(created["secret"].(string), "whsec_") || created["url"] != "http://127.0.0.1:9/erp" || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("created %s (Cache-Control %q)", res.Body, res.Header.Get("Cache-Control"))
	}
	got := must(t, e.get("/api/v1/webhooks/"+id, e.admin), http.StatusOK)
	list := must(t, e.get("/api/v1/webhooks", e.admin), http.StatusOK)
	for _, body := range [][]byte{got.Body, list.Body} {
		if strings.Contains(string(body), "secret") || strings.Contains(string(body), created["secret"].(string)[6:]) {
			t.Fatalf("the secret is shown again: %s", body)
		}
	}
	if hooks := list.JSON(t)["webhooks"].([]any); len(hooks) != 1 || hooks[0].(map[string]any)["id"] != id {
		t.Fatalf("listed %s", list.Body)
	}
	if ds := e.deliveries(id, ""); len(ds) != 0 {
		t.Fatalf("deliveries of a new webhook: %v", ds)
	}
	wantError(t, e.get("/api/v1/webhooks/wh_nosuchhook0", e.admin), http.StatusNotFound, "not_found", "")
	wantError(t, e.get("/api/v1/webhooks/wh_nosuchhook0/deliveries", e.admin), http.StatusNotFound, "not_found", "")
	wantError(t, e.get("/api/v1/webhooks/"+id+"/deliveries?status=lost", e.admin), http.StatusBadRequest, "invalid_field", "status")
	wantError(t, e.post("/api/v1/webhooks/"+id+"/deliveries/msg_0000000000000001/retry", e.admin, nil), http.StatusNotFound, "not_found", "")
	wantError(t, e.post("/api/v1/webhooks", e.admin, map[string]any{"url": "http://127.0.0.1:9/", "events": []string{"sold"}}), http.StatusUnprocessableEntity, "invalid_field", "events")
	wantError(t, e.post("/api/v1/webhooks", e.admin, `{"url": "http://127.0.0.1:9/"`), http.StatusBadRequest, "bad_request", "")
	wantError(t, e.post("/api/v1/webhooks", e.warehouse, map[string]any{"url": "http://127.0.0.1:9/", "events": []string{"*"}}), http.StatusForbidden, "forbidden", "")

	must(t, e.do(req{Method: "DELETE", Path: "/api/v1/webhooks/" + id, Token: e.admin}), http.StatusNoContent)
	wantError(t, e.do(req{Method: "DELETE", Path: "/api/v1/webhooks/" + id, Token: e.admin}), http.StatusNotFound, "not_found", "")
	audit := string(must(t, e.get("/api/v1/audit", e.admin), http.StatusOK).Body)
	for _, action := range []string{`"webhook.create"`, `"webhook.delete"`} {
		if !strings.Contains(audit, action) {
			t.Errorf("audit log lacks %s: %s", action, audit)
		}
	}
}

func TestWebhookURLsThatReachInsideAreRefused(t *testing.T) {
	e := newEnv(t)
	for _, url := range []string{
		"http://127.0.0.1:8080/hook",
		"http://localhost/hook",
		"http://[::1]/hook",
		"http://10.1.2.3/hook",
		"http://172.16.0.9/hook",
		"http://192.168.1.1/hook",
		"http://169.254.169.254/latest/meta-data/",
		"http://100.100.100.200/latest/meta-data/",
		"http://[fd00:ec2::254]/",
		"http://[::ffff:10.0.0.1]/",
		"http://0.0.0.0:8080/",
		"ftp://erp.example.com/hook",
		"https://user:secret@erp.example.com/hook",
		"erp.example.com/hook",
	} {
		res := e.post("/api/v1/webhooks", e.admin, map[string]any{"url": url, "events": []string{"*"}})
		wantError(t, res, http.StatusUnprocessableEntity, "invalid_field", "url")
	}
	if hooks := must(t, e.get("/api/v1/webhooks", e.admin), http.StatusOK).JSON(t)["webhooks"].([]any); len(hooks) != 0 {
		t.Fatalf("refused URLs were subscribed: %v", hooks)
	}
}

func TestBlockedAddresses(t *testing.T) {
	for _, c := range []struct {
		addr    string
		blocked bool
	}{
		{"127.0.0.1", true}, {"127.8.9.10", true}, {"::1", true},
		{"10.0.0.1", true}, {"172.31.255.255", true}, {"192.168.0.1", true}, {"fc00::1", true},
		{"169.254.169.254", true}, {"fe80::1", true}, {"100.64.0.1", true}, {"100.127.255.254", true},
		{"0.0.0.0", true}, {"::", true}, {"224.0.0.1", true}, {"255.255.255.255", true},
		{"::ffff:192.168.1.1", true}, {"64:ff9b::a00:1", true},
		{"8.8.8.8", false}, {"1.1.1.1", false}, {"100.128.0.1", false}, {"172.32.0.1", false},
		{"2001:4860:4860::8888", false}, {"64:ff9b::808:808", false},
	} {
		if got := blockedAddr(netip.MustParseAddr(c.addr)) != ""; got != c.blocked {
			t.Errorf("blockedAddr(%s) blocked = %v, want %v", c.addr, got, c.blocked)
		}
	}
}

func TestEveryEventIsDeliveredSignedWithItsSeqAndTheItemAsTheAPIShowsIt(t *testing.T) {
	e := newEnv(t, allowPrivate)
	e.seedModels()
	e.register("B1", "S1", "S2")
	r := newReceiver(t)
	id := r.subscribe(e, "*")
	recv := newReceiver(t)
	recvID := recv.subscribe(e, "received")
	e.srv.StartWebhooks()

	must(t, e.event("S1", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O1"}), http.StatusCreated)
	must(t, e.post("/api/v1/events", e.admin, map[string]any{"events": []map[string]any{
		{"serial": "S2", "type": "dispatched", "on": "2026-11-02", "order": "O1"},
		{"serial": "S2", "type": "transferred", "on": "2026-11-03", "note": "to the Beijing store"},
	}}), http.StatusCreated)
	must(t, e.post("/api/v1/orders/O1/received", e.service, map[string]any{"on": "2026-11-05", "evidence": "courier"}), http.StatusCreated)
	waitFor(t, "5 deliveries to * and 2 to received, recorded", func() bool {
		return len(e.deliveries(id, "?status=delivered")) == 5 && len(e.deliveries(recvID, "?status=delivered")) == 2
	})
	if len(r.got()) != 5 || len(recv.got()) != 2 {
		t.Fatalf("requests: %d to *, %d to received; want 5 and 2", len(r.got()), len(recv.got()))
	}

	want := map[string]bool{"dispatched S1 1": true, "dispatched S2 1": true, "transferred S2 2": true, "received S1 2": true, "received S2 3": true}
	ids := map[string]bool{}
	for _, h := range r.got() {
		event := h.Body["event"].(map[string]any)
		item := h.Body["item"].(map[string]any)
		key := h.Body["type"].(string) + " " + h.Body["serial"].(string) + " " + jsonNumber(event["seq"])
		if !want[key] || event["type"] != h.Body["type"] || item["serial"] != h.Body["serial"] {
			t.Errorf("unexpected delivery %s: %v", key, h.Body)
		}
		delete(want, key)
		if !strings.HasPrefix(h.ID, "msg_") || ids[h.ID] {
			t.Errorf("webhook-id %q repeated or malformed", h.ID)
		}
		ids[h.ID] = true
		if h.Timestamp != "1794276000" { // the test clock, 2026-11-10 10:00 北京时间, in unix seconds
			t.Errorf("webhook-timestamp %s", h.Timestamp)
		}
	}
	if len(want) != 0 {
		t.Errorf("not delivered: %v", want)
	}
	// The last event of S1 (its receipt) carries the item as GET shows it.
	var last map[string]any
	for _, h := range r.got() {
		if h.Body["serial"] == "S1" && h.Body["type"] == "received" {
			last = h.Body["item"].(map[string]any)
		}
	}
	item := must(t, e.get("/api/v1/items/S1", e.admin), http.StatusOK).JSON(t)
	if a, b := jsonNumber(last), jsonNumber(item); a != b {
		t.Errorf("delivered item\n%s\nGET item\n%s", a, b)
	}
	for _, d := range e.deliveries(id, "") {
		d := d.(map[string]any)
		if d["status"] != "delivered" || d["attempts"] != 1.0 || d["last_error"] != nil || d["next_attempt"] != nil || d["delivered_at"] == nil {
			t.Errorf("delivery %v", d)
		}
	}
	metrics := string(must(t, e.get("/metrics", e.admin), http.StatusOK).Body)
	for _, line := range []string{"sanbao_webhook_delivered_total 7", "sanbao_webhook_queued 0", "sanbao_webhook_delivery_latency_seconds_count 7"} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
}

// jsonNumber is v in JSON (numbers decoded as float64 print as they came).
func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestAFailedDeliveryIsRetriedWithTheSameIDAfterABackoff(t *testing.T) {
	e := newEnv(t, allowPrivate)
	e.seedModels()
	e.register("B1", "S1")
	r := newReceiver(t)
	r.answer = func(n int) (int, string) {
		switch n {
		case 0:
			return http.StatusInternalServerError, "database \x00 down " + strings.Repeat("x", 8000)
		case 1:
			return http.StatusFound, "redirect:https://elsewhere.example.com/"
		}
		return http.StatusOK, "thanks"
	}
	id := r.subscribe(e, "*")
	e.srv.StartWebhooks()
	must(t, e.event("S1", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O1"}), http.StatusCreated)
	waitFor(t, "the first attempt", func() bool { return len(r.got()) == 1 })

	var d map[string]any
	waitFor(t, "the first attempt recorded", func() bool {
		d = e.deliveries(id, "")[0].(map[string]any)
		return d["attempts"] == 1.0
	})
	lastErr, _ := d["last_error"].(string)
	if d["status"] != "pending" || !strings.HasPrefix(lastErr, "HTTP 500: database   down xxx") || len(lastErr) > 600 {
		t.Fatalf("after a 500: %v", d)
	}
	next, err := time.Parse(time.RFC3339Nano, d["next_attempt"].(string))
	if delay := next.Sub(testNow); err != nil || delay < 2500*time.Millisecond || delay > 5*time.Second {
		t.Fatalf("next attempt %v after the first failure; want 2.5 to 5 s (5 s with jitter)", delay)
	}
	e.clock.Add(5 * time.Second)
	waitFor(t, "the second attempt", func() bool { return len(r.got()) == 2 })
	waitFor(t, "the redirect recorded", func() bool { return e.deliveries(id, "")[0].(map[string]any)["attempts"] == 2.0 })
	d = e.deliveries(id, "")[0].(map[string]any)
	if msg, _ := d["last_error"].(string); !strings.Contains(msg, "HTTP 302") || !strings.Contains(msg, "not followed") {
		t.Fatalf("after a redirect: %v", d)
	}
	e.clock.Add(10 * time.Second)
	waitFor(t, "the delivery", func() bool { return e.deliveries(id, "")[0].(map[string]any)["status"] == "delivered" })
	hooks := r.got()
	if len(hooks) != 3 || hooks[0].ID != hooks[1].ID || hooks[1].ID != hooks[2].ID {
		t.Fatalf("attempts %v; want three with one webhook-id", hooks)
	}
}

func TestADeadDeliveryIsListedAndCanBeRetried(t *testing.T) {
	e := newEnv(t, allowPrivate, func(c *Config) { c.WebhookRetryFor = time.Second })
	e.seedModels()
	e.register("B1", "S1")
	r := newReceiver(t)
	up := false
	r.answer = func(int) (int, string) {
		if up {
			return http.StatusAccepted, ""
		}
		return http.StatusServiceUnavailable, "maintenance"
	}
	id := r.subscribe(e, "dispatched")
	e.srv.StartWebhooks()
	must(t, e.event("S1", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O1"}), http.StatusCreated)
	waitFor(t, "the delivery dead", func() bool { return len(e.deliveries(id, "?status=dead")) == 1 })
	d := e.deliveries(id, "?status=dead")[0].(map[string]any)
	if d["last_error"] != "HTTP 503: maintenance" || d["next_attempt"] != nil {
		t.Fatalf("dead delivery %v", d)
	}
	r.mu.Lock()
	up = true
	r.mu.Unlock()
	retried := must(t, e.post("/api/v1/webhooks/"+id+"/deliveries/"+d["id"].(string)+"/retry", e.admin, nil), http.StatusAccepted).JSON(t)
	if retried["status"] != "pending" || retried["id"] != d["id"] {
		t.Fatalf("retried %v", retried)
	}
	waitFor(t, "the retried delivery", func() bool { return len(e.deliveries(id, "?status=delivered")) == 1 })
	wantError(t, e.post("/api/v1/webhooks/"+id+"/deliveries/"+d["id"].(string)+"/retry", e.admin, nil), http.StatusConflict, "conflict", "")
	if hooks := r.got(); len(hooks) != 2 || hooks[0].ID != hooks[1].ID {
		t.Fatalf("attempts %v", hooks)
	}
	if !strings.Contains(string(must(t, e.get("/api/v1/audit", e.admin), http.StatusOK).Body), `"webhook.retry"`) {
		t.Error("the retry is not in the audit log")
	}
	metrics := string(must(t, e.get("/metrics", e.admin), http.StatusOK).Body)
	for _, line := range []string{"sanbao_webhook_dead_total 1", "sanbao_webhook_failed_attempts_total 1", "sanbao_webhook_delivered_total 1"} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
}

// A host that resolved to a public address when it was subscribed may
// resolve to a private one later (DNS rebinding): the dialer itself
// refuses, whatever the subscription said.
func TestTheDialerRefusesPrivateAddressesAtEveryConnection(t *testing.T) {
	e := newEnv(t, allowPrivate)
	e.seedModels()
	e.register("B1", "S1")
	r := newReceiver(t)
	id := r.subscribe(e, "*")
	e.cfg.WebhookAllowPrivate = false
	e.srv.Close()
	e.ts.Close()
	e.start()
	e.srv.StartWebhooks()
	must(t, e.event("S1", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O1"}), http.StatusCreated)
	var d map[string]any
	waitFor(t, "the attempt", func() bool {
		d = e.deliveries(id, "")[0].(map[string]any)
		return d["attempts"] == 1.0
	})
	if msg, _ := d["last_error"].(string); !strings.Contains(msg, "refused to connect to 127.0.0.1: a loopback address") {
		t.Fatalf("delivery %v", d)
	}
	if hooks := r.got(); len(hooks) != 0 {
		t.Fatalf("the receiver on loopback was reached: %v", hooks)
	}
}

func TestCloseStopsTheSenderAndDeliveriesResumeAfterARestart(t *testing.T) {
	e := newEnv(t, allowPrivate)
	e.seedModels()
	e.register("B1", "S1")
	r := newReceiver(t)
	id := r.subscribe(e, "*")
	// Not started: the event waits in the outbox across the restart.
	must(t, e.event("S1", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O1"}), http.StatusCreated)
	e.restart()
	e.srv.StartWebhooks()
	waitFor(t, "the delivery after the restart", func() bool { return len(e.deliveries(id, "?status=delivered")) == 1 })
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if got := r.got(); len(got) != 1 {
		t.Fatalf("requests %v", got)
	}
}

func TestRetriesBackOffExponentiallyWithJitterForADayThenGiveUp(t *testing.T) {
	w := &sender{backoff: 5 * time.Second, retryFor: 24 * time.Hour}
	since := testNow
	for _, c := range []struct {
		attempts int           // before this failure
		at       time.Duration // this failure, after since
		min, max time.Duration // the next attempt's delay; 0, 0: dead
	}{
		{0, 0, 2500 * time.Millisecond, 5 * time.Second},
		{1, time.Minute, 5 * time.Second, 10 * time.Second},
		{3, time.Minute, 20 * time.Second, 40 * time.Second},
		{10, 2 * time.Hour, 30 * time.Minute, time.Hour},
		{60, 3 * time.Hour, 30 * time.Minute, time.Hour},
		{40, 23 * time.Hour, 30 * time.Minute, time.Hour},
		{40, 23*time.Hour + 59*time.Minute, 0, 0},
	} {
		d := registry.ClaimedDelivery{Delivery: registry.Delivery{Attempts: c.attempts, Since: since}}
		for range 20 { // jitter: every draw within the bounds
			now := since.Add(c.at)
			next := w.retryAt(d, now)
			switch {
			case c.max == 0 && !next.IsZero():
				t.Fatalf("attempt %d at %v: retry at %v; want dead", c.attempts+1, c.at, next.Sub(now))
			case c.max != 0 && c.at+c.max <= 24*time.Hour && (next.Sub(now) < c.min || next.Sub(now) > c.max):
				t.Fatalf("attempt %d at %v: retry after %v; want %v to %v", c.attempts+1, c.at, next.Sub(now), c.min, c.max)
			}
		}
	}
}
