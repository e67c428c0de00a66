package server

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGeneratedGoClientRunsTheTutorial generates a Go client from the
// served /openapi.json with oapi-codegen (the version pinned by
// testdata/goclient/go.mod, its own module so the main module does not
// depend on it), builds it and runs the README's tutorial through it
// against this server (testdata/goclient/tutorial_test.go). A failure is a
// fault of the document, which integrators generate their clients from.
// It builds oapi-codegen and the client, so -short skips it.
func TestGeneratedGoClientRunsTheTutorial(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and builds a client (-short)")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the generated client with")
	}
	e := newEnv(t)
	// The tutorial's dates: its last event is shipped at 15:00 on 2026-11-27.
	e.clock.Add(time.Date(2026, 11, 27, 16, 0, 0, 0, cst).Sub(testNow))

	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "goclient"))); err != nil {
		t.Fatal(err)
	}
	doc := must(t, e.get("/openapi.json", ""), http.StatusOK).Body
	if err := os.WriteFile(filepath.Join(dir, "openapi.json"), doc, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(env []string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(goBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), append(env, "GOWORK=off", "GOFLAGS=-mod=readonly")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	run(nil, "tool", "oapi-codegen", "-config", "oapi-codegen.yaml", "openapi.json")
	out := run([]string{"SANBAO_URL=" + e.ts.URL, "SANBAO_WAREHOUSE_KEY=" + e.warehouse, "SANBAO_SERVICE_KEY=" + e.service},
		"test", "-count=1", "-run", "^TestTutorial$", "-v", ".")
	if !strings.Contains(string(out), "--- PASS: TestTutorial") {
		t.Fatalf("the tutorial did not run:\n%s", out)
	}
}
