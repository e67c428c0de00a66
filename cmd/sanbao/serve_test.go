package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestServeRejectsBadConfigurationNamingTheFlag(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badPolicy := write("bad-policy.json", `{"return_days": -3}`)
	unknownField := write("unknown-policy.json", `{"retrun_days": 7}`)
	shortSecret := write("short-secret", "abc\n")
	notPEM := write("not.pem", "not a certificate")
	cert, key := selfSigned(t, dir)

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"addr without port", []string{"--addr", "127.0.0.1"}, []string{"--addr", "127.0.0.1"}},
		{"addr port not a number", []string{"--addr", "127.0.0.1:http"}, []string{"--addr", "port"}},
		{"addr port out of range", []string{"--addr", "127.0.0.1:70000"}, []string{"--addr", "70000"}},
		{"metrics addr malformed", []string{"--metrics-addr", "9090"}, []string{"--metrics-addr", "9090"}},
		{"debug addr malformed", []string{"--debug-addr", "localhost"}, []string{"--debug-addr", "localhost"}},
		{"metrics addr equal to addr", []string{"--addr", "127.0.0.1:8080", "--metrics-addr", "127.0.0.1:8080"}, []string{"--metrics-addr", "own port"}},
		{"trusted proxy not a CIDR", []string{"--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "office"}, []string{"--trusted-proxy", "office", "CIDR"}},
		{"trusted proxy prefix too long", []string{"--trusted-proxy", "10.0.0.0/40"}, []string{"--trusted-proxy", "10.0.0.0/40"}},
		{"public url relative", []string{"--public-url", "warranty.example.com"}, []string{"--public-url", "warranty.example.com"}},
		{"public url other scheme", []string{"--public-url", "ftp://example.com"}, []string{"--public-url", "http"}},
		{"public url with query", []string{"--public-url", "https://example.com/?a=b"}, []string{"--public-url", "query"}},
		{"tls cert without key", []string{"--tls-cert", cert}, []string{"--tls-cert", "--tls-key"}},
		{"tls key without cert", []string{"--tls-key", key}, []string{"--tls-key", "--tls-cert"}},
		{"tls files unreadable", []string{"--tls-cert", notPEM, "--tls-key", key}, []string{"--tls-cert", "not.pem"}},
		{"policy file missing", []string{"--policy", filepath.Join(dir, "nope.json")}, []string{"--policy", "nope.json"}},
		{"policy value out of range", []string{"--policy", badPolicy}, []string{"--policy", "return_days"}},
		{"policy field unknown", []string{"--policy", unknownField}, []string{"--policy", "retrun_days"}},
		{"check secret file missing", []string{"--check-secret-file", filepath.Join(dir, "nope")}, []string{"--check-secret-file", "nope"}},
		{"check secret too short", []string{"--check-secret-file", shortSecret}, []string{"--check-secret-file", "at least 16"}},
		{"previous secret too short", []string{"--previous-check-secret-file", shortSecret}, []string{"--previous-check-secret-file", "at least 16"}},
		{"log format unknown", []string{"--log-format", "xml"}, []string{"--log-format", "xml"}},
		{"log level unknown", []string{"--log-level", "loud"}, []string{"--log-level", "loud"}},
		{"write timeout not positive", []string{"--write-timeout", "0s"}, []string{"--write-timeout"}},
		{"shutdown timeout not a duration", []string{"--shutdown-timeout", "soon"}, []string{"-shutdown-timeout", "soon"}},
		{"db empty", []string{"--db", ""}, []string{"--db"}},
		{"public rate zero", []string{"--public-rate", "0"}, []string{"--public-rate", "negative"}},
		{"public rate not a number", []string{"--public-rate", "fast"}, []string{"-public-rate", "fast"}},
		{"public burst zero", []string{"--public-burst", "0"}, []string{"--public-burst", "at least 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "never.db")
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, tt.args...)
			_, _, err := run(t, nil, args...)
			wantUsageError(t, err, tt.want...)
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a rejected configuration created the database (stat: %v)", err)
			}
		})
	}
}

