package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sanbao/sanbao/labels"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
	"github.com/sanbao/sanbao/server"
	"golang.org/x/net/netutil"
)

// Defaults of serve. The read and write timeouts bound every request
// until its caller is known, so a client that declares a body and never
// sends it, or sends headers a byte at a time, is cut within seconds; the
// authenticated streams (a registration CSV, a backup, a label file) are
// then given the stream timeout by the server, sized for the slowest
// legitimate one on a slow link. The connection bound keeps descriptors for
// the database and the process under a common ulimit -n of 1024.
const (
	defaultAddr            = "127.0.0.1:8080"
	defaultDB              = "sanbao.db"
	defaultReadTimeout     = 10 * time.Second
	defaultWriteTimeout    = 30 * time.Second
	defaultStreamTimeout   = server.DefaultStreamTimeout
	defaultShutdownTimeout = 30 * time.Second
	defaultMaxConnections  = 900
	readHeaderTimeout      = 5 * time.Second
	idleTimeout            = 2 * time.Minute
	maxHeaderBytes         = 64 << 10
	// lockTimeout bounds the wait for a database file held by another
	// process, so a second serve or an offline command fails fast.
	lockTimeout = time.Second
	// minSecretLen is the shortest check-code secret accepted from a file:
	// a guessable secret would let anyone mint valid check codes.
	minSecretLen = 16
)

var serveCommand = &command{
	name:     "serve",
	synopsis: "[flags]",
	summary:  "run the HTTP service (stops gracefully on SIGINT/SIGTERM)",
	maxArgs:  0,
	setup:    (*Main).setupServe,
}

// serveConfig is serve's validated configuration.
type serveConfig struct {
	addr, metricsAddr string
	debugAddr         string
	db                string
	publicURL         string
	policy            *policy.Policy
	trusted           []netip.Prefix
	tls               *tls.Config
	checkSecret       []byte
	previousSecret    []byte
	logger            *slog.Logger
	readTimeout       time.Duration
	writeTimeout      time.Duration
	streamTimeout     time.Duration
	maxConnections    int
	shutdownTimeout   time.Duration
	publicRate        float64
	publicBurst       int
	webhookPrivate    bool
	webhookBackoff    time.Duration
	zplFont           string
}

