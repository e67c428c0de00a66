package registry

import "runtime"

// A registration request is held in memory whole (all or nothing, one
// transaction), and each of its phases leaves garbage: the rows as read
// once sorted, the rows once encoded, and above all bbolt's nodes, whose
// list of keys is copied each time it grows as keys are put. At its own
// pace (GOGC=100) the collector lets the heap grow to twice what the last
// collection left live, so a request's peak would be its live memory
// twice over. A large request therefore collects its garbage itself, at
// its phases' ends and every 16,384 keys it puts (registry/bolt): about 15
// collections for 100,000 rows, each marking what is live (tens of MB), a
// few hundredths of a second in all. (Issue 17 item 4: peak RSS growth of
// a 100,000-row CSV from 15.6 to about 10 times the body, bench/register.
// The server runs at most two registrations at once, so the collections
// of one never mark the rows of many others.)
const (
	// CollectBefore is the number of rows from which a request collects.
	CollectBefore = 20_000
)

// CollectGarbage collects garbage now, for a large registration. It and
// CollectBefore are exported for registry/bolt, which writes registrations.
func CollectGarbage() { runtime.GC() }
