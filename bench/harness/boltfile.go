package main

import (
	"encoding/binary"
	"fmt"
	"os"
)

// The harness reads and damages bbolt files by hand, in bbolt's file
// format 2: two meta pages (0 and 1), each a 16-byte page header (id,
// flags, count, overflow) and then magic, version, page size, flags, root
// bucket (root page, sequence), freelist page, high-water page id, txid,
// checksum. bbolt uses the valid meta page with the higher txid.

// boltMeta is what the harness needs of a meta page.
type boltMeta struct {
	root, freelist, pgid, txid uint64
}

// readMetas reads both meta pages of f and returns them decoded, raw, and
// the page size.
func readMetas(f *os.File) (metas [2]boltMeta, raw [2][]byte, size int64, err error) {
	head := make([]byte, 64)
	if _, err := f.ReadAt(head, 0); err != nil {
		return metas, raw, 0, err
	}
	size = int64(binary.LittleEndian.Uint32(head[16+8:]))
	if size < 1024 || size > 65536 || size&(size-1) != 0 {
		return metas, raw, 0, fmt.Errorf("page size %d: not a bbolt file", size)
	}
	le := binary.LittleEndian
	for i := range raw {
		raw[i] = make([]byte, size)
		if _, err := f.ReadAt(raw[i], int64(i)*size); err != nil {
			return metas, raw, 0, err
		}
		m := raw[i][16:]
		metas[i] = boltMeta{root: le.Uint64(m[16:]), freelist: le.Uint64(m[32:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}
	}
	return metas, raw, size, nil
}

// newest is the index of the meta page bbolt would use (both valid).
func newest(metas [2]boltMeta) int {
	if metas[1].txid > metas[0].txid {
		return 1
	}
	return 0
}

// revertMeta copies the older meta page over the newer one, as `bbolt
// surgery revert-meta-page` does: the file goes back one transaction.
func revertMeta(path string) (older, newer uint64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	metas, raw, size, err := readMetas(f)
	if err != nil {
		return 0, 0, err
	}
	dst := newest(metas)
	src := 1 - dst
	binary.LittleEndian.PutUint64(raw[src][0:], uint64(dst)) // the page header's id
	if _, err := f.WriteAt(raw[src], int64(dst)*size); err != nil {
		return 0, 0, err
	}
	return metas[src].txid, metas[dst].txid, f.Sync()
}

// tearPage zeroes the root or freelist page of the newest meta: what a
// file system that loses a transaction's new pages but keeps its meta
// page leaves behind (seen in the read-only-under-serve campaign).
func tearPage(path, which string) (uint64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	metas, _, size, err := readMetas(f)
	if err != nil {
		return 0, err
	}
	m := metas[newest(metas)]
	pgid := m.root
	if which == "freelist" {
		pgid = m.freelist
	}
	if _, err := f.WriteAt(make([]byte, size), int64(pgid)*size); err != nil {
		return 0, err
	}
	return pgid, f.Sync()
}
