// Command harness is sanbao's reliability harness (issue #8). It builds the
// real binary once, runs `sanbao serve` as a child process on 127.0.0.1 and
// puts it through bounded campaigns:
//
//   - mixed: N clients for T seconds of item lookups, public page views,
//     registrations and event appends; every acknowledged write is read back.
//   - crash: SIGKILL of serve at random moments under concurrent writes, and
//     of `sanbao import` midway; after each, the file passes bbolt's
//     consistency check and holds every acknowledged write (and an import
//     holds exactly what bolt.DB.Import promises).
//   - disk: a database on a tiny tmpfs that fills up, one on a read-only
//     mount, and one whose file system turns read-only under the server.
//   - hostile: oversized bodies, slow headers, malformed JSON and CSV, path
//     tricks, 10,000 wrong check codes; then no growth of goroutines, heap
//     or open files.
//   - exhaust: invented HTTP methods, oversized sign-in forms, bodies
//     declared and never sent, big registration CSVs at once while items
//     are looked up: metrics, logs, memory and descriptors measured before
//     and after, bounded; nothing acknowledged lost after a SIGKILL.
//
// A finding is any 5xx where the contract allows none, a lost acknowledged
// write, a failed consistency check, a hang or resource growth; the program
// exits 1 when there is one. `go run ./bench/harness` runs the long form;
// `go test ./bench/harness` (harness_test.go) the CI form. Everything talks
// to 127.0.0.1 only and every loop is bounded in count and time.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Config sizes a run. LongForm and CIForm are the two standard sizes.
type Config struct {
	// Bin is a prebuilt sanbao binary; "" builds ./cmd/sanbao into Work.
	Bin string
	// Work holds binaries, databases and server logs; "" is a new temp dir.
	Work string
	// Campaigns to run, by name (see campaigns); empty runs them all.
	Campaigns []string
	// Seed makes the random choices (kill moments, mixes) repeatable.
	Seed uint64

	Clients  int           // mixed: concurrent clients
	Duration time.Duration // mixed: load duration

	CrashRounds   int           // crash: SIGKILLs of serve
	CrashWriters  int           // crash: concurrent writers per round
	CrashMaxDelay time.Duration // crash: latest kill moment after writes start
	ImportRounds  int           // crash: SIGKILLs of `sanbao import`
	ImportRows    int           // crash: rows of the killed import

	SlowConns   int // hostile: slow-header connections
	WrongCodes  int // hostile: wrong check codes from one address
	BigBodies   int // hostile: oversized bodies per kind
	SettleLimit time.Duration

	InventedMethods int // exhaust: requests with an invented method each
	BigForms        int // exhaust: 8 MiB sign-in forms sent at once
	SlowBodies      int // exhaust: connections declaring a body never sent
	// exhaust: registration CSVs sent at once, and the rows of each
	BigRegistrations, BigRegistrationRows int

	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// LongForm is the default of `go run ./bench/harness`.
func LongForm() Config {
	return Config{
		Seed:          uint64(time.Now().UnixNano()),
		Clients:       64,
		Duration:      60 * time.Second,
		CrashRounds:   20,
		CrashWriters:  32,
		CrashMaxDelay: 3 * time.Second,
		ImportRounds:  4,
		ImportRows:    600_000,
		SlowConns:     1000,
		WrongCodes:    10_000,
		BigBodies:     4,
		SettleLimit:   30 * time.Second,

		InventedMethods: 2000,
		BigForms:        10,
		SlowBodies:      300,

		BigRegistrations:    8,
		BigRegistrationRows: 100_000,
	}
}

// CIForm is the short form run by `go test ./bench/harness`: the same
// campaigns and checks, smaller counts, well under three minutes on two cores.
func CIForm() Config {
	return Config{
		Seed:          uint64(time.Now().UnixNano()),
		Clients:       64,
		Duration:      10 * time.Second,
		CrashRounds:   5,
		CrashWriters:  16,
		CrashMaxDelay: 1500 * time.Millisecond,
		ImportRounds:  1,
		ImportRows:    100_000,
		SlowConns:     200,
		WrongCodes:    10_000,
		BigBodies:     1,
		SettleLimit:   30 * time.Second,

		InventedMethods: 500,
		BigForms:        10,
		SlowBodies:      150,

		BigRegistrations:    4,
		BigRegistrationRows: 50_000,
	}
}

// campaign is one named part of the run.
type campaign struct {
	name string
	run  func(h *Harness) []*Result
}

// campaigns in the order they run.
var campaigns = []campaign{
	{"mixed", func(h *Harness) []*Result { return []*Result{timed(h.Mixed)} }},
	{"crash", func(h *Harness) []*Result { return []*Result{timed(h.CrashServe), timed(h.CrashImport)} }},
	{"disk", func(h *Harness) []*Result {
		return []*Result{timed(h.DiskFull), timed(h.ReadOnlyAtStart), timed(h.ReadOnlyWhileServing), timed(h.DamagedFile)}
	}},
	{"hostile", func(h *Harness) []*Result { return []*Result{timed(h.Hostile)} }},
	{"exhaust", func(h *Harness) []*Result {
		return []*Result{timed(h.InventedMethods), timed(h.BigForms), timed(h.SlowBodies), timed(h.BigRegistrations)}
	}},
}

// timed runs a campaign and records how long it took.
func timed(run func() *Result) *Result {
	start := time.Now()
	r := run()
	r.Elapsed = time.Since(start)
	return r
}

func main() {
	// -ci picks the defaults the other flags then override, so it is looked
	// for before the flags are declared.
	cfg := LongForm()
	for _, a := range os.Args[1:] {
		if a == "-ci" || a == "--ci" || a == "-ci=true" || a == "--ci=true" {
			cfg = CIForm()
		}
	}
	flag.Bool("ci", false, "use the CI form's sizes (what go test runs); other flags still override them")
	flag.StringVar(&cfg.Bin, "bin", "", "prebuilt sanbao `binary` (default: go build ./cmd/sanbao into the work dir)")
	flag.StringVar(&cfg.Work, "work", "", "work `dir` for binaries, databases and server logs (default: a new temp dir, removed unless -keep)")
	only := flag.String("only", "", "comma-separated `campaigns` to run: mixed, crash, disk, hostile, exhaust (default all)")
	keep := flag.Bool("keep", false, "keep the work dir (databases and server logs) after the run")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random `seed` (printed; reuse it to repeat kill moments and mixes)")
	flag.IntVar(&cfg.Clients, "clients", cfg.Clients, "mixed: concurrent clients")
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "mixed: load duration")
	flag.IntVar(&cfg.CrashRounds, "crash-rounds", cfg.CrashRounds, "crash: SIGKILL rounds of serve")
	flag.IntVar(&cfg.CrashWriters, "crash-writers", cfg.CrashWriters, "crash: concurrent writers")
	flag.DurationVar(&cfg.CrashMaxDelay, "crash-max-delay", cfg.CrashMaxDelay, "crash: latest kill moment after writes start")
	flag.IntVar(&cfg.ImportRounds, "import-rounds", cfg.ImportRounds, "crash: SIGKILL rounds of sanbao import")
	flag.IntVar(&cfg.ImportRows, "import-rows", cfg.ImportRows, "crash: rows of the killed import")
	flag.IntVar(&cfg.SlowConns, "slow-conns", cfg.SlowConns, "hostile: slow-header connections")
	flag.IntVar(&cfg.WrongCodes, "wrong-codes", cfg.WrongCodes, "hostile: wrong check codes from one address")
	flag.IntVar(&cfg.BigBodies, "big-bodies", cfg.BigBodies, "hostile: oversized bodies per kind")
	flag.IntVar(&cfg.InventedMethods, "invented-methods", cfg.InventedMethods, "exhaust: requests with an invented method each")
	flag.IntVar(&cfg.BigForms, "big-forms", cfg.BigForms, "exhaust: 8 MiB sign-in forms sent at once")
	flag.IntVar(&cfg.SlowBodies, "slow-bodies", cfg.SlowBodies, "exhaust: connections declaring a body never sent")
	flag.IntVar(&cfg.BigRegistrations, "big-registrations", cfg.BigRegistrations, "exhaust: registration CSVs sent at once")
	flag.IntVar(&cfg.BigRegistrationRows, "big-registration-rows", cfg.BigRegistrationRows, "exhaust: rows of each registration CSV")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "harness: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if *only != "" {
		cfg.Campaigns = strings.Split(*only, ",")
	}
	cfg.Log = os.Stderr

	h, err := New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(2)
	}
	h.keep = *keep
	results, err := h.Run()
	h.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(2)
	}
	failed := WriteReport(os.Stdout, cfg, h.Notes(), results)
	if *keep {
		fmt.Printf("\nwork dir kept: %s\n", h.work)
	}
	if failed {
		os.Exit(1)
	}
}
