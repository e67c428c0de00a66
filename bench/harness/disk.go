package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// Mounts. A read-only remount of a file system with a file open for
// writing fails (EBUSY), so a running server's file cannot simply be
// remounted read-only: ReadOnlyAtStart remounts while the server is
// stopped, and ReadOnlyWhileServing turns an ext4 file system read-only
// under the server the way a failing disk does (errors=remount-ro).

// mount runs mount(8) with args and, on success, remembers dir so Close
// unmounts it even after a failed campaign.
func (h *Harness) mount(dir string, args ...string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	out, err := exec.Command("mount", append(args, dir)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mount %s %s: %v: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(string(out)))
	}
	h.mu.Lock()
	h.mounts = append(h.mounts, dir)
	h.mu.Unlock()
	return nil
}

// remount changes the options of a mounted file system ("ro" or "rw").
func remount(dir, mode string) error {
	out, err := exec.Command("mount", "-o", "remount,"+mode, dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mount -o remount,%s %s: %v: %s", mode, dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// umount unmounts dir and forgets it.
func (h *Harness) umount(dir string) error {
	h.mu.Lock()
	h.mounts = slices.DeleteFunc(h.mounts, func(d string) bool { return d == dir })
	h.mu.Unlock()
	return unmount(dir)
}

// unmount unmounts dir, lazily if it is still busy.
func unmount(dir string) error {
	out, err := exec.Command("umount", dir).CombinedOutput()
	if err == nil {
		return nil
	}
	if out2, err2 := exec.Command("umount", "-l", dir).CombinedOutput(); err2 != nil {
		return fmt.Errorf("umount %s: %v: %s; umount -l: %s", dir, err, strings.TrimSpace(string(out)), strings.TrimSpace(string(out2)))
	}
	return nil
}

// storageRefusal checks a refused write: 503 or 507 with the contract's
// error body, code unavailable. It returns "" when the answer is that.
func storageRefusal(r Resp) string {
	code, msg, ok := errorOf(r.Body)
	switch {
	case r.Status != 503 && r.Status != 507:
		return fmt.Sprintf("%d %s (want 503 or 507 unavailable)", r.Status, clip(r.Body, 200))
	case !ok || code != "unavailable":
		return fmt.Sprintf("%d with body %s, not {\"error\": {\"code\": \"unavailable\", \"message\": ...}}", r.Status, clip(r.Body, 200))
	case msg == "":
		return fmt.Sprintf("%d without a message", r.Status)
	}
	return ""
}

// storageWriter sends the writes of a disk campaign and sorts the answers:
// acknowledged, refused for storage (503/507 unavailable), or a finding.
type storageWriter struct {
	e        *env
	res      *Result
	led      ledger
	seeded   []string
	public   bool // this build serves the public page
	today    policy.Date
	produced policy.Date
	n        atomic.Int64
	acked    atomic.Int64
	refused  atomic.Int64
	statuses sync.Map // status -> example message
}

// next builds the i-th write: a new registration or an event on a seeded serial.
func (s *storageWriter) next(tag string, i int) *write {
	if i%2 == 0 {
		return registration(s.e.warehouse, "DISK-1", "DK0002", s.produced, "D"+tag)
	}
	return transfer(s.e.service, s.seeded[i%len(s.seeded)], "disk-"+tag, s.today, true)
}

// send sends w; it returns whether w was acknowledged, and whether it was
// refused for storage. Anything else is recorded as a finding.
func (s *storageWriter) send(w *write, during string) (acked, refused bool) {
	s.n.Add(1)
	r, err := w.send(s.e.api)
	s.led.add(w)
	switch {
	case r.Status == 0:
		s.res.Failf("%s: %s %s got no answer: %v", during, w.kind, w.serials[0], err)
	case r.Status/100 == 2 && err != nil:
		s.res.Failf("%s: %s %s: %v", during, w.kind, w.serials[0], err)
	case r.Status/100 == 2:
		s.acked.Add(1)
		return true, false
	default:
		if problem := storageRefusal(r); problem != "" {
			s.res.Failf("%s: %s %s answered %s", during, w.kind, w.serials[0], problem)
			return false, false
		}
		_, msg, _ := errorOf(r.Body)
		s.statuses.LoadOrStore(r.Status, msg)
		s.refused.Add(1)
		return false, true
	}
	return false, false
}

func (s *storageWriter) refusals() string {
	var parts []string
	s.statuses.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%d %q", k, v))
		return true
	})
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// prepareStorage prepares a disk campaign on a database in dir: serve
// running, DISK-1 defined and n serials registered. On failure it records
// the finding and returns nil.
func (h *Harness) prepareStorage(res *Result, name, dir string, n int) *storageWriter {
	e, seeded := h.prepare(res, name, dir, stock{sku: "DISK-1", prefix: "DS", batch: "DK0001", n: n, daysOld: 30})
	if e == nil {
		return nil
	}
	s := &storageWriter{e: e, res: res, seeded: seeded, today: policyToday()}
	s.produced = s.today.AddDays(-30)
	var err error
	if s.public, err = e.publicServed(seeded[0]); err != nil {
		res.Failf("public page: %v", err)
	}
	return s
}

// mountTmpfs mounts a tmpfs of size for campaign name; when it cannot, it
// marks res skipped and returns "".
func (h *Harness) mountTmpfs(res *Result, name, size string) string {
	mnt := filepath.Join(h.work, name, "mnt")
	if err := h.mount(mnt, "-t", "tmpfs", "-o", "size="+size, "tmpfs"); err != nil {
		res.Skipped = "cannot mount a tmpfs (needs root with CAP_SYS_ADMIN): " + err.Error()
		return ""
	}
	return mnt
}

// revertedVerdict says what a damaged file holds once its newer meta page
// is replaced by the older one (what `bbolt surgery revert-meta-page`
// does), on a copy: whether that copy is consistent, and which
// acknowledged writes it lacks, with when each was acknowledged relative
// to fault (the start of the fault injection) — the evidence needed to
// tell a torn last transaction from other damage. torn reports that the
// reverted copy is consistent and every write it lacks was acknowledged
// within window of the fault: the kernel confirmed fdatasync of pages it
// then dropped while its journal aborted, which no program above it can
// prevent (bbolt's order — pages, sync, meta, sync — was kept).
func (h *Harness) revertedVerdict(db string, writes []*write, fault time.Time, window time.Duration) (verdict string, consistent, torn bool) {
	cp := filepath.Join(h.work, "reverted.db")
	defer os.Remove(cp)
	if err := copyFile(db, cp); err != nil {
		return "reverting the meta page: " + err.Error(), false, false
	}
	older, newer, err := revertMeta(cp)
	if err != nil {
		return "reverting the meta page: " + err.Error(), false, false
	}
	d, err := openOffline(cp)
	if err != nil {
		return fmt.Sprintf("with meta txid %d reverted to txid %d: still damaged: %v", newer, older, err), false, false
	}
	defer d.Close()
	if err := d.Check(); err != nil {
		return fmt.Sprintf("with meta txid %d reverted to txid %d: still damaged: %v", newer, older, err), false, false
	}
	look := fileLookup(d)
	var missing []string
	torn = true
	for _, w := range writes {
		if _, problems := verify([]*write{w}, look, 1); w.acked && len(problems) > 0 {
			since := w.ackedAt.Sub(fault)
			torn = torn && since >= 0 && since <= window
			missing = append(missing, fmt.Sprintf("%s (acknowledged %+.1f ms from the fault injection)", problems[0], float64(since.Microseconds())/1000))
		}
	}
	return fmt.Sprintf("with meta txid %d reverted to txid %d the file is consistent and lacks %d acknowledged writes: %s",
		newer, older, len(missing), strings.Join(missing, "; ")), true, torn
}

// checkEpisode opens a database after a storage episode: bbolt's check
// must pass and every acknowledged write be there.
func checkEpisode(db string, writes []*write) ([]string, error) {
	d, err := openOffline(db)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err := d.Check(); err != nil {
		return nil, fmt.Errorf("consistency check: %v", err)
	}
	_, problems := verify(writes, fileLookup(d), 4)
	return problems, nil
}

// checkReads checks that reads are served while writes are refused: an
// item, the model list, /healthz, a public page view when this build has
// one, and /readyz answering 503 unavailable.
func (s *storageWriter) checkReads(during string) {
	e, res := s.e, s.res
	for _, path := range []string{"/api/v1/items/" + s.seeded[0], "/api/v1/models", "/healthz"} {
		r, err := e.api.Do("GET", path, e.service, nil)
		if err != nil || r.Status != 200 {
			res.Failf("%s: GET %s answered %d %s %v: reads must keep being served", during, path, r.Status, clip(r.Body, 200), err)
		}
	}
	if s.public {
		r, err := e.api.Do("GET", publicPath(s.seeded[1], e.code(s.seeded[1])), "", nil)
		if err != nil || r.Status != 200 {
			res.Failf("%s: the public page answered %d %s %v: reads must keep being served", during, r.Status, clip(r.Body, 200), err)
		}
	}
	r, err := e.api.Do("GET", "/readyz", "", nil)
	switch {
	case err != nil:
		res.Failf("%s: GET /readyz: %v", during, err)
	case r.Status == 200:
		res.Failf("%s: GET /readyz answered 200 ready while writes are refused", during)
	default:
		if problem := storageRefusal(r); problem != "" {
			res.Failf("%s: GET /readyz answered %s", during, problem)
		} else {
			res.Figuref("%s: /readyz %d %s", during, r.Status, clip(r.Body, 160))
		}
	}
}

// waitWritable retries a write until it is acknowledged (bounded), then
// checks /readyz says ready.
func (s *storageWriter) waitWritable(during string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	start := time.Now()
	for i := 0; time.Now().Before(deadline); i++ {
		if acked, _ := s.send(s.next(fmt.Sprintf("%s-%d", strings.ReplaceAll(during, " ", "-"), i), i), during); acked {
			s.res.Figuref("%s: writes acknowledged again after %s", during, time.Since(start).Round(time.Millisecond))
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !time.Now().Before(deadline) {
		s.res.Failf("%s: writes still refused %s later", during, limit)
		return false
	}
	for time.Now().Before(deadline.Add(5 * time.Second)) {
		r, err := s.e.api.Do("GET", "/readyz", "", nil)
		if err == nil && r.Status == 200 {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.res.Failf("%s: writes work but /readyz does not answer 200", during)
	return true
}

// DiskFull runs serve on a 4 MiB tmpfs, fills it with a filler file, and
// writes until the server refuses 30 writes in a row (at most 400 writes):
// each write is acknowledged or refused 507/503 with the contract's JSON
// error; reads keep being served and /readyz answers 503. Once the filler is
// deleted, writes must be acknowledged again (within 15s) and /readyz
// answer 200. Every acknowledged write is read back, and the file passes
// bbolt's check after a graceful stop.
func (h *Harness) DiskFull() *Result {
	res := &Result{Name: "disk: file system full (tmpfs 4 MiB)"}
	mnt := h.mountTmpfs(res, "disk-full", "4m")
	if mnt == "" {
		return res
	}
	defer h.umount(mnt)
	s := h.prepareStorage(res, "disk-full", mnt, 50)
	if s == nil {
		return res
	}
	e := s.e
	defer e.close()
	for i := range 20 {
		if acked, _ := s.send(s.next(fmt.Sprintf("before-%d", i), i), "before filling"); !acked {
			res.Failf("a write was refused before the disk was full")
		}
	}

	filler := filepath.Join(mnt, "filler")
	filled, err := fill(filler, 8<<20)
	if err != nil {
		res.Failf("filling the tmpfs: %v", err)
		return res
	}
	res.Figuref("filler file took the last %d KiB of the tmpfs", filled>>10)
	inRow, i := 0, 0
	deadline := time.Now().Add(20 * time.Second)
	for ; i < 400 && inRow < 30 && time.Now().Before(deadline); i++ {
		_, refused := s.send(s.next(fmt.Sprintf("full-%d", i), i), "disk full")
		if refused {
			inRow++
		} else {
			inRow = 0
		}
	}
	if s.refused.Load() == 0 {
		res.Failf("disk full: %d writes and not one refused: the harness did not manage to fill the disk", i)
		return res
	}
	res.Figuref("disk full: %d writes, %d acknowledged, %d refused (%s)", i, s.acked.Load()-20, s.refused.Load(), s.refusals())
	s.checkReads("disk full")

	if err := os.Remove(filler); err != nil {
		res.Failf("removing the filler: %v", err)
		return res
	}
	if s.waitWritable("space back", 15*time.Second) {
		for i := range 20 {
			if acked, _ := s.send(s.next(fmt.Sprintf("after-%d", i), i), "space back"); !acked {
				res.Failf("space back: write %d refused", i)
			}
		}
	}
	_, problems := verify(s.led.all(), apiLookup(e.api, e.service), 8)
	for _, p := range problems {
		res.Failf("%s", p)
	}
	ackW, _ := s.led.acked()
	res.Figuref("read back %d acknowledged writes: %d problems", ackW, len(problems))
	e.stop()
	if err := checkFile(e.db); err != nil {
		res.Failf("consistency check after the disk was full: %v", err)
	} else {
		res.Figuref("bbolt consistency check after a graceful stop: ok")
	}
	return res
}

// fill writes zeros to path until the file system is full (ENOSPC) or
// limit bytes; it returns the bytes written.
func fill(path string, limit int64) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	var n int64
	for n < limit {
		k, err := f.Write(buf)
		n += int64(k)
		if errors.Is(err, syscall.ENOSPC) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, fmt.Errorf("wrote %d bytes without filling the file system", n)
}

// ReadOnlyAtStart writes on a tmpfs, stops serve, remounts the tmpfs
// read-only and starts serve again: it must come up, serve reads, answer
// writes 503/507 with the contract's JSON error, and /readyz 503. After a
// stop, a read-write remount and a restart, writes work again and every
// acknowledged write is there.
func (h *Harness) ReadOnlyAtStart() *Result {
	res := &Result{Name: "disk: read-only file system at start (tmpfs remounted ro)"}
	mnt := h.mountTmpfs(res, "disk-ro-start", "16m")
	if mnt == "" {
		return res
	}
	defer h.umount(mnt)
	s := h.prepareStorage(res, "disk-ro-start", mnt, 20)
	if s == nil {
		return res
	}
	e := s.e
	defer e.close()
	for i := range 20 {
		s.send(s.next(fmt.Sprintf("rw-%d", i), i), "before the remount")
	}
	e.stop()
	if err := remount(mnt, "ro"); err != nil {
		res.Skipped = err.Error()
		return res
	}
	if err := e.start(); err != nil {
		res.Failf("serve on a read-only file system: %v", err)
		remount(mnt, "rw")
		return res
	}
	for i := range 20 {
		if acked, _ := s.send(s.next(fmt.Sprintf("ro-%d", i), i), "read-only"); acked {
			res.Failf("read-only: a write was acknowledged on a read-only file system")
		}
	}
	r, err := e.api.Do("PUT", "/api/v1/models/DISK-2", e.warehouse, []byte(`{"name": "x", "kind": "product"}`))
	if err != nil {
		res.Failf("read-only: PUT model: %v", err)
	} else if problem := storageRefusal(r); problem != "" {
		res.Failf("read-only: PUT model answered %s", problem)
	}
	res.Figuref("read-only: %d writes refused (%s)", s.refused.Load(), s.refusals())
	s.checkReads("read-only")
	e.stop()
	if err := remount(mnt, "rw"); err != nil {
		res.Failf("%v", err)
		return res
	}
	if err := e.start(); err != nil {
		res.Failf("serve after the remount rw: %v", err)
		return res
	}
	s.waitWritable("remounted rw", 10*time.Second)
	_, problems := verify(s.led.all(), apiLookup(e.api, e.service), 8)
	for _, p := range problems {
		res.Failf("%s", p)
	}
	e.stop()
	if err := checkFile(e.db); err != nil {
		res.Failf("consistency check: %v", err)
	}
	return res
}

// tornWindow is how long after an injected ext4 error a confirmed sync may
// still be lost (seen: 14 ms).
const tornWindow = 100 * time.Millisecond

// ReadOnlyWhileServing puts the database on a 64 MiB ext4 image mounted
// with errors=remount-ro and, while writers are busy, triggers an ext4
// error (/sys/fs/ext4/<dev>/trigger_fs_error): the kernel turns the file
// system read-only under the running server, as a failing disk does. From
// then on writes must be refused 503/507 with the contract's JSON error,
// reads keep being served and /readyz answers 503. Then serve is stopped,
// the file system checked with e2fsck and mounted again; the database must
// pass bbolt's check and hold every acknowledged write, and a restarted
// serve must accept writes. Writes lost within tornWindow of the injected
// error are the failing disk's, reported; any other loss fails.
func (h *Harness) ReadOnlyWhileServing() *Result {
	res := &Result{Name: "disk: file system turns read-only under serve (ext4 errors=remount-ro)"}
	dir := filepath.Join(h.work, "disk-ro-live")
	img, mnt := filepath.Join(dir, "fs.img"), filepath.Join(dir, "mnt")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		res.Failf("setup: %v", err)
		return res
	}
	if err := os.WriteFile(img, nil, 0o600); err != nil || os.Truncate(img, 64<<20) != nil {
		res.Failf("setup: creating %s: %v", img, err)
		return res
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		res.Skipped = fmt.Sprintf("mkfs.ext4: %v: %s", err, strings.TrimSpace(string(out)))
		return res
	}
	mountImg := func() error { return h.mount(mnt, "-t", "ext4", "-o", "loop,errors=remount-ro", img) }
	if err := mountImg(); err != nil {
		res.Skipped = "cannot mount an ext4 image on a loop device: " + err.Error()
		return res
	}
	defer func() { h.umount(mnt) }()
	out, err := exec.Command("findmnt", "-n", "-o", "SOURCE", mnt).Output()
	dev := filepath.Base(strings.TrimSpace(string(out)))
	trigger := filepath.Join("/sys/fs/ext4", dev, "trigger_fs_error")
	if _, serr := os.Stat(trigger); err != nil || dev == "" || serr != nil {
		res.Skipped = fmt.Sprintf("no ext4 error trigger for %s (%v %v): this kernel cannot turn the file system read-only on demand", mnt, err, serr)
		return res
	}
	s := h.prepareStorage(res, "disk-ro-live", mnt, 50)
	if s == nil {
		return res
	}
	e := s.e
	defer e.close()

	// Writers run through the moment the file system turns read-only.
	var triggered atomic.Bool
	var afterAcked, afterN atomic.Int64
	var wg sync.WaitGroup
	stopAt := time.Now().Add(3 * time.Second)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000 && time.Now().Before(stopAt); i++ {
				was := triggered.Load()
				acked, _ := s.send(s.next(fmt.Sprintf("live-%d-%d", w, i), i), "file system turning read-only")
				if was {
					afterN.Add(1)
					if acked {
						afterAcked.Add(1)
					}
				}
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	faultStart := time.Now()
	if err := os.WriteFile(trigger, []byte("1"), 0o200); err != nil {
		res.Failf("triggering the ext4 error: %v", err)
	}
	faultEnd := time.Now()
	triggered.Store(true)
	wg.Wait()
	during := 0
	for _, w := range s.led.all() {
		if w.acked && !w.ackedAt.Before(faultStart) && !w.ackedAt.After(faultEnd) {
			during++
		}
	}
	res.Figuref("the fault injection took %s; %d writes were acknowledged during it", faultEnd.Sub(faultStart).Round(10*time.Microsecond), during)
	res.Figuref("writes: %d sent, %d acknowledged, %d refused (%s); after the error: %d sent, %d acknowledged",
		s.n.Load(), s.acked.Load(), s.refused.Load(), s.refusals(), afterN.Load(), afterAcked.Load())
	if s.refused.Load() == 0 {
		res.Failf("no write was refused after the file system turned read-only")
	}
	s.checkReads("read-only under serve")

	e.api.Close()
	if err := e.srv.Stop(30 * time.Second); err != nil {
		lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
		res.Figuref("stop on the read-only file system: %s … %s", lines[0], strings.TrimSpace(lines[len(lines)-1]))
	}
	e.srv = nil
	if err := h.umount(mnt); err != nil {
		res.Failf("%v", err)
		return res
	}
	// The verdict comes from the image as the episode left it, mounted
	// again: the kernel replays its journal. A sparse copy goes through
	// e2fsck -fy, and what that leaves is reported beside it.
	fsckImg := filepath.Join(dir, "fsck.img")
	if out, err := exec.Command("cp", "--sparse=always", img, fsckImg).CombinedOutput(); err != nil {
		res.Failf("copying the image: %v: %s", err, out)
		return res
	}
	fout, ferr := exec.Command("e2fsck", "-fy", fsckImg).CombinedOutput()
	if err := mountImg(); err != nil {
		res.Failf("mounting again: %v", err)
		return res
	}
	writes := s.led.all()
	problems, err := checkEpisode(e.db, writes)
	if err != nil {
		// A disk that fails confirms, for a few milliseconds, syncs it
		// then drops: writes acknowledged in that window are the disk's
		// loss, reported as a finding; any other loss fails the campaign.
		window := faultEnd.Sub(faultStart) + tornWindow
		verdict, consistent, torn := h.revertedVerdict(e.db, writes, faultStart, window)
		if torn {
			res.Figuref("after the episode, mounted again: %v; %s — all within %s of the injected disk error: a torn last transaction the kernel confirmed synced (`sanbao serve` reports the file damaged; restore a backup or revert the meta page)", err, verdict, window.Round(time.Millisecond))
		} else {
			res.Failf("after the episode, mounted again: %v; %s", err, verdict)
		}
		if !consistent {
			return res
		}
		// Go on with the file one transaction back, so the rest of the
		// campaign (restart, writes) still runs.
		if _, _, err := revertMeta(e.db); err != nil {
			res.Failf("reverting the meta page: %v", err)
			return res
		}
	}
	for _, p := range problems {
		res.Failf("after the episode, mounted again: %s", p)
	}
	if ackW, _ := s.led.acked(); err == nil {
		res.Figuref("after stop and a new mount (journal replayed by the kernel): bbolt check ok, %d acknowledged writes, %d problems", ackW, len(problems))
	}
	fsckMnt := filepath.Join(dir, "fsck-mnt")
	if err := h.mount(fsckMnt, "-t", "ext4", "-o", "loop,ro", fsckImg); err != nil {
		res.Figuref("e2fsck -fy copy (exit %v): cannot mount: %v", ferr, err)
	} else {
		problems, err := checkEpisode(filepath.Join(fsckMnt, filepath.Base(e.db)), writes)
		res.Figuref("e2fsck -fy copy (exit %v, %s): %d problems, %v", ferr, clip(fout[max(0, len(fout)-120):], 120), len(problems), err)
		h.umount(fsckMnt)
	}
	if err := e.start(); err != nil {
		res.Failf("serve after the episode: %v", err)
		return res
	}
	s.waitWritable("mounted again", 10*time.Second)
	e.stop()
	return res
}
