package bolt

import "syscall"

// fsSpace reports the bytes available to us on the file system holding dir
// and whether it is mounted read-only; ok is false when it cannot tell.
func fsSpace(dir string) (free uint64, readOnly, ok bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false, false
	}
	return st.Bavail * uint64(st.Bsize), st.Flags&stRdonly != 0, true
}

// stRdonly is ST_RDONLY of statfs(2)'s f_flags (not in package syscall).
const stRdonly = 0x1
