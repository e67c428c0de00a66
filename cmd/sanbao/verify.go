package main

import (
	"context"
	"fmt"
	"io"

	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
)

var verifyCommand = &command{
	name:     "verify",
	synopsis: "[--db FILE|URL] [--policy FILE] [--dry-run]",
	summary:  "recount the report counters from every item, fix those that differ and say what was fixed (offline for a file)",
	maxArgs:  0,
	setup:    (*Main).setupVerify,
}

// setupVerify is `sanbao verify`: the reports read counters every write
// keeps; this recounts them from the items and their histories, the way
// the migration that introduced them did, and rewrites those that differ
// (a bug, a hand-edited database). Each fix is a line on stdout; the
// summary goes to stderr.
func (m *Main) setupVerify(f *flags) runFunc {
	db := dbFlag(f)
	policyFile := f.String("policy", "", "warranty policy JSON `file`, as given to serve (tallies depend on its time zone and periods)")
	dryRun := f.Bool("dry-run", false, "say what differs without fixing it")
	return func(ctx context.Context, _ []string, stdout, stderr io.Writer) (err error) {
		pol, err := loadPolicy(f, *policyFile)
		if err != nil {
			return err
		}
		if *db == "" {
			return usageErrorf("--db: a database file is required")
		}
		s, err := openStore(*db, bolt.Options{Options: registry.Options{Policy: pol}, Timeout: lockTimeout})
		if err != nil {
			return err
		}
		defer closeDB(s, *db, &err)
		fixes, err := s.VerifyCounters(!*dryRun)
		if err != nil {
			return err
		}
		verb := "fixed"
		if *dryRun {
			verb = "differs"
		}
		for _, fx := range fixes {
			fmt.Fprintf(stdout, "%s %s\n", verb, fx)
		}
		switch {
		case len(fixes) == 0:
			fmt.Fprintf(stderr, "the report counters of %s match a full recount\n", dbName(*db))
		case *dryRun:
			fmt.Fprintf(stderr, "%d report counters of %s differ from a full recount; run without --dry-run to fix them\n", len(fixes), dbName(*db))
		default:
			fmt.Fprintf(stderr, "fixed %d report counters of %s from a full recount\n", len(fixes), dbName(*db))
		}
		return nil
	}
}
