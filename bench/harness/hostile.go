package main

import (
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// serverMaxBody is serve's request body limit (server.DefaultMaxBodyBytes;
// serve has no flag for it).
const serverMaxBody = 64 << 20

// waitSettled polls /metrics until the server's goroutines and open files
// are back within goroutineSlack and fdSlack of base (nil base: until they
// stop changing) or limit passes, and returns the last reading.
func waitSettled(url, token string, base Metrics, limit time.Duration) (Metrics, error) {
	deadline := time.Now().Add(limit)
	var prev Metrics
	for {
		time.Sleep(500 * time.Millisecond)
		m, err := scrapeMetrics(url, token)
		if err != nil {
			return nil, err
		}
		settled := prev != nil && m["go_goroutines"] == prev["go_goroutines"] && m["process_open_fds"] == prev["process_open_fds"]
		if base != nil {
			settled = m["go_goroutines"] <= base["go_goroutines"]+goroutineSlack && m["process_open_fds"] <= base["process_open_fds"]+fdSlack
		}
		if settled || time.Now().After(deadline) {
			return m, nil
		}
		prev = m
	}
}

// readHeaderTimeout is serve's ReadHeaderTimeout (cmd/sanbao); slow-header
// connections must be cut by then, with slowSlack to spare on a busy box.
const (
	readHeaderTimeout = 5 * time.Second
	slowSlack         = 15 * time.Second
)

// Tolerances of the resource check after the hostile pass (see Hostile).
const (
	goroutineSlack = 3
	fdSlack        = 3
	heapFactor     = 1.25    // heap goal after / before
	heapSlackBytes = 8 << 20 // plus this
)

// hostile is the state of one Hostile run.
type hostile struct {
	h       *Harness
	e       *env
	res     *Result
	rng     *rand.Rand
	public  bool
	serials []string          // registered, for the public page
	count   map[string]*tally // answers per category
	mu      sync.Mutex
}

// Hostile sends oversized bodies (413), slow headers (cut by the
// ReadHeaderTimeout), malformed JSON and CSV, path tricks and control
// characters in serials, bad keys, and WrongCodes wrong check codes from one
// address. Every answer must be a 4xx — from sanbao's handlers in the
// contract's JSON error shape — or, for slow headers, a closed connection;
// the 10,000 wrong codes must meet the rate limiter (429). The pass runs
// twice: a small warm-up, after which the server's goroutines, open files
// and heap are read from /metrics once settled, then the full pass, after
// which they must come back to that baseline: goroutines and open files
// within a few, the heap goal after two collections (twice the live heap)
// within 1.25× + 8 MiB.
func (h *Harness) Hostile() *Result {
	res := &Result{Name: "hostile input"}
	e, seeded := h.prepare(res, "hostile", "", stock{sku: "HOST-1", prefix: "HS", batch: "HB0001", n: 20, daysOld: 10})
	if e == nil {
		return res
	}
	defer e.close()
	x := &hostile{h: h, e: e, res: res, rng: h.rand(), count: map[string]*tally{}, serials: seeded}
	var err error
	if x.public, err = e.publicServed(seeded[0]); err != nil {
		res.Failf("public page: %v", err)
	}
	if x.public {
		x.sameAnswer()
	}

	// Warm-up: every category but the slow connections (nothing of theirs
	// is pooled) once, small, so pools and caches are filled before the
	// baseline is read.
	x.pass(1, 0, min(200, h.cfg.WrongCodes), false)
	base, err := x.settle(nil)
	if err != nil {
		res.Failf("baseline metrics: %v", err)
		return res
	}
	for k := range x.count {
		delete(x.count, k)
	}
	x.pass(h.cfg.BigBodies, h.cfg.SlowConns, h.cfg.WrongCodes, true)
	after, err := x.settle(base)
	if err != nil {
		res.Failf("metrics after the pass: %v", err)
		return res
	}
	for _, k := range slices.Sorted(maps.Keys(x.count)) {
		t := x.count[k]
		res.Figuref("%-14s %6d requests [%s]", k, t.n, t.statusLine())
	}
	res.Figuref("server at baseline → after the pass: goroutines %.0f → %.0f, open files %.0f → %.0f, heap goal %.1f → %.1f MiB (%.2f×), heap in use %.1f → %.1f MiB, RSS %.1f → %.1f MiB",
		base["go_goroutines"], after["go_goroutines"], base["process_open_fds"], after["process_open_fds"],
		mib(base["go_memstats_next_gc_bytes"]), mib(after["go_memstats_next_gc_bytes"]), after["go_memstats_next_gc_bytes"]/base["go_memstats_next_gc_bytes"],
		mib(base["go_memstats_heap_inuse_bytes"]), mib(after["go_memstats_heap_inuse_bytes"]),
		mib(base["process_resident_memory_bytes"]), mib(after["process_resident_memory_bytes"]))
	if d := after["go_goroutines"] - base["go_goroutines"]; d > goroutineSlack {
		res.Failf("goroutines grew by %.0f (%.0f → %.0f) and did not come back within %s", d, base["go_goroutines"], after["go_goroutines"], h.cfg.SettleLimit)
	}
	if d := after["process_open_fds"] - base["process_open_fds"]; d > fdSlack {
		res.Failf("open files grew by %.0f (%.0f → %.0f) and did not come back within %s", d, base["process_open_fds"], after["process_open_fds"], h.cfg.SettleLimit)
	}
	if limit := heapFactor*base["go_memstats_next_gc_bytes"] + heapSlackBytes; after["go_memstats_next_gc_bytes"] > limit {
		res.Failf("the heap goal after two collections grew from %.1f to %.1f MiB (limit %.1f): the server holds on to memory", mib(base["go_memstats_next_gc_bytes"]), mib(after["go_memstats_next_gc_bytes"]), mib(limit))
	}
	e.stop()
	if err := checkFile(e.db); err != nil {
		res.Failf("consistency check: %v", err)
	}
	return res
}

// tallyOf is the tally of a category.
func (x *hostile) tallyOf(cat string) *tally {
	x.mu.Lock()
	defer x.mu.Unlock()
	t, ok := x.count[cat]
	if !ok {
		t = newTally()
		x.count[cat] = t
	}
	return t
}

// expect4xx checks one answer of category cat to what.
func (x *hostile) expect4xx(cat, what string, a rawAnswer, err error, also ...int) {
	t := x.tallyOf(cat)
	x.mu.Lock()
	if err != nil {
		t.fail(err)
	} else {
		t.add(a.Status, 0)
	}
	x.mu.Unlock()
	switch {
	case err != nil:
		x.res.Failf("%s: %s: no answer: %v", cat, what, err)
	case a.Status < 400 || a.Status >= 500:
		if !slices.Contains(also, a.Status) {
			x.res.Failf("%s: %s answered %d %s (want 4xx)", cat, what, a.Status, clip(a.Body, 200))
		}
	case a.API:
		if _, _, ok := errorOf(a.Body); !ok {
			x.res.Failf("%s: %s answered %d with %s, not the contract's JSON error", cat, what, a.Status, clip(a.Body, 200))
		}
	}
}

// pass sends one round of every category.
func (x *hostile) pass(big, slow, wrong int, full bool) {
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the slow connections run alongside the rest
		defer wg.Done()
		x.slowloris(slow, full)
	}()
	for range big {
		x.oversized()
	}
	x.malformedJSON()
	x.malformedCSV()
	x.pathTricks()
	x.badKeys(200)
	x.wrongCodes(wrong, full)
	wg.Wait()
	x.e.api.Close()
	x.h.logf("hostile: pass done in %.1fs", time.Since(start).Seconds())
}

