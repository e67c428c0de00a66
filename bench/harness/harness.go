package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Harness runs campaigns against one built binary. Create it with New and
// release it with Close, which kills any server still running and unmounts
// any file system a campaign mounted.
type Harness struct {
	cfg     Config
	work    string
	ownWork bool
	keep    bool
	bin     string
	log     io.Writer

	notes []string // the machine's state around the run, for the report

	mu      sync.Mutex
	servers []*Server
	mounts  []string
	seq     uint64 // per-campaign seeds derive from cfg.Seed and this
}

// New prepares the work dir and the binary (building it unless cfg.Bin).
func New(cfg Config) (*Harness, error) {
	for _, name := range cfg.Campaigns {
		if !slices.ContainsFunc(campaigns, func(c campaign) bool { return c.name == name }) {
			return nil, fmt.Errorf("unknown campaign %q (mixed, crash, disk, hostile, exhaust)", name)
		}
	}
	h := &Harness{cfg: cfg, work: cfg.Work, log: cfg.Log}
	if h.log == nil {
		h.log = io.Discard
	}
	if h.work == "" {
		dir, err := os.MkdirTemp("", "sanbao-harness-")
		if err != nil {
			return nil, err
		}
		h.work, h.ownWork = dir, true
	} else if err := os.MkdirAll(h.work, 0o755); err != nil {
		return nil, err
	}
	h.bin = cfg.Bin
	if h.bin == "" {
		h.bin = filepath.Join(h.work, "sanbao")
		start := time.Now()
		if err := Build(h.bin); err != nil {
			h.Close()
			return nil, err
		}
		h.logf("built %s in %.1fs", h.bin, time.Since(start).Seconds())
	}
	return h, nil
}

// Build compiles ./cmd/sanbao of the module around the current directory
// into out, without -race: the harness measures the binary users run.
func Build(out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-o", out, "./cmd/sanbao")
	cmd.Dir = root
	// A GOFLAGS=-race of the caller must not leak into the measured binary.
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/sanbao: %v\n%s", err, b)
	}
	return nil
}

// moduleRoot is the nearest directory at or above the working directory
// whose go.mod declares the sanbao module.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/sanbao/sanbao\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the github.com/sanbao/sanbao module: run from the repository (or pass -bin)")
		}
		dir = parent
	}
}

// Run runs the configured campaigns in order and returns their results.
func (h *Harness) Run() ([]*Result, error) {
	h.logf("seed %d, work dir %s", h.cfg.Seed, h.work)
	h.notes = append(h.notes, fmt.Sprintf("%s, %d cores, %s; load average at start: %s", runtime.GOOS, runtime.NumCPU(), runtime.Version(), loadAverage()))
	defer func() { h.notes = append(h.notes, "load average at end: "+loadAverage()) }()
	var all []*Result
	for _, c := range campaigns {
		if len(h.cfg.Campaigns) > 0 && !slices.Contains(h.cfg.Campaigns, c.name) {
			continue
		}
		all = append(all, c.run(h)...)
	}
	return all, nil
}

// Close kills leftover servers, unmounts leftover mounts and removes the
// work dir it created (unless keep).
func (h *Harness) Close() {
	h.mu.Lock()
	servers, mounts := h.servers, h.mounts
	h.servers, h.mounts = nil, nil
	h.mu.Unlock()
	for _, s := range servers {
		s.Kill()
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		unmount(mounts[i])
	}
	if h.ownWork && !h.keep {
		os.RemoveAll(h.work)
	}
}

// Notes describe the machine around the run: figures from a busy shared
// box mean little without them.
func (h *Harness) Notes() []string { return slices.Clone(h.notes) }

// loadAverage is the first three fields of /proc/loadavg ("?" elsewhere).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

func (h *Harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// rand is a generator for one campaign, derived from the run's seed so a
// run can be repeated with -seed.
func (h *Harness) rand() *rand.Rand {
	h.mu.Lock()
	h.seq++
	n := h.seq
	h.mu.Unlock()
	return rand.New(rand.NewPCG(h.cfg.Seed, n))
}

func (h *Harness) track(s *Server) {
	h.mu.Lock()
	h.servers = append(h.servers, s)
	h.mu.Unlock()
}

func (h *Harness) untrack(s *Server) {
	h.mu.Lock()
	h.servers = slices.DeleteFunc(h.servers, func(x *Server) bool { return x == s })
	h.mu.Unlock()
}

// Result is what one campaign found: figures to report, failures (each a
// finding that fails the run) or the reason it was skipped.
type Result struct {
	Name    string
	Skipped string
	Elapsed time.Duration

	mu       sync.Mutex
	figures  []string
	failures []string
	more     int // failures beyond maxFailures, counted only
}

// maxFailures keeps a report readable when one bug fails thousands of requests.
const maxFailures = 40

// Failf records a finding.
func (r *Result) Failf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.failures) >= maxFailures {
		r.more++
		return
	}
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// Figuref records a figure or an observation for the report.
func (r *Result) Figuref(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.figures = append(r.figures, fmt.Sprintf(format, args...))
}

// Failed reports whether any finding was recorded.
func (r *Result) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.failures) > 0
}

// Failures lists the findings (with a count of those left out).
func (r *Result) Failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.failures)
	if r.more > 0 {
		out = append(out, fmt.Sprintf("... and %d more", r.more))
	}
	return out
}

// Figures lists the recorded figures.
func (r *Result) Figures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.figures)
}

// WriteReport prints the notes and every result and reports whether any failed.
func WriteReport(w io.Writer, cfg Config, notes []string, results []*Result) bool {
	fmt.Fprintf(w, "sanbao reliability harness — seed %d\n", cfg.Seed)
	for _, n := range notes {
		fmt.Fprintf(w, "   %s\n", n)
	}
	failed := false
	for _, r := range results {
		status := "PASS"
		switch {
		case r.Failed():
			status, failed = "FAIL", true
		case r.Skipped != "":
			status = "SKIP"
		}
		fmt.Fprintf(w, "\n== %s: %s (%.1fs)\n", r.Name, status, r.Elapsed.Seconds())
		if r.Skipped != "" {
			fmt.Fprintf(w, "   skipped: %s\n", r.Skipped)
		}
		for _, f := range r.Figures() {
			fmt.Fprintf(w, "   %s\n", f)
		}
		for _, f := range r.Failures() {
			fmt.Fprintf(w, "   FAIL: %s\n", f)
		}
	}
	return failed
}
