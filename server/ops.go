package server

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// healthz answers 200 while the process serves HTTP (liveness). Codes: none.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the database accepts writes and 503 unavailable
// when it is read-only or the disk is full (readiness: take the node out of
// rotation for writes). Codes: 200, 503.
func (s *Server) readyz(c echo.Context) error {
	if err := s.db.Ready(); err != nil {
		_, d := classify(err, requestID(c))
		if d.Code != policy.EUnavailable {
			return err
		}
		c.Response().Header().Set("Retry-After", "60")
		return c.JSON(http.StatusServiceUnavailable, errorBody{Error: d})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// auditEntryView is one audit entry as the API shows it.
type auditEntryView struct {
	ID     string `json:"id"`
	At     stamp  `json:"at"`
	KeyID  string `json:"key_id"`
	Name   string `json:"name"`
	Action string `json:"action"`
	Target string `json:"target"`
	Detail string `json:"detail"`
}

// audit lists who changed what, oldest first, a page at a time
// (?after=CURSOR&limit=N, N ≤ 1000, default 100). Codes: 200, 400
// (malformed limit or cursor), 401, 403.
func (s *Server) audit(c echo.Context) error {
	limit, err := queryLimit(c, registry.DefaultLimit, registry.MaxLimit)
	if err != nil {
		return err
	}
	entries, next, err := s.db.Audit(c.QueryParam("after"), limit)
	if err != nil {
		return asParam(err)
	}
	out := struct {
		Entries []auditEntryView `json:"entries"`
		Next    nullString       `json:"next"`
	}{Entries: make([]auditEntryView, len(entries)), Next: nullString(next)}
	for i, e := range entries {
		out.Entries[i] = auditEntryView{ID: e.ID, At: s.stamp(e.At), KeyID: e.KeyID, Name: e.Name,
			Action: e.Action, Target: e.Target, Detail: e.Detail}
	}
	return c.JSON(http.StatusOK, out)
}

// asParam turns the registry's EInvalid about a query value (a cursor, a
// limit) into the 400 a malformed parameter gets.
func asParam(err error) error {
	if policy.ErrorCode(err) == policy.EInvalid {
		return badParam("after", err)
	}
	return err
}

// backup streams a consistent snapshot of the database file as an
// attachment. The snapshot is taken before the first byte is sent, so a
// failure to take it is a proper error answer; a store that cannot stream
// one (PostgreSQL) answers 503 naming its own tools. Codes: 200, 401, 403,
// 500, 503.
func (s *Server) backup(c echo.Context) error {
	name := "sanbao-" + s.now().UTC().Format("20060102T150405Z") + ".db"
	w := &lazyHeader{c: c, name: name}
	b, ok := s.db.(registry.Backuper)
	if !ok {
		return policy.Errorf(policy.EUnavailable, "", "this registry's store cannot stream a backup: back it up with the database's own tools (pg_dump for PostgreSQL)")
	}
	n, err := b.Backup(w)
	if err != nil {
		return err
	}
	if !c.Response().Committed {
		w.commit()
	}
	s.log.Info("backup sent", "request_id", requestID(c), "bytes", n, "key_id", keyOf(c).ID)
	return nil
}

// lazyHeader writes the attachment headers with the first byte of the
// snapshot, so an error before any byte still gets a JSON error answer.
type lazyHeader struct {
	c    echo.Context
	name string
}

func (w *lazyHeader) commit() {
	h := w.c.Response().Header()
	h.Set(echo.HeaderContentType, "application/octet-stream")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+w.name+`"`)
	h.Set("Cache-Control", "no-store")
	w.c.Response().WriteHeader(http.StatusOK)
}

func (w *lazyHeader) Write(p []byte) (int, error) {
	if !w.c.Response().Committed {
		w.commit()
	}
	return w.c.Response().Write(p)
}

// MetricsHandler serves the Prometheus metrics without authentication, for
// a separate --metrics-addr listener.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// metrics are the server's Prometheus collectors, in a registry of their
// own (several servers may live in one process, as in tests).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	// byRoute holds each method and route's collectors with their labels
	// resolved (WithLabelValues formats the code and hashes the labels on
	// every call). Readers load the map; a new pair copies it, under mu.
	byRoute atomic.Pointer[map[routeKey]*routeMetrics]
	mu      sync.Mutex
}

