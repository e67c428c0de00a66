package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"github.com/sanbao/sanbao/registry/bolt"
	"github.com/sanbao/sanbao/registry/postgres/pgtest"
)

func postgresDSN(t *testing.T) string { return pgtest.DSN(t) }

// replica is a serve process of the test.
type replica struct {
	cmd *startedCmd
	URL string
}

type startedCmd struct {
	kill func()
	done chan error
}

// startReplica starts `sanbao serve` on dsn as a process of its own.
func startReplica(t *testing.T, dsn string) *replica {
	t.Helper()
	cmd := sanbaoCommand(t, []string{"SANBAO_DB=" + dsn}, "serve", "--addr", "127.0.0.1:0", "--public-rate", "-1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := bufio.NewScanner(stderr)
	listening := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var u string
	for u == "" && lines.Scan() {
		if m := listening.FindStringSubmatch(lines.Text()); m != nil {
			u = m[1]
		}
	}
	if u == "" {
		t.Fatal("serve never logged its address")
	}
	done := make(chan error, 1)
	go func() {
		for lines.Scan() {
		}
		done <- cmd.Wait()
	}()
	return &replica{cmd: &startedCmd{kill: func() { cmd.Process.Kill() }, done: done}, URL: u}
}

// TestReplicasShareOnePostgreSQL: two serve processes on one database;
// writes through one are read through the other at once; one is killed
// (SIGKILL) under load and no acknowledged write is lost.
func TestReplicasShareOnePostgreSQL(t *testing.T) {
	dsn := postgresDSN(t)
	key := strings.TrimSpace(mustRun(t, "keys", "create", "--db", dsn, "--role", "admin", "--name", "replicas test"))
	a, b := startReplica(t, dsn), startReplica(t, dsn)
	putModel(t, a.URL, key, "M1")
	const writers = 8
	var serials []map[string]string
	for w := range writers {
		serials = append(serials, map[string]string{"serial": fmt.Sprintf("R%d", w), "sku": "M1", "batch": "B1"})
	}
	if status, body := call(t, http.MethodPost, b.URL+"/api/v1/items", key, map[string]any{"items": serials}); status != http.StatusCreated {
		t.Fatalf("register through the second replica: %d %s", status, body)
	}
	// A browser signed in to the console through one replica is signed in
	// on the other: sessions live in the database.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page, err := browser.Get(a.URL + "/console/sign-in")
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(page.Body)
	page.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(form)
	if csrf == nil {
		t.Fatalf("the sign-in page has no form token:\n%s", form)
	}
	signedIn, err := browser.PostForm(a.URL+"/console/sign-in", url.Values{"csrf": {string(csrf[1])}, "key": {key}})
	if err != nil {
		t.Fatal(err)
	}
	signedIn.Body.Close()
	if signedIn.StatusCode != http.StatusSeeOther {
		t.Fatalf("console sign-in through the first replica: %d", signedIn.StatusCode)
	}
	home, err := browser.Get(b.URL + "/console/desk")
	if err != nil {
		t.Fatal(err)
	}
	home.Body.Close()
	if home.StatusCode != http.StatusOK {
		t.Fatalf("the console through the second replica: %d (Location %q); want the signed-in page", home.StatusCode, home.Header.Get("Location"))
	}

	history := func(r *replica, serial string) []string {
		status, body := call(t, http.MethodGet, r.URL+"/api/v1/items/"+serial, key, nil)
		if status != http.StatusOK {
			t.Fatalf("GET %s from %s: %d %s", serial, r.URL, status, body)
		}
		var rec struct {
			History []struct {
				Note string `json:"note"`
			} `json:"history"`
		}
		if err := json.Unmarshal(body, &rec); err != nil {
			t.Fatal(err)
		}
		var notes []string
		for _, ev := range rec.History {
			notes = append(notes, ev.Note)
		}
		return notes
	}

	var (
		mu    sync.Mutex
		acked = map[string][]string{} // serial -> notes of the acknowledged events
		wg    sync.WaitGroup
	)
	enough := make(chan struct{})
	var enoughOnce sync.Once
	for w := range writers {
		serial := fmt.Sprintf("R%d", w)
		wg.Go(func() {
			for i := 0; ; i++ {
				note := fmt.Sprintf("%d", i)
				status, _, err := tryCall(http.MethodPost, a.URL+"/api/v1/items/"+serial+"/events", key,
					map[string]any{"type": "transferred", "on": "2026-01-02", "note": note})
				if err != nil || status >= 500 {
					return // the replica is gone: this write was not acknowledged
				}
				if status != http.StatusCreated {
					t.Errorf("event on %s: %d", serial, status)
					return
				}
				mu.Lock()
				acked[serial] = append(acked[serial], note)
				n := len(acked[serial])
				mu.Unlock()
				// Read through the other replica at once: the write is there.
				if got := history(b, serial); len(got) < n {
					t.Errorf("%s: the other replica shows %d events right after the %dth was acknowledged", serial, len(got), n)
					return
				}
				if i == 20 {
					enoughOnce.Do(func() { close(enough) })
				}
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Fatal("writes were not acknowledged")
	}
	a.cmd.kill() // SIGKILL, in the middle of writes
	<-a.cmd.done
	wg.Wait()
	for serial, notes := range acked {
		got := history(b, serial)
		have := map[string]int{}
		for _, n := range got {
			have[n]++
		}
		for _, n := range notes {
			if have[n] != 1 {
				t.Errorf("%s: acknowledged event %q is there %d times after the kill", serial, n, have[n])
			}
		}
	}
	if status, _ := call(t, http.MethodGet, b.URL+"/readyz", "", nil); status != http.StatusOK {
		t.Fatalf("the surviving replica is not ready: %d", status)
	}
	if status, body := call(t, http.MethodGet, b.URL+"/api/v1/admin/backup", key, nil); status != http.StatusServiceUnavailable || !strings.Contains(string(body), "pg_dump") {
		t.Fatalf("the backup route on PostgreSQL: %d %s; want 503 naming pg_dump", status, body)
	}
}

// pgScript runs bench/pg/<name> with args and returns its output.
func pgScript(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command("../../bench/pg/"+name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("bench/pg/%s: %v\n%s", name, err, out)
	}
	return string(out)
}

// TestDatabaseAwayAnswers503AndRecovers: with its own cluster stopped
// under a running serve, /readyz and writes answer 503 in the contract's
// shape; once the cluster is back, serve recovers without a restart.
func TestDatabaseAwayAnswers503AndRecovers(t *testing.T) {
	postgresDSN(t) // skips without PostgreSQL
	// A folder of its own under /tmp, not t.TempDir(): the postgres user
	// must reach it.
	out := pgScript(t, "start.sh")
	dsn := regexp.MustCompile(`SANBAO_TEST_POSTGRES='([^']+)'`).FindStringSubmatch(out)
	pgDir := regexp.MustCompile(`SANBAO_PG_DIR='([^']+)'`).FindStringSubmatch(out)
	if dsn == nil || pgDir == nil {
		t.Fatalf("start.sh printed no DSN:\n%s", out)
	}
	dir := pgDir[1]
	t.Cleanup(func() { pgScript(t, "stop.sh", dir) })
	key := strings.TrimSpace(mustRun(t, "keys", "create", "--db", dsn[1], "--role", "admin", "--name", "fault test"))
	r := startReplica(t, dsn[1])
	putModel(t, r.URL, key, "M1")
	if status, body := call(t, http.MethodPost, r.URL+"/api/v1/items", key,
		map[string]any{"items": []map[string]string{{"serial": "F1", "sku": "M1", "batch": "B1"}}}); status != http.StatusCreated {
		t.Fatalf("register: %d %s", status, body)
	}
	event := func() (int, []byte) {
		return call(t, http.MethodPost, r.URL+"/api/v1/items/F1/events", key, map[string]any{"type": "transferred", "on": "2026-01-02"})
	}
	pgScript(t, "stop.sh", "--keep", dir)
	for _, check := range []func() (int, []byte){
		func() (int, []byte) { return call(t, http.MethodGet, r.URL+"/readyz", "", nil) },
		event,
	} {
		status, body := check()
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if status != http.StatusServiceUnavailable || json.Unmarshal(body, &e) != nil || e.Error.Code != "unavailable" || !strings.Contains(e.Error.Message, "PostgreSQL") {
			t.Fatalf("with the database away: %d %s; want 503 unavailable naming PostgreSQL", status, body)
		}
	}
	pgScript(t, "start.sh", dir)
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _ := call(t, http.MethodGet, r.URL+"/readyz", "", nil)
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d 30s after the database came back", status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status, body := event(); status != http.StatusCreated {
		t.Fatalf("a write after the database came back: %d %s", status, body)
	}
}

// TestMigrateCommandBothWays: `sanbao migrate` copies a database file into
// PostgreSQL and back, verifies each copy, and refuses a target holding data.
func TestMigrateCommandBothWays(t *testing.T) {
	dsn := postgresDSN(t)
	file := tempDB(t)
	key := newKey(t, file, "admin")
	db, err := openStore(file, bolt.Options{Timeout: lockTimeout})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.PutModel(cliActor(), policy.Model{SKU: "M1", Name: "Mask", Kind: policy.KindProduct}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Register(cliActor(), []registry.Row{{Serial: "S1", SKU: "M1", Batch: "B1"}, {Serial: "S2", SKU: "M1", Batch: "B1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Append(registry.Write{Actor: cliActor()}, "S1", policy.Event{Type: policy.EvTransferred, On: policy.Date{Year: 2026, Month: 1, Day: 2}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.PutNotice(cliActor(), registry.Notice{Batch: "B1", Severity: registry.SeverityRecall, Text: "召回", Since: policy.Date{Year: 2026, Month: 1, Day: 3}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "migrate", "--from", file, "--to", dsn)
	if !strings.HasPrefix(out, "verified: 1 models (0 GTINs), 2 items, 1 events, 0 carriers, 1 keys, ") || !strings.Contains(out, ", 1 notices;") {
		t.Fatalf("migrate into PostgreSQL printed %q", out)
	}
	back := tempDB(t)
	if out := mustRun(t, "migrate", "--from", dsn, "--to", back); !strings.HasPrefix(out, "verified: 1 models (0 GTINs), 2 items, 1 events") || !strings.Contains(out, ", 1 notices;") {
		t.Fatalf("migrate back printed %q", out)
	}
	if _, _, err := run(t, nil, "migrate", "--from", file, "--to", dsn); policy.ErrorCode(err) != policy.EConflict {
		t.Fatalf("migrate into a database holding data: %v; want a conflict", err)
	}
	if list := mustRun(t, "keys", "list", "--db", back); !strings.Contains(list, strings.SplitN(key, ".", 2)[0]) {
		t.Fatalf("the key is missing after the round trip:\n%s", list)
	}
	// sanbao import into PostgreSQL: all or nothing, then the rows are there.
	csv := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(csv, []byte("serial,sku,batch\nS3,M1,B2\nS4,NOPE,B2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, nil, "import", "--db", dsn, csv); policy.ErrorCode(err) != policy.EInvalid {
		t.Fatalf("import of a row of an unknown model: %v; want invalid_field", err)
	}
	if err := os.WriteFile(csv, []byte("serial,sku,batch\nS4,M1,B2\nS3,M1,B2\nS1,M1,B1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "import", "--db", dsn, csv); out != "created 2, unchanged 1\n" {
		t.Fatalf("import into PostgreSQL printed %q", out)
	}
}
