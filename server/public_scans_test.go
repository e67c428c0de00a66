package server

import (
	"net/http"
	"net/netip"
	"testing"
	"time"
)

// One client (an address, an IPv6 /64) counts once per ten minutes per
// serial; a browser signed in to the console never counts.
func TestPublicChecksCountOncePerClientPerTenMinutes(t *testing.T) {
	e := newPublicEnv(t, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	page := "/c/S-ACT?k=" + e.checkCode("S-ACT")
	from := func(xff, path string) {
		t.Helper()
		must(t, e.publicGet(path, map[string]string{"X-Forwarded-For": xff}), http.StatusOK)
	}
	count := func() uint64 {
		t.Helper()
		rec, err := e.db.Get("S-ACT")
		if err != nil {
			t.Fatal(err)
		}
		return rec.Scans.Count
	}
	steps := []struct {
		name    string
		advance time.Duration
		xff     string
		path    string
		want    uint64
	}{
		{"the first check counts", 0, "203.0.113.1", page, 1},
		{"a reload does not", time.Minute, "203.0.113.1", page, 1},
		{"nor a language switch", time.Minute, "203.0.113.1", page + "&lang=en", 1},
		{"nor the JSON of the same check", time.Minute, "203.0.113.1", "/api/v1/public/coverage?serial=S-ACT&k=" + e.checkCode("S-ACT"), 1},
		{"another address counts", 0, "203.0.113.2", page, 2},
		{"an IPv6 client counts", 0, "2001:db8:1:2::1", page, 3},
		{"the same /64 is the same client", 0, "2001:db8:1:2::ffff", page, 3},
		{"another /64 is another client", 0, "2001:db8:1:3::1", page, 4},
		{"just under ten minutes after its first: still not", 10*time.Minute - 3*time.Minute - time.Second, "203.0.113.1", page, 4},
		{"ten minutes after its first: counts again", time.Second, "203.0.113.1", page, 5},
	}
	for _, s := range steps {
		e.clock.Add(s.advance)
		from(s.xff, s.path)
		if got := count(); got != s.want {
			t.Fatalf("%s: count %d, want %d", s.name, got, s.want)
		}
	}
	// The page says the count includes this check.
	e.clock.Add(scanWindow)
	wantInBody(t, e.publicPage(page, "zh-CN"), "此查询码已被查询 6 次（含本次）")
}

func TestPublicCheckFromAConsoleSessionNeverCounts(t *testing.T) {
	e := newPublicEnv(t)
	b := e.browser()
	b.mustSignIn(e.service)
	page := "/c/S-ACT?k=" + e.checkCode("S-ACT")
	wantPage(t, b.get(page), http.StatusOK)
	rec, err := e.db.Get("S-ACT")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Scans.Count != 0 {
		t.Fatalf("a check from a signed-in console counted: %d", rec.Scans.Count)
	}
	// The same browser signed out counts like a customer's.
	b.post("/console/sign-out", nil)
	e.clock.Add(time.Second)
	wantPage(t, b.get(page), http.StatusOK)
	if rec, _ = e.db.Get("S-ACT"); rec.Scans.Count != 1 {
		t.Fatalf("a check after signing out: count %d, want 1", rec.Scans.Count)
	}
}

func TestScanSeenIsBounded(t *testing.T) {
	seen := newScanSeen(3)
	now := time.Date(2026, 11, 10, 2, 0, 0, 0, time.UTC)
	for i, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"} {
		if !seen.first(ip, "S1", now.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("%s: a first check not counted", ip)
		}
	}
	if n := len(seen.at); n != 3 {
		t.Errorf("%d entries, want at most 3", n)
	}
	// The oldest was dropped to make room: it counts again.
	if !seen.first("192.0.2.1", "S1", now.Add(5*time.Second)) {
		t.Error("the dropped client was not counted again")
	}
	if seen.first("192.0.2.4", "S1", now.Add(6*time.Second)) {
		t.Error("a remembered client counted twice")
	}
	// Another serial is another count.
	if !seen.first("192.0.2.4", "S2", now.Add(7*time.Second)) {
		t.Error("a check of another serial was not counted")
	}
}

func TestScanSeenKeepsARecountWhenItsEarlierCountLeaves(t *testing.T) {
	seen := newScanSeen(4)
	t0 := time.Date(2026, 11, 10, 2, 0, 0, 0, time.UTC)
	for i, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		seen.first(ip, "S1", t0.Add(time.Duration(i)*time.Second))
	}
	// Ten minutes after all three: two expired counts leave per call, so
	// .3's first count is still held when .3 checks again and counts.
	later := t0.Add(2*time.Second + scanWindow)
	if !seen.first("192.0.2.3", "S1", later) {
		t.Fatal("a check ten minutes after the first was not counted")
	}
	// Another client's check makes .3's first count leave; the recount
	// stays, and .3's next check within ten minutes of it does not count.
	seen.first("192.0.2.9", "S1", later.Add(time.Second))
	if seen.first("192.0.2.3", "S1", later.Add(2*time.Second)) {
		t.Error("a recount was forgotten with the count before it")
	}
	if n := len(seen.at); n != 2 {
		t.Errorf("%d clients remembered, want 2 (.3 and .9)", n)
	}
}
