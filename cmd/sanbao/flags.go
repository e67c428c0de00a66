package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"
)

// runFunc runs a command with its positional arguments once flags are parsed.
type runFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// command is one subcommand: its name ("keys create" for a two-word one),
// synopsis of positional arguments, summary line, and setup, which declares
// the flags on f and returns the function that runs with them.
type command struct {
	name, synopsis, summary string
	minArgs, maxArgs        int // maxArgs < 0: no limit
	setup                   func(m *Main, f *flags) runFunc
}

// commands lists every subcommand in the order "sanbao help" shows them.
var commands []*command

func init() {
	commands = []*command{
		serveCommand, keysCreateCommand, keysListCommand, keysRevokeCommand, usersCreateCommand,
		importCommand, migrateCommand, backupCommand, compactCommand, verifyCommand, labelCommand, healthcheckCommand,
	}
}

// usageError is a bad command line: main exits 2 rather than 1.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

var errHelp = errors.New("help requested")

// singleDash finds a flag name in the flag package's errors ("... flag -addr: ...").
var singleDash = regexp.MustCompile(`(flag |: )-([a-z])`)

// badValue is the flag package's error for a value its type cannot parse.
var badValue = regexp.MustCompile(`^invalid value (".*") for flag -([a-z0-9-]+): `)

// want says what form a flag's value takes, for the error about a value
// that does not parse ("parse error" is all the flag package says).
func want(fl *flag.Flag) string {
	g, ok := fl.Value.(flag.Getter)
	if !ok {
		return "see sanbao help"
	}
	switch g.Get().(type) {
	case time.Duration:
		return "want a duration like 5s or 10m"
	case int, int64, uint, uint64:
		return "want a whole number like 20"
	case float64:
		return "want a number like 2 or 0.5"
	case bool:
		return "want true or false"
	}
	return "see sanbao help"
}

// lookup finds the command named by the first one or two words of args.
func lookup(args []string) (*command, []string, error) {
	var group bool
	for _, c := range commands {
		first, second, two := strings.Cut(c.name, " ")
		if first != args[0] {
			continue
		}
		if !two {
			return c, args[1:], nil
		}
		group = true
		if len(args) > 1 && args[1] == second {
			return c, args[2:], nil
		}
	}
	if group {
		var subs []string
		for _, c := range commands {
			if first, second, ok := strings.Cut(c.name, " "); ok && first == args[0] {
				subs = append(subs, second)
			}
		}
		return nil, nil, usageErrorf("%q needs a subcommand: %s", args[0], strings.Join(subs, ", "))
	}
	return nil, nil, usageErrorf("unknown command %q (run \"sanbao help\")", args[0])
}

// envName is the environment variable that sets flag name: SANBAO_ and the
// name in upper case with dashes as underscores (--public-url: SANBAO_PUBLIC_URL).
func envName(name string) string {
	return "SANBAO_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// flags is a command's flag set bound to the environment: every flag not
// given on the command line takes its SANBAO_* variable when that is set.
type flags struct {
	*flag.FlagSet
	getenv  func(string) string
	aliases map[string]string // short name -> long name; aliases read no variable
	fromEnv map[string]bool
}

func newFlags(name string, getenv func(string) string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flags{FlagSet: fs, getenv: getenv, aliases: map[string]string{}, fromEnv: map[string]bool{}}
}

// alias makes -short another name of the already defined --long.
func (f *flags) alias(short, long string) {
	fl := f.Lookup(long)
	f.Var(fl.Value, short, "shorthand for --"+long)
	f.aliases[short] = long
}

// parse parses args, allowing flags after positional arguments (so that
// "sanbao import data.csv --db x.db" works) and treating everything after
// "--" as positional, then fills unset flags from the environment.
func (f *flags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			if m := badValue.FindStringSubmatch(err.Error()); m != nil {
				if fl := f.Lookup(m[2]); fl != nil && !strings.HasSuffix(err.Error(), ": parse error") {
					// A flag type of ours (a list of networks) says what is wrong itself.
					return nil, usageErrorf("%s: %s", f.describe(f.long(m[2])), strings.TrimPrefix(err.Error(), m[0]))
				} else if fl != nil {
					return nil, usageErrorf("%s: %s: %s", f.describe(f.long(m[2])), m[1], want(fl))
				}
			}
			// The flag package names flags with one dash; the help uses two.
			return nil, usageErrorf("%s: %s", f.Name(), singleDash.ReplaceAllString(err.Error(), "$1--$2"))
		}
		rest := f.Args()
		if len(rest) == 0 {
			break
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) {
		set[fl.Name] = true
		if long, ok := f.aliases[fl.Name]; ok {
			set[long] = true
		}
	})
	var err error
	f.VisitAll(func(fl *flag.Flag) {
		if _, alias := f.aliases[fl.Name]; alias || set[fl.Name] || err != nil {
			return
		}
		v := f.getenv(envName(fl.Name))
		if v == "" {
			return
		}
		f.fromEnv[fl.Name] = true
		if e := f.Set(fl.Name, v); e != nil {
			msg := e.Error()
			if msg == "parse error" || strings.HasPrefix(msg, "strconv.") || strings.HasPrefix(msg, "time: ") {
				msg = fmt.Sprintf("%q: %s", v, want(fl))
			}
			err = usageErrorf("%s: %s", f.describe(fl.Name), msg)
		}
	})
	return pos, err
}

