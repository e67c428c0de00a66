package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bounds of the exhaustion campaigns (issue 17, items 1–3). Each figure is
// read before and after from /metrics, /proc/<pid>/status and the serve log.
const (
	// inventedSeriesSlack is how many request series invented methods may
	// add: the one "other" label, under "unmatched" and a route or two.
	inventedSeriesSlack = 4
	// inventedMetricsBytes bounds the growth of /metrics.
	inventedMetricsBytes = 64 << 10
	// inventedLogBytes bounds the log written per invented request.
	inventedLogBytes = 1 << 10
	// peakRSSSlack bounds the growth of the server's peak resident memory
	// (VmHWM) over a campaign: one request of a 64 MiB limit used to cost
	// 196 MB.
	peakRSSSlack = 48 << 20
	// bigFormBytes is each oversized sign-in form.
	bigFormBytes = 8 << 20
	// slowReadTimeout is serve's --read-timeout in the slow-body campaign,
	// and slowMaxConns its --max-connections.
	slowReadTimeout = 2 * time.Second
	slowMaxConns    = 64
)

// exhaust is the state of one exhaustion campaign.
type exhaust struct {
	h   *Harness
	e   *env
	res *Result
}

// startExhaust prepares a campaign's server (a few serials, serveArgs).
func (h *Harness) startExhaust(name string, serveArgs ...string) (*exhaust, *Result) {
	res := &Result{Name: "exhaustion: " + name}
	e, _ := h.prepare(res, "exhaust-"+strings.ReplaceAll(name, " ", "-"), "", stock{sku: "EX-1", prefix: "EX", batch: "EB0001", n: 5, daysOld: 3}, serveArgs...)
	if e == nil {
		return nil, res
	}
	return &exhaust{h: h, e: e, res: res}, res
}

// InventedMethods sends requests with a new invented method each (any
// token is a valid HTTP method) and a long path: the request metrics must
// gain at most inventedSeriesSlack series, /metrics at most
// inventedMetricsBytes, the log at most inventedLogBytes a request, the
// peak RSS at most peakRSSSlack.
func (h *Harness) InventedMethods() *Result {
	n := h.cfg.InventedMethods
	statuses := map[int]int{}
	return h.measure("invented methods", []string{"--log-level", "info"}, func(x *exhaust) {
		path := "/x/" + strings.Repeat("p", 4000)
		var wg sync.WaitGroup
		var mu sync.Mutex
		sem := make(chan struct{}, 16)
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				method := fmt.Sprintf("M%07d%s", i, strings.Repeat("X", 1000))
				a, err := rawRequest(x.e.srv.Addr, rawHTTP(method, path, nil), 10*time.Second)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					x.res.Failf("invented method %d: no answer: %v", i, err)
					return
				}
				statuses[a.Status]++
				if a.Status >= 500 {
					x.res.Failf("invented method %d: %d", i, a.Status)
				}
			}()
		}
		wg.Wait()
	}, func(x *exhaust, before, after snapshot) {
		res := x.res
		perRequest := float64(after.logBytes-before.logBytes) / float64(n)
		res.Figuref("%d requests of 1 KB invented methods on a 4 KB path, answered %v", n, statuses)
		res.Figuref("request series %d → %d, /metrics %.1f → %.1f KiB, serve log +%.0f bytes a request, RSS %.1f → %.1f MiB, peak RSS %.1f → %.1f MiB",
			before.series, after.series, float64(before.metricsBytes)/1024, float64(after.metricsBytes)/1024, perRequest,
			mib(before.rss), mib(after.rss), mib(before.peakRSS), mib(after.peakRSS))
		if d := after.series - before.series; d > inventedSeriesSlack {
			res.Failf("invented methods added %d request series (bound %d)", d, inventedSeriesSlack)
		}
		if d := after.metricsBytes - before.metricsBytes; d > inventedMetricsBytes {
			res.Failf("/metrics grew by %d bytes (bound %d)", d, inventedMetricsBytes)
		}
		if perRequest > inventedLogBytes {
			res.Failf("the serve log grew by %.0f bytes a request (bound %d)", perRequest, inventedLogBytes)
		}
	})
}

