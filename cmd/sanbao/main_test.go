package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sanbao/sanbao/registry/bolt"
)

// env is a fake environment: tests never see the real SANBAO_* variables.
type env map[string]string

func (e env) get(name string) string { return e[name] }

// newMain returns a Main reading only e as its environment.
func newMain(e env) *Main {
	m := NewMain()
	m.Stdin = strings.NewReader("")
	m.Getenv = e.get
	return m
}

// run runs one command to completion and returns its stdout and stderr.
func run(t *testing.T, e env, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := newMain(e).Run(context.Background(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// mustRun runs a command that must succeed.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := run(t, nil, args...)
	if err != nil {
		t.Fatalf("sanbao %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// tempDB is a database path in a fresh temporary directory (the file is not
// created).
func tempDB(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "sanbao.db")
}

// newKey creates a key offline and returns it.
func newKey(t *testing.T, db, role string) string {
	t.Helper()
	return strings.TrimSpace(mustRun(t, "keys", "create", "--db", db, "--role", role, "--name", role+" test"))
}

// running is a serve started by startServe.
type running struct {
	m      *Main
	URL    string
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
	err    error
	waited bool
}

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServe runs "sanbao serve args..." until the test ends (or stop is
// called) and waits until it listens.
func startServe(t *testing.T, e env, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{m: newMain(e), stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- r.m.Run(ctx, append([]string{"serve"}, args...), io.Discard, r.stderr)
	}()
	select {
	case <-r.m.Ready():
	case err := <-r.done:
		cancel()
		t.Fatalf("serve %v exited before listening: %v\nstderr: %s", args, err, r.stderr)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve %v did not start listening\nstderr: %s", args, r.stderr)
	}
	r.URL = "http://" + r.m.Addr()
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("serve: %v\nstderr: %s", err, r.stderr)
		}
	})
	return r
}

// stop cancels serve's context, as SIGTERM does, and returns Run's result.
func (r *running) stop() error {
	if !r.waited {
		r.cancel()
		r.err = <-r.done
		r.waited = true
	}
	return r.err
}

// call sends a request with an optional bearer key and JSON body and
// returns the status and body.
func call(t *testing.T, method, url, key string, body any) (int, []byte) {
	t.Helper()
	status, b, err := tryCall(method, url, key, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, b
}

func tryCall(method, url, key string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// putModel creates a product model over the API.
func putModel(t *testing.T, base, key, sku string) {
	t.Helper()
	status, body := call(t, http.MethodPut, base+"/api/v1/models/"+sku, key,
		map[string]any{"name": "Mask " + sku, "kind": "product"})
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("PUT model %s: %d %s", sku, status, body)
	}
}

// openDB opens a database file the way the offline commands do, closing it
// (after a consistency check) when the test ends.
func openDB(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, bolt.Options{Timeout: lockTimeout})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("check %s: %v", path, err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("close %s: %v", path, err)
		}
	})
	return db
}

// wantUsageError checks err is a usage error whose message holds every one
// of want.
func wantUsageError(t *testing.T, err error, want ...string) {
	t.Helper()
	var u *usageError
	if !errors.As(err, &u) {
		t.Fatalf("error = %v (%T), want a usage error", err, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestHelpListsEveryCommandFlagAndVariable(t *testing.T) {
	out := mustRun(t, "help")
	for _, c := range commands {
		if !strings.Contains(out, "sanbao "+c.name+" ") {
			t.Errorf("help does not show command %q", c.name)
		}
		f := newFlags(c.name, env(nil).get)
		c.setup(&Main{}, f)
		f.VisitAll(func(fl *flag.Flag) {
			if _, alias := f.aliases[fl.Name]; alias {
				return
			}
			if !strings.Contains(out, "--"+fl.Name) || !strings.Contains(out, "["+envName(fl.Name)+"]") {
				t.Errorf("help for %s does not show --%s with %s", c.name, fl.Name, envName(fl.Name))
			}
		})
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"serve", "-h"}, {"help", "keys", "create"}} {
		out := mustRun(t, args...)
		if !strings.Contains(out, "sanbao ") {
			t.Errorf("sanbao %v printed no usage: %q", args, out)
		}
	}
}

func TestCommandLineErrorsAreUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "no command"},
		{"unknown command", []string{"serv"}, `unknown command "serv"`},
		{"group without subcommand", []string{"keys"}, "create"},
		{"unknown subcommand", []string{"keys", "destroy"}, "create"},
		{"unknown flag", []string{"serve", "--adr", "x"}, "-adr"},
		{"stray argument", []string{"serve", "extra"}, "usage: sanbao serve"},
		{"missing argument", []string{"import", "--db", "x.db"}, "usage: sanbao import"},
		{"too many arguments", []string{"backup", "--db", "x.db", "a", "b"}, "usage: sanbao backup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, nil, tt.args...)
			wantUsageError(t, err, tt.want)
		})
	}
}

func TestFlagsMayFollowArguments(t *testing.T) {
	f := newFlags("test", env(nil).get)
	db := f.String("db", "default.db", "")
	pos, err := f.parse([]string{"in.csv", "--db", "x.db", "--", "--not-a-flag"})
	if err != nil {
		t.Fatal(err)
	}
	if *db != "x.db" || fmt.Sprint(pos) != "[in.csv --not-a-flag]" {
		t.Errorf("db = %q, positional = %q", *db, pos)
	}
}

