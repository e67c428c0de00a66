package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sanbao/sanbao/registry"
)

// Delivery of webhooks (the contract's "Webhooks"): at least once, signed
// per Standard Webhooks, each attempt bounded, retried with exponential
// back-off and jitter for a day, then dead-lettered.
const (
	// DefaultWebhookBackoff is the delay before the first retry; each
	// later one doubles it, up to webhookMaxBackoff.
	DefaultWebhookBackoff = 5 * time.Second
	// DefaultWebhookRetryFor is how long a delivery is retried before it is dead.
	DefaultWebhookRetryFor = 24 * time.Hour

	webhookTimeout    = 10 * time.Second
	webhookMaxBackoff = time.Hour
	webhookSenders    = 16 // deliveries in flight at once
	// webhookLease outlasts an attempt: a delivery claimed by a process that
	// died is claimed again when its lease runs out (at once on bbolt,
	// whose leases die with the process).
	webhookLease = webhookTimeout + 20*time.Second
	// webhookPoll is how often the sender looks for retries come due (and,
	// with several processes, deliveries queued by the others).
	webhookPoll = time.Second
	// webhookErrorBody bounds what is read of a failed answer's body.
	webhookErrorBody = 4 << 10
	// webhookRecordEvery groups the recording of attempts: one commit per
	// attempt took half the disk's commits from event writes
	// (BenchmarkWebhookAppend). A crash before the record means a resend
	// with the same webhook-id, which at-least-once allows.
	webhookRecordEvery = 20 * time.Millisecond
)

// sender delivers the outbox. One runs per Server, from StartWebhooks to Close.
type sender struct {
	db       registry.WebhookStore
	payload  func(registry.Appended) []byte
	log      *slog.Logger
	now      func() time.Time
	client   *http.Client
	backoff  time.Duration
	retryFor time.Duration
	m        *webhookMetrics

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// webhookMetrics are the delivery counters of /metrics.
type webhookMetrics struct {
	delivered, failed, dead prometheus.Counter
	latency, attempt        prometheus.Histogram
}

func newWebhookMetrics(reg *prometheus.Registry, db registry.WebhookStore) *webhookMetrics {
	m := &webhookMetrics{
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sanbao_webhook_delivered_total",
			Help: "Webhook deliveries answered with a 2xx.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sanbao_webhook_failed_attempts_total",
			Help: "Webhook delivery attempts that failed (error, timeout, or a status other than 2xx).",
		}),
		dead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sanbao_webhook_dead_total",
			Help: "Webhook deliveries given up after the retry window (dead-lettered).",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sanbao_webhook_delivery_latency_seconds",
			Help:    "Time from an event's recording to its delivery's 2xx, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 12), // 5 ms to about 6 days
		}),
		attempt: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sanbao_webhook_attempt_duration_seconds",
			Help:    "Duration of one delivery attempt (the receiver's answer time).",
			Buckets: prometheus.DefBuckets,
		}),
	}
	queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sanbao_webhook_queued",
		Help: "Webhook deliveries waiting in the outbox (queued or awaiting a retry).",
	}, func() float64 {
		n, err := db.PendingDeliveries()
		if err != nil {
			return -1
		}
		return float64(n)
	})
	reg.MustRegister(m.delivered, m.failed, m.dead, m.latency, m.attempt, queued)
	return m
}

// StartWebhooks starts delivering the outbox in the background until Close.
// Calling it again does nothing.
func (s *Server) StartWebhooks() {
	s.webhookOnce.Do(func() {
		w := &sender{
			db: s.db, payload: s.webhookPayload, log: s.log, now: s.now, m: s.webhookMetrics,
			client:   webhookClient(s.cfg.WebhookAllowPrivate),
			backoff:  s.cfg.WebhookBackoff,
			retryFor: s.cfg.WebhookRetryFor,
			stop:     make(chan struct{}),
			done:     make(chan struct{}),
		}
		s.sender = w
		go w.run()
	})
}

// close stops claiming and waits for the attempts in flight (each bounded
// by webhookTimeout) to be recorded.
func (w *sender) close() {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
}

func (w *sender) run() {
	defer close(w.done)
	results := make(chan registry.Attempt, 4*webhookSenders)
	recorded := make(chan struct{})
	go w.record(results, recorded)
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		close(results)
		<-recorded
	}()
	slots := make(chan struct{}, webhookSenders)
	freed := make(chan struct{}, 1)
	tick := time.NewTicker(webhookPoll)
	defer tick.Stop()
	for {
		free := cap(slots) - len(slots)
		var claimed []registry.ClaimedDelivery
		if free > 0 {
			var err error
			if claimed, err = w.db.ClaimDeliveries(w.now(), webhookLease, free); err != nil {
				w.log.Error("webhooks: claiming deliveries", "err", err)
			}
		}
		for _, d := range claimed {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				results <- w.deliver(d)
				<-slots
				select {
				case freed <- struct{}{}:
				default:
				}
			}()
		}
		if len(claimed) > 0 && len(claimed) < free {
			continue // more may have come due meanwhile; an empty claim ends the round
		}
		select {
		case <-w.stop:
			return
		case <-w.db.DeliveriesQueued():
		case <-freed:
		case <-tick.C:
		}
	}
}

