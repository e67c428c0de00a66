package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Server is one `sanbao serve` child process on 127.0.0.1.
type Server struct {
	h    *Harness
	DB   string
	Addr string // 127.0.0.1:port
	URL  string // http://127.0.0.1:port
	Log  string // the server's stdout and stderr

	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	err  error // Wait's result once done is closed
}

// startTimeout bounds how long a server may take to answer /healthz.
const startTimeout = 20 * time.Second

// StartServer runs serve on a free 127.0.0.1 port with db and extra flags,
// appending its output to logPath, and waits until /healthz answers.
func (h *Harness) StartServer(db, logPath string, env []string, extra ...string) (*Server, error) {
	var lastErr error
	// A free port can be taken between probing and binding: retry a few times.
	for attempt := 0; attempt < 3; attempt++ {
		addr, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := h.startOn(addr, db, logPath, env, extra)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

func (h *Harness) startOn(addr, db, logPath string, env []string, extra []string) (*Server, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "---- %s serve --addr %s --db %s %s\n", time.Now().Format(time.RFC3339Nano), addr, db, strings.Join(extra, " "))
	args := append([]string{"serve", "--addr", addr, "--db", db, "--log-level", "warn"}, extra...)
	cmd := exec.Command(h.bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{h: h, DB: db, Addr: addr, URL: "http://" + addr, Log: logPath, cmd: cmd, done: make(chan struct{})}
	h.track(s)
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(s.done)
	}()
	if err := s.waitUp(startTimeout); err != nil {
		s.Kill()
		return nil, fmt.Errorf("serve --db %s: %w; log tail:\n%s", db, err, tail(logPath, 15))
	}
	return s, nil
}

// cleanEnv is the harness's environment without SANBAO_* variables, which
// would change the server's flags behind the harness's back.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SANBAO_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitUp polls /healthz until it answers 200, the process exits or the
// timeout passes.
func (s *Server) waitUp(timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("exited before answering: %v", s.exitErr())
		default:
		}
		resp, err := client.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no 200 from /healthz within %s", timeout)
}

func (s *Server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Running reports whether the process has not exited.
func (s *Server) Running() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (s *Server) Kill() {
	if s.Running() {
		s.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-s.done
	s.h.untrack(s)
}

// Stop sends SIGTERM and waits up to timeout for a graceful exit; past it the
// process is killed and Stop reports the hang. It returns the exit error of
// a process that stopped with a failure.
func (s *Server) Stop(timeout time.Duration) error {
	defer s.h.untrack(s)
	if !s.Running() {
		return fmt.Errorf("had already exited: %v", s.exitErr())
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		if err := s.exitErr(); err != nil {
			return fmt.Errorf("exited with %v after SIGTERM; log tail:\n%s", err, tail(s.Log, 10))
		}
		return nil
	case <-time.After(timeout):
		s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
		return fmt.Errorf("did not stop within %s of SIGTERM (killed)", timeout)
	}
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tail is the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// sanbao runs an offline command of the binary and returns its stdout.
func (h *Harness) sanbao(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = cleanEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("sanbao %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// createKey makes an API key offline with `sanbao keys create`.
func (h *Harness) createKey(db, role, name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := h.sanbao(ctx, "keys", "create", "--db", db, "--role", role, "--name", name)
	if err != nil {
		return "", err
	}
	key := strings.TrimSpace(out)
	if key == "" || strings.ContainsAny(key, " \n") {
		return "", fmt.Errorf("keys create printed %q, not a key alone", out)
	}
	return key, nil
}
