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

// Kill points of an import, aimed by its progress lines on stderr.
var importPhases = []struct {
	name     string
	after    string        // progress line prefix that arms the kill ("" = at start)
	maxDelay time.Duration // kill at a random moment this long after it
}{
	{"while writing the first chunk", "checked:", time.Second},
	{"while writing the second chunk", "wrote ", 2 * time.Second},
	{"while reading and checking", "", 2 * time.Second},
}

// CrashImport SIGKILLs `sanbao import` of ImportRows rows (a CSV in random
// serial order) at a random moment, ImportRounds times, each on a fresh
// copy of a database with the model defined. registry.Import promises: "A
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

	for round := 1; round <= h.cfg.ImportRounds; round++ {
		phase := importPhases[(round-1)%len(importPhases)]
		db := filepath.Join(e.dir, fmt.Sprintf("round%d.db", round))
		if err := copyFile(e.db, db); err != nil {
			res.Failf("setup: %v", err)
			return res
		}
		delay := time.Duration(rng.Int64N(int64(phase.maxDelay)))
		killed, took, err := h.killImport(db, csvPath, phase.after, delay)
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

// killImport runs `sanbao import` and SIGKILLs it delay after it prints a
// line starting with after ("" = delay after start). killed is false when
// the import ended first (successfully: a failure is an error).
func (h *Harness) killImport(db, csvPath, after string, delay time.Duration) (killed bool, took time.Duration, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), importTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, "import", "--db", db, csvPath)
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = childAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return false, 0, err
	}
	cmd.Stdout = io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return false, 0, err
	}
	armed := make(chan struct{})
	var progress []string
	scanDone := make(chan struct{})
	go func() {
		defer close(scanDone)
		sc := bufio.NewScanner(stderr)
		fired := false
		for sc.Scan() {
			line := sc.Text()
			progress = append(progress, line)
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
	select {
	case <-armed:
	case err := <-exited:
		took = time.Since(start)
		if err != nil {
			return false, took, fmt.Errorf("sanbao import failed: %v: %s", err, strings.Join(progress, " | "))
		}
		return false, took, fmt.Errorf("the import never printed a progress line starting %q, so the kill could not be aimed (progress: %s); update bench/harness", after, strings.Join(progress, " | "))
	}
	select {
	case <-time.After(delay):
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		return true, time.Since(start), nil
	case err := <-exited:
		took = time.Since(start)
		if err != nil {
			return false, took, fmt.Errorf("sanbao import failed: %v: %s", err, strings.Join(progress, " | "))
		}
		return false, took, nil
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
