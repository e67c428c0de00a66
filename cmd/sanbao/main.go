// Command sanbao is the warranty registry: an HTTP service over one bbolt
// file, and the offline commands that create keys, import serials, back up,
// compact and print labels. This package is the only place where the parts
// are wired together; run "sanbao help" for every command and flag.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/sanbao/sanbao/policy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal starts a graceful shutdown, a second one
		// gets the default behaviour and kills the process.
		<-ctx.Done()
		stop()
	}()
	err := NewMain().Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sanbao: %s\n", oneLine(message(err)))
		var u *usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// message is err for a person: a registry or policy error says what is
// wrong without its machine code.
func message(err error) string {
	if pe, ok := err.(*policy.Error); ok {
		if pe.Field != "" && !strings.Contains(pe.Message, pe.Field) {
			return pe.Field + ": " + pe.Message
		}
		return pe.Message
	}
	return err.Error()
}

// oneLine keeps an error message on one line so scripts and container logs
// see it whole.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Main runs sanbao's commands. Tests build one with NewMain, replace Stdin
// and Getenv as needed, and call Run; a serve started on 127.0.0.1:0 reports
// its address through Ready and Addr.
type Main struct {
	// Stdin is read by "import -". Default os.Stdin.
	Stdin io.Reader
	// Getenv reads the SANBAO_* variables. Default os.Getenv.
	Getenv func(string) string

	readyOnce sync.Once
	ready     chan struct{}
	closeOnce sync.Once

	mu          sync.Mutex
	addr        net.Addr
	metricsAddr net.Addr
}

// NewMain returns a Main reading the process's stdin and environment.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Getenv: os.Getenv}
}

// Ready is closed once serve is listening (Addr and MetricsAddr are then set).
// It is never closed if serve fails before listening: wait on Run's result too.
func (m *Main) Ready() <-chan struct{} {
	m.readyOnce.Do(func() { m.ready = make(chan struct{}) })
	return m.ready
}

// Addr is the address serve is bound to ("" before it listens), e.g.
// "127.0.0.1:41234" when started with --addr 127.0.0.1:0.
func (m *Main) Addr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.addr == nil {
		return ""
	}
	return m.addr.String()
}

// MetricsAddr is the address of the --metrics-addr listener ("" when none).
func (m *Main) MetricsAddr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.metricsAddr == nil {
		return ""
	}
	return m.metricsAddr.String()
}

func (m *Main) listening(addr, metrics net.Addr) {
	m.mu.Lock()
	m.addr, m.metricsAddr = addr, metrics
	m.mu.Unlock()
	m.Ready()
	m.closeOnce.Do(func() { close(m.ready) })
}

func (m *Main) getenv(name string) string {
	if m.Getenv == nil {
		return os.Getenv(name)
	}
	return m.Getenv(name)
}

func (m *Main) stdin() io.Reader {
	if m.Stdin == nil {
		return os.Stdin
	}
	return m.Stdin
}

// Run runs the command named by args[0] with the rest of args. Output meant
// for scripts (a new key, an import's counts) goes to stdout; logs, progress
// and usage errors to stderr. It returns when the command is done — for
// serve, after ctx is cancelled and the graceful shutdown has finished. A
// *usageError reports a bad command line.
func (m *Main) Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		writeUsage(stderr)
		return usageErrorf("no command given")
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return m.helpFor(strings.Join(args[1:], " "), stdout)
		}
		writeUsage(stdout)
		return nil
	case "version", "--version":
		fmt.Fprintln(stdout, version())
		return nil
	}
	cmd, rest, err := lookup(args)
	if err != nil {
		return err
	}
	f := newFlags(cmd.name, m.getenv)
	run := cmd.setup(m, f)
	pos, err := f.parse(rest)
	if errors.Is(err, errHelp) {
		writeCommandUsage(stdout, cmd)
		return nil
	}
	if err != nil {
		return err
	}
	if len(pos) < cmd.minArgs || cmd.maxArgs >= 0 && len(pos) > cmd.maxArgs {
		return usageErrorf("usage: sanbao %s %s", cmd.name, cmd.synopsis)
	}
	return run(ctx, pos, stdout, stderr)
}

// helpFor shows the help of the command called name: "help" and
// "version" too, and every subcommand of a group such as "keys".
func (m *Main) helpFor(name string, w io.Writer) error {
	switch name {
	case "help":
		fmt.Fprint(w, "sanbao help [command]\n    show every command, or one command with its flags\n")
		return nil
	case "version":
		fmt.Fprint(w, "sanbao version\n    print the version the binary was built from\n")
		return nil
	}
	var group []*command
	for _, c := range commands {
		if first, _, ok := strings.Cut(c.name, " "); ok && first == name {
			group = append(group, c)
		}
	}
	for i, c := range group {
		if i > 0 {
			fmt.Fprintln(w)
		}
		writeCommandUsage(w, c)
	}
	if len(group) > 0 {
		return nil
	}
	cmd, _, err := lookup(strings.Fields(name))
	if err != nil {
		return err
	}
	writeCommandUsage(w, cmd)
	return nil
}
