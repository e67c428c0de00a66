// Command mutate checks that the tests catch regressions: it applies each
// mutation of a list (one line of the product changed), runs the tests
// that should catch it, restores the file, and reports which mutations
// were killed (a test failed) and which survived (every test passed).
//
//	go run ./bench/mutate                        # bench/mutate/mutations.txt, from the module root
//	go run ./bench/mutate -only roles,sync       # mutations whose name holds a word
//	go run ./bench/mutate -list other.txt -v     # another list; show the test output
//
// The list holds blocks separated by blank lines ('#' starts a comment):
//
//	name:  POST /api/v1/keys allowed to the warehouse role
//	file:  server/auth.go
//	old:   {"POST", "/api/v1/keys", adminOnly},
//	new:   {"POST", "/api/v1/keys", warehouseSide},
//	pkg:   ./server
//	run:   TestContractRoleMatrix
//	flags: -short
//	must:  yes
//
// old is a whole line of file, compared without its indentation, and must
// occur exactly once; new replaces it keeping the indentation. A block may
// hold several old/new pairs (one mutation changing several lines). flags
// defaults to -short; must: yes marks a mutation that has to be killed (the
// exit status is 1 when one survives). A mutation whose package no longer
// builds is reported as "build failed" and counts neither way.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// mutation is one block of the list.
type mutation struct {
	name, file, pkg, run string
	flags                []string
	edits                [][2]string // old line, new line
	must                 bool
	line                 int // of the block in the list, for errors
}

// result is what running the tests on a mutation found.
type result int

const (
	killed result = iota
	survived
	broken // the package did not build
)

func (r result) String() string { return [...]string{"killed", "SURVIVED", "build failed"}[r] }

func main() {
	list := flag.String("list", "bench/mutate/mutations.txt", "mutation list `file`")
	only := flag.String("only", "", "run only mutations whose name holds one of these comma-separated `words`")
	timeout := flag.Duration("timeout", 5*time.Minute, "longest test run of one mutation")
	verbose := flag.Bool("v", false, "print the test output of every mutation")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ms, err := parseFile(*list)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(2)
	}
	ms = selected(ms, *only)
	os.Exit(runAll(ctx, ms, *timeout, *verbose, os.Stdout))
}

// runAll runs every mutation and prints one line each and the score; the
// result is the exit status: 0, 1 when a must-kill mutation survived, 2
// when a mutation could not be applied.
func runAll(ctx context.Context, ms []mutation, timeout time.Duration, verbose bool, w io.Writer) int {
	status := 0
	var nKilled, nSurvived, nBroken int
	start := time.Now()
	for i, m := range ms {
		t0 := time.Now()
		res, out, err := try(ctx, m, timeout)
		if err != nil {
			fmt.Fprintf(w, "%2d  ERROR     %s: %v\n", i+1, m.name, err)
			status = 2
			if ctx.Err() != nil {
				break
			}
			continue
		}
		switch res {
		case killed:
			nKilled++
		case survived:
			nSurvived++
			if m.must && status == 0 {
				status = 1
			}
		case broken:
			nBroken++
		}
		fmt.Fprintf(w, "%2d  %-9s %-60s %s %5.1fs\n", i+1, res, m.name, m.pkg, time.Since(t0).Seconds())
		if verbose || res == broken {
			fmt.Fprintf(w, "%s\n", indent(out))
		}
	}
	if n := nKilled + nSurvived; n > 0 {
		fmt.Fprintf(w, "score: %d of %d killed (%.0f %%), %d survived, %d did not build; %s\n",
			nKilled, n, 100*float64(nKilled)/float64(n), nSurvived, nBroken, time.Since(start).Round(time.Second))
	}
	return status
}