func (m *Main) setupServe(f *flags) runFunc {
	addr := f.String("addr", defaultAddr, "listen `address` (host:port; port 0 picks a free port)")
	db := f.String("db", defaultDB, "database `file` (created if missing), or a postgres:// URL of a PostgreSQL database shared by any number of serve processes")
	publicURL := f.String("public-url", "", "public base `URL` printed in check links and QR codes (default http://<addr>)")
	policyFile := f.String("policy", "", "warranty policy JSON `file` (default: the built-in IMASK policy)")
	var trusted prefixList
	f.Var(&trusted, "trusted-proxy", "`CIDR` of a reverse proxy whose X-Forwarded-For is believed (repeatable; the variable is comma-separated)")
	tlsCert := f.String("tls-cert", "", "TLS certificate `file` (PEM; needs --tls-key)")
	tlsKey := f.String("tls-key", "", "TLS private key `file` (PEM; needs --tls-cert)")
	metricsAddr := f.String("metrics-addr", "", "serve unauthenticated Prometheus /metrics on this separate `address`")
	debugAddr := f.String("debug-addr", "", "serve Go profiles (/debug/pprof/) on this separate `address`, unauthenticated: keep it on loopback")
	secretFile := f.String("check-secret-file", "", "`file` holding the check-code secret (overrides the one kept in the database)")
	prevSecretFile := f.String("previous-check-secret-file", "", "`file` holding the previous check-code secret, still accepted while labels are reprinted")
	logFormat := f.String("log-format", "text", "log `format`: text or json")
	logLevel := f.String("log-level", "info", "log `level`: debug, info, warn or error")
	readTimeout := f.Duration("read-timeout", defaultReadTimeout, "longest time to read a request, body included (authenticated uploads get --stream-timeout)")
	writeTimeout := f.Duration("write-timeout", defaultWriteTimeout, "longest time to write a response (authenticated backups and label files get --stream-timeout)")
	streamTimeout := f.Duration("stream-timeout", defaultStreamTimeout, "longest time an authenticated upload or download may take (registration, events batches, label files, backups)")
	maxConnections := f.Int("max-connections", defaultMaxConnections, "most client connections served at once; more wait to be accepted (keep it below ulimit -n)")
	shutdownTimeout := f.Duration("shutdown-timeout", defaultShutdownTimeout, "on SIGINT/SIGTERM, how long in-flight requests may take to finish")
	publicRate := f.Float64("public-rate", server.DefaultPublicRate, "public coverage checks a second allowed per client address (IPv6: per /64); negative turns the limit off, for a proxy in front that limits")
	publicBurst := f.Int("public-burst", server.DefaultPublicBurst, "public coverage checks one client address may make in a burst")
	webhookPrivate := f.Bool("webhook-allow-private", false, "let webhooks reach loopback, private, link-local and metadata addresses (a receiver on this host or network)")
	webhookBackoff := f.Duration("webhook-backoff", server.DefaultWebhookBackoff, "delay before a failed webhook delivery's first retry; each later one doubles it (up to an hour), for 24 hours")
	zplFont := f.String("zpl-font", labels.DefaultZPLFont, "printer-resident `font` of ZPL label text beyond Latin-1 (Chinese model names), as the printers know it: E:SIMSUN.FNT, E:ANMDJ.TTF...; a label request may name another with font=")

	return func(ctx context.Context, _ []string, stdout, stderr io.Writer) error {
		cfg := serveConfig{db: *db, trusted: trusted}
		var err error
		if cfg.addr, err = checkListenAddr(f, "addr", *addr); err != nil {
			return err
		}
		if *metricsAddr != "" {
			if cfg.metricsAddr, err = checkListenAddr(f, "metrics-addr", *metricsAddr); err != nil {
				return err
			}
			if cfg.metricsAddr == cfg.addr && !strings.HasSuffix(cfg.addr, ":0") {
				return f.errorf("metrics-addr", "%q is also --addr; give the metrics listener its own port", *metricsAddr)
			}
		}
		if *debugAddr != "" {
			if cfg.debugAddr, err = checkListenAddr(f, "debug-addr", *debugAddr); err != nil {
				return err
			}
		}
		if cfg.db == "" {
			return f.errorf("db", "a database file is required")
		}
		if cfg.publicURL, err = checkPublicURL(f, *publicURL); err != nil {
			return err
		}
		if cfg.policy, err = loadPolicy(f, *policyFile); err != nil {
			return err
		}
		if cfg.tls, err = loadTLS(f, *tlsCert, *tlsKey); err != nil {
			return err
		}
		if cfg.checkSecret, err = readSecret(f, "check-secret-file", *secretFile); err != nil {
			return err
		}
		if cfg.previousSecret, err = readSecret(f, "previous-check-secret-file", *prevSecretFile); err != nil {
			return err
		}
		if cfg.logger, err = newLogger(f, stderr, *logFormat, *logLevel); err != nil {
			return err
		}
		for _, d := range []struct {
			name string
			v    time.Duration
		}{{"read-timeout", *readTimeout}, {"write-timeout", *writeTimeout}, {"stream-timeout", *streamTimeout}, {"shutdown-timeout", *shutdownTimeout}} {
			if d.v <= 0 {
				return f.errorf(d.name, "must be positive (e.g. 30s, 10m)")
			}
		}
		cfg.readTimeout, cfg.writeTimeout, cfg.shutdownTimeout = *readTimeout, *writeTimeout, *shutdownTimeout
		cfg.streamTimeout = *streamTimeout
		if *maxConnections < 1 {
			return f.errorf("max-connections", "must be at least 1")
		}
		cfg.maxConnections = *maxConnections
		if *publicRate == 0 {
			return f.errorf("public-rate", "0 would refuse every public check; give a positive rate, or a negative one to turn the limit off")
		}
		if *publicBurst < 1 {
			return f.errorf("public-burst", "must be at least 1")
		}
		cfg.publicRate, cfg.publicBurst = *publicRate, *publicBurst
		if *webhookBackoff <= 0 {
			return f.errorf("webhook-backoff", "must be positive (e.g. 5s)")
		}
		cfg.webhookPrivate, cfg.webhookBackoff = *webhookPrivate, *webhookBackoff
		if err := labels.CheckPrinterFont(*zplFont); err != nil {
			return f.errorf("zpl-font", "%s", err.(*policy.Error).Message)
		}
		cfg.zplFont = *zplFont
		return m.serve(ctx, cfg, stderr)
	}
}

