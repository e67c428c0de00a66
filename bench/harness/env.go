package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sanbao/sanbao/labels"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry/bolt"
)

// env is one campaign's database, keys and (when running) server.
type env struct {
	h       *Harness
	res     *Result
	dir     string // the campaign's work dir: logs, CSV files
	db      string
	logPath string

	admin, warehouse, service string // API keys
	secret                    []byte // check-code secret, read offline

	serveArgs []string // extra serve flags
	serveEnv  []string // extra environment of serve
	conns     int      // keep-alive pool size of api: the most concurrent clients

	srv *Server
	api *API
}

// newEnv makes the campaign's dir and a database in dbDir (default the
// campaign's dir) with an admin, a warehouse and a service key made offline
// by `sanbao keys create`, and reads its check-code secret offline.
func (h *Harness) newEnv(res *Result, name, dbDir string) (*env, error) {
	dir := filepath.Join(h.work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if dbDir == "" {
		dbDir = dir
	}
	e := &env{h: h, res: res, dir: dir, db: filepath.Join(dbDir, "sanbao.db"), logPath: filepath.Join(dir, "serve.log"), conns: h.cfg.Clients}
	var err error
	if e.admin, err = h.createKey(e.db, "admin", "harness admin"); err != nil {
		return nil, err
	}
	if e.warehouse, err = h.createKey(e.db, "warehouse", "harness warehouse"); err != nil {
		return nil, err
	}
	if e.service, err = h.createKey(e.db, "service", "harness service"); err != nil {
		return nil, err
	}
	if e.secret, err = readSecret(e.db); err != nil {
		return nil, err
	}
	return e, nil
}

// start runs serve on the env's database.
func (e *env) start() error {
	srv, err := e.h.StartServer(e.db, e.logPath, e.serveEnv, e.serveArgs...)
	if err != nil {
		return err
	}
	e.srv, e.api = srv, newAPI(srv.URL, e.conns)
	return nil
}

// stop stops serve gracefully; a failure to stop is a finding.
func (e *env) stop() {
	if e.srv == nil {
		return
	}
	e.api.Close()
	if err := e.srv.Stop(45 * time.Second); err != nil {
		e.res.Failf("serve on %s: %v", e.db, err)
	}
	e.srv = nil
}

// kill SIGKILLs serve.
func (e *env) kill() {
	if e.srv == nil {
		return
	}
	e.api.Close()
	e.srv.Kill()
	e.srv = nil
}

// close releases whatever is still running and, when the campaign found
// something, copies serve's error lines (with their request ids and
// causes) into the report: the work dir is usually gone afterwards.
func (e *env) close() {
	if e.srv != nil {
		e.kill()
	}
	if !e.res.Failed() {
		return
	}
	b, err := os.ReadFile(e.logPath)
	if err != nil {
		return
	}
	n := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.Contains(line, "level=ERROR") && n < maxLogLines {
			e.res.Figuref("serve log: %s", line)
			n++
		}
	}
}

// maxLogLines bounds the serve log lines copied into a report.
const maxLogLines = 10

// stock is what a campaign registers before it starts: one product model
// and n serials (prefix and five digits) in one batch, produced daysOld
// days ago.
type stock struct {
	sku, prefix, batch string
	n, daysOld         int
}

// prepare makes a campaign's env on a database in dbDir (default the
// campaign's dir), starts serve with serveArgs and registers st through the
// API. On failure it records the finding, releases what it started and
// returns nil.
func (h *Harness) prepare(res *Result, name, dbDir string, st stock, serveArgs ...string) (*env, []string) {
	e, err := h.newEnv(res, name, dbDir)
	if err != nil {
		res.Failf("setup: %v", err)
		return nil, nil
	}
	e.serveArgs = serveArgs
	serials := make([]string, st.n)
	for i := range serials {
		serials[i] = fmt.Sprintf("%s%05d", st.prefix, i)
	}
	err = e.start()
	if err == nil {
		err = e.putModel(st.sku, policy.KindProduct)
	}
	if err == nil {
		err = e.registerAll(serials, st.sku, st.batch, policyToday().AddDays(-st.daysOld))
	}
	if err != nil {
		e.close()
		res.Failf("setup: %v", err)
		return nil, nil
	}
	return e, serials
}

// putModel creates a model through the API.
func (e *env) putModel(sku string, kind policy.Kind) error {
	_, err := e.api.JSON("PUT", "/api/v1/models/"+sku, e.warehouse, map[string]any{"name": "Harness " + sku, "kind": kind}, nil)
	return err
}

// registerAll registers serials through the API in requests of 5,000 rows.
func (e *env) registerAll(serials []string, sku, batch string, produced policy.Date) error {
	for len(serials) > 0 {
		n := min(5000, len(serials))
		rows := make([]map[string]any, n)
		for i, s := range serials[:n] {
			rows[i] = map[string]any{"serial": s, "sku": sku, "batch": batch, "produced_on": produced.String()}
		}
		var res struct{ Created, Unchanged int }
		if _, err := e.api.JSON("POST", "/api/v1/items", e.warehouse, map[string]any{"items": rows}, &res); err != nil {
			return err
		}
		if res.Created+res.Unchanged != n {
			return fmt.Errorf("registering %d rows answered created %d, unchanged %d", n, res.Created, res.Unchanged)
		}
		serials = serials[n:]
	}
	return nil
}

// code is serial's check code under the database's secret.
func (e *env) code(serial string) string { return labels.CheckCode(e.secret, serial) }

// publicPath is the public check page of serial with code.
func publicPath(serial, code string) string {
	return "/c/" + url.PathEscape(serial) + "?k=" + url.QueryEscape(code)
}

// publicServed reports whether this build serves the public check page,
// probing with serial's right code: 200 yes; the router's "no such route"
// 404 no (the route is not there yet); anything else is an error.
func (e *env) publicServed(serial string) (bool, error) {
	r, err := e.api.Do("GET", publicPath(serial, e.code(serial)), "", nil)
	if err != nil {
		return false, err
	}
	if r.Status == 200 {
		return true, nil
	}
	if _, msg, ok := errorOf(r.Body); r.Status == 404 && ok && strings.Contains(msg, "no such route") {
		return false, nil
	}
	return false, fmt.Errorf("GET /c/%s with its right check code: %d %s", serial, r.Status, clip(r.Body, 200))
}

// policyToday is today in the default policy's time zone, as the server
// sees it: event dates must not lie after it.
func policyToday() policy.Date { return policy.Default().Today(time.Now()) }

// openOffline opens a stopped server's file read-only (a shared lock, no
// write of any kind), as the crash left it. bbolt panics on some damaged
// files; that is reported as an error, not allowed to end the run.
func openOffline(db string) (d *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			d, err = nil, fmt.Errorf("bolt.Open panicked (the file is damaged): %v", p)
		}
	}()
	return bolt.Open(db, bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
}

// readSecret reads the current check-code secret of a database offline.
func readSecret(db string) ([]byte, error) {
	d, err := openOffline(db)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	s := d.CheckSecrets()
	if len(s) == 0 || len(s[0]) == 0 {
		return nil, errors.New("the database has no check-code secret")
	}
	return bytes.Clone(s[0]), nil
}

// checkFile runs bbolt's consistency check over a stopped server's file.
func checkFile(db string) error {
	d, err := openOffline(db)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Check()
}