// try applies m, runs its tests and restores the file, whatever happens.
func try(ctx context.Context, m mutation, timeout time.Duration) (result, []byte, error) {
	orig, err := os.ReadFile(m.file)
	if err != nil {
		return 0, nil, err
	}
	mutated, err := apply(orig, m.edits)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", m.file, err)
	}
	info, err := os.Stat(m.file)
	if err != nil {
		return 0, nil, err
	}
	if err := os.WriteFile(m.file, mutated, info.Mode()); err != nil {
		return 0, nil, err
	}
	defer func() {
		if err := os.WriteFile(m.file, orig, info.Mode()); err != nil {
			fmt.Fprintf(os.Stderr, "mutate: RESTORE %s BY HAND (git checkout): %v\n", m.file, err)
		}
	}()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := append([]string{"test", "-count=1"}, m.flags...)
	if m.run != "" {
		args = append(args, "-run", m.run)
	}
	args = append(args, m.pkg)
	cmd := exec.CommandContext(tctx, "go", args...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return survived, out, nil
	case ctx.Err() != nil:
		return 0, out, ctx.Err()
	case tctx.Err() != nil:
		return killed, append(out, "\n(killed by the timeout: a hang is a failure)\n"...), nil
	case errors.As(err, &ee) && (bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]"))):
		return broken, out, nil
	case errors.As(err, &ee):
		return killed, out, nil
	}
	return 0, out, err
}

// apply replaces each old line (compared without indentation, occurring
// exactly once) by its new line, keeping the indentation.
func apply(src []byte, edits [][2]string) ([]byte, error) {
	lines := strings.SplitAfter(string(src), "\n")
	for _, e := range edits {
		want := strings.TrimSpace(e[0])
		at := -1
		for i, l := range lines {
			if strings.TrimSpace(l) == want {
				if at >= 0 {
					return nil, fmt.Errorf("line %q occurs more than once", want)
				}
				at = i
			}
		}
		if at < 0 {
			return nil, fmt.Errorf("line %q not found (the code changed: update the list)", want)
		}
		l := lines[at]
		indentation := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		eol := l[len(strings.TrimRight(l, "\r\n")):]
		lines[at] = indentation + strings.TrimSpace(e[1]) + eol
	}
	return []byte(strings.Join(lines, "")), nil
}

func parseFile(path string) ([]mutation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parse(f, path)
}

// parse reads a mutation list.
func parse(r io.Reader, name string) ([]mutation, error) {
	var ms []mutation
	var cur *mutation
	var old *string
	finish := func() error {
		if cur == nil {
			return nil
		}
		switch {
		case cur.name == "" || cur.file == "" || cur.pkg == "":
			return fmt.Errorf("%s:%d: a mutation needs name, file and pkg", name, cur.line)
		case len(cur.edits) == 0 || old != nil:
			return fmt.Errorf("%s:%d: %q needs old and new lines in pairs", name, cur.line, cur.name)
		}
		if cur.flags == nil {
			cur.flags = []string{"-short"}
		}
		ms = append(ms, *cur)
		cur, old = nil, nil
		return nil
	}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if err := finish(); err != nil {
				return nil, err
			}
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want key: value, got %q", name, n, line)
		}
		val = strings.TrimSpace(val)
		if cur == nil {
			cur = &mutation{line: n}
		}
		switch strings.TrimSpace(key) {
		case "name":
			cur.name = val
		case "file":
			cur.file = val
		case "pkg":
			cur.pkg = val
		case "run":
			cur.run = val
		case "flags":
			cur.flags = strings.Fields(val)
		case "must":
			cur.must = val == "yes"
		case "old":
			if old != nil {
				return nil, fmt.Errorf("%s:%d: old without new", name, n)
			}
			old = &val
		case "new":
			if old == nil {
				return nil, fmt.Errorf("%s:%d: new without old", name, n)
			}
			cur.edits = append(cur.edits, [2]string{*old, val})
			old = nil
		default:
			return nil, fmt.Errorf("%s:%d: unknown key %q", name, n, key)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return ms, nil
}

// selected keeps the mutations whose name holds one of the words.
func selected(ms []mutation, only string) []mutation {
	if only == "" {
		return ms
	}
	var out []mutation
	for _, m := range ms {
		for _, w := range strings.Split(only, ",") {
			if w = strings.TrimSpace(w); w != "" && strings.Contains(strings.ToLower(m.name), strings.ToLower(w)) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

func indent(b []byte) string {
	s := strings.TrimRight(string(b), "\n")
	return "      " + strings.ReplaceAll(s, "\n", "\n      ")
}