// BigForms sends oversized console sign-in forms at once, half declaring
// their length (refused before a byte is read), half streamed chunked (cut
// at the small-form limit): every one must be a 413, and the peak RSS must
// not grow by more than peakRSSSlack.
func (h *Harness) BigForms() *Result {
	n := h.cfg.BigForms
	statuses := map[string]int{}
	var sent int64
	return h.measure("big forms", nil, func(x *exhaust) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				form := "Content-Type: application/x-www-form-urlencoded"
				var a rawAnswer
				var k int64
				var err error
				kind := "declared"
				if i%2 == 0 {
					head := fmt.Sprintf("POST /console/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\nContent-Length: %d\r\n\r\nkey=", form, bigFormBytes)
					a, err = rawRequest(x.e.srv.Addr, []byte(head), 30*time.Second)
				} else {
					kind = "chunked"
					a, k, err = streamBody(x.e.srv.Addr, "POST", "/console/sign-in", bigFormBytes, 30*time.Second, form)
				}
				mu.Lock()
				defer mu.Unlock()
				sent += k
				if err != nil {
					x.res.Failf("%s %d MiB sign-in form: no answer: %v", kind, bigFormBytes>>20, err)
					return
				}
				statuses[kind+" "+strconv.Itoa(a.Status)]++
				if a.Status != 413 {
					x.res.Failf("%s %d MiB sign-in form: %d, want 413", kind, bigFormBytes>>20, a.Status)
				}
			}()
		}
		wg.Wait()
	}, func(x *exhaust, before, after snapshot) {
		x.res.Figuref("%d sign-in forms of %d MiB at once: %v; %.1f MiB of the chunked ones sent before the answer", n, bigFormBytes>>20, statuses, mib(float64(sent)))
		x.res.Figuref("RSS %.1f → %.1f MiB, peak RSS %.1f → %.1f MiB", mib(before.rss), mib(after.rss), mib(before.peakRSS), mib(after.peakRSS))
	})
}

// measure runs attack on a server of its own between two snapshots, hands
// both to report and checks the peak RSS.
func (h *Harness) measure(name string, serveArgs []string, attack func(*exhaust), report func(x *exhaust, before, after snapshot)) *Result {
	x, res := h.startExhaust(name, serveArgs...)
	if x == nil {
		return res
	}
	defer x.e.close()
	before, err := x.snapshot()
	if err != nil {
		res.Failf("before: %v", err)
		return res
	}
	attack(x)
	after, err := x.snapshot()
	if err != nil {
		res.Failf("after: %v", err)
		return res
	}
	report(x, before, after)
	x.checkPeak(before, after)
	x.e.stop()
	return res
}

