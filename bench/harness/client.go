package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// requestTimeout bounds every request: a server that takes longer has hung
// as far as the harness is concerned, and that is a finding.
const requestTimeout = 30 * time.Second

// API is an HTTP client of one server, with a pool of keep-alive connections.
type API struct {
	base string
	tr   *http.Transport
	hc   *http.Client
}

func newAPI(base string, conns int) *API {
	tr := &http.Transport{
		Proxy:                 nil, // 127.0.0.1 only, never through a proxy
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:          2 * conns,
		MaxIdleConnsPerHost:   2 * conns,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: requestTimeout,
		DisableCompression:    true,
	}
	return &API{base: base, tr: tr, hc: &http.Client{
		Transport:     tr,
		Timeout:       requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Close drops the idle connections, so the server's count of goroutines
// and open files no longer includes them.
func (a *API) Close() { a.tr.CloseIdleConnections() }

// Resp is an answer, body read whole.
type Resp struct {
	Status  int
	Body    []byte
	Header  http.Header
	Elapsed time.Duration
}

// Do sends one request. hdr holds header name/value pairs; a body without
// a Content-Type is sent as JSON. Status is 0 when no whole answer arrived.
func (a *API) Do(method, path, token string, body []byte, hdr ...string) (Resp, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, a.base+path, rd)
	if err != nil {
		return Resp{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := a.hc.Do(req)
	if err != nil {
		return Resp{Elapsed: time.Since(start)}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		// An answer cut off midway (the server was killed while sending
		// it) is no answer: the write's fate is unknown, as with no status.
		return Resp{Elapsed: time.Since(start)}, fmt.Errorf("%s %s: the %d answer broke off: %w", method, path, resp.StatusCode, err)
	}
	return Resp{Status: resp.StatusCode, Body: b, Header: resp.Header, Elapsed: time.Since(start)}, nil
}

// JSON sends in (nil: no body) and decodes a 2xx answer into out (may be
// nil); any other answer is an error quoting the body.
func (a *API) JSON(method, path, token string, in, out any) (int, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, err
		}
	}
	r, err := a.Do(method, path, token, body)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if r.Status/100 != 2 {
		return r.Status, fmt.Errorf("%s %s: %d %s", method, path, r.Status, clip(r.Body, 300))
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			return r.Status, fmt.Errorf("%s %s: decoding %s: %w", method, path, clip(r.Body, 200), err)
		}
	}
	return r.Status, nil
}

// contractCodes are the error codes of the contract.
var contractCodes = map[string]bool{
	"bad_request": true, "invalid_field": true, "unauthorized": true, "forbidden": true, "not_found": true,
	"conflict": true, "too_large": true, "rate_limited": true, "unavailable": true, "internal": true,
}

// errorOf parses the contract's error shape {"error": {"code", "message"}};
// ok is false when the body is not that shape or the code is not one of
// the contract's.
func errorOf(body []byte) (code, message string, ok bool) {
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == nil {
		return "", "", false
	}
	return e.Error.Code, e.Error.Message, contractCodes[e.Error.Code] && e.Error.Message != ""
}

// clip shortens a body for a message.
func clip(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strconv.Quote(s)
}

// Metrics are the unlabelled samples of a Prometheus text exposition.
type Metrics map[string]float64

// scrapeMetrics reads /metrics with token over a connection of its own that
// is closed at once, so the scrape does not leave a connection behind in
// the figures it reads.
func scrapeMetrics(base, token string) (Metrics, error) {
	b, err := fetchMetrics(base, token)
	if err != nil {
		return nil, err
	}
	m := Metrics{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" || line[0] == '#' || strings.Contains(line, "{") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			m[f[0]] = v
		}
	}
	return m, nil
}

// fetchMetrics is the text of /metrics, read as scrapeMetrics reads it.
func fetchMetrics(base, token string) ([]byte, error) {
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d %s", resp.StatusCode, clip(b, 200))
	}
	return b, nil
}

// timeoutError says whether err is a request that ran out of time.
func timeoutError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
}