type routeKey struct{ method, route string }

// routeMetrics are one method and route's collectors.
type routeMetrics struct {
	latency prometheus.Observer
	counts  *prometheus.CounterVec // curried: the code is the label left
	// codes are the counters of the codes seen so far (a route answers a
	// handful), copied on a new one, under metrics.mu.
	codes atomic.Pointer[[]codeCounter]
}

type codeCounter struct {
	code    int
	counter prometheus.Counter
}

// maxRouteMetrics bounds byRoute: a method the routes do not know (they are
// labels as sent) past it is counted through the vectors directly.
const maxRouteMetrics = 512

func newMetrics(db registry.Operations) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sanbao_http_requests_total",
			Help: "HTTP requests by method, route template and status.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sanbao_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
	}
	m.reg.MustRegister(m.requests, m.latency, registryCollector{db},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	rm := m.route(method, route)
	if rm == nil {
		m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		m.latency.WithLabelValues(method, route).Observe(d.Seconds())
		return
	}
	rm.counter(m, status).Inc()
	rm.latency.Observe(d.Seconds())
}

// route returns the collectors of method and route, nil once byRoute is full.
func (m *metrics) route(method, route string) *routeMetrics {
	k := routeKey{method, route}
	if p := m.byRoute.Load(); p != nil {
		if rm := (*p)[k]; rm != nil {
			return rm
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := map[routeKey]*routeMetrics{}
	if p := m.byRoute.Load(); p != nil {
		old = *p
	}
	if rm := old[k]; rm != nil {
		return rm
	}
	if len(old) >= maxRouteMetrics {
		return nil
	}
	labels := prometheus.Labels{"method": method, "route": route}
	rm := &routeMetrics{latency: m.latency.With(labels), counts: m.requests.MustCurryWith(labels)}
	next := maps.Clone(old)
	next[k] = rm
	m.byRoute.Store(&next)
	return rm
}

// counter returns the requests counter of code.
func (rm *routeMetrics) counter(m *metrics, code int) prometheus.Counter {
	if p := rm.codes.Load(); p != nil {
		for _, c := range *p {
			if c.code == code {
				return c.counter
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var old []codeCounter
	if p := rm.codes.Load(); p != nil {
		old = *p
	}
	for _, c := range old {
		if c.code == code {
			return c.counter
		}
	}
	c := rm.counts.WithLabelValues(strconv.Itoa(code))
	next := append(slices.Clip(old), codeCounter{code, c})
	rm.codes.Store(&next)
	return c
}

var (
	itemsDesc     = prometheus.NewDesc("sanbao_items_registered", "Serials registered.", nil, nil)
	modelsDesc    = prometheus.NewDesc("sanbao_models", "Models (SKUs) defined.", nil, nil)
	openCasesDesc = prometheus.NewDesc("sanbao_open_cases", "Service cases open now.", nil, nil)
)

// registryCollector reads the registry's counters once per scrape.
type registryCollector struct{ db registry.Operations }

func (r registryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- itemsDesc
	ch <- modelsDesc
	ch <- openCasesDesc
}

func (r registryCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := r.db.Stats()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(itemsDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(itemsDesc, prometheus.GaugeValue, float64(st.Items))
	ch <- prometheus.MustNewConstMetric(modelsDesc, prometheus.GaugeValue, float64(st.Models))
	ch <- prometheus.MustNewConstMetric(openCasesDesc, prometheus.GaugeValue, float64(st.OpenCases))
}