func TestServeWithoutFlagsUsesDefaults(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ctx, cancel := context.WithCancel(context.Background())
	m := newMain(nil)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"serve"}, io.Discard, io.Discard) }()
	select {
	case <-m.Ready():
		if got := m.Addr(); got != defaultAddr {
			t.Errorf("Addr() = %q, want %q", got, defaultAddr)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	case err := <-done:
		// Port 8080 is taken on this machine: the error must still show
		// that serve tried the default address, and the file is not made.
		cancel()
		if err == nil || !strings.Contains(err.Error(), defaultAddr) {
			t.Fatalf("serve without flags: %v; want to listen on %s", err, defaultAddr)
		}
		t.Logf("port busy, checked the attempt instead: %v", err)
		return
	}
	if _, err := os.Stat(filepath.Join(dir, defaultDB)); err != nil {
		t.Errorf("serve without flags did not create ./%s: %v", defaultDB, err)
	}
}

// A start that fails because the port is taken leaves no database file.
func TestServeOnATakenPortCreatesNoDatabase(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, flag := range []string{"--addr", "--metrics-addr", "--debug-addr"} {
		t.Run(flag, func(t *testing.T) {
			db := tempDB(t)
			args := []string{"serve", "--addr", "127.0.0.1:0", "--db", db}
			args = append(args, flag, ln.Addr().String())
			_, _, err := run(t, nil, args...)
			if err == nil || !strings.Contains(err.Error(), flag) {
				t.Fatalf("serve on a taken port: %v, want an error naming %s", err, flag)
			}
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed start left %s behind (stat: %v)", db, err)
			}
		})
	}
}

// The first minute: serve on a new database prints an admin key, once,
// that the API accepts; a database with an admin key gets none.
func TestServeOnAnEmptyDatabasePrintsAFirstAdminKeyOnce(t *testing.T) {
	db := tempDB(t)
	srv := startServe(t, nil, "--addr", "127.0.0.1:0", "--db", db)
	m := regexp.MustCompile(`(?m)^first admin key: (\S+)$`).FindAllStringSubmatch(srv.stderr.String(), -1)
	if len(m) != 1 {
		t.Fatalf("want one first admin key line on stderr:\n%s", srv.stderr)
	}
	if status, body := call(t, http.MethodGet, srv.URL+"/api/v1/keys", m[0][1], nil); status != http.StatusOK {
		t.Fatalf("the printed key: GET /api/v1/keys = %d %s", status, body)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	again := startServe(t, nil, "--addr", "127.0.0.1:0", "--db", db)
	if strings.Contains(again.stderr.String(), "first admin key") {
		t.Errorf("a second start printed another key:\n%s", again.stderr)
	}
	other := tempDB(t)
	newKey(t, other, "admin")
	withKey := startServe(t, nil, "--addr", "127.0.0.1:0", "--db", other)
	if strings.Contains(withKey.stderr.String(), "first admin key") {
		t.Errorf("a database with an admin key got another:\n%s", withKey.stderr)
	}
}

// Before a caller is known, a declared body that never arrives holds the
// connection only for the short read timeout; an authenticated upload
// slower than that timeout still completes within the stream timeout.
func TestSlowBodiesAreCutUnlessAuthenticatedStreams(t *testing.T) {
	db := tempDB(t)
	key := newKey(t, db, "admin")
	srv := startServe(t, nil, "--addr", "127.0.0.1:0", "--db", db, "--read-timeout", "300ms", "--stream-timeout", "1m")
	putModel(t, srv.URL, key, "M1")
	addr := strings.TrimPrefix(srv.URL, "http://")

	for _, path := range []string{"/api/v1/items", "/console/sign-in", "/api/v1/public/coverage"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(30 * time.Second)) // a hang guard only
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 1000\r\n\r\nserial", path)
		_, err = io.ReadAll(conn)
		conn.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: a body that never arrives held the connection for 30s", path)
		}
	}

	// Authenticated: the rows trickle in over about a second, past the
	// 300ms read timeout.
	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, "serial,sku,batch,produced_on\n")
		for i := range 5 {
			time.Sleep(250 * time.Millisecond)
			fmt.Fprintf(pw, "SLOW-%d,M1,B1,2026-11-01\n", i)
		}
		pw.Close()
	}()
	hr, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/items", pr)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+key)
	hr.Header.Set("Content-Type", "text/csv")
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatalf("a slow authenticated upload: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
		t.Fatalf("a slow authenticated upload: %d %s", res.StatusCode, body)
	}
	if !strings.Contains(string(body), `"created":5`) {
		t.Errorf("a slow authenticated upload: %s, want 5 created", body)
	}
}

