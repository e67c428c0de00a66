package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

var healthcheckCommand = &command{
	name:     "healthcheck",
	synopsis: "[--url URL] [--addr ADDR] [--tls-cert F]",
	summary:  "exit 0 when a running server answers /healthz (for container HEALTHCHECKs: distroless has no curl)",
	maxArgs:  0,
	setup:    (*Main).setupHealthcheck,
}

func (m *Main) setupHealthcheck(f *flags) runFunc {
	rawURL := f.String("url", "", "`URL` to GET (default: /healthz on --addr over loopback)")
	addr := f.String("addr", defaultAddr, "the server's listen `address`, as given to serve")
	tlsCert := f.String("tls-cert", "", "the server's TLS certificate `file`, as given to serve: set means https")
	timeout := f.Duration("timeout", 5*time.Second, "give up after this long")
	return func(ctx context.Context, _ []string, stdout, stderr io.Writer) error {
		target := *rawURL
		if target == "" {
			a, err := checkListenAddr(f, "addr", *addr)
			if err != nil {
				return err
			}
			target = healthzURL(a, *tlsCert != "")
		} else if u, err := url.Parse(target); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return f.errorf("url", "%q is not an absolute http:// or https:// URL", target)
		}
		if *timeout <= 0 {
			return f.errorf("timeout", "must be positive")
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return err
		}
		// A liveness probe of our own process: the certificate names the
		// public host, not the loopback address dialled here.
		client := &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback liveness probe
		}}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("healthcheck %s: %w", target, err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("healthcheck %s: %s", target, resp.Status)
		}
		fmt.Fprintln(stdout, "ok")
		return nil
	}
}

// healthzURL is the loopback URL of /healthz for a server listening on addr
// (an unspecified host such as 0.0.0.0 is reached through loopback).
func healthzURL(addr string, https bool) string {
	host, port, _ := net.SplitHostPort(addr)
	switch ip := net.ParseIP(host); {
	case host == "" || ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	scheme := "http"
	if https {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
}
