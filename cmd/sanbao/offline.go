package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
)

// The offline commands open the database file themselves, so they need the
// server stopped: the file lock makes them fail within lockTimeout, not hang.

var keysCreateCommand = &command{
	name:     "keys create",
	synopsis: "--role admin|warehouse|service --name NAME [--db FILE]",
	summary:  "create an API key (offline) and print it alone on stdout; it is shown only once",
	maxArgs:  0,
	setup:    (*Main).setupKeysCreate,
}

var keysListCommand = &command{
	name:     "keys list",
	synopsis: "[--db FILE]",
	summary:  "list API keys (offline); secrets are never shown",
	maxArgs:  0,
	setup:    (*Main).setupKeysList,
}

var keysRevokeCommand = &command{
	name:     "keys revoke",
	synopsis: "[--db FILE] ID",
	summary:  "revoke an API key (offline); the last active admin key cannot be revoked",
	minArgs:  1, maxArgs: 1,
	setup: (*Main).setupKeysRevoke,
}

var importCommand = &command{
	name:     "import",
	synopsis: "[--db FILE] FILE.csv|-",
	summary:  "register serials from a CSV file or stdin (offline; serial,sku,batch[,produced_on][,accessories]); all or nothing",
	minArgs:  1, maxArgs: 1,
	setup: (*Main).setupImport,
}

var backupCommand = &command{
	name:     "backup",
	synopsis: "[--db FILE] [--force] OUT|-",
	summary:  "write a consistent copy of the database (offline; - writes to stdout)",
	minArgs:  1, maxArgs: 1,
	setup: (*Main).setupBackup,
}

var compactCommand = &command{
	name:     "compact",
	synopsis: "[--db FILE] [--force] OUT",
	summary:  "write a compacted copy of the database (offline); replace the file with it while stopped",
	minArgs:  1, maxArgs: 1,
	setup: (*Main).setupCompact,
}

// dbFlag declares --db, shared by every command that opens the database.
func dbFlag(f *flags) *string {
	return f.String("db", defaultDB, "database `file` or postgres:// URL")
}

// cliActor is who the audit log records for offline changes.
func cliActor() registry.Actor {
	name := "cli"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name += ":" + u.Username
	}
	return registry.Actor{Name: name}
}

// openOffline opens the database for an offline command. A PostgreSQL
// database may be served meanwhile; readOnly applies to a file only.
func openOffline(path string, readOnly bool) (registry.Store, error) {
	if path == "" {
		return nil, usageErrorf("--db: a database file is required")
	}
	return openStore(path, bolt.Options{Timeout: lockTimeout, ReadOnly: readOnly})
}

// closeDB closes db, keeping the first error.
func closeDB(db io.Closer, path string, err *error) {
	if cerr := db.Close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("close %s: %w", dbName(path), cerr)
	}
}

func (m *Main) setupKeysCreate(f *flags) runFunc {
	db := dbFlag(f)
	role := f.String("role", "", "`role` of the key: admin, warehouse or service")
	name := f.String("name", "", "`name` of the key, recorded on every change made with it")
	return func(ctx context.Context, _ []string, stdout, stderr io.Writer) (err error) {
		r := registry.Role(strings.TrimSpace(*role))
		if !r.Valid() {
			return f.errorf("role", "%q is not admin, warehouse or service", *role)
		}
		n := strings.TrimSpace(*name)
		if n == "" {
			return f.errorf("name", "required (e.g. --name \"line 3 scanner\")")
		}
		d, err := openOffline(*db, false)
		if err != nil {
			return err
		}
		defer closeDB(d, *db, &err)
		k, token, err := d.CreateKey(cliActor(), n, r)
		if err != nil {
			return withField(f, err, map[string]string{"name": "name", "role": "role"})
		}
		fmt.Fprintf(stderr, "created %s key %q (id %s); it is shown only once\n", k.Role, k.Name, k.ID)
		_, err = fmt.Fprintln(stdout, token)
		return err
	}
}