// serve listens, opens the database, and serves until ctx is cancelled;
// then it stops accepting, lets in-flight requests finish (up to the
// shutdown timeout), stops the server's background work and closes the
// database, which flushes buffered scan counts. The listeners are bound
// first, so a taken port fails the start before a database file is made.
func (m *Main) serve(ctx context.Context, cfg serveConfig, stderr io.Writer) (err error) {
	log := cfg.logger
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", cfg.addr, err)
	}
	defer ln.Close()
	// Side listeners are bound before anything is served, so a taken port
	// fails the start rather than a feature silently missing.
	var mln, dln net.Listener
	if cfg.metricsAddr != "" {
		if mln, err = net.Listen("tcp", cfg.metricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr %s: %w", cfg.metricsAddr, err)
		}
		defer mln.Close()
	}
	if cfg.debugAddr != "" {
		if dln, err = net.Listen("tcp", cfg.debugAddr); err != nil {
			return fmt.Errorf("--debug-addr %s: %w", cfg.debugAddr, err)
		}
		defer dln.Close()
	}

	db, err := openStore(cfg.db, bolt.Options{
		Options: registry.Options{
			Policy:         cfg.policy,
			CheckSecret:    cfg.checkSecret,
			PreviousSecret: cfg.previousSecret,
		},
		Timeout: lockTimeout,
	})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", dbName(cfg.db), cerr)
		}
	}()
	if err := firstAdminKey(db, stderr); err != nil {
		log.Warn("no admin key exists and none could be made; make one with sanbao keys create with the server stopped", "err", err)
	}

	scheme := "http"
	if cfg.tls != nil {
		scheme = "https"
	}
	publicURL := cfg.publicURL
	if publicURL == "" {
		publicURL = scheme + "://" + ln.Addr().String()
		if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
			log.Warn("--public-url is not set: check links on labels will point at an unspecified address; set it to the address customers reach", "public_url", publicURL)
		}
	}
	srv, err := server.New(server.Config{
		DB:                  db,
		Policy:              cfg.policy,
		PublicURL:           publicURL,
		TrustedProxies:      cfg.trusted,
		Logger:              log,
		MetricsPublic:       false,
		PublicRate:          cfg.publicRate,
		PublicBurst:         cfg.publicBurst,
		WebhookAllowPrivate: cfg.webhookPrivate,
		WebhookBackoff:      cfg.webhookBackoff,
		StreamTimeout:       cfg.streamTimeout,
		ZPLFont:             cfg.zplFont,
		SecureCookies:       cfg.tls != nil || strings.HasPrefix(publicURL, "https://"),
	})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := srv.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	srv.StartWebhooks()

	errorLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	hs := &http.Server{
		Handler:           srv.Handler(),
		TLSConfig:         cfg.tls,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       cfg.readTimeout,
		WriteTimeout:      cfg.writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errorLog,
	}
	servers := []*http.Server{hs}
	errc := make(chan error, 3)
	go func() {
		limited := netutil.LimitListener(ln, cfg.maxConnections)
		if cfg.tls != nil {
			errc <- hs.ServeTLS(limited, "", "")
		} else {
			errc <- hs.Serve(limited)
		}
	}()
	side := func(l net.Listener, h http.Handler, what string) {
		s := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: readHeaderTimeout,
			WriteTimeout:      2 * time.Minute, // a CPU profile takes its seconds
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          errorLog,
		}
		servers = append(servers, s)
		go func() { errc <- s.Serve(l) }()
		log.Info(what + " on http://" + l.Addr().String())
	}
	var maddr net.Addr
	if mln != nil {
		side(mln, metricsMux(srv.MetricsHandler()), "metrics (/metrics)")
		maddr = mln.Addr()
	}
	if dln != nil {
		side(dln, debugMux(), "profiling (/debug/pprof/)")
	}
	log.Info("listening on "+scheme+"://"+ln.Addr().String(), "db", cfg.db, "public_url", publicURL)
	m.listening(ln.Addr(), maddr)

	select {
	case <-ctx.Done():
	case err := <-errc:
		// A listener failed on its own: shut the other one down the same way.
		log.Error("server stopped", "err", err)
		shutdown(log, servers, cfg.shutdownTimeout)
		return err
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", cfg.shutdownTimeout.String())
	shutdown(log, servers, cfg.shutdownTimeout)
	log.Info("stopped")
	return nil
}