func TestServeReadsItsFlagsFromTheEnvironment(t *testing.T) {
	db := tempDB(t)
	key := newKey(t, db, "admin")
	srv := startServe(t, env{
		"SANBAO_ADDR":          "127.0.0.1:0",
		"SANBAO_DB":            db,
		"SANBAO_METRICS_ADDR":  "127.0.0.1:0",
		"SANBAO_TRUSTED_PROXY": "10.0.0.0/8,fd00::/8",
		"SANBAO_PUBLIC_URL":    "https://warranty.example.com/",
		"SANBAO_LOG_FORMAT":    "json",
	})
	if status, body := call(t, http.MethodGet, srv.URL+"/api/v1/models", key, nil); status != http.StatusOK {
		t.Fatalf("GET models with a key of %s: %d %s", db, status, body)
	}
	if srv.m.MetricsAddr() == "" {
		t.Fatal("SANBAO_METRICS_ADDR did not start a metrics listener")
	}
	if !strings.Contains(srv.stderr.String(), `"msg":"listening on http://`) {
		t.Errorf("SANBAO_LOG_FORMAT=json: log is not JSON:\n%s", srv.stderr)
	}
}

func TestServePublicRateLimitFlagsReachTheServer(t *testing.T) {
	srv := startServe(t, nil, "--addr", "127.0.0.1:0", "--db", tempDB(t), "--public-rate", "0.001", "--public-burst", "2")
	check := srv.URL + "/api/v1/public/coverage?serial=S1&k=ABCDEFGH"
	for i, want := range []int{http.StatusNotFound, http.StatusNotFound, http.StatusTooManyRequests} {
		if status, body := call(t, http.MethodGet, check, "", nil); status != want {
			t.Fatalf("public check %d: %d %s, want %d (burst 2)", i+1, status, body, want)
		}
	}
}

func TestServeLogsTheBoundAddress(t *testing.T) {
	srv := startServe(t, nil, "--addr", "127.0.0.1:0", "--db", tempDB(t))
	if want := "listening on " + srv.URL; !strings.Contains(srv.stderr.String(), want) {
		t.Errorf("log does not say %q:\n%s", want, srv.stderr)
	}
	if status, _ := call(t, http.MethodGet, srv.URL+"/healthz", "", nil); status != http.StatusOK {
		t.Errorf("GET /healthz = %d", status)
	}
}

func TestSecondProcessOnAHeldDatabaseFailsQuickly(t *testing.T) {
	db := tempDB(t)
	startServe(t, nil, "--addr", "127.0.0.1:0", "--db", db)
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0", "--db", db},
		{"keys", "create", "--db", db, "--role", "admin", "--name", "x"},
		{"import", "--db", db, "-"},
		{"backup", "--db", db, filepath.Join(t.TempDir(), "b.db")},
	} {
		t.Run(args[0], func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			start := time.Now()
			go func() { done <- newMain(nil).Run(ctx, args, io.Discard, io.Discard) }()
			select {
			case err := <-done:
				t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
				if err == nil || !strings.Contains(err.Error(), "in use") {
					t.Errorf("error = %v, want one saying the database is in use", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("hangs on a database held by a running server")
			}
		})
	}
}

func TestGracefulShutdownLosesNoAcknowledgedWrite(t *testing.T) {
	db := tempDB(t)
	key := newKey(t, db, "admin")
	srv := startServe(t, nil, "--addr", "127.0.0.1:0", "--db", db)
	putModel(t, srv.URL, key, "M1")

	const writers = 8
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	enough := make(chan struct{})
	var enoughOnce sync.Once
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				serial := fmt.Sprintf("G%d-%d", w, i)
				status, _, err := tryCall(http.MethodPost, srv.URL+"/api/v1/items", key,
					map[string]any{"items": []map[string]string{{"serial": serial, "sku": "M1", "batch": "B1"}}})
				if err != nil || status >= 500 {
					return // the server is gone: this write was not acknowledged
				}
				if status != http.StatusCreated {
					t.Errorf("register %s: %d", serial, status)
					return
				}
				mu.Lock()
				acked = append(acked, serial)
				if len(acked) >= 100 {
					enoughOnce.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Fatal("writes were not acknowledged")
	}
	if err := srv.stop(); err != nil { // mid-stream, as SIGTERM
		t.Fatalf("serve after shutdown: %v", err)
	}
	wg.Wait()

	reg := openDB(t, db)
	for _, s := range acked {
		if _, err := reg.Get(s); err != nil {
			t.Errorf("acknowledged serial %s lost: %v", s, err)
		}
	}
	t.Logf("%d acknowledged writes, all present", len(acked))
	if !strings.Contains(srv.stderr.String(), "stopped") {
		t.Errorf("shutdown not logged:\n%s", srv.stderr)
	}
}

