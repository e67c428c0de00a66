package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests check what only serve's wiring decides, through the sanbao
// binary (this test binary run as main, see TestMain) or serve's own Run:
// the flags reach http.Server, SIGTERM drains in-flight requests, storage
// refusals tell clients when to come back.

// serveProcess is "sanbao serve" running as its own process.
type serveProcess struct {
	cmd  *exec.Cmd
	URL  string
	seen chan string // stderr lines after the listening line
}

// startProcess starts the binary's serve on a free port and waits until it
// listens.
func startProcess(t *testing.T, args ...string) *serveProcess {
	t.Helper()
	return startCmd(t, sanbaoCommand(t, nil, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...))
}

// startCmd starts cmd, a serve on a free port (perhaps under another
// program), and waits until it logs its address.
func startCmd(t *testing.T, cmd *exec.Cmd) *serveProcess {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProcess{cmd: cmd, seen: make(chan string, 100)}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	listening := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	for p.URL == "" && lines.Scan() {
		if m := listening.FindStringSubmatch(lines.Text()); m != nil {
			p.URL = m[1]
		}
	}
	if p.URL == "" {
		t.Fatal("serve never logged its address")
	}
	go func() {
		for lines.Scan() {
			select {
			case p.seen <- lines.Text():
			default:
			}
		}
		close(p.seen)
	}()
	return p
}

// waitFor waits for a log line holding text.
func (p *serveProcess) waitFor(t *testing.T, text string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-p.seen:
			if !ok {
				t.Fatalf("serve ended before logging %q", text)
			}
			if strings.Contains(line, text) {
				return
			}
		case <-timeout:
			t.Fatalf("serve did not log %q", text)
		}
	}
}

// rawRequest opens a connection and sends a request's head, asking for
// "100 Continue", which the server sends once the handler reads the body:
// from then on the request is in flight (accepted, authenticated, being
// handled). Then it sends the first part of the body, keeping the rest for
// later, and returns the connection and its reader.
func rawRequest(t *testing.T, base, method, path, key string, body []byte, sendFirst int) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: sanbao\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		method, path, key, len(body))
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	res, err := http.ReadResponse(rd, nil)
	if err != nil || res.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue to %s %s: %v %v", method, path, res, err)
	}
	conn.SetReadDeadline(time.Time{})
	if _, err := conn.Write(body[:sendFirst]); err != nil {
		t.Fatal(err)
	}
	return conn, rd
}

// TestInFlightRequestCompletesAfterSIGTERM: a registration whose body is
// still arriving when SIGTERM comes is served to the end (201) within the
// grace period, and the process exits cleanly; new connections are refused
// meanwhile.
func TestInFlightRequestCompletesAfterSIGTERM(t *testing.T) {
	db := tempDB(t)
	key := newKey(t, db, "admin")
	p := startProcess(t, "--db", db, "--shutdown-timeout", "30s")
	putModel(t, p.URL, key, "M1")

	body := []byte(`{"items": [{"serial": "T1", "sku": "M1", "batch": "B1", "produced_on": "2026-10-01"}]}`)
	conn, rd := rawRequest(t, p.URL, "POST", "/api/v1/items", key, body, 20)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "shutting down")
	// The server has begun shutting down when it stops accepting.
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("serve still accepts connections after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := conn.Write(body[20:]); err != nil {
		t.Fatalf("the in-flight request was cut at SIGTERM: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer after SIGTERM: %v", err)
	}
	defer res.Body.Close()
	var out struct{ Created int }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusCreated || out.Created != 1 {
		t.Fatalf("in-flight registration after SIGTERM: %d %+v %v; want 201 created 1", res.StatusCode, out, err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("serve exited with %v after a graceful shutdown", err)
	}
	reg := openDB(t, db)
	if _, err := reg.Get("T1"); err != nil {
		t.Errorf("the serial acknowledged during shutdown is not in the file: %v", err)
	}
}

// TestReadTimeoutCutsAStalledBody: --read-timeout and --stream-timeout
// reach the server: a request whose declared body stops arriving is cut at
// its route's timeout (the stream timeout for an authenticated
// registration, the read timeout for any other), not held for minutes.
func TestReadTimeoutCutsAStalledBody(t *testing.T) {
	for _, tc := range []struct {
		name, method, path string
		body               string
		flags              []string
	}{
		{"a model under --read-timeout", "PUT", "/api/v1/models/M1", `{"name": "IMASK X1", "kind": "product"}`,
			[]string{"--read-timeout", "1s"}},
		{"a registration under --stream-timeout", "POST", "/api/v1/items", `{"items": [{"serial": "T1", "sku": "M1", "batch": "B1"}]}`,
			[]string{"--stream-timeout", "1s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := tempDB(t)
			key := newKey(t, db, "admin")
			srv := startServe(t, nil, append([]string{"--addr", "127.0.0.1:0", "--db", db}, tc.flags...)...)
			conn, _ := rawRequest(t, srv.URL, tc.method, tc.path, key, []byte(tc.body), 10)
			// Well beyond the 1s timeout, below the defaults (10s, 10m).
			conn.SetReadDeadline(time.Now().Add(6 * time.Second))
			_, err := io.ReadAll(conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("a request with a stalled body was still held after 6s with %v", tc.flags)
			}
		})
	}
}