// SlowBodies opens connections that declare a body and never send it, on
// routes before any key is checked, more of them than --max-connections:
// each must be answered or closed within the read timeout (and the wait
// for a connection slot), /healthz must keep answering, the open files
// must stay under the bound while they last and come back after.
func (h *Harness) SlowBodies() *Result {
	x, res := h.startExhaust("slow bodies", "--read-timeout", slowReadTimeout.String(), "--max-connections", strconv.Itoa(slowMaxConns))
	if x == nil {
		return res
	}
	defer x.e.close()
	base, err := scrapeMetrics(x.e.srv.URL, x.e.admin)
	if err != nil {
		res.Failf("before: %v", err)
		return res
	}
	// The harness's own idle keep-alive connections would hold slots.
	x.e.api.Close()
	n := h.cfg.SlowBodies
	// Each wave of slowMaxConns is served in turn: the last waits for the
	// ones before it.
	limit := time.Duration(n/slowMaxConns+1)*slowReadTimeout + slowSlack
	routes := []string{"/console/sign-in", "/api/v1/items", "/api/v1/public/coverage"}
	afters := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", x.e.srv.Addr, 10*time.Second)
			if err != nil {
				res.Failf("slow body: dial: %v", err)
				return
			}
			defer conn.Close()
			t0 := time.Now()
			conn.SetDeadline(t0.Add(limit))
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\nserial", routes[i%len(routes)])
			_, err = io.Copy(io.Discard, conn)
			if err != nil && timeoutError(err) {
				res.Failf("slow body on %s: still open %s after it began", routes[i%len(routes)], limit)
				return
			}
			afters[i] = time.Since(t0)
		}()
	}
	// While they wait: /healthz answers (after a slot frees, at worst) and
	// the open files stay bounded.
	var peakFDs float64
	probes := 0
	for range 3 {
		time.Sleep(slowReadTimeout / 2)
		if m, err := scrapeMetrics(x.e.srv.URL, x.e.admin); err == nil {
			peakFDs = max(peakFDs, m["process_open_fds"])
			probes++
		}
	}
	wg.Wait()
	after, err := waitSettled(x.e.srv.URL, x.e.admin, base, h.cfg.SettleLimit)
	if err != nil {
		res.Failf("after: %v", err)
		return res
	}
	slices.Sort(afters)
	res.Figuref("%d connections declaring a body never sent (--read-timeout %s, --max-connections %d): closed after %s (median) – %s (max); bound %s",
		n, slowReadTimeout, slowMaxConns, afters[n/2].Round(100*time.Millisecond), afters[n-1].Round(100*time.Millisecond), limit)
	res.Figuref("open files %.0f before, %.0f at most during (%d of 3 scrapes answered), %.0f after; goroutines %.0f → %.0f",
		base["process_open_fds"], peakFDs, probes, after["process_open_fds"], base["go_goroutines"], after["go_goroutines"])
	if bound := base["process_open_fds"] + slowMaxConns + fdSlack; peakFDs > bound {
		res.Failf("open files reached %.0f during the attack (bound %.0f: --max-connections and the baseline)", peakFDs, bound)
	}
	if probes == 0 {
		res.Failf("no /metrics scrape was answered during the attack")
	}
	if d := after["process_open_fds"] - base["process_open_fds"]; d > fdSlack {
		res.Failf("open files grew by %.0f and did not come back", d)
	}
	x.e.stop()
	return res
}

// snapshot is what an exhaustion campaign compares before and after.
type snapshot struct {
	series       int     // sanbao_http_requests_total series
	metricsBytes int     // size of /metrics
	logBytes     int64   // size of the serve log
	rss, peakRSS float64 // bytes: now, and the most so far (VmHWM)
}

func (x *exhaust) snapshot() (snapshot, error) {
	var s snapshot
	body, err := fetchMetrics(x.e.srv.URL, x.e.admin)
	if err != nil {
		return s, err
	}
	s.metricsBytes = len(body)
	for line := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(line, "sanbao_http_requests_total{") {
			s.series++
		}
	}
	if fi, err := os.Stat(x.e.logPath); err == nil {
		s.logBytes = fi.Size()
	}
	s.rss, s.peakRSS = procMemory(x.e.srv.cmd.Process.Pid)
	return s, nil
}

// checkPeak fails the campaign when the peak RSS grew past peakRSSSlack
// (where /proc tells it).
func (x *exhaust) checkPeak(before, after snapshot) {
	if before.peakRSS > 0 && after.peakRSS-before.peakRSS > peakRSSSlack {
		x.res.Failf("peak RSS grew from %.1f to %.1f MiB (bound + %d MiB)", mib(before.peakRSS), mib(after.peakRSS), peakRSSSlack>>20)
	}
}

// procMemory is a process's resident memory now and at its peak, in bytes,
// from /proc/<pid>/status (0, 0 where there is none).
func procMemory(pid int) (rss, peak float64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			continue
		}
		if k == "VmRSS" {
			rss = kb * 1024
		} else {
			peak = kb * 1024
		}
	}
	return rss, peak
}