// settle waits (up to SettleLimit) for the server's goroutines and open
// files to come back to base (see waitSettled), then lets its
// collector run twice and returns the metrics. The server cannot be told
// to collect, so the harness gives it garbage to collect: 256 KiB bodies
// that the registration route reads and refuses (400). After two cycles
// that began after the pass, go_memstats_next_gc_bytes — the heap goal,
// twice the heap found live by the last cycle — reflects what the server
// still holds, not when it last happened to collect.
func (x *hostile) settle(base Metrics) (Metrics, error) {
	deadline := time.Now().Add(x.h.cfg.SettleLimit)
	if _, err := waitSettled(x.e.srv.URL, x.e.admin, base, x.h.cfg.SettleLimit); err != nil {
		return nil, err
	}
	m, err := scrapeMetrics(x.e.srv.URL, x.e.admin)
	if err != nil {
		return nil, err
	}
	cycles := m["go_gc_duration_seconds_count"]
	garbage := []byte(strings.Repeat(" ", 256<<10))
	api := newAPI(x.e.srv.URL, 1)
	defer api.Close()
	for i := 0; i < 4000 && time.Now().Before(deadline); i++ {
		if r, err := api.Do("POST", "/api/v1/items", x.e.warehouse, garbage); err != nil || r.Status != 400 {
			return nil, fmt.Errorf("garbage for the collector: POST /api/v1/items answered %d %v", r.Status, err)
		}
		if i%20 == 19 {
			if m, err = scrapeMetrics(x.e.srv.URL, x.e.admin); err != nil {
				return nil, err
			}
			if m["go_gc_duration_seconds_count"] >= cycles+2 {
				break
			}
		}
	}
	api.Close()
	// The nudging connection is closed: let its goroutine end.
	time.Sleep(500 * time.Millisecond)
	m, err = scrapeMetrics(x.e.srv.URL, x.e.admin)
	if err != nil {
		return nil, err
	}
	if m["go_gc_duration_seconds_count"] < cycles+2 {
		return nil, fmt.Errorf("the server's collector ran %.0f times in %s of garbage; cannot read its live heap", m["go_gc_duration_seconds_count"]-cycles, x.h.cfg.SettleLimit)
	}
	return m, nil
}