// long is the flag an alias stands for (name itself otherwise).
func (f *flags) long(name string) string {
	if l, ok := f.aliases[name]; ok {
		return l
	}
	return name
}

// describe names a flag in an error, with the variable it came from if any.
func (f *flags) describe(name string) string {
	if f.fromEnv[name] {
		return fmt.Sprintf("--%s (from %s)", name, envName(name))
	}
	return "--" + name
}

// errorf is an error about flag name's value, naming the flag.
func (f *flags) errorf(name, format string, args ...any) error {
	return usageErrorf("%s: %s", f.describe(name), fmt.Sprintf(format, args...))
}

// prefixList is a repeatable flag of network prefixes; one occurrence (or
// the variable) may also hold a comma-separated list. A bare address is a
// single-host prefix.
type prefixList []netip.Prefix

func (p *prefixList) String() string {
	if p == nil {
		return ""
	}
	s := make([]string, len(*p))
	for i, x := range *p {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

func (p *prefixList) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		pfx, err := parsePrefix(part)
		if err != nil {
			return err
		}
		*p = append(*p, pfx)
	}
	return nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a network in CIDR form (e.g. 10.0.0.0/8 or fd00::/8)", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a network in CIDR form (e.g. 10.0.0.0/8 or fd00::/8)", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// writeUsage lists every command with its flags and variables.
func writeUsage(w io.Writer) {
	fmt.Fprint(w, `sanbao — warranty registry

Usage: sanbao <command> [flags] [arguments]

Every flag may also be set by an environment variable, named in brackets
below; a flag on the command line wins over the variable. Flags may follow
the arguments. "sanbao help <command>" shows one command.

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	fmt.Fprintf(tw, "  help [command]\tshow this help\n")
	fmt.Fprintf(tw, "  version\tprint the version\n")
	tw.Flush()
	for _, c := range commands {
		fmt.Fprintln(w)
		writeCommandUsage(w, c)
	}
}

// writeCommandUsage shows one command's synopsis and flags.
func writeCommandUsage(w io.Writer, c *command) {
	fmt.Fprintf(w, "sanbao %s %s\n    %s\n", c.name, c.synopsis, c.summary)
	f := newFlags(c.name, func(string) string { return "" })
	c.setup(&Main{}, f)
	type row struct{ name, usage string }
	var rows []row
	f.VisitAll(func(fl *flag.Flag) {
		if _, ok := f.aliases[fl.Name]; ok {
			return
		}
		vname, usage := flag.UnquoteUsage(fl)
		names := "--" + fl.Name
		for short, long := range f.aliases {
			if long == fl.Name {
				names = "-" + short + ", " + names
			}
		}
		if vname != "" {
			names += " " + vname
		}
		if fl.DefValue != "" && fl.DefValue != "0" && fl.DefValue != "false" && fl.DefValue != "0s" {
			usage += " (default " + fl.DefValue + ")"
		}
		rows = append(rows, row{names, usage + " [" + envName(fl.Name) + "]"})
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "    %s\t%s\n", r.name, r.usage)
	}
	tw.Flush()
}

// buildVersion is the version stamped at build time, where the module
// version and VCS information are missing (a container build's context has
// no .git): go build -ldflags "-X main.buildVersion=v1.4.0" (the
// Dockerfile's VERSION build argument).
var buildVersion string

// version is the stamped version, or else the module version and VCS
// revision the binary was built from, with the Go release.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if buildVersion != "" {
			return "sanbao " + buildVersion
		}
		return "sanbao (unknown version)"
	}
	v := "sanbao " + bi.Main.Version
	if buildVersion != "" {
		v = "sanbao " + buildVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v += " " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				v += " (modified)"
			}
		}
	}
	return v + " " + bi.GoVersion
}