// record writes the attempts as they come, in groups of those that come
// within webhookRecordEvery of the first, until results is closed.
func (w *sender) record(results <-chan registry.Attempt, recorded chan<- struct{}) {
	defer close(recorded)
	var group []registry.Attempt
	for a := range results {
		group = append(group[:0], a)
		window := time.After(webhookRecordEvery)
	collect:
		for {
			select {
			case a, ok := <-results:
				if !ok {
					break collect
				}
				group = append(group, a)
			case <-window:
				break collect
			}
		}
		if err := w.db.FinishDeliveries(group); err != nil {
			// Left pending: their leases run out and they are sent again, same ids.
			w.log.Error("webhooks: recording attempts", "attempts", len(group), "err", err)
		}
	}
}

// deliver makes one attempt and returns it to be recorded.
func (w *sender) deliver(d registry.ClaimedDelivery) registry.Attempt {
	start := w.now()
	err := w.post(d, start)
	end := w.now()
	w.m.attempt.Observe(end.Sub(start).Seconds())
	a := registry.Attempt{Subscription: d.Subscription, Delivery: d.ID, At: end, Delivered: err == nil}
	if err == nil {
		w.m.delivered.Inc()
		w.m.latency.Observe(end.Sub(d.Created).Seconds())
	} else {
		w.m.failed.Inc()
		a.Error = err.Error()
		a.Retry = w.retryAt(d, end)
		if a.Retry.IsZero() {
			w.m.dead.Inc()
			w.log.Warn("webhook delivery dead after its retry window", "webhook", d.Subscription, "delivery", d.ID, "attempts", d.Attempts+1, "err", err)
		}
	}
	return a
}

// retryAt is when to try d again after a failure at now: the delay doubles
// with each attempt (capped), with jitter so that a receiver back from an
// outage is not hit by every retry at once; zero once that falls outside
// the retry window.
func (w *sender) retryAt(d registry.ClaimedDelivery, now time.Time) time.Time {
	delay := w.backoff
	for i := 0; i < d.Attempts && delay < webhookMaxBackoff; i++ {
		delay *= 2
	}
	delay = min(delay, webhookMaxBackoff)
	delay = delay/2 + rand.N(delay/2+1)
	at := now.Add(delay)
	if at.After(d.Since.Add(w.retryFor)) {
		return time.Time{}
	}
	return at
}

// post sends d once. Errors describe the failure for the delivery's
// last_error: the transport's, or the status with the start of the body.
func (w *sender) post(d registry.ClaimedDelivery, now time.Time) error {
	if d.Event.Seq == 0 {
		return fmt.Errorf("event %s seq %d cannot be read from the registry", d.Serial, d.Seq)
	}
	body := w.payload(registry.Appended{Serial: d.Serial, Event: d.Event, Record: d.Record})
	ctx, cancel := context.WithTimeout(context.Background(), webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sanbao-webhooks")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", signWebhook(d.Secret, d.ID, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap() // without Go's `Post "<url>":` prefix
		}
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, webhookErrorBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
		msg += " (redirects are not followed; subscribe the final URL): " + loc
	}
	if text := strings.TrimSpace(strings.Map(printable, string(answer))); text != "" {
		msg += ": " + text
	}
	return errors.New(msg)
}

func printable(r rune) rune {
	if unicode.IsPrint(r) {
		return r
	}
	return ' '
}

// signWebhook is Standard Webhooks' signature: v1, then the base64 of the
// HMAC-SHA256 of "id.timestamp.body" keyed with the secret's bytes.
func signWebhook(secret []byte, id, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// webhookClient posts without following redirects, without a proxy (the
// address check must see the real destination) and, unless allowPrivate,
// refuses at every dial an address that blockedAddr refuses: a host that
// resolved to a public address when subscribed may resolve to another later.
func webhookClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: webhookTimeout}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if why := blockedAddr(ap.Addr()); why != "" {
				return fmt.Errorf("refused to connect to %s: %s", ap.Addr().Unmap(), why)
			}
			return nil
		}
	}
	return &http.Client{
		Timeout: webhookTimeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           d.DialContext,
			TLSHandshakeTimeout:   webhookTimeout,
			ResponseHeaderTimeout: webhookTimeout,
			MaxIdleConnsPerHost:   webhookSenders,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// netResolver resolves webhook hosts when they are subscribed.
var netResolver = net.DefaultResolver

// Addresses a webhook may not reach besides those netip classifies:
// carrier-grade NAT (also Alibaba Cloud's metadata service, 100.100.100.200),
// "this network", IETF protocol assignments, benchmarking, reserved and
// broadcast.
var blockedPrefixes = []struct {
	p   netip.Prefix
	why string
}{
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT or cloud metadata address"},
	{netip.MustParsePrefix("0.0.0.0/8"), `a "this network" address`},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved or broadcast address"},
}

// nat64 embeds an IPv4 address in IPv6; the embedded one is checked.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// blockedAddr says why a webhook must not connect to a ("" when it may):
// loopback, private (RFC 1918, IPv6 unique local — fd00:ec2::254, AWS's
// IPv6 metadata, among them), link-local (169.254.169.254, the cloud
// metadata address, among them), multicast, unspecified, and the prefixes
// above.
func blockedAddr(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() && nat64.Contains(a) {
		b := a.As16()
		return blockedAddr(netip.AddrFrom4([4]byte(b[12:])))
	}
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast():
		return "a link-local or cloud metadata address"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "a multicast address"
	case a.IsUnspecified():
		return "an unspecified address"
	}
	for _, b := range blockedPrefixes {
		if b.p.Contains(a) {
			return b.why
		}
	}
	return ""
}
