// Package server is sanbao's HTTP API (the contract's /api/v1 routes and
// operations endpoints) over a registry.Store. It is the only package that
// imports echo. Every error leaves through one handler (errors.go) in the
// contract's shape; who may call what is one table (auth.go).
package server

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/labels"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/server/locale"
)

// DefaultMaxBodyBytes bounds the body of the routes that take large ones
// (largeBodies): a 100,000-row registration CSV is about 5 MB, JSON about
// 10 MB. Every other route has DefaultSmallBodyBytes.
const DefaultMaxBodyBytes = 64 << 20

// Config configures a Server. DB is required; the rest have defaults.
type Config struct {
	// DB is the registry: the bbolt file or PostgreSQL, the server cannot
	// tell which.
	DB registry.Store
	// Policy is the warranty policy; default policy.Default(). It must be
	// the one the store was opened with.
	Policy *policy.Policy
	// PublicURL is where customers reach the public pages (check URLs on
	// labels), e.g. https://w.example.com. Optional here; cmd sets it.
	PublicURL string
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Logger receives one line per request and every internal error; default
	// slog.Default().
	Logger *slog.Logger
	// MetricsPublic serves /metrics without a key (false: a key of any role).
	MetricsPublic bool
	// SecureCookies marks cookies Secure (under TLS).
	SecureCookies bool
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxBodyBytes bounds the bodies of the routes that take large ones
	// (registration, batches of events, label lists); default
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// SmallBodyBytes bounds every other body (forms, one event, a model);
	// default DefaultSmallBodyBytes.
	SmallBodyBytes int64
	// StreamTimeout is the read and write deadline given to an
	// authenticated upload or download (registration, label files,
	// backups) once its caller is known, replacing the http.Server's short
	// ones; default DefaultStreamTimeout.
	StreamTimeout time.Duration
	// PublicRate is how many public coverage requests a second one client
	// (an IPv4 address or an IPv6 /64) may make on average; default
	// DefaultPublicRate. Negative turns the limit off (a proxy in front
	// limits instead).
	PublicRate float64
	// PublicBurst is how many a client may make at once; default
	// DefaultPublicBurst.
	PublicBurst int
	// ZPLFont is the printer-resident font ZPL labels set text beyond
	// Latin-1 in (Chinese model names), unless a request names another;
	// default labels.DefaultZPLFont (E:SIMSUN.FNT).
	ZPLFont string
	// PublicClients bounds the table of per-client limiters; default
	// DefaultPublicClients.
	PublicClients int
	// WebhookAllowPrivate lets webhooks reach loopback, private, link-local
	// and metadata addresses (tests; a receiver on the same network).
	WebhookAllowPrivate bool
	// WebhookBackoff is the delay before a failed delivery's first retry;
	// default DefaultWebhookBackoff.
	WebhookBackoff time.Duration
	// WebhookRetryFor is how long a delivery is retried before it is dead;
	// default DefaultWebhookRetryFor.
	WebhookRetryFor time.Duration
}

// Server serves the API. Create it with New; it is safe for concurrent use.
type Server struct {
	cfg      Config
	db       registry.Store
	policy   *policy.Policy
	log      *slog.Logger
	now      func() time.Time
	echo     *echo.Echo
	handler  http.Handler // echo behind trimSlash
	metrics  *metrics
	routes   map[string]bool               // route templates, for bounded metric labels
	limiter  *rateLimiter                  // public routes, per client; nil: unlimited
	scanSeen *scanSeen                     // public checks counted in the last 10 minutes
	csrf     *http.CrossOriginProtection   // the public receipt routes
	console  *consoleState                 // the staff console (console.go)
	shells   map[*locale.Lang]*publicShell // the public pages' frame (public_render.go)
	words    *wordMemo                     // the public pages' worded dates and counts

	webhookMetrics *webhookMetrics
	webhookOnce    sync.Once
	sender         *sender // nil until StartWebhooks

	registering chan struct{} // a slot per registration in progress (registrationSlot)
}

// New builds a Server. Errors: a missing DB, a malformed PublicURL, or a
// role-matrix row without a handler (a programming error caught at start).
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil {
		return nil, errors.New("server: Config.DB is required")
	}
	if cfg.Policy == nil {
		cfg.Policy = policy.Default()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.WebhookBackoff <= 0 {
		cfg.WebhookBackoff = DefaultWebhookBackoff
	}
	if cfg.WebhookRetryFor <= 0 {
		cfg.WebhookRetryFor = DefaultWebhookRetryFor
	}
	if cfg.SmallBodyBytes <= 0 {
		cfg.SmallBodyBytes = min(DefaultSmallBodyBytes, cfg.MaxBodyBytes)
	}
	if cfg.StreamTimeout <= 0 {
		cfg.StreamTimeout = DefaultStreamTimeout
	}
	if cfg.ZPLFont == "" {
		cfg.ZPLFont = labels.DefaultZPLFont
	}
	if err := labels.CheckPrinterFont(cfg.ZPLFont); err != nil {
		return nil, fmt.Errorf("server: ZPL font: %w", err)
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("server: public URL %q must be an absolute http(s) URL", cfg.PublicURL)
		}
	}
	s := &Server{
		cfg:    cfg,
		db:     cfg.DB,
		policy: cfg.Policy,
		log:    cfg.Logger,
		now:    cfg.Now,
		routes: map[string]bool{},
	}
	s.registering = make(chan struct{}, maxRegistrations)
	s.metrics = newMetrics(cfg.DB)
	s.webhookMetrics = newWebhookMetrics(s.metrics.reg, cfg.DB)
	s.limiter = newRateLimiter(cfg.PublicRate, cfg.PublicBurst, cfg.PublicClients, cfg.Now)
	s.scanSeen = newScanSeen(cmp.Or(cfg.PublicClients, DefaultPublicClients))
	s.csrf = s.receiptCSRF()
	s.shells = s.publicShells()
	s.words = newWordMemo()

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard) // everything is logged through slog
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	e.Use(s.serve)
	s.echo, s.handler = e, trimSlash(e)

	handlers := s.handlers()
	for _, r := range access {
		key := r.Method + " " + r.Path
		h, ok := handlers[key]
		if !ok {
			return nil, fmt.Errorf("server: role matrix lists %s but no handler serves it", key)
		}
		delete(handlers, key)
		roles := r.Roles
		if r.Path == "/metrics" && cfg.MetricsPublic {
			roles = public
		}
		// Wrapped here, once: echo would apply a route's middleware on every request.
		e.Add(r.Method, r.Path, s.authorize(roles)(h))
		s.routes[r.Path] = true
	}
	for key := range handlers {
		return nil, fmt.Errorf("server: handler for %s has no row in the role matrix", key)
	}
	if err := s.routeConsole(e); err != nil {
		return nil, err
	}
	return s, nil
}

