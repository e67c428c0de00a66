package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// importTimeout bounds one `sanbao import` run.
const importTimeout = 5 * time.Minute

// Kill points of an import, aimed by its progress lines on stderr: the
// kill is armed by the first line starting with after ("" = at start) and
// falls at a random moment before the line starting with until (""= the
// next line, not the final "imported:") came in a calibration run, so it
// lands inside that phase however fast the import is.
var importPhases = []struct{ name, after, until string }{
	{"while writing the first chunk", "checked:", ""},
	{"while writing the second chunk", "wrote ", ""},
	{"while reading and checking", "", "checked:"},
}

// progressLine is a line of an import's progress and when it came.
type progressLine struct {
	at   time.Duration
	text string
}

// phaseWindow is how long a phase lasted in a run; ok is false when the run
// had no such phase (an import of one chunk has no second).
func phaseWindow(run []progressLine, after, until string) (time.Duration, bool) {
	i, start := 0, time.Duration(0)
	if after != "" {
		for i < len(run) && !strings.HasPrefix(run[i].text, after) {
			i++
		}
		if i == len(run) {
			return 0, false
		}
		start = run[i].at
		i++
	}
	for ; i < len(run); i++ {
		switch {
		case until == "" && strings.HasPrefix(run[i].text, "imported:"):
			return 0, false
		case until == "" || strings.HasPrefix(run[i].text, until):
			return run[i].at - start, true
		}
	}
	return 0, false
}

// CrashImport SIGKILLs `sanbao import` of ImportRows rows (a CSV in random
// serial order) at a random moment, ImportRounds times, each on a fresh
// copy of a database with the model defined. bolt.DB.Import promises: "A
// run that is interrupted leaves a consistent file holding the first rows
// in serial order; running the same import again completes it, counting the
// rows already written as Unchanged." So after each kill the file must pass
// bbolt's check and hold exactly the first k serials in serial order (each
// with its CSV data, the item counter equal to k), and a second run must
// report created N-k, unchanged k and leave all N rows.
func (h *Harness) CrashImport() *Result {
	res := &Result{Name: "crash: SIGKILL of sanbao import"}
	e, _ := h.prepare(res, "crash-import", "", stock{sku: "IMP-1"})
	if e == nil {
		return res
	}
	defer e.close()
	e.stop()

	rng := h.rand()
	n := h.cfg.ImportRows
	csvPath := filepath.Join(e.dir, "import.csv")
	if err := writeImportCSV(csvPath, n, rng); err != nil {
		res.Failf("setup: %v", err)
		return res
	}
	sorted := make([]string, n)
	for i := range sorted {
		sorted[i] = importSerial(i) // zero-padded: numeric order is serial order
	}

	// A full run on a scratch copy times the phases the kills aim at.
	scratch := filepath.Join(e.dir, "calibration.db")
	if err := copyFile(e.db, scratch); err != nil {
		res.Failf("setup: %v", err)
		return res
	}
	_, took, calibration, err := h.runImport(scratch, csvPath, "", -1)
	os.Remove(scratch)
	if err != nil {
		res.Failf("calibration run: %v", err)
		return res
	}
	res.Figuref("calibration: an uninterrupted import of %d rows took %.1fs", n, took.Seconds())

	for round := 1; round <= h.cfg.ImportRounds; round++ {
		phase := importPhases[(round-1)%len(importPhases)]
		window, ok := phaseWindow(calibration, phase.after, phase.until)
		if !ok {
			phase = importPhases[0]
			window, _ = phaseWindow(calibration, phase.after, phase.until)
		}
		db := filepath.Join(e.dir, fmt.Sprintf("round%d.db", round))
		if err := copyFile(e.db, db); err != nil {
			res.Failf("setup: %v", err)
			return res
		}
		delay := time.Duration(rng.Int64N(int64(max(window, time.Millisecond))))
		killed, took, _, err := h.runImport(db, csvPath, phase.after, delay)
		if err != nil {
			res.Failf("round %d: %v", round, err)
			os.Remove(db)
			continue
		}
		k, err := checkImported(db, sorted)
		if err != nil {
			res.Failf("round %d (killed %s, %.1fs in): %v", round, phase.name, took.Seconds(), err)
			os.Remove(db)
			continue
		}
		if !killed {
			if k != n {
				res.Failf("round %d: the import finished but the file holds %d of %d rows", round, k, n)
			}
			res.Figuref("round %d: the import finished (%.1fs) before the kill aimed %s", round, took.Seconds(), phase.name)
			os.Remove(db)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), importTimeout)
		out, err := h.sanbao(ctx, "import", "--db", db, csvPath)
		cancel()
		if err != nil {
			res.Failf("round %d: the import run again after the kill: %v", round, err)
			os.Remove(db)
			continue
		}
		var created, unchanged int
		if _, err := fmt.Sscanf(strings.TrimSpace(out), "created %d, unchanged %d", &created, &unchanged); err != nil {
			res.Failf("round %d: the second run printed %q, not \"created N, unchanged M\"", round, out)
		} else if created != n-k || unchanged != k {
			res.Failf("round %d: %d rows were in the file after the kill; the second run reported created %d, unchanged %d (want %d, %d)", round, k, created, unchanged, n-k, k)
		}
		if k2, err := checkImported(db, sorted); err != nil {
			res.Failf("round %d: after the second run: %v", round, err)
		} else if k2 != n {
			res.Failf("round %d: after the second run the file holds %d of %d rows", round, k2, n)
		}
		res.Figuref("round %d: killed %s (%.1fs in): %d of %d rows present, the first in serial order; check ok; second run: created %d, unchanged %d; check ok",
			round, phase.name, took.Seconds(), k, n, created, unchanged)
		os.Remove(db)
	}
	return res
}

