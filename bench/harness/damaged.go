package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DamagedFile damages a stopped server's database the way the
// read-only-under-serve campaign saw a file system do — the newest meta
// page kept, a page it points to zeroed — once the freelist page and once
// the root page, and runs `sanbao serve`, `sanbao keys list` and `sanbao
// backup` on each copy. A damaged file is bad input: each command must
// either work or end with a clear error, never a Go panic (the house rule
// for bad input). Whether a backup of a damaged file succeeds is reported.
func (h *Harness) DamagedFile() *Result {
	res := &Result{Name: "disk: damaged database file (a torn last transaction)"}
	e, _ := h.prepare(res, "damaged", "", stock{sku: "DMG-1", prefix: "DM", batch: "DB0001", n: 20, daysOld: 5})
	if e == nil {
		return res
	}
	defer e.close()
	e.stop()
	for _, which := range []string{"freelist", "root"} {
		db := filepath.Join(e.dir, which+".db")
		if err := copyFile(e.db, db); err != nil {
			res.Failf("setup: %v", err)
			return res
		}
		pgid, err := tearPage(db, which)
		if err != nil {
			res.Failf("setup: zeroing the %s page: %v", which, err)
			return res
		}
		what := fmt.Sprintf("%s page %d zeroed", which, pgid)

		logPath := filepath.Join(e.dir, which+"-serve.log")
		if srv, err := h.StartServer(db, logPath, nil); err == nil {
			res.Figuref("%s: serve started on it", what)
			if err := srv.Stop(30 * time.Second); err != nil && panicked(err.Error()) {
				res.Failf("%s: serve panicked on stop: %s", what, firstLines(err.Error(), 3))
			}
		} else {
			log, _ := os.ReadFile(logPath)
			if panicked(string(log)) {
				res.Failf("%s: serve panics instead of refusing the file with a clear error: %s", what, firstPanic(string(log)))
			} else {
				res.Figuref("%s: serve refuses it: %s", what, lastLine(string(log)))
			}
		}

		for _, c := range []struct {
			name string
			args []string
		}{
			{"keys list", []string{"keys", "list", "--db", db}},
			{"backup", []string{"backup", "--db", db, db + ".bak"}},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_, err := h.sanbao(ctx, c.args...)
			cancel()
			switch {
			case err != nil && panicked(err.Error()):
				res.Failf("%s: sanbao %s panics instead of a clear error: %s", what, c.name, firstPanic(err.Error()))
			case err != nil:
				res.Figuref("%s: sanbao %s refuses it: %s", what, c.name, firstLines(err.Error(), 1))
			default:
				res.Figuref("%s: sanbao %s succeeds", what, c.name)
			}
		}
	}
	return res
}

// panicked says whether a command's output holds a Go panic.
func panicked(out string) bool {
	return strings.Contains(out, "panic: ") && strings.Contains(out, "goroutine ")
}

// firstPanic is the panic line of a Go panic's output.
func firstPanic(out string) string {
	for line := range strings.SplitSeq(out, "\n") {
		if i := strings.Index(line, "panic: "); i >= 0 {
			return strings.TrimSpace(line[i:])
		}
	}
	return firstLines(out, 1)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], " | ")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