// handlers maps each route of the role matrix to its handler.
func (s *Server) handlers() map[string]echo.HandlerFunc {
	return map[string]echo.HandlerFunc{
		"GET /":             s.root,
		"GET /healthz":      s.healthz,
		"GET /readyz":       s.readyz,
		"GET /openapi.json": s.openAPI,
		"GET /static/:file": s.publicStylesheetFile,
		"GET /metrics":      echo.WrapHandler(s.MetricsHandler()),

		"GET /api/v1/models":      s.listModels,
		"GET /api/v1/models/:sku": s.getModel,
		"PUT /api/v1/models/:sku": s.putModel,

		"POST /api/v1/items":                     s.registerItems,
		"GET /api/v1/items/:serial":              s.getItem,
		"POST /api/v1/items/:serial/events":      s.postEvent,
		"GET /api/v1/items/:serial/entitlements": s.entitlements,
		"POST /api/v1/events":                    s.postEvents,
		"POST /api/v1/orders/:order/received":    s.receiveOrder,

		"GET /api/v1/batches":        s.listBatches,
		"GET /api/v1/batches/:batch": s.getBatch,

		"GET /api/v1/reports/quality":  s.qualityReport,
		"GET /api/v1/reports/findings": s.findingsReport,
		"GET /api/v1/reports/expiring": s.expiringReport,

		"GET /api/v1/items/:serial/label": s.itemLabel,
		"POST /api/v1/labels":             s.postLabels,

		"GET /api/v1/service/open": s.serviceQueue,

		"POST /api/v1/keys":             s.createKey,
		"GET /api/v1/keys":              s.listKeys,
		"DELETE /api/v1/keys/:id":       s.revokeKey,
		"GET /api/v1/audit":             s.audit,
		"GET /api/v1/admin/backup":      s.backup,
		"POST /api/v1/users":            s.createUser,
		"GET /api/v1/users":             s.listUsers,
		"PATCH /api/v1/users/:username": s.updateUser,

		"POST /api/v1/webhooks":                                s.createWebhook,
		"GET /api/v1/webhooks":                                 s.listWebhooks,
		"GET /api/v1/webhooks/:id":                             s.getWebhook,
		"DELETE /api/v1/webhooks/:id":                          s.deleteWebhook,
		"GET /api/v1/webhooks/:id/deliveries":                  s.listWebhookDeliveries,
		"POST /api/v1/webhooks/:id/deliveries/:delivery/retry": s.retryWebhookDelivery,

		"PUT /api/v1/batches/:batch/notice":    s.putNotice,
		"DELETE /api/v1/batches/:batch/notice": s.deleteNotice,
		"GET /api/v1/notices":                  s.listNotices,

		"GET /c":                      s.publicRoute(true, s.checkForm),
		"GET /c/:serial":              s.publicRoute(true, s.coveragePage),
		"GET /c/:serial/terms":        s.publicRoute(true, s.termsPage),
		"GET /01/:gtin14/21/:serial":  s.publicRoute(true, s.coveragePage),
		"GET /api/v1/public/coverage": s.publicRoute(false, s.publicCoverage),
		"POST /c/:serial/receipt":     s.publicRoute(true, s.confirmReceiptPage),
		"POST /api/v1/public/receipt": s.publicRoute(false, s.confirmReceipt),

		"GET /api/v1/orders/:order":    s.getOrder,
		"DELETE /api/v1/items/:serial": s.deleteItem,
		"DELETE /api/v1/models/:sku":   s.deleteModel,
	}
}

// Handler is the whole application: API, operations endpoints, metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops background work: the webhook sender, after the attempts in
// flight are recorded. It does not close the DB, which the caller owns and
// closes after the HTTP server has shut down.
func (s *Server) Close() error {
	s.webhookOnce.Do(func() {}) // no sender starts after Close
	if s.sender != nil {
		s.sender.close()
	}
	return nil
}

// ipExtractor believes X-Forwarded-For only from the trusted proxies; with
// none, the peer address is the client.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		p = p.Masked()
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// today is the calendar date now in the policy's time zone.
func (s *Server) today() policy.Date { return s.policy.Today(s.now()) }