// oversized sends bodies over the 64 MiB limit: declared (Content-Length,
// refused before reading) and streamed (chunked, cut at the limit).
func (x *hostile) oversized() {
	addr, wh := x.e.srv.Addr, "Authorization: Bearer "+x.e.warehouse
	big := int64(serverMaxBody) + 1
	for _, target := range []string{"/api/v1/items", "/api/v1/items/HS00001/events", "/api/v1/events"} {
		req := []byte(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", target, wh, big))
		a, err := rawRequest(addr, req, requestTimeout)
		x.expect413("declared length "+target, a, err)
	}
	req := []byte(fmt.Sprintf("PUT /api/v1/models/BIG-1 HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", wh, 1<<40))
	a, err := rawRequest(addr, req, requestTimeout)
	x.expect413("declared 1 TiB PUT /api/v1/models", a, err)
	for _, ct := range []string{"application/json", "text/csv"} {
		a, n, err := streamBody(addr, "POST", "/api/v1/items", big+(8<<20), 2*requestTimeout, wh, "Content-Type: "+ct)
		x.expect413(fmt.Sprintf("streamed %s body (%d MiB sent)", ct, n>>20), a, err)
	}
}

func (x *hostile) expect413(what string, a rawAnswer, err error) {
	x.expect4xx("oversized", what, a, err)
	if err == nil && a.Status != 413 {
		x.res.Failf("oversized: %s answered %d %s (want 413)", what, a.Status, clip(a.Body, 200))
	}
	if code, _, _ := errorOf(a.Body); err == nil && a.API && code != "too_large" {
		x.res.Failf("oversized: %s answered code %q (want too_large)", what, code)
	}
}

// malformedJSON posts broken and hostile JSON to every JSON-taking route.
func (x *hostile) malformedJSON() {
	long := strings.Repeat("a", 1<<20)
	bodies := []string{
		"", " ", "{", "}", "[", "[]", "null", "true", "0", "-1", "1e999999", `"x"`, `{"a":}`, `{} {}`, `{}garbage`,
		"\xff\xfe\xfd", "\xef\xbb\xbf", "{\"items\":\"\x00\"}", strings.Repeat("[", 100_000), `{"items":` + strings.Repeat("[", 20_000),
		`{"items":[{]}`, `{"items": null}`, `{"items": [null]}`, `{"items": {}}`, `{"items": [[]]}`, `{"items": [1, 2]}`,
		`{"serial": "` + long + `"}`, `{"items":[{"serial":"` + long + `","sku":"HOST-1","batch":"B"}]}`,
		`{"items":[{"serial":"A\u0001B","sku":"HOST-1","batch":"B"}]}`, `{"items":[{"serial":"A\nB","sku":"HOST-1","batch":"B"}]}`,
		`{"items":[{"serial":"\u202eAB","sku":"HOST-1","batch":"B"}]}`, `{"items":[{"serial":"../../x","sku":"HOST-1","batch":"B"}]}`,
		`{"items":[{"serial":"A1","sku":"HOST-1","batch":"B","produced_on":"2026-13-45"}]}`,
		`{"items":[{"serial":"A1","sku":"NO-SUCH","batch":"B"}]}`, `{"items":[{"serial":"","sku":"HOST-1","batch":"B"}]}`,
		`{"type":"transferred","on":"not a date"}`, `{"type":"\u0000"}`, `{"type":"transferred","on":"9999-12-31"}`,
		`{"type":"intake","at":"2026-01-01T00:00:00Z","center":"` + long + `"}`, `{"type":"received","on":12}`,
		`{"type":"corrected","seq":18446744073709551615,"reason":"x"}`, `{"type":"repaired","parts":"battery"}`,
		`{"events":[{"serial":"HS00001","type":"transferred"}]}`, `{"events": "x"}`, `{"events":[` + strings.Repeat(`{},`, 10_000) + `{}]}`,
		`{"name":"x","kind":"spaceship"}`, `{"name":"x","kind":"product","gtin":"123"}`, `{"name":"x","kind":"product","warranty_months":-5}`,
		`{"name":"x","kind":"product","warranty_months":1e300}`, `{"on":"2026-01-01","evidence":"telepathy"}`, `{"role":"root","name":"x"}`,
		`{"name":"` + long + `","role":"admin"}`, `{"type":"transferred","type":"received"}`, `{"__proto__":{"admin":true}}`,
	}
	targets := []struct{ method, path, key string }{
		{"POST", "/api/v1/items", x.e.warehouse},
		{"POST", "/api/v1/items/HS00001/events", x.e.service},
		{"POST", "/api/v1/events", x.e.admin},
		{"PUT", "/api/v1/models/HX-1", x.e.warehouse},
		{"POST", "/api/v1/orders/NO-ORDER/received", x.e.warehouse},
		{"POST", "/api/v1/keys", x.e.admin},
	}
	for _, t := range targets {
		for i, b := range bodies {
			r, err := x.e.api.Do(t.method, t.path, t.key, []byte(b))
			x.expect4xx("malformed JSON", fmt.Sprintf("%s %s body #%d %s", t.method, t.path, i, clip([]byte(b), 40)), fromResp(r, t.path), err)
		}
	}
}

// malformedCSV posts broken registration CSVs.
func (x *hostile) malformedCSV() {
	long := strings.Repeat("a", 1<<20)
	cases := []struct{ ct, body string }{
		{"text/csv", ""},
		{"text/csv", "\xef\xbb\xbf"},
		{"text/csv", "serial,sku,batch\n"},
		{"text/csv", "serial,sku\nA1,HOST-1\n"},
		{"text/csv", "serial,serial,sku,batch\nA1,A2,HOST-1,B\n"},
		{"text/csv", "serial,sku,batch\n\"A1,HOST-1,B\n"},
		{"text/csv", "serial,sku,batch\nA1,HOST-1\n"},
		{"text/csv", "serial,sku,batch\nA\x00,HOST-1,B\n"},
		{"text/csv", "serial,sku,batch\n\xff\xfe,HOST-1,B\n"},
		{"text/csv", "serial,sku,batch\nA\x01B,HOST-1,B\n"},
		{"text/csv", "serial,sku,batch\n" + strings.Repeat("Z", 33) + ",HOST-1,B\n"},
		{"text/csv", "serial,sku,batch\n" + long + ",HOST-1,B\n"},
		{"text/csv", strings.Repeat("c,", 100_000) + "serial,sku,batch\n"},
		{"text/csv", "serial,sku,batch,produced_on\nA1,HOST-1,B,yesterday\n"},
		{"text/csv", "serial,sku,batch,accessories\nA1,HOST-1,B,CHG-1\n"},
		{"text/csv", "serial,sku,batch\nA1,NO-SUCH,B\n"},
		{"text/csv", "serial,sku,batch\nA1,HOST-1,B\nA1,HOST-1,C\n"},
		{"text/csv", "serial,sku,batch\n../x,HOST-1,B\n"},
		{"text/csv; charset=gbk", "serial,sku,batch\n\x81\x20,HOST-1,B\n"},
		{"text/csv; charset=koi8-r", "serial,sku,batch\nA1,HOST-1,B\n"},
		{"text/csv; charset=utf-16", "serial,sku,batch\nA1,HOST-1,B\n"},
		{"text/csv; charset=", "serial,sku,batch\nA1,HOST-1,B\n"},
		{"text/csv; boundary=\"", "serial,sku,batch\nA1,HOST-1,B\n"},
		{"application/xml", "<items/>"},
		{"multipart/form-data; boundary=x", "--x\r\n\r\nserial,sku,batch\r\n--x--\r\n"},
	}
	for i, c := range cases {
		r, err := x.e.api.Do("POST", "/api/v1/items", x.e.warehouse, []byte(c.body), "Content-Type", c.ct)
		x.expect4xx("malformed CSV", fmt.Sprintf("CSV #%d (%s) %s", i, c.ct, clip([]byte(c.body), 40)), fromResp(r, "/api/v1/items"), err)
	}
}

// pathTricks sends traversal, encoded and control characters in paths and
// serials, and overlong paths, byte for byte (no client-side cleaning).
func (x *hostile) pathTricks() {
	auth := "Authorization: Bearer " + x.e.admin
	paths := []string{
		"/api/v1/items/../../../etc/passwd", "/api/v1/items/..%2f..%2f..%2fetc%2fpasswd", "/api/v1/items/%2e%2e",
		"/api/v1/items/%2e%2e/%2e%2e/keys", "/api/v1/items/%2e%2e%2f%2e%2e%2fkeys", "/api/v1/items/HS00001/../../keys",
		"/api/v1/items/a%00b", "/api/v1/items/%00", "/api/v1/items/a%0d%0aSet-Cookie:%20x=1", "/api/v1/items/%01",
		"/api/v1/items/%7f", "/api/v1/items/a%09b", "/api/v1/items/%e2%80%ae", "/api/v1/items/%c0%ae%c0%ae",
		"/api/v1/items/%", "/api/v1/items/%zz", "/api/v1/items/a%2fb", "/api/v1/items/" + strings.Repeat("a", 33),
		"/api/v1/items/" + strings.Repeat("a", 4000), "/" + strings.Repeat("a", 8000), "/api/v1/" + strings.Repeat("x/", 30_000),
		"/api/v1/models/..%2F..%2Fkeys", "/api/v1/batches/%2e%2e", "/api/v1/batches/a%00", "/api/v1/items/%01/events",
		"/api/v1/items/HS00001/entitlements?on=%00", "/api/v1/items/HS00001?on=9999-99-99", "/api/v1/items/HS00001?on=" + strings.Repeat("1", 5000),
		"/api/v1/audit?limit=-1", "/api/v1/audit?limit=99999999999999999999", "/api/v1/audit?after=%ff%fe", "/api/v1/batches/HB0001?limit=0",
		"/api/v1/batches/HB0001?after=%00", "/api/v1/service/open?overdue=maybe", "/c/..%2f..%2fapi%2fv1%2fkeys", "/c/%00?k=AAAAAAAA",
		"/c/HS00001?k=%00", "/c/HS00001?k=" + strings.Repeat("A", 10_000), "/c/" + strings.Repeat("Z", 40) + "?k=AAAAAAAA",
		"/01/%00/21/HS00001?k=AAAAAAAA", "/01/12345678901234/21/..%2f..?k=A",
	}
	for _, p := range paths {
		a, err := rawRequest(x.e.srv.Addr, rawHTTP("GET", p, nil, auth), requestTimeout)
		x.expect4xx("path tricks", "GET "+clip([]byte(p), 60), a, err)
	}
	post := []string{"/api/v1/items/%00/events", "/api/v1/items/..%2f/events", "/api/v1/orders/%0a/received"}
	for _, p := range post {
		a, err := rawRequest(x.e.srv.Addr, rawHTTP("POST", p, []byte(`{"type":"transferred","on":"2026-01-01"}`), auth, "Content-Type: application/json"), requestTimeout)
		x.expect4xx("path tricks", "POST "+p, a, err)
	}
	// Request lines and headers net/http itself must refuse.
	raw := []string{
		"GET /api/v1/items/a\x01b HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "\r\n\r\n",
		"GET /api/v1/items/a b HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "\r\n\r\n",
		"GET /api/v1/items/HS00001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Evil: a\x00b\r\n" + auth + "\r\n\r\n",
		"GET /api/v1/items/HS00001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + strings.Repeat("b", 70<<10) + "\r\n\r\n",
		"GET * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		"POST /api/v1/items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n" + auth + "\r\n\r\nabcdef",
		"POST /api/v1/items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n" + auth + "\r\n\r\n",
		"POST /api/v1/items HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n" + auth + "\r\n\r\nzz\r\n",
	}
	for _, r := range raw {
		a, err := rawRequest(x.e.srv.Addr, []byte(r), requestTimeout)
		x.expect4xx("path tricks", "raw "+clip([]byte(r), 50), a, err)
	}
	// An unknown protocol version is net/http's 505, the status HTTP has for it.
	a, err := rawRequest(x.e.srv.Addr, []byte("GET /api/v1/items/HS00001 HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n"), requestTimeout)
	x.expect4xx("path tricks", "HTTP/9.9 request", a, err, 505)
}

// badKeys sends n requests with wrong, malformed or revoked-looking keys.
func (x *hostile) badKeys(n int) {
	id := strings.SplitN(x.e.admin, ".", 2)[0]
	forms := []func(i int) string{
		func(i int) string { return fmt.Sprintf("Bearer %s.%032x", id, x.rng.Uint64()) }, // right id, wrong secret
		func(i int) string { return fmt.Sprintf("Bearer k%08d.%032x", i, x.rng.Uint64()) },
		func(i int) string { return "Bearer " + strings.Repeat(".", i%50) },
		func(i int) string { return "Basic YWRtaW46YWRtaW4=" },
		func(i int) string { return "Bearer " + strings.Repeat("A", 4000) },
		func(i int) string { return "bearer" },
	}
	for i := range n {
		r, err := x.e.api.Do("GET", "/api/v1/keys", "", nil, "Authorization", forms[i%len(forms)](i))
		x.expect4xx("bad keys", "GET /api/v1/keys with a bad key", fromResp(r, "/api/v1/keys"), err)
		if err == nil && r.Status != 401 {
			x.res.Failf("bad keys: answered %d, want 401", r.Status)
		}
	}
}

// sameAnswer checks, while the rate limiter still has room, that a wrong
// code and an unknown serial get the same answer (nothing to enumerate).
func (x *hostile) sameAnswer() {
	wrong, err1 := x.e.api.Do("GET", publicPath("HS00001", "00000000"), "", nil)
	unknown, err2 := x.e.api.Do("GET", publicPath("NO-SUCH-SERIAL", "00000000"), "", nil)
	switch {
	case err1 != nil || err2 != nil:
		x.res.Failf("wrong codes: %v %v", err1, err2)
	case wrong.Status == 429 || unknown.Status == 429:
		x.res.Failf("wrong codes: rate limited (429) after two requests: cannot compare a wrong code with an unknown serial")
	case wrong.Status != unknown.Status || string(wrong.Body) != string(unknown.Body):
		x.res.Failf("wrong codes: a wrong code answered %d %s but an unknown serial %d %s: they must be the same", wrong.Status, clip(wrong.Body, 100), unknown.Status, clip(unknown.Body, 100))
	default:
		x.res.Figuref("a wrong check code and an unknown serial get the same answer: %d, %d bytes", wrong.Status, len(wrong.Body))
	}
}

// wrongCodes sends n wrong check codes for registered serials from one
// address, 8 at a time: every answer 404 or 429, and the limiter must
// engage.
func (x *hostile) wrongCodes(n int, full bool) {
	if !x.public {
		if full {
			x.res.Figuref("wrong check codes: not sent — this build does not serve GET /c/{serial} (404 \"no such route\")")
		}
		return
	}
	var next atomic.Int64
	deadline := time.Now().Add(2 * time.Minute)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				serial := x.serials[int(i)%len(x.serials)]
				code := fmt.Sprintf("%08X", uint32(i*2654435761))
				if code == x.e.code(serial) {
					continue
				}
				r, err := x.e.api.Do("GET", publicPath(serial, code), "", nil)
				x.expect4xx("wrong codes", "wrong check code", fromResp(r, "/c/"), err)
				if err == nil && r.Status != 404 && r.Status != 429 {
					x.res.Failf("wrong codes: answered %d, want 404 or 429", r.Status)
				}
			}
		}()
	}
	wg.Wait()
	if full && x.tallyOf("wrong codes").statuses[429] == 0 {
		x.res.Failf("wrong codes: %d wrong check codes from one address and not one 429: the public routes must be rate limited", n)
	}
}

