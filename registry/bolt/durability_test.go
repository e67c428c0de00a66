package bolt

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// TestEveryCommitIsSynced: an acknowledged write is one bbolt commit, and a
// commit is durable only when bbolt calls fdatasync on it. A SIGKILL keeps
// the page cache, so no crash test can see a missing sync: the settings are
// checked instead, after Open and after writes (nothing may turn them off on
// the way).
func TestEveryCommitIsSynced(t *testing.T) {
	db := MustOpen(t)
	settings := func(when string) {
		t.Helper()
		b := db.bolt
		if b.NoSync {
			t.Errorf("%s: bbolt NoSync is true: commits are acknowledged before they reach the disk", when)
		}
		if b.NoGrowSync {
			t.Errorf("%s: bbolt NoGrowSync is true: a grown file's size is not synced", when)
		}
		// The freelist is written with each commit, so reopening after a
		// crash does not scan the whole file.
		if b.NoFreelistSync {
			t.Errorf("%s: bbolt NoFreelistSync is true", when)
		}
	}
	settings("after Open")
	seedModels(t, db)
	register(t, db, "P1", "B1", "S1", "S2")
	_, err := db.Append(registry.Write{Actor: desk}, "S1", receive("2026-11-05"))
	must(t, err)
	_, err = db.AppendMany(registry.Write{Actor: desk}, []registry.EventRow{{Serial: "S2", Event: receive("2026-11-05")}})
	must(t, err)
	settings("after writes")
	// Acknowledged means committed: a fresh handle on the file sees it.
	db = db.reopen(t)
	if rec, err := db.Get("S1"); err != nil || len(rec.History) != 1 {
		t.Fatalf("after reopening: %+v, %v; want the acknowledged receipt", rec.History, err)
	}
	settings("after reopening")
}

// recordFS is a file layer that records every call atomic files make, and
// can fail the temporary file's Sync as a full or failing disk does.
type recordFS struct {
	osFS
	mu       sync.Mutex
	ops      []string
	failSync error
}

func (r *recordFS) log(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, fmt.Sprintf(format, args...))
}

func (r *recordFS) CreateTemp(dir, pattern string) (atomicFile, error) {
	f, err := r.osFS.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	r.log("create %s", f.Name())
	return &recordFile{atomicFile: f, fs: r}, nil
}

func (r *recordFS) Rename(oldpath, newpath string) error {
	r.log("rename %s %s", oldpath, newpath)
	return r.osFS.Rename(oldpath, newpath)
}

func (r *recordFS) SyncDir(dir string) error {
	r.log("syncdir %s", dir)
	return r.osFS.SyncDir(dir)
}

type recordFile struct {
	atomicFile
	fs *recordFS
}

func (f *recordFile) Write(p []byte) (int, error) {
	f.fs.log("write %s", f.Name())
	return f.atomicFile.Write(p)
}

func (f *recordFile) Sync() error {
	f.fs.log("sync %s", f.Name())
	if f.fs.failSync != nil {
		return f.fs.failSync
	}
	return f.atomicFile.Sync()
}

func (f *recordFile) Close() error {
	f.fs.log("close %s", f.Name())
	return f.atomicFile.Close()
}

// recording routes atomic files through a recordFS for the test.
func recording(t *testing.T) *recordFS {
	r := &recordFS{}
	saved := files
	files = r
	t.Cleanup(func() { files = saved })
	return r
}

// wantSyncedBeforeRename checks the order of a durable atomic replacement
// of dst: its temporary file written, synced, closed, renamed to dst, and
// dst's directory synced after the rename.
func wantSyncedBeforeRename(t *testing.T, ops []string, dst string) {
	t.Helper()
	rename := slices.IndexFunc(ops, func(op string) bool { return strings.HasPrefix(op, "rename ") && strings.HasSuffix(op, " "+dst) })
	if rename < 0 {
		t.Fatalf("%s was not renamed into place: %q", dst, ops)
	}
	tmp := strings.Fields(ops[rename])[1]
	idx := func(op string) int {
		for i := rename - 1; i >= 0; i-- {
			if ops[i] == op {
				return i
			}
		}
		return -1
	}
	synced, closed := idx("sync "+tmp), idx("close "+tmp)
	lastWrite := idx("write " + tmp)
	switch {
	case synced < 0:
		t.Errorf("%s renamed to %s without a Sync: %q", tmp, dst, ops)
	case synced < lastWrite:
		t.Errorf("%s written after its Sync: %q", tmp, ops)
	case closed < synced:
		t.Errorf("%s closed before its Sync (or not closed): %q", tmp, ops)
	}
	if !slices.Contains(ops[rename+1:], "syncdir "+filepath.Dir(dst)) {
		t.Errorf("the directory of %s was not synced after the rename: %q", dst, ops)
	}
}

