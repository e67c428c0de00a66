package bolt

import (
	"io"
	"os"
	"path/filepath"
)

// atomicFS is the file layer under the files this package replaces
// atomically: backups, compacted copies and the copy made before a
// migration. Production uses osFS. It is a seam because what makes such a
// file durable — its data synced before the rename, the directory synced
// after it — is invisible on a running machine (the page cache answers
// every read), so a test records the calls instead.
type atomicFS interface {
	CreateTemp(dir, pattern string) (atomicFile, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
	// SyncDir makes the directory's entries (a rename into it) durable.
	SyncDir(dir string) error
}

// atomicFile is the temporary file an atomic file is written to.
type atomicFile interface {
	io.Writer
	Name() string
	Sync() error
	Close() error
}

// files is the file layer of every atomic file.
var files atomicFS = osFS{}

type osFS struct{}

func (osFS) CreateTemp(dir, pattern string) (atomicFile, error) { return os.CreateTemp(dir, pattern) }
func (osFS) Rename(oldpath, newpath string) error               { return os.Rename(oldpath, newpath) }
func (osFS) Remove(name string) error                           { return os.Remove(name) }

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeFileAtomic writes path through a temporary file beside it: fill
// writes the temporary file (directly, or by its name as bbolt does), which
// is then synced, closed and renamed into place, and the directory synced.
// When it returns nil, path holds the whole new content and survives a power
// cut; on an error path is untouched and the temporary file is gone.
func writeFileAtomic(path string, fill func(f atomicFile) error) error {
	dir := filepath.Dir(path)
	f, err := files.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer files.Remove(f.Name()) // after a successful rename there is nothing left to remove
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := files.Rename(f.Name(), path); err != nil {
		return err
	}
	return files.SyncDir(dir)
}