func TestSideListenersServeMetricsAndProfilesWithoutAKey(t *testing.T) {
	debug := closedPort(t)
	srv := startServe(t, nil, "--addr", "127.0.0.1:0", "--db", tempDB(t), "--metrics-addr", "127.0.0.1:0", "--debug-addr", debug)
	if status, body := call(t, http.MethodGet, "http://"+debug+"/debug/pprof/", "", nil); status != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Errorf("GET /debug/pprof/ on --debug-addr = %d %.200s", status, body)
	}
	if status, _ := call(t, http.MethodGet, srv.URL+"/debug/pprof/", "", nil); status == http.StatusOK {
		t.Error("profiles are served on --addr")
	}
	status, body := call(t, http.MethodGet, "http://"+srv.m.MetricsAddr()+"/metrics", "", nil)
	if status != http.StatusOK || !strings.Contains(string(body), "# TYPE") {
		t.Errorf("GET /metrics on --metrics-addr = %d %.200s", status, body)
	}
	if status, _ := call(t, http.MethodGet, srv.URL+"/metrics", "", nil); status != http.StatusUnauthorized {
		t.Errorf("GET /metrics on --addr without a key = %d, want 401", status)
	}
	if status, _ := call(t, http.MethodGet, "http://"+srv.m.MetricsAddr()+"/api/v1/models", "", nil); status != http.StatusNotFound {
		t.Errorf("the metrics listener serves the API: %d", status)
	}
}

func TestServeOverTLS(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	srv := startServe(t, nil, "--addr", "127.0.0.1:0", "--db", tempDB(t), "--tls-cert", cert, "--tls-key", key)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + srv.m.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Errorf("GET https /healthz = %d (TLS %v)", resp.StatusCode, resp.TLS != nil)
	}
	if !strings.Contains(srv.stderr.String(), "listening on https://") {
		t.Errorf("log does not show https:\n%s", srv.stderr)
	}
	out, _, err := run(t, nil, "healthcheck", "--addr", srv.m.Addr(), "--tls-cert", cert)
	if err != nil || out != "ok\n" {
		t.Errorf("healthcheck over TLS: %q, %v", out, err)
	}
}

func TestHealthcheck(t *testing.T) {
	srv := startServe(t, nil, "--addr", "127.0.0.1:0", "--db", tempDB(t))
	_, port, _ := net.SplitHostPort(srv.m.Addr())
	tests := []struct {
		name string
		env  env
		args []string
		ok   bool
	}{
		{"url", nil, []string{"--url", srv.URL + "/healthz"}, true},
		{"addr", nil, []string{"--addr", srv.m.Addr()}, true},
		{"unspecified addr from the variable, as in the container", env{"SANBAO_ADDR": "0.0.0.0:" + port}, nil, true},
		{"not found", nil, []string{"--url", srv.URL + "/nope"}, false},
		{"nothing listening", nil, []string{"--addr", closedPort(t)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := run(t, tt.env, append([]string{"healthcheck"}, tt.args...)...)
			if tt.ok && (err != nil || out != "ok\n") {
				t.Errorf("healthcheck = %q, %v; want ok", out, err)
			}
			if !tt.ok && err == nil {
				t.Errorf("healthcheck succeeded: %q", out)
			}
		})
	}
	_, _, err := run(t, nil, "healthcheck", "--url", "localhost/healthz")
	wantUsageError(t, err, "--url")
}

func TestHealthzURL(t *testing.T) {
	tests := []struct {
		addr  string
		https bool
		want  string
	}{
		{"127.0.0.1:8080", false, "http://127.0.0.1:8080/healthz"},
		{"0.0.0.0:8080", false, "http://127.0.0.1:8080/healthz"},
		{":8080", true, "https://127.0.0.1:8080/healthz"},
		{"[::]:8080", false, "http://[::1]:8080/healthz"},
		{"sanbao.internal:9000", false, "http://sanbao.internal:9000/healthz"},
	}
	for _, tt := range tests {
		if got := healthzURL(tt.addr, tt.https); got != tt.want {
			t.Errorf("healthzURL(%q, %v) = %q, want %q", tt.addr, tt.https, got, tt.want)
		}
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sanbao test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for file, block := range map[string]*pem.Block{
		certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}
