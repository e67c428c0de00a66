package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// tally counts the answers of one kind of request and keeps their latencies.
// Each worker owns its tallies; merge combines them at the end.
type tally struct {
	n         int
	statuses  map[int]int
	transport map[string]int // request failures without an answer, by cause
	lat       []time.Duration
}

func newTally() *tally { return &tally{statuses: map[int]int{}, transport: map[string]int{}} }

func (t *tally) add(status int, d time.Duration) {
	t.n++
	t.statuses[status]++
	t.lat = append(t.lat, d)
}

func (t *tally) fail(err error) {
	t.n++
	cause := "connection error"
	if timeoutError(err) {
		cause = "timeout"
	}
	t.transport[cause]++
}

func (t *tally) merge(o *tally) {
	t.n += o.n
	for k, v := range o.statuses {
		t.statuses[k] += v
	}
	for k, v := range o.transport {
		t.transport[k] += v
	}
	t.lat = append(t.lat, o.lat...)
}

// count sums the answers whose status satisfies f.
func (t *tally) count(f func(status int) bool) int {
	n := 0
	for s, c := range t.statuses {
		if f(s) {
			n += c
		}
	}
	return n
}

func (t *tally) failures() int {
	n := 0
	for _, c := range t.transport {
		n += c
	}
	return n
}

// quantile is the q-quantile of the latencies (sorted in place).
func (t *tally) quantile(q float64) time.Duration {
	if len(t.lat) == 0 {
		return 0
	}
	slices.Sort(t.lat)
	i := int(q * float64(len(t.lat)-1))
	return t.lat[i]
}

// statusLine is "201×1234 429×5" plus transport failures.
func (t *tally) statusLine() string {
	var parts []string
	for _, s := range slices.Sorted(maps.Keys(t.statuses)) {
		parts = append(parts, fmt.Sprintf("%d×%d", s, t.statuses[s]))
	}
	for _, k := range slices.Sorted(maps.Keys(t.transport)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, t.transport[k]))
	}
	return strings.Join(parts, " ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
