package server

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestNewRefusesABadConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without a DB succeeded")
	}
	e := newEnv(t)
	for _, u := range []string{"w.example.com", "ftp://w.example.com", "https://", "http://[::1"} {
		if _, err := New(Config{DB: e.db, PublicURL: u}); err == nil {
			t.Errorf("public URL %q accepted", u)
		}
	}
	if _, err := New(Config{DB: e.db, PublicURL: "https://w.example.com"}); err != nil {
		t.Error(err)
	}
}

func TestForwardedForIsBelievedOnlyFromTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		want    string
	}{
		{"no proxies: the peer", nil, "10.0.0.7:5000", "10.0.0.7"},
		{"a private peer is not trusted by default", []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, "10.0.0.7:5000", "10.0.0.7"},
		{"a loopback peer is not trusted by default", []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, "127.0.0.1:5000", "127.0.0.1"},
		{"a trusted proxy", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "10.0.0.7:5000", "203.0.113.9"},
		{"a trusted IPv6 proxy", []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}, "[2001:db8::1]:5000", "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			r.Header.Set(echo.HeaderXForwardedFor, "198.51.100.1, 203.0.113.9")
			if got := ipExtractor(tc.trusted)(r); got != tc.want {
				t.Fatalf("client %s, want %s", got, tc.want)
			}
		})
	}
}
