package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
)

// withModel creates db holding the product model sku, the way an operator
// would through the API, and closes it again.
func withModel(t *testing.T, db, sku string) {
	t.Helper()
	reg, err := bolt.Open(db, bolt.Options{Timeout: lockTimeout})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.PutModel(registry.Actor{Name: "test"}, policy.Model{SKU: sku, Name: "Mask " + sku, Kind: policy.KindProduct}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestKeysCreatePrintsTheKeyAloneOnStdout(t *testing.T) {
	db := tempDB(t)
	for _, role := range []string{"admin", "warehouse", "service"} {
		t.Run(role, func(t *testing.T) {
			out, errOut, err := run(t, nil, "keys", "create", "--db", db, "--role", role, "--name", "desk "+role)
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			if !regexp.MustCompile(`^[^\s.]+\.[^\s.]+\n$`).MatchString(out) {
				t.Fatalf("stdout = %q, want the key <id>.<secret> alone on one line", out)
			}
			reg := openDB(t, db)
			k, err := reg.Authenticate(strings.TrimSpace(out))
			if err != nil {
				t.Fatalf("the printed key does not authenticate: %v", err)
			}
			if string(k.Role) != role || k.Name != "desk "+role {
				t.Errorf("key = %+v, want role %s named %q", k, role, "desk "+role)
			}
			if !strings.Contains(errOut, k.ID) {
				t.Errorf("stderr does not name the key id %s: %q", k.ID, errOut)
			}
		})
	}
}

func TestKeysCreateRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"role missing", []string{"--name", "x"}, "--role"},
		{"role unknown", []string{"--role", "root", "--name", "x"}, "--role"},
		{"name missing", []string{"--role", "admin"}, "--name"},
		{"name blank", []string{"--role", "admin", "--name", "  "}, "--name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := tempDB(t)
			out, _, err := run(t, nil, append([]string{"keys", "create", "--db", db}, tt.args...)...)
			wantUsageError(t, err, tt.want)
			if out != "" {
				t.Errorf("stdout = %q after an error", out)
			}
		})
	}
}

func TestKeysListAndRevoke(t *testing.T) {
	db := tempDB(t)
	admin := newKey(t, db, "admin")
	service := newKey(t, db, "service")
	id := func(key string) string { return strings.SplitN(key, ".", 2)[0] }

	out := mustRun(t, "keys", "list", "--db", db)
	if !strings.Contains(out, id(admin)) || !strings.Contains(out, id(service)) {
		t.Fatalf("keys list:\n%s", out)
	}
	if strings.Contains(out, strings.SplitN(admin, ".", 2)[1]) {
		t.Fatal("keys list shows a secret")
	}
	mustRun(t, "keys", "revoke", "--db", db, id(service))
	if _, _, err := run(t, nil, "keys", "revoke", "--db", db, id(admin)); err == nil {
		t.Error("revoked the last active admin key")
	}
	reg := openDB(t, db)
	if _, err := reg.Authenticate(service); err == nil {
		t.Error("a revoked key still authenticates")
	}
}

func TestImportBackupCompactRoundTrip(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "sanbao.db")
	withModel(t, db, "M1")
	csv := filepath.Join(dir, "items.csv")
	if err := os.WriteFile(csv, []byte("\ufeffserial,sku,batch,produced_on\nS1,M1,B1,2026-01-05\nS2,M1,B1,\nS3,M1,B2,2026-01-06\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	if out := mustRun(t, "import", "--db", db, csv); out != "created 3, unchanged 0\n" {
		t.Errorf("first import: %q", out)
	}
	// Flags after the file, and the same rows again: nothing new.
	if out := mustRun(t, "import", csv, "--db", db); out != "created 0, unchanged 3\n" {
		t.Errorf("second import: %q", out)
	}
	// From stdin, with a bad row: all or nothing, the row named on stderr.
	m := newMain(nil)
	m.Stdin = strings.NewReader("serial,sku,batch\nS4,M1,B3\nS5,NOPE,B3\n")
	var stdout, stderr bytes.Buffer
	err := m.Run(context.Background(), []string{"import", "--db", db, "-"}, &stdout, &stderr)
	if err == nil {
		t.Fatal("import with an unknown SKU succeeded")
	}
	if !strings.Contains(stderr.String(), "row 2") || !strings.Contains(stderr.String(), "S5") {
		t.Errorf("stderr does not name the bad row:\n%s", stderr.String())
	}

	backup := filepath.Join(dir, "backup.db")
	mustRun(t, "backup", "--db", db, backup)
	if _, _, err := run(t, nil, "backup", "--db", db, backup); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("backup over an existing file: %v, want a refusal naming --force", err)
	}
	mustRun(t, "backup", "--db", db, "--force", backup)
	compacted := filepath.Join(dir, "compact.db")
	mustRun(t, "compact", "--db", db, compacted)
	streamed := filepath.Join(dir, "stream.db")
	out := mustRun(t, "backup", "--db", db, "-")
	if err := os.WriteFile(streamed, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, file := range []string{db, backup, compacted, streamed} {
		reg := openDB(t, file)
		for _, s := range []string{"S1", "S2", "S3"} {
			if _, err := reg.Get(s); err != nil {
				t.Errorf("%s: %s: %v", filepath.Base(file), s, err)
			}
		}
		for _, s := range []string{"S4", "S5"} {
			if _, err := reg.Get(s); policy.ErrorCode(err) != policy.ENotFound {
				t.Errorf("%s: %s from a rejected import: %v", filepath.Base(file), s, err)
			}
		}
	}
}

func TestOfflineCommandsNeedAnExistingDatabase(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.db")
	out := filepath.Join(t.TempDir(), "out.db")
	for _, args := range [][]string{
		{"backup", "--db", missing, out},
		{"compact", "--db", missing, out},
		{"keys", "list", "--db", missing},
	} {
		if _, _, err := run(t, nil, args...); err == nil || !strings.Contains(err.Error(), "missing.db") {
			t.Errorf("sanbao %v: %v, want an error naming the file", args, err)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("an offline read created the database")
	}
}