// slowloris opens n connections that send a request's headers one byte a
// second and waits for the server to close each; the ReadHeaderTimeout
// must cut them all within readHeaderTimeout+slowSlack. Meanwhile the
// server must keep answering other clients.
func (x *hostile) slowloris(n int, full bool) {
	if n == 0 {
		return
	}
	limit := readHeaderTimeout + slowSlack
	type outcome struct {
		after  time.Duration
		answer string
		err    error
	}
	results := make(chan outcome, n)
	start := time.Now()
	for i := range n {
		go func() {
			conn, err := net.DialTimeout("tcp", x.e.srv.Addr, 10*time.Second)
			if err != nil {
				results <- outcome{err: fmt.Errorf("dial: %w", err)}
				return
			}
			defer conn.Close()
			t0 := time.Now()
			fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-%d: ", i)
			closed := make(chan outcome, 1)
			go func() {
				conn.SetReadDeadline(t0.Add(limit + 5*time.Second))
				b := make([]byte, 64)
				k, err := io.ReadAtLeast(conn, b, 1)
				ans := strings.SplitN(string(b[:k]), "\r\n", 2)[0]
				if err != nil && k == 0 && timeoutError(err) {
					closed <- outcome{after: time.Since(t0), err: err}
					return
				}
				closed <- outcome{after: time.Since(t0), answer: ans}
			}()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case o := <-closed:
					results <- o
					return
				case <-tick.C:
					conn.Write([]byte("a")) // an error here shows up as the read's EOF
				}
			}
		}()
	}
	// Others must still be served while the slow connections are open.
	var probes []time.Duration
	for range 5 {
		time.Sleep(time.Second)
		a, err := rawRequest(x.e.srv.Addr, rawHTTP("GET", "/healthz", nil), 10*time.Second)
		if err != nil || a.Status != 200 {
			x.res.Failf("slow headers: GET /healthz during the attack: %d %v", a.Status, err)
			continue
		}
		probes = append(probes, time.Since(start))
	}
	var afters []time.Duration
	answers := map[string]int{}
	for range n {
		o := <-results
		t := x.tallyOf("slow headers")
		x.mu.Lock()
		t.n++
		x.mu.Unlock()
		switch {
		case o.err != nil && timeoutError(o.err):
			x.res.Failf("slow headers: a connection was still open %s after it began sending headers", o.after.Round(time.Second))
		case o.err != nil:
			x.res.Failf("slow headers: %v", o.err)
		default:
			afters = append(afters, o.after)
			if o.answer == "" {
				o.answer = "closed without an answer"
			}
			answers[o.answer]++
			if strings.HasPrefix(o.answer, "HTTP/1.1 ") && !strings.HasPrefix(o.answer, "HTTP/1.1 4") {
				x.res.Failf("slow headers: answered %q", o.answer)
			}
		}
	}
	if full && len(afters) > 0 {
		slices.Sort(afters)
		parts := []string{}
		for _, k := range slices.Sorted(maps.Keys(answers)) {
			parts = append(parts, fmt.Sprintf("%s ×%d", k, answers[k]))
		}
		x.res.Figuref("slow headers: %d connections cut after %s (median) – %s (max) [%s]; /healthz answered %d of 5 probes during the attack",
			len(afters), afters[len(afters)/2].Round(100*time.Millisecond), afters[len(afters)-1].Round(100*time.Millisecond), strings.Join(parts, "; "), len(probes))
	}
}
