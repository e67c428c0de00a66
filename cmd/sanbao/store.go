package main

import (
	"net/url"
	"strings"

	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/postgres"
)

// isPostgres reports whether a --db value names a PostgreSQL database (a
// postgres:// or postgresql:// URL) rather than a bbolt file.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openStore opens the registry --db names: PostgreSQL for a postgres://
// URL, else the bbolt file (o's Timeout and ReadOnly apply to the file only).
func openStore(db string, o registry.Options) (registry.Store, error) {
	if isPostgres(db) {
		return postgres.Open(db, postgres.Options{Policy: o.Policy, CheckSecret: o.CheckSecret, PreviousSecret: o.PreviousSecret, Now: o.Now})
	}
	return registry.Open(db, o)
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