func TestEnvironmentFillsFlagsNotGiven(t *testing.T) {
	tests := []struct {
		name        string
		env         env
		args        []string
		wantDB      string
		wantProxies string
	}{
		{"default", nil, nil, "default.db", ""},
		{"variable", env{"SANBAO_DB": "env.db"}, nil, "env.db", ""},
		{"flag beats variable", env{"SANBAO_DB": "env.db"}, []string{"--db", "flag.db"}, "flag.db", ""},
		{"list variable is comma-separated", env{"SANBAO_TRUSTED_PROXY": "10.0.0.0/8, fd00::/8"}, nil, "default.db", "10.0.0.0/8,fd00::/8"},
		{"repeated flag beats list variable", env{"SANBAO_TRUSTED_PROXY": "10.0.0.0/8"},
			[]string{"--trusted-proxy", "192.168.1.0/24", "--trusted-proxy", "127.0.0.1"}, "default.db", "192.168.1.0/24,127.0.0.1/32"},
		{"empty variable is unset", env{"SANBAO_DB": ""}, nil, "default.db", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlags("test", tt.env.get)
			db := f.String("db", "default.db", "")
			var proxies prefixList
			f.Var(&proxies, "trusted-proxy", "")
			if _, err := f.parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if *db != tt.wantDB || proxies.String() != tt.wantProxies {
				t.Errorf("db = %q, proxies = %q; want %q, %q", *db, proxies.String(), tt.wantDB, tt.wantProxies)
			}
		})
	}
}

func TestBadVariableNamesFlagAndVariable(t *testing.T) {
	_, _, err := run(t, env{"SANBAO_TRUSTED_PROXY": "10.0.0.0/33"}, "serve", "--db", tempDB(t))
	wantUsageError(t, err, "--trusted-proxy", "SANBAO_TRUSTED_PROXY", "10.0.0.0/33")
	_, _, err = run(t, env{"SANBAO_ADDR": "localhost"}, "serve", "--db", tempDB(t))
	wantUsageError(t, err, "--addr (from SANBAO_ADDR)", "localhost")
}

// "help X" works for every X that "sanbao help" lists: the two-word
// groups, help and version included.
func TestHelpForEveryListedName(t *testing.T) {
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"version", []string{"sanbao version"}},
		{"help", []string{"sanbao help"}},
		{"keys", []string{"sanbao keys create", "sanbao keys list", "sanbao keys revoke"}},
		{"serve", []string{"sanbao serve", "--read-timeout"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := mustRun(t, "help", tt.name)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("help %s does not show %q:\n%s", tt.name, w, out)
				}
			}
		})
	}
}

// A value that does not parse gets an error saying what form it takes.
func TestFlagValueErrorsSayTheExpectedForm(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  env
		args []string
		want []string
	}{
		{"duration from the environment", env{"SANBAO_READ_TIMEOUT": "5"}, nil,
			[]string{`--read-timeout (from SANBAO_READ_TIMEOUT): "5": want a duration like 5s or 10m`}},
		{"duration on the command line", nil, []string{"--shutdown-timeout", "soon"},
			[]string{`--shutdown-timeout: "soon": want a duration like 5s or 10m`}},
		{"whole number", nil, []string{"--public-burst", "many"}, []string{`--public-burst: "many": want a whole number like 20`}},
		{"number", env{"SANBAO_PUBLIC_RATE": "fast"}, nil, []string{`--public-rate (from SANBAO_PUBLIC_RATE): "fast": want a number`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "--db", tempDB(t)}, tt.args...)
			_, _, err := run(t, tt.env, args...)
			wantUsageError(t, err, tt.want...)
			if strings.Contains(err.Error(), "parse error") {
				t.Errorf("error still says only %q: %v", "parse error", err)
			}
		})
	}
}

// A policy file's error names the file once and shows no machine code.
func TestPolicyFileErrorsNameTheFileOnceWithoutCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"return_days": -3}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{bad, filepath.Join(dir, "missing.json")} {
		_, _, err := run(t, nil, "serve", "--db", tempDB(t), "--policy", file)
		wantUsageError(t, err, "--policy", file)
		if n := strings.Count(err.Error(), file); n != 1 {
			t.Errorf("the file is named %d times: %v", n, err)
		}
		if strings.Contains(err.Error(), "invalid_field") || strings.Contains(err.Error(), "bad_request") {
			t.Errorf("an internal code is shown: %v", err)
		}
	}
}

// A version stamped at build time (-ldflags -X main.buildVersion=…, as the
// Dockerfile does from its VERSION argument) is what "version" prints.
func TestVersionPrintsTheStampedVersion(t *testing.T) {
	old := buildVersion
	t.Cleanup(func() { buildVersion = old })
	buildVersion = "v9.8.7-test"
	out := mustRun(t, "version")
	if !strings.HasPrefix(out, "sanbao v9.8.7-test") {
		t.Errorf("version = %q, want it to start with the stamped sanbao v9.8.7-test", out)
	}
}
