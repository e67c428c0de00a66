package server

import (
	"container/list"
	"math"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of the public routes' per-client rate limit (Config.PublicRate,
// PublicBurst, PublicClients). A customer scanning a certificate makes one
// or two requests; 20 at once and 2 a second after that leaves room for a
// shop testing a box of units and for many phones behind one carrier NAT,
// while a guesser of check codes (40 bits) gets nowhere.
const (
	DefaultPublicRate    = 2.0
	DefaultPublicBurst   = 20
	DefaultPublicClients = 100_000
)

// rateLimiter is a token bucket per client: an IPv4 address, or an IPv6 /64
// (one subscriber's network: an ISP hands out a whole /64, so limiting by
// address would give one phone 2^64 buckets).
//
// The table is bounded. Entries are kept in least-recently-used order; one
// idle long enough for its bucket to be full again is the same as no entry,
// so each call forgets up to two of those from the old end (the table drains
// faster than one call can grow it, with no background goroutine). When the
// table is full of active clients the least recently seen is dropped: that
// client starts again with a full bucket, which only costs an attacker who
// already controls more addresses than the table holds.
type rateLimiter struct {
	limit rate.Limit
	burst int
	max   int
	idle  time.Duration // time for an empty bucket to fill up again
	now   func() time.Time

	mu      sync.Mutex
	clients map[netip.Prefix]*list.Element // values are *limitedClient
	lru     list.List                      // front: most recently seen
}

type limitedClient struct {
	key  netip.Prefix
	lim  *rate.Limiter
	seen time.Time
}

// newRateLimiter returns a limiter of perSecond requests with bursts of
// burst for at most clients clients; zero values take the defaults and a
// negative perSecond turns limiting off (nil).
func newRateLimiter(perSecond float64, burst, clients int, now func() time.Time) *rateLimiter {
	if perSecond < 0 {
		return nil
	}
	if perSecond == 0 {
		perSecond = DefaultPublicRate
	}
	if burst <= 0 {
		burst = DefaultPublicBurst
	}
	if clients <= 0 {
		clients = DefaultPublicClients
	}
	idle := time.Duration(math.Ceil(float64(burst) / perSecond * float64(time.Second)))
	return &rateLimiter{limit: rate.Limit(perSecond), burst: burst, max: clients, idle: idle, now: now,
		clients: map[netip.Prefix]*list.Element{}}
}

// allow takes a token from the bucket of the client at ip (as echo's
// RealIP gives it). When the bucket is empty it returns false and how long
// until the next token. A nil limiter allows everything.
func (l *rateLimiter) allow(ip string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	key := clientKey(ip)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for range 2 {
		old := l.lru.Back()
		if old == nil || now.Sub(old.Value.(*limitedClient).seen) < l.idle {
			break
		}
		l.forget(old)
	}
	var c *limitedClient
	if el, ok := l.clients[key]; ok {
		c = el.Value.(*limitedClient)
		l.lru.MoveToFront(el)
	} else {
		if len(l.clients) >= l.max {
			l.forget(l.lru.Back())
		}
		c = &limitedClient{key: key, lim: rate.NewLimiter(l.limit, l.burst)}
		l.clients[key] = l.lru.PushFront(c)
	}
	c.seen = now
	if c.lim.AllowN(now, 1) {
		return true, 0
	}
	wait := time.Duration((1 - c.lim.TokensAt(now)) / float64(l.limit) * float64(time.Second))
	return false, max(wait, time.Millisecond)
}

func (l *rateLimiter) forget(el *list.Element) {
	delete(l.clients, el.Value.(*limitedClient).key)
	l.lru.Remove(el)
}

// size is the number of clients in the table.
func (l *rateLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// clientKey is the bucket of a client address: the address itself for
// IPv4 (IPv4-mapped IPv6 included), its /64 for IPv6. Anything unparsable
// shares the zero Prefix's bucket.
func clientKey(ip string) netip.Prefix {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.WithZone("").Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// retryAfter is a wait as the Retry-After header gives it: whole seconds,
// at least 1.
func retryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
