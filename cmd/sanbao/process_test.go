package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the tests run this test binary as the sanbao command
// itself, to check what only main does: signals, exit codes, the one-line
// error.
func TestMain(m *testing.M) {
	if os.Getenv("SANBAO_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"sanbao"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// sanbaoCommand is this binary started as "sanbao args...", with no other
// SANBAO_* variable than those in extra.
func sanbaoCommand(t *testing.T, extra []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SANBAO_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "SANBAO_TEST_RUN_MAIN=1")
	cmd.Env = append(cmd.Env, extra...)
	return cmd
}

func TestProcessExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"usage error exits 2", []string{"serve", "--addr", "nope"}, 2, "sanbao: --addr: \"nope\" is not host:port"},
		{"failure exits 1 with one line", []string{"backup", "--db", "/nonexistent/x.db", "/tmp/never.db"}, 1, "sanbao: "},
		{"help exits 0", []string{"help"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := sanbaoCommand(t, nil, tt.args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tt.wantCode, stderr.String())
			}
			if tt.want != "" {
				if !strings.HasPrefix(stderr.String(), tt.want) || strings.Count(stderr.String(), "\n") != 1 {
					t.Errorf("stderr = %q, want one line starting %q", stderr.String(), tt.want)
				}
			}
		})
	}
}

func TestProcessStopsGracefullyOnSIGTERMAndSIGINT(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			db := tempDB(t)
			cmd := sanbaoCommand(t, []string{"SANBAO_DB=" + db}, "serve", "--addr", "127.0.0.1:0")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			lines := bufio.NewScanner(stderr)
			listening := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
			var url string
			for url == "" && lines.Scan() {
				if m := listening.FindStringSubmatch(lines.Text()); m != nil {
					url = m[1]
				}
			}
			if url == "" {
				t.Fatal("serve never logged its address")
			}
			if status, _ := call(t, "GET", url+"/healthz", "", nil); status != 200 {
				t.Fatalf("GET /healthz = %d", status)
			}
			second := sanbaoCommand(t, nil, "serve", "--addr", "127.0.0.1:0", "--db", db)
			if out, err := second.CombinedOutput(); err == nil || !strings.Contains(string(out), "in use by another process") {
				t.Errorf("a second serve process on the same file: %v\n%s", err, out)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			var rest strings.Builder
			for lines.Scan() {
				rest.WriteString(lines.Text() + "\n")
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve exited with %v after %s; log:\n%s", err, sig, rest.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("serve did not exit after %s", sig)
			}
			if !strings.Contains(rest.String(), "stopped") {
				t.Errorf("no graceful shutdown logged:\n%s", rest.String())
			}
		})
	}
}
