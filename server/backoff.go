package server

import (
	"sync"
	"time"
)

// Console sign-in back-off. Failed sign-ins are counted per username and
// per client address (an IPv4 address or an IPv6 /64); the last of a few
// free failures and each one after it lock that username or address for
// twice as long as the one before (1 s, 2 s, 4 s... up to backoffMax). A locked sign-in is
// refused BEFORE the password is hashed, so a flood of guesses costs a few
// argon2id hashes per lock period, not one per request; it gets the same
// answer as a wrong password, so the lock tells a guesser nothing. A
// success clears the username's count (not the address's: one right
// password must not unlock a guessing address). The counts are per process
// (a replica's own); the table is bounded.
const (
	freeUserFailures = 5  // per username: a person mistyping (the 5th locks)
	freeAddrFailures = 20 // per address: a service centre behind one NAT
	backoffFirst     = time.Second
	backoffMax       = 15 * time.Minute
	backoffForget    = time.Hour // a count idle this long is dropped
	backoffEntries   = 100_000
)

type backoff struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*failures
}

type failures struct {
	n        int
	last     time.Time
	until    time.Time // locked until
	reported bool      // the lock's first refusal was audited
}

func newBackoff(now func() time.Time) *backoff {
	return &backoff{now: now, m: map[string]*failures{}}
}

func userSlot(username string) string { return "u " + username }
func addrSlot(ip string) string       { return "a " + clientKey(ip).String() }

// locked reports whether any of slots is locked now and, when it is,
// whether this is the first refusal of that lock (the one worth auditing).
func (b *backoff) locked(slots ...string) (locked, first bool) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range slots {
		if f := b.m[k]; f != nil && now.Before(f.until) {
			locked = true
			if !f.reported {
				f.reported, first = true, true
			}
		}
	}
	return locked, first
}

// fail counts a failure on each slot and locks the ones past their free
// failures.
func (b *backoff) fail(slots ...string) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.m) >= backoffEntries {
		b.sweep(now)
	}
	for _, k := range slots {
		f := b.m[k]
		if f == nil || now.Sub(f.last) > backoffForget {
			f = &failures{}
			b.m[k] = f
		}
		f.n++
		f.last = now
		free := freeAddrFailures
		if k[0] == 'u' {
			free = freeUserFailures
		}
		if over := f.n - free + 1; over > 0 {
			f.until, f.reported = now.Add(lockFor(over)), false
		}
	}
}

// lockFor is the lock after the over-th failure past the free ones.
func lockFor(over int) time.Duration {
	if over > 20 {
		return backoffMax
	}
	return min(backoffFirst<<(over-1), backoffMax)
}

// succeed clears a slot's count.
func (b *backoff) succeed(slot string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, slot)
}

// sweep drops idle counts; when the table is still full (a flood of
// distinct usernames), it drops every count that is not locking, then
// half of the rest.
func (b *backoff) sweep(now time.Time) {
	for k, f := range b.m {
		if now.Sub(f.last) > backoffForget || !now.Before(f.until) && len(b.m) >= backoffEntries {
			delete(b.m, k)
		}
	}
	for k := range b.m {
		if len(b.m) < backoffEntries/2 {
			break
		}
		delete(b.m, k)
	}
}
