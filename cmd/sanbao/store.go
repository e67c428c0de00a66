package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
	"github.com/sanbao/sanbao/registry/postgres"
)

// isPostgres reports whether a --db value names a PostgreSQL database (a
// postgres:// or postgresql:// URL) rather than a bbolt file.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openStore opens the registry --db names: PostgreSQL for a postgres://
// URL, else the bbolt file (o's own fields, Timeout and ReadOnly, apply to
// the file only).
func openStore(db string, o bolt.Options) (registry.Store, error) {
	if isPostgres(db) {
		return postgres.Open(db, postgres.Options{Options: o.Options})
	}
	return bolt.Open(db, o)
}

// dbName is a --db value fit for messages and logs: a URL's password is
// masked.
func dbName(db string) string {
	if u, err := url.Parse(db); err == nil && isPostgres(db) {
		return u.Redacted()
	}
	return db
}

// fileOnly refuses a file-only command (backup, compact) on PostgreSQL.
func fileOnly(f *flags, db, what string) error {
	if isPostgres(db) {
		return f.errorf("db", "%s works on a database file; back PostgreSQL up with pg_dump (or the database's own backups)", what)
	}
	return nil
}

var migrateCommand = &command{
	name:     "migrate",
	synopsis: "--from FILE|URL --to FILE|URL",
	summary:  "copy a registry between a database file and PostgreSQL (either way) into an empty target, then verify the copy (counts and every item's history)",
	maxArgs:  0,
	setup:    (*Main).setupMigrate,
}

func (m *Main) setupMigrate(f *flags) runFunc {
	from := f.String("from", "", "the registry to copy: a database `file` or a postgres:// URL (a file is opened read-only; stop its server first)")
	to := f.String("to", "", "where to copy it: a new database `file` or an empty PostgreSQL database (postgres:// URL)")
	return func(ctx context.Context, _ []string, stdout, stderr io.Writer) (err error) {
		if *from == "" {
			return f.errorf("from", "required: the database file or postgres:// URL to copy")
		}
		if *to == "" {
			return f.errorf("to", "required: the database file or postgres:// URL to copy into")
		}
		if *from == *to {
			return f.errorf("to", "is the source itself")
		}
		if !isPostgres(*to) {
			if _, err := os.Stat(*to); err == nil {
				return f.errorf("to", "%s exists: migrate writes a new file only", *to)
			}
		}
		src, err := openStore(*from, bolt.Options{Timeout: lockTimeout, ReadOnly: true})
		if err != nil {
			return err
		}
		defer closeDB(src, *from, &err)
		dst, err := openStore(*to, bolt.Options{Timeout: lockTimeout})
		if err != nil {
			return err
		}
		defer closeDB(dst, *to, &err)
		dumper, ok1 := src.(registry.Dumper)
		loader, ok2 := dst.(registry.Loader)
		if !ok1 || !ok2 {
			return fmt.Errorf("migrate: %s cannot be copied into %s", dbName(*from), dbName(*to))
		}
		start := time.Now()
		if err := loader.Load(func(sink registry.Sink) error { return dumper.Dump(sink) }); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "copied %s to %s in %.1fs; verifying\n", dbName(*from), dbName(*to), time.Since(start).Seconds())
		want, err := registry.Digest(dumper)
		if err != nil {
			return err
		}
		got, err := registry.Digest(dst.(registry.Dumper))
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("migrate: the copy differs from the source:\n  source: %v\n  copy:   %v", want, got)
		}
		_, err = fmt.Fprintf(stdout, "verified: %v\n", got)
		return err
	}
}
