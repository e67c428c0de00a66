// Command importbench is the helper of bench/import/run.sh: it generates the
// rows, does the raw bbolt load that `sanbao import` is measured against,
// creates the models the rows need, and can run bolt.DB.Import itself.
//
//	importbench gen -n 1000000 > rows.csv
//	importbench raw --db raw.db rows.csv             # prints wall and CPU seconds
//	importbench models --db sanbao.db
//	importbench import --db sanbao.db rows.csv       # prints wall and CPU seconds
//	importbench time sanbao import --db F rows.csv  # runs a command, prints wall and CPU seconds
//	importbench rawpg --db postgres://… rows.csv     # COPY of the CSV as it is into a table keyed by serial
//	importbench models --db postgres://…             # the models, in a PostgreSQL registry
//
// CPU seconds (user + system) are printed beside wall seconds because the
// machine is shared: they move less with other people's load.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sanbao/sanbao/bench/import/rawload"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
	"github.com/sanbao/sanbao/registry/postgres"
)

var bench = registry.Actor{KeyID: "bench", Name: "importbench"}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	n := fs.Int("n", 1_000_000, "rows to generate")
	seed := fs.Uint64("seed", 7, "generator seed")
	db := fs.String("db", "", "database file")
	if os.Args[1] != "time" {
		fs.Parse(os.Args[2:])
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = rawload.Generate(os.Stdout, *n, *seed)
	case "raw":
		err = timed(fs.Arg(0), func(f *os.File) error {
			_, err := rawload.Load(*db, f, 250_000, 0.9)
			return err
		})
	case "rawpg":
		err = timed(fs.Arg(0), func(f *os.File) error { return rawCopy(*db, f) })
	case "models":
		err = models(*db)
	case "time":
		err = timeCommand(os.Args[2:])
	case "import":
		err = timed(fs.Arg(0), func(f *os.File) error {
			d, err := bolt.Open(*db, bolt.Options{})
			if err != nil {
				return err
			}
			if _, err := d.Import(bench, f, os.Stderr); err != nil {
				d.Close()
				return err
			}
			return d.Close()
		})
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "importbench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: importbench gen -n N | raw --db F CSV | rawpg --db URL CSV | models --db F|URL | import --db F CSV | time CMD ARGS...")
	os.Exit(2)
}

// timed runs fn on the CSV file and prints the wall and CPU seconds it took.
func timed(csv string, fn func(*os.File) error) error {
	f, err := os.Open(csv)
	if err != nil {
		return err
	}
	defer f.Close()
	start, cpu := time.Now(), cpuTime(syscall.RUSAGE_SELF)
	if err := fn(f); err != nil {
		return err
	}
	fmt.Printf("%.2f %.2f\n", time.Since(start).Seconds(), (cpuTime(syscall.RUSAGE_SELF) - cpu).Seconds())
	return nil
}

// timeCommand runs args (its output to stderr) and prints its wall and CPU seconds.
func timeCommand(args []string) error {
	if len(args) == 0 {
		usage()
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return err
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	fmt.Printf("%.2f %.2f\n", time.Since(start).Seconds(), cpu.Seconds())
	return nil
}

func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawCopy is the floor of the PostgreSQL import: the CSV sent as it is to
// COPY … FROM STDIN (CSV, parsed by the server) into a table with the same
// columns, keyed by serial as the registry is.
func rawCopy(dsn string, f *os.File) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP TABLE IF EXISTS raw_items;
		CREATE TABLE raw_items (serial text COLLATE "C" PRIMARY KEY, sku text NOT NULL, batch text NOT NULL, produced_on date, accessories text)`); err != nil {
		return err
	}
	_, err = conn.PgConn().CopyFrom(ctx, f, `COPY raw_items FROM STDIN (FORMAT csv, HEADER true)`)
	return err
}

func models(path string) error {
	var d registry.Store
	var err error
	if strings.HasPrefix(path, "postgres://") {
		d, err = postgres.Open(path, postgres.Options{})
	} else {
		d, err = bolt.Open(path, bolt.Options{})
	}
	if err != nil {
		return err
	}
	for _, m := range rawload.Models {
		if _, _, err := d.PutModel(bench, policy.Model{SKU: m.SKU, Name: m.Name, Kind: policy.Kind(m.Kind)}); err != nil {
			d.Close()
			return err
		}
	}
	return d.Close()
}
