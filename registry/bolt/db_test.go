package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

func TestOpenCreatesSecretOnceAndKeepsIt(t *testing.T) {
	db := MustOpen(t)
	first := db.CheckSecrets()
	if len(first) != 1 || len(first[0]) != 32 {
		t.Fatalf("CheckSecrets() = %d secrets, first %d bytes; want one of 32", len(first), len(first[0]))
	}
	if bytes.Equal(first[0], make([]byte, 32)) {
		t.Fatal("secret is all zeros")
	}
	again := db.reopen(t)
	if !bytes.Equal(again.CheckSecrets()[0], first[0]) {
		t.Fatal("the secret changed on reopen")
	}
	other := MustOpen(t)
	if bytes.Equal(other.CheckSecrets()[0], first[0]) {
		t.Fatal("two databases share a secret")
	}
}

func TestOptionsSecretsOverrideAndRotate(t *testing.T) {
	cur, prev := []byte("current-secret-from-a-file-32byt"), []byte("previous-secret")
	db := MustOpen(t, func(o *Options) { o.CheckSecret, o.PreviousSecret = cur, prev })
	got := db.CheckSecrets()
	if len(got) != 2 || !bytes.Equal(got[0], cur) || !bytes.Equal(got[1], prev) {
		t.Fatalf("CheckSecrets() = %q; want [current previous]", got)
	}
	cur[0] = 'X' // the registry keeps its own copy
	if db.CheckSecrets()[0][0] == 'X' {
		t.Fatal("CheckSecrets aliases the caller's slice")
	}
}

func TestSecondProcessGetsAClearErrorNotAHang(t *testing.T) {
	db := MustOpen(t)
	start := time.Now()
	_, err := Open(db.Path(), Options{Timeout: 200 * time.Millisecond})
	wantCode(t, err, policy.EUnavailable, "in use by another process", "sanbao serve", db.Path())
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Open waited %v", d)
	}
	err = BackupFile(db.Path(), filepath.Join(t.TempDir(), "b.db"))
	wantCode(t, err, policy.EUnavailable, "in use")
}

func setSchema(t *testing.T, path string, v uint64) {
	t.Helper()
	b, err := bbolt.Open(path, 0o600, nil)
	must(t, err)
	must(t, b.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(metaSchema, be64(v)) }))
	must(t, b.Close())
}

func TestNewerSchemaIsRefused(t *testing.T) {
	db := MustOpen(t)
	path := db.Path()
	must(t, db.Close())
	setSchema(t, path, schemaVersion()+1)
	_, err := Open(path, Options{})
	wantCode(t, err, policy.EUnavailable, fmt.Sprintf("schema version %d", schemaVersion()+1), "upgrade sanbao")
	setSchema(t, path, schemaVersion()) // let the cleanup check open it
}

// TestOlderSchemaIsBackedUpThenMigrated runs the migration path with a
// test migration from version 1 to 2.
func TestOlderSchemaIsBackedUpThenMigrated(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	path := db.Path()
	must(t, db.Close())
	setSchema(t, path, 1)

	saved := migrations
	defer func() { migrations = saved }()
	migrations = []func(*bbolt.Tx, *policy.Policy) error{func(tx *bbolt.Tx, _ *policy.Policy) error {
		return tx.Bucket(bucketMeta).Put([]byte("migrated"), []byte("yes"))
	}}
	m, err := Open(path, Options{Options: registry.Options{Now: newClock().Now}})
	must(t, err)
	var migrated []byte
	var version uint64
	must(t, m.bolt.View(func(tx *bbolt.Tx) error {
		migrated = bytes.Clone(tx.Bucket(bucketMeta).Get([]byte("migrated")))
		version = binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(metaSchema))
		return nil
	}))
	if string(migrated) != "yes" || version != 2 {
		t.Fatalf("after migration: marker %q, schema %d; want yes, 2", migrated, version)
	}
	if ms, _ := m.Models(); len(ms) != 4 {
		t.Fatalf("models after migration: %d; want 4", len(ms))
	}
	must(t, m.Check())
	must(t, m.Close())

	backups, _ := filepath.Glob(path + ".bak-v1-*")
	if len(backups) != 1 {
		t.Fatalf("backups beside the file: %v; want one .bak-v1-*", backups)
	}
	migrations = saved
	b, err := Open(backups[0], Options{})
	must(t, err)
	defer b.Close()
	if ms, _ := b.Models(); len(ms) != 4 {
		t.Fatalf("the backup holds %d models; want 4", len(ms))
	}
	setSchema(t, path, schemaVersion()) // let the cleanup check open it
}