// TestStorageRefusalsCarryRetryAfter runs serve on a small file system: a
// full disk answers 507 and a read-only one 503, both with the contract's
// error and a Retry-After telling clients when to try again.
func TestStorageRefusalsCarryRetryAfter(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs (a full or read-only file system cannot be faked with chmod)")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=8m"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	db := filepath.Join(dir, "sanbao.db")
	key := newKey(t, db, "admin")

	want := func(res *http.Response, status int) {
		t.Helper()
		var e struct{ Error struct{ Code string } }
		json.NewDecoder(res.Body).Decode(&e)
		res.Body.Close()
		if res.StatusCode != status || e.Error.Code != "unavailable" {
			t.Errorf("status %d code %q, want %d unavailable", res.StatusCode, e.Error.Code, status)
		}
		if ra := res.Header.Get("Retry-After"); ra == "" {
			t.Errorf("%d without Retry-After", status)
		}
	}
	register := func(base string, n int) *http.Response {
		t.Helper()
		var b strings.Builder
		b.WriteString(`{"items": [`)
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"serial": "N%06d", "sku": "M1", "batch": "B2"}`, i)
		}
		b.WriteString("]}")
		req, _ := http.NewRequest("POST", base+"/api/v1/items", strings.NewReader(b.String()))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	srv := startServe(t, nil, "--addr", "127.0.0.1:0", "--db", db)
	putModel(t, srv.URL, key, "M1")
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	want(register(srv.URL, 20000), http.StatusInsufficientStorage)
	if err := srv.stop(); err != nil {
		t.Fatalf("serve on a full disk: %v", err)
	}

	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount read-only: %v", err)
	}
	ro := startServe(t, nil, "--addr", "127.0.0.1:0", "--db", db)
	want(register(ro.URL, 1), http.StatusServiceUnavailable)
	res, err := http.Get(ro.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	want(res, http.StatusServiceUnavailable)
}

// TestEveryAcknowledgedWriteFollowsASyncedCommit watches serve's system
// calls (strace): before each 201 is written to the socket, the database
// file was synced (an fdatasync returned 0) since the previous answer. A
// SIGKILL keeps the page cache, so this is the only way a test sees that
// "acknowledged" means "on the disk".
func TestEveryAcknowledgedWriteFollowsASyncedCommit(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("strace is required under CI (Debian package strace)")
		}
		t.Skip("strace not found (Debian package strace)")
	}
	db := tempDB(t)
	key := newKey(t, db, "admin")
	trace := filepath.Join(t.TempDir(), "strace.log")
	self := sanbaoCommand(t, nil, "serve", "--addr", "127.0.0.1:0", "--db", db)
	cmd := exec.Command(strace, append([]string{"-f", "-qq", "-e", "trace=fdatasync,fsync,write", "-e", "signal=none", "-o", trace}, self.Args...)...)
	cmd.Env = self.Env
	p := startCmd(t, cmd)
	putModel(t, p.URL, key, "M1")
	const writes = 5
	for i := range writes {
		status, body := call(t, http.MethodPost, p.URL+"/api/v1/items", key,
			map[string]any{"items": []map[string]string{{"serial": fmt.Sprintf("F%d", i), "sku": "M1", "batch": "B1"}}})
		if status != http.StatusCreated {
			t.Fatalf("register F%d: %d %s", i, status, body)
		}
	}
	// Stop serve (strace's child) gracefully; strace ends with it.
	children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
	pid, perr := onePid(strings.Fields(string(children)))
	if err != nil || perr != nil {
		t.Fatalf("serve's pid under strace: %v %v", err, perr)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("strace/serve: %v", err)
	}
	log, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	synced, answers := false, 0
	syncDone := regexp.MustCompile(`(^\d+ +(fdatasync|fsync)\(\d+\)|<\.\.\. (fdatasync|fsync) resumed>\)) += 0$`)
	for _, line := range strings.Split(string(log), "\n") {
		switch {
		case syncDone.MatchString(line):
			synced = true
		case strings.Contains(line, `write(`) && strings.Contains(line, `"HTTP/1.1 201 `):
			answers++
			if !synced {
				t.Errorf("answer %d (a 201) was written before any sync of its commit", answers)
			}
			synced = false
		}
	}
	if answers != writes+1 {
		t.Errorf("%d answers of 201 seen in the trace, want %d (the model and %d registrations)", answers, writes+1, writes)
	}
}

// onePid reads the one pid of a /proc children file.
func onePid(f []string) (int, error) {
	if len(f) != 1 {
		return 0, fmt.Errorf("children %q", f)
	}
	var n int
	_, err := fmt.Sscanf(f[0], "%d", &n)
	return n, err
}
