package server

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestClientKeyGroupsIPv6By64(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"203.0.113.9", "203.0.113.9"},
		{"::ffff:203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"},
		{"fe80::1%eth0", "fe80::2"},
		{"not an address", ""},
	} {
		if ka, kb := clientKey(tc.a), clientKey(tc.b); ka != kb {
			t.Errorf("%s and %s are different clients (%v, %v), want one", tc.a, tc.b, ka, kb)
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"203.0.113.9", "203.0.113.10"},
		{"2001:db8:1:2::1", "2001:db8:1:3::1"},
		{"0.0.0.1", "::1"},
	} {
		if clientKey(tc.a) == clientKey(tc.b) {
			t.Errorf("%s and %s share a bucket", tc.a, tc.b)
		}
	}
	if got, want := clientKey("2001:db8:1:2:3:4:5:6"), netip.MustParsePrefix("2001:db8:1:2::/64"); got != want {
		t.Errorf("key %v, want %v", got, want)
	}
}

func TestRateLimiterBurstThenRate(t *testing.T) {
	c := &clock{t: testNow}
	l := newRateLimiter(2, 4, 0, c.Now)
	for i := range 4 {
		if ok, _ := l.allow("192.0.2.1"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("192.0.2.1")
	if ok || wait != 500*time.Millisecond || retryAfter(wait) != 1 {
		t.Fatalf("after the burst: ok %v, wait %v (Retry-After %d), want refused for 500ms (1)", ok, wait, retryAfter(wait))
	}
	if ok, _ := l.allow("192.0.2.2"); !ok {
		t.Error("another client was refused")
	}
	c.Add(500 * time.Millisecond)
	if ok, _ := l.allow("192.0.2.1"); !ok {
		t.Error("refused after a token came back")
	}
	if ok, _ := l.allow("192.0.2.1"); ok {
		t.Error("allowed a second request on one returned token")
	}
	if l := newRateLimiter(-1, 0, 0, c.Now); l != nil {
		t.Error("a negative rate does not turn limiting off")
	}
	var off *rateLimiter
	if ok, _ := off.allow("192.0.2.1"); !ok {
		t.Error("no limiter refused a request")
	}
	for d, want := range map[time.Duration]int{time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 10 * time.Second: 10} {
		if got := retryAfter(d); got != want {
			t.Errorf("retryAfter(%v) = %d, want %d", d, got, want)
		}
	}
}

// TestRateLimiterTableIsBounded: 200,000 distinct addresses at one instant
// (none idle) never make the table hold more than its bound, and a client
// seen recently keeps its emptied bucket while strangers come and go.
func TestRateLimiterTableIsBounded(t *testing.T) {
	c := &clock{t: testNow}
	l := newRateLimiter(DefaultPublicRate, DefaultPublicBurst, DefaultPublicClients, c.Now)
	for i := range 200_000 {
		var addr string
		if i%2 == 0 {
			addr = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		} else {
			addr = fmt.Sprintf("2001:db8:%x:%x::1", i>>16, i&0xffff)
		}
		if ok, _ := l.allow(addr); !ok {
			t.Fatalf("first request of %s refused", addr)
		}
		if i%1000 == 999 {
			if n := l.size(); n > DefaultPublicClients {
				t.Fatalf("%d clients in the table after %d addresses, bound %d", n, i+1, DefaultPublicClients)
			}
		}
	}
	if n := l.size(); n != DefaultPublicClients {
		t.Errorf("%d clients kept, want the bound %d", n, DefaultPublicClients)
	}
}

func TestRateLimiterForgetsIdleClients(t *testing.T) {
	c := &clock{t: testNow}
	l := newRateLimiter(2, 4, 100, c.Now) // a bucket is full again 2s after its last use
	for i := range 50 {
		l.allow(fmt.Sprintf("192.0.2.%d", i))
	}
	for range 4 {
		l.allow("198.51.100.1")
	}
	if ok, _ := l.allow("198.51.100.1"); ok {
		t.Fatal("burst not enforced")
	}
	c.Add(time.Second)
	l.allow("198.51.100.1") // seen again, so not idle at the next step
	c.Add(1500 * time.Millisecond)
	for i := range 30 {
		l.allow(fmt.Sprintf("203.0.113.%d", i))
	}
	// The 50 idle clients went two per call; the active one stayed.
	if n := l.size(); n != 31 {
		t.Errorf("%d clients, want 31 (30 new, 1 active)", n)
	}
	l.mu.Lock()
	_, kept := l.clients[clientKey("198.51.100.1")]
	l.mu.Unlock()
	if !kept {
		t.Error("a client seen 1.5s ago was forgotten")
	}
}