func TestReadOnlyRefusesWritesAndServesReads(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1")
	ro := db.reopen(t, func(o *Options) { o.ReadOnly = true })
	assertReadOnly(t, ro)
}

func assertReadOnly(t *testing.T, ro *testDB) {
	t.Helper()
	wantCode(t, ro.Ready(), policy.EUnavailable, "read-only")
	_, _, err := ro.PutModel(admin, policy.Model{SKU: "X", Name: "X", Kind: policy.KindProduct})
	wantCode(t, err, policy.EUnavailable, "read-only")
	_, err = ro.Register(admin, []registry.Row{{Serial: "S2", SKU: "P1", Batch: "B1"}})
	wantCode(t, err, policy.EUnavailable, "read-only")
	_, err = ro.Append(registry.Write{Actor: admin}, "S1", policy.Event{Type: policy.EvDispatched, On: date("2026-11-19"), Order: "O1"})
	wantCode(t, err, policy.EUnavailable, "read-only")
	_, _, err = ro.CreateKey(admin, "k", registry.RoleAdmin)
	wantCode(t, err, policy.EUnavailable, "read-only")
	_, err = ro.Import(admin, strings.NewReader("serial,sku,batch\nS3,P1,B1\n"), nil)
	wantCode(t, err, policy.EUnavailable, "read-only")
	if _, err := ro.Get("S1"); err != nil {
		t.Fatalf("Get on a read-only database: %v", err)
	}
	ro.Scan("S1", ro.clock.Now()) // counted in memory, never written
	if rec, _ := ro.Get("S1"); rec.Scans.Count != 1 {
		t.Fatalf("buffered scans on a read-only database: %d; want 1", rec.Scans.Count)
	}
}

// mountTmpfs mounts a small tmpfs for storage-failure tests, or skips.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs (read-only and full file systems cannot be faked with chmod)")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

func TestReadOnlyFileSystemFallsBackToReadOnly(t *testing.T) {
	dir := mountTmpfs(t, "64m")
	path := filepath.Join(dir, "sanbao.db")
	db := mustOpenPath(t, path)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1")
	must(t, db.Close())
	must(t, syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""))
	ro, err := Open(path, Options{Options: registry.Options{Now: db.clock.Now}})
	if err != nil {
		t.Fatalf("Open on a read-only file system: %v", err)
	}
	defer ro.Close()
	assertReadOnly(t, &testDB{DB: ro, clock: db.clock})
	must(t, ro.Check())
}

func TestFullDiskRefusesWritesUntilSpaceReturns(t *testing.T) {
	dir := mountTmpfs(t, "8m")
	db := mustOpenPath(t, filepath.Join(dir, "sanbao.db"))
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1")
	// Fill the file system.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	must(t, err)
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()

	rows := make([]registry.Row, 20000) // needs fresh pages
	for i := range rows {
		rows[i] = registry.Row{Serial: fmt.Sprintf("N%06d", i), SKU: "P1", Batch: "B2"}
	}
	res, err := db.Register(admin, rows)
	wantCode(t, err, policy.EUnavailable, "storage is full")
	wantCode(t, db.Ready(), policy.EUnavailable, "storage is full")
	if _, err := db.Get("S1"); err != nil {
		t.Fatalf("reads must keep working on a full disk: %v", err)
	}
	if s, _ := db.Stats(); s.Items != 1 {
		t.Fatalf("items after a failed registration: %d; want 1 (nothing half-written)", s.Items)
	}
	must(t, db.Check())

	must(t, os.Remove(filler))
	if err := db.Ready(); err != nil {
		t.Fatalf("Ready after space returned: %v", err)
	}
	res, err = db.Register(admin, rows)
	if err != nil || res.Created != len(rows) {
		t.Fatalf("Register after space returned = %+v, %v", res, err)
	}
}

func TestBackupStreamsAConsistentCopy(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1", "S2")
	var buf bytes.Buffer
	n, err := db.Backup(&buf)
	must(t, err)
	if n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup returned %d, wrote %d", n, buf.Len())
	}
	out := filepath.Join(t.TempDir(), "copy.db")
	must(t, os.WriteFile(out, buf.Bytes(), 0o600))
	c := mustOpenPath(t, out)
	if s, _ := c.Stats(); s.Items != 2 || s.Models != 4 {
		t.Fatalf("backup stats %+v; want 2 items, 4 models", s)
	}
	if !bytes.Equal(c.CheckSecrets()[0], db.CheckSecrets()[0]) {
		t.Fatal("the backup must carry the check-code secret")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(db.Path()), ".sanbao-backup-*")); len(left) != 0 {
		t.Fatalf("temporary snapshot left behind: %v", left)
	}
}