func (m *Main) setupKeysList(f *flags) runFunc {
	db := dbFlag(f)
	return func(ctx context.Context, _ []string, stdout, stderr io.Writer) (err error) {
		d, err := openOffline(*db, true)
		if err != nil {
			return err
		}
		defer closeDB(d, *db, &err)
		keys, err := d.Keys()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tROLE\tNAME\tCREATED\tREVOKED")
		for _, k := range keys {
			revoked := "-"
			if !k.Revoked.IsZero() {
				revoked = k.Revoked.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, k.Name, k.Created.UTC().Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	}
}

func (m *Main) setupKeysRevoke(f *flags) runFunc {
	db := dbFlag(f)
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
		d, err := openOffline(*db, false)
		if err != nil {
			return err
		}
		defer closeDB(d, *db, &err)
		if err := d.RevokeKey(cliActor(), args[0]); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "revoked key %s\n", args[0])
		return nil
	}
}

func (m *Main) setupImport(f *flags) runFunc {
	db := dbFlag(f)
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
		var in io.Reader
		if args[0] == "-" {
			in = m.stdin()
		} else {
			file, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer file.Close()
			in = file
		}
		d, err := openOffline(*db, false)
		if err != nil {
			return err
		}
		defer closeDB(d, *db, &err)
		res, err := d.Import(cliActor(), in, stderr)
		if err != nil {
			writeRowErrors(stderr, err)
			return err
		}
		_, err = fmt.Fprintf(stdout, "created %d, unchanged %d\n", res.Created, res.Unchanged)
		return err
	}
}

// writeRowErrors lists the rejected rows of an all-or-nothing batch, which
// the one-line error message only counts.
func writeRowErrors(w io.Writer, err error) {
	var pe *policy.Error
	if !errors.As(err, &pe) || len(pe.Rows) == 0 {
		return
	}
	for _, r := range pe.Rows {
		field := ""
		if r.Field != "" {
			field = " " + r.Field
		}
		line := ""
		if r.Line > 0 {
			line = fmt.Sprintf(" (line %d)", r.Line)
		}
		fmt.Fprintf(w, "row %d serial %q%s: %s%s: %s\n", r.Row, r.Serial, line, r.Code, field, r.Message)
	}
	if pe.BadRows > len(pe.Rows) {
		fmt.Fprintf(w, "... and %d more bad rows\n", pe.BadRows-len(pe.Rows))
	}
}

// withField names the flag behind a registry error about one of its fields.
func withField(f *flags, err error, flagOf map[string]string) error {
	var pe *policy.Error
	if errors.As(err, &pe) && pe.Field != "" {
		if name, ok := flagOf[pe.Field]; ok {
			return f.errorf(name, "%s", pe.Message)
		}
	}
	return err
}

// checkOut refuses to overwrite an existing file unless forced: a backup
// run twice must not silently replace the copy it meant to keep.
func checkOut(out string, force bool) error {
	if _, err := os.Stat(out); err == nil && !force {
		return fmt.Errorf("%s already exists (use --force to replace it)", out)
	}
	return nil
}

func (m *Main) setupBackup(f *flags) runFunc {
	db := dbFlag(f)
	force := f.Bool("force", false, "replace OUT if it exists")
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
		out := args[0]
		if err := fileOnly(f, *db, "backup"); err != nil {
			return err
		}
		if out == "-" {
			d, err := bolt.Open(*db, bolt.Options{Timeout: lockTimeout, ReadOnly: true})
			if err != nil {
				return err
			}
			defer closeDB(d, *db, &err)
			_, err = d.Backup(stdout)
			return err
		}
		if err := checkOut(out, *force); err != nil {
			return err
		}
		if err := bolt.BackupFile(*db, out); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "backed up %s to %s\n", *db, out)
		return nil
	}
}

func (m *Main) setupCompact(f *flags) runFunc {
	db := dbFlag(f)
	force := f.Bool("force", false, "replace OUT if it exists")
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		out := args[0]
		if err := fileOnly(f, *db, "compact"); err != nil {
			return err
		}
		if err := checkOut(out, *force); err != nil {
			return err
		}
		if err := bolt.Compact(*db, out); err != nil {
			return err
		}
		before, after := fileSize(*db), fileSize(out)
		fmt.Fprintf(stderr, "compacted %s (%d bytes) to %s (%d bytes)\n", *db, before, out, after)
		return nil
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