// TestAtomicFilesAreSyncedBeforeTheyAreRenamed: a backup, a compacted copy
// and the copy made before a migration are each complete on disk before
// their name appears, and their name is on disk before the call returns.
func TestAtomicFilesAreSyncedBeforeTheyAreRenamed(t *testing.T) {
	src := func(t *testing.T) string {
		db := MustOpen(t)
		seedModels(t, db)
		register(t, db, "P1", "B1", "S1", "S2")
		path := db.Path()
		must(t, db.Close())
		return path
	}
	for name, copy := range map[string]func(src, dst string) error{"backup": BackupFile, "compact": Compact} {
		t.Run(name, func(t *testing.T) {
			path := src(t)
			dst := filepath.Join(t.TempDir(), name+".db")
			r := recording(t)
			must(t, copy(path, dst))
			wantSyncedBeforeRename(t, r.ops, dst)
		})
	}
	t.Run("pre-migration copy", func(t *testing.T) {
		path := src(t)
		setSchema(t, path, 1)
		saved := migrations
		defer func() { migrations = saved }()
		migrations = []func(*bbolt.Tx, *policy.Policy) error{func(*bbolt.Tx, *policy.Policy) error { return nil }}
		r := recording(t)
		m, err := Open(path, Options{Options: registry.Options{Now: newClock().Now}})
		must(t, err)
		must(t, m.Close())
		backups, _ := filepath.Glob(path + ".bak-v1-*")
		if len(backups) != 1 {
			t.Fatalf("backups: %v; want one", backups)
		}
		wantSyncedBeforeRename(t, r.ops, backups[0])
		migrations = saved
		setSchema(t, path, schemaVersion()) // let the cleanup check open it
	})
}

// TestAnAtomicFileThatCannotBeSyncedIsNeverInPlace: when the disk refuses
// the sync (EIO), the call fails, the destination is untouched and no
// temporary file is left beside it.
func TestAnAtomicFileThatCannotBeSyncedIsNeverInPlace(t *testing.T) {
	db := MustOpen(t)
	seedModels(t, db)
	path := db.Path()
	must(t, db.Close())
	dir := t.TempDir()
	dst := filepath.Join(dir, "copy.db")
	must(t, os.WriteFile(dst, []byte("yesterday's backup"), 0o600))
	r := recording(t)
	r.failSync = syscall.EIO
	for name, run := range map[string]func() error{
		"backup":  func() error { return BackupFile(path, dst) },
		"compact": func() error { return Compact(path, dst) },
	} {
		if err := run(); err == nil {
			t.Errorf("%s: no error although the sync failed", name)
		}
		if b, _ := os.ReadFile(dst); string(b) != "yesterday's backup" {
			t.Errorf("%s: the destination was replaced by an unsynced file", name)
		}
		if left, _ := os.ReadDir(dir); len(left) != 1 {
			t.Errorf("%s: files left in the directory: %v", name, left)
		}
	}
}

// TestIOErrorsAreUnavailable: a disk answering EIO (a failed fsync, a
// journal aborted) is the contract's "unavailable" (503: nothing was
// written, try again), not an internal error and not "storage is full"
// (507).
func TestIOErrorsAreUnavailable(t *testing.T) {
	db := MustOpen(t)
	err := db.storageErr(&os.PathError{Op: "fdatasync", Path: db.Path(), Err: syscall.EIO})
	wantCode(t, err, policy.EUnavailable, "storage failed", "nothing was written")
	if strings.Contains(err.Error(), "storage is full") || strings.Contains(err.Error(), db.Path()) {
		t.Errorf("EIO answered as %q: not a full disk, and no file path", err)
	}
}