// firstAdminKey makes an admin key when the database has no active one (a
// new file) and prints it to w, marked so that it is not mistaken for a log
// line: the first minute needs a key to sign in to the console or call the
// API, and it is shown this once (only its hash is stored).
func firstAdminKey(db registry.KeyStore, w io.Writer) error {
	keys, err := db.Keys()
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Role == registry.RoleAdmin && k.Revoked.IsZero() {
			return nil
		}
	}
	_, token, err := db.CreateKey(registry.Actor{Name: "serve"}, "first admin", registry.RoleAdmin)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, `
******************************************************************************
The database has no admin key, so serve made one. It is shown only this once:

first admin key: %s

Sign in at /console with it, or send it as "Authorization: Bearer <key>".
Make other keys with POST /api/v1/keys (or sanbao keys create, server stopped).
******************************************************************************

`, token)
	return err
}

// shutdown stops the servers gracefully; requests still running at the
// deadline are cut off. Either way no acknowledged write is lost: a write is
// answered only after its transaction commits.
func shutdown(log *slog.Logger, servers []*http.Server, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil {
			log.Warn("graceful shutdown timed out; closing the remaining connections", "err", err)
			s.Close()
		}
	}
}

// metricsMux serves the metrics handler at /metrics only.
func metricsMux(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	return mux
}

// debugMux serves the runtime profiles of net/http/pprof.
func debugMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// checkListenAddr checks a host:port listen address.
func checkListenAddr(f *flags, name, v string) (string, error) {
	host, port, err := net.SplitHostPort(strings.TrimSpace(v))
	if err != nil {
		return "", f.errorf(name, "%q is not host:port (e.g. 127.0.0.1:8080 or 0.0.0.0:8080)", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", f.errorf(name, "%q: port %q is not a number from 0 to 65535", v, port)
	}
	if strings.ContainsAny(host, " /") {
		return "", f.errorf(name, "%q: %q is not a host name or IP address", v, host)
	}
	return net.JoinHostPort(host, port), nil
}

// checkPublicURL checks the public base URL and drops a trailing slash.
func checkPublicURL(f *flags, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", f.errorf("public-url", "%q is not an absolute http:// or https:// URL (e.g. https://warranty.example.com)", v)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", f.errorf("public-url", "%q must be a base URL without user, query or fragment", v)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// loadPolicy reads the policy file; its errors name the field at fault.
func loadPolicy(f *flags, file string) (*policy.Policy, error) {
	if file == "" {
		return policy.Default(), nil
	}
	if _, err := os.Stat(file); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, f.errorf("policy", "cannot read %s: %v", file, err)
	}
	p, err := policy.LoadFile(file)
	if err != nil {
		// The policy's errors name the file already, with a machine code a
		// person does not need.
		msg := message(err)
		if !strings.Contains(msg, file) {
			msg = file + ": " + msg
		}
		return nil, f.errorf("policy", "%s", msg)
	}
	return p, nil
}

// loadTLS loads the key pair when both files are given.
func loadTLS(f *flags, cert, key string) (*tls.Config, error) {
	switch {
	case cert == "" && key == "":
		return nil, nil
	case key == "":
		return nil, f.errorf("tls-cert", "needs --tls-key as well")
	case cert == "":
		return nil, f.errorf("tls-key", "needs --tls-cert as well")
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, f.errorf("tls-cert", "%s with --tls-key %s: %v", cert, key, err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}, nil
}

// readSecret reads a secret file; surrounding whitespace (an editor's final
// newline) is not part of the secret.
func readSecret(f *flags, name, file string) ([]byte, error) {
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, f.errorf(name, "%v", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) < minSecretLen {
		return nil, f.errorf(name, "%s holds %d bytes; a secret needs at least %d (e.g. head -c 32 /dev/urandom | base64)", file, len(b), minSecretLen)
	}
	return b, nil
}

// newLogger builds the slog logger writing to w.
func newLogger(f *flags, w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, f.errorf("log-level", "%q is not one of debug, info, warn, error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, f.errorf("log-format", "%q is not text or json", format)
}