func importSerial(i int) string { return fmt.Sprintf("IM%08d", i) }
func importBatch(i int) string  { return fmt.Sprintf("IB%04d", i/1000) }

// importProduced is the production date of every imported row.
var importProduced = "2026-01-15"

// writeImportCSV writes n rows in random order, so that serial order and
// file order differ.
func writeImportCSV(path string, n int, rng *rand.Rand) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "serial,sku,batch,produced_on")
	for _, i := range rng.Perm(n) {
		fmt.Fprintf(w, "%s,IMP-1,%s,%s\n", importSerial(i), importBatch(i), importProduced)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runImport runs `sanbao import` and, when delay >= 0, SIGKILLs it delay
// after it prints a line starting with after ("" = delay after start).
// killed is false when the import ended first (successfully: a failure is
// an error). progress is every line it printed, with its time.
func (h *Harness) runImport(db, csvPath, after string, delay time.Duration) (killed bool, took time.Duration, progress []progressLine, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), importTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, "import", "--db", db, csvPath)
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = childAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return false, 0, nil, err
	}
	cmd.Stdout = io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return false, 0, nil, err
	}
	armed := make(chan struct{})
	scanDone := make(chan struct{})
	go func() {
		defer close(scanDone)
		sc := bufio.NewScanner(stderr)
		fired := false
		for sc.Scan() {
			line := sc.Text()
			progress = append(progress, progressLine{time.Since(start), line})
			h.logf("import: %s", line)
			if !fired && after != "" && strings.HasPrefix(line, after) {
				fired = true
				close(armed)
			}
		}
	}()
	if after == "" {
		close(armed)
	}
	exited := make(chan error, 1)
	go func() {
		<-scanDone // all output read before Wait closes the pipe
		exited <- cmd.Wait()
	}()
	failed := func(err error) error {
		var lines []string
		for _, l := range progress {
			lines = append(lines, l.text)
		}
		return fmt.Errorf("sanbao import failed: %v: %s", err, strings.Join(lines, " | "))
	}
	var fire <-chan time.Time
	if delay >= 0 {
		select {
		case <-armed:
			fire = time.After(delay)
		case err := <-exited:
			if err != nil {
				return false, time.Since(start), progress, failed(err)
			}
			return false, time.Since(start), progress, fmt.Errorf("the import never printed a progress line starting %q, so the kill could not be aimed; update bench/harness", after)
		}
	}
	select {
	case <-fire:
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		return true, time.Since(start), progress, nil
	case err := <-exited:
		if err != nil {
			return false, time.Since(start), progress, failed(err)
		}
		return false, time.Since(start), progress, nil
	}
}

// checkImported opens the file read-only, runs bbolt's check and returns k,
// the number of imported serials present, after checking they are exactly
// the first k in serial order, each with its CSV data, and that the item
// counter says k.
func checkImported(db string, sorted []string) (int, error) {
	d, err := openOffline(db)
	if err != nil {
		return 0, fmt.Errorf("opening the file: %v", err)
	}
	defer d.Close()
	if err := d.Check(); err != nil {
		return 0, fmt.Errorf("consistency check: %v", err)
	}
	k := -1
	for i, s := range sorted {
		rec, err := d.Get(s)
		switch {
		case policy.ErrorCode(err) == policy.ENotFound:
			if k < 0 {
				k = i
			}
			continue
		case err != nil:
			return 0, fmt.Errorf("reading %s: %v", s, err)
		case k >= 0:
			return 0, fmt.Errorf("not a prefix in serial order: %s is missing but %s is present", sorted[k], s)
		}
		it := rec.Item
		if it.SKU != "IMP-1" || it.Batch != importBatch(i) || it.ProducedOn.String() != importProduced {
			return 0, fmt.Errorf("%s is stored as %s/%s/%s, imported as IMP-1/%s/%s", s, it.SKU, it.Batch, it.ProducedOn, importBatch(i), importProduced)
		}
	}
	if k < 0 {
		k = len(sorted)
	}
	st, err := d.Stats()
	if err != nil {
		return 0, err
	}
	if st.Items != k {
		return 0, fmt.Errorf("%d serials are present but the item counter says %d", k, st.Items)
	}
	return k, nil
}

// copyFile copies a stopped server's file.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