func TestOfflineBackupAndCompact(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1", "S2", "S3")
	src := db.Path()
	must(t, db.Close())
	dir := t.TempDir()
	for name, copyFn := range map[string]func(string, string) error{"backup": BackupFile, "compact": Compact} {
		t.Run(name, func(t *testing.T) {
			dst := filepath.Join(dir, name+".db")
			must(t, os.WriteFile(dst, []byte("old contents are replaced"), 0o600))
			must(t, copyFn(src, dst))
			c := mustOpenPath(t, dst)
			if s, _ := c.Stats(); s.Items != 3 {
				t.Fatalf("%s copy has %d items; want 3", name, s.Items)
			}
			if _, err := c.Get("S2"); err != nil {
				t.Fatal(err)
			}
			wantCode(t, copyFn(src, src), policy.EInvalid, "database itself")
			wantCode(t, copyFn(filepath.Join(dir, "missing.db"), filepath.Join(dir, "x.db")), policy.ENotFound, "does not exist")
		})
	}
}

func TestCheckFindsNoProblemOnAFreshFile(t *testing.T) {
	db := MustOpen(t)
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(); err != nil {
		t.Fatalf("Ready() = %v on a writable file", err)
	}
}

func TestNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.db")
	must(t, os.WriteFile(path, bytes.Repeat([]byte("junk"), 4096), 0o600))
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "not a sanbao database") {
		t.Fatalf("Open(junk) = %v; want a 'not a sanbao database' error", err)
	}
}

func TestDamagedFileIsAnErrorNotAPanic(t *testing.T) {
	page := os.Getpagesize()
	for _, tt := range []struct {
		name   string
		damage func(data []byte)
		// released: the failed open let go of the file (a panic inside
		// bbolt's own Open leaves its handle open until the process
		// exits, which sanbao does on this error).
		released bool
	}{
		{"every page but the meta pages zeroed", func(data []byte) { clear(data[2*page:]) }, false},
		{"the root page zeroed", func(data []byte) {
			meta := data[:page]
			if txid := func(m []byte) uint64 { return binary.LittleEndian.Uint64(m[64:]) }; txid(data[page:]) > txid(meta) {
				meta = data[page : 2*page]
			}
			root := int(binary.LittleEndian.Uint64(meta[32:]))
			clear(data[root*page : (root+1)*page])
		}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sanbao.db")
			db, err := Open(path, Options{})
			must(t, err)
			_, _, err = db.PutModel(admin, policy.Model{SKU: "M1", Name: "Model", Kind: policy.KindProduct})
			must(t, err)
			must(t, db.Close())
			data, err := os.ReadFile(path)
			must(t, err)
			tt.damage(data)
			must(t, os.WriteFile(path, data, 0o600))

			_, err = Open(path, Options{})
			if err == nil || !strings.Contains(err.Error(), "is damaged") || !strings.Contains(err.Error(), "backup") {
				t.Fatalf("Open(damaged) = %v; want an error saying the file is damaged and to restore a backup", err)
			}
			if !tt.released {
				return
			}
			if _, err := Open(path, Options{Timeout: 200 * time.Millisecond}); err == nil || !strings.Contains(err.Error(), "is damaged") {
				t.Fatalf("second Open(damaged) = %v; want the same damaged error (the first open must release the file)", err)
			}
		})
	}
}

func TestReadinessFaultClearsOnceATrialWriteSucceeds(t *testing.T) {
	db := MustOpen(t)
	fault := &storageFault{err: policy.Errorf(policy.EUnavailable, "", "storage failed: nothing was written (input/output error)")}
	db.fault.Store(fault)
	db.probed.Store(db.now().UnixNano())
	if err := db.Ready(); policy.ErrorCode(err) != policy.EUnavailable {
		t.Fatalf("Ready() right after a failed write = %v; want the remembered fault until the next trial", err)
	}
	db.clock.Advance(readyProbeEvery)
	if err := db.Ready(); err != nil {
		t.Fatalf("Ready() once a trial write succeeds = %v; want nil", err)
	}
	if db.fault.Load() != nil {
		t.Fatal("the fault is still remembered after a successful write")
	}
}
