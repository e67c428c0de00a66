package server

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
)

// lowerCamel is an operationId as client generators turn it into method
// names: a lower-case verb, then capitalised words (getItem, listOpenCases).
var lowerCamel = regexp.MustCompile(`^[a-z]+([A-Z][a-z0-9]*)+$`)

// TestEveryOperationHasAUniqueIDAndItsClientErrors holds every operation of
// the document, those added later included, to what generated clients
// need: an operationId in lowerCamelCase that no other operation has (the
// method's name in a generated client), at least one 4XX answer, and every
// 4XX answer in the contract's error shape (JSON Error schema; the
// customer's HTML pages answer their errors as HTML pages).
func TestEveryOperationHasAUniqueIDAndItsClientErrors(t *testing.T) {
	doc, err := openapiDoc()
	if err != nil {
		t.Fatal(err)
	}
	if doc.Info.License == nil || doc.Info.License.Name == "" {
		t.Error("info.license is missing")
	}
	described := map[string]bool{}
	for _, tag := range doc.Tags {
		described[tag.Name] = tag.Description != ""
	}
	owner := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			switch prev, dup := owner[op.OperationID]; {
			case op.OperationID == "":
				t.Errorf("%s has no operationId", name)
			case !lowerCamel.MatchString(op.OperationID):
				t.Errorf("%s: operationId %q is not lowerCamelCase verb+noun", name, op.OperationID)
			case dup:
				t.Errorf("%s: operationId %q is %s's already", name, op.OperationID, prev)
			}
			owner[op.OperationID] = name
			if len(op.Tags) == 0 {
				t.Errorf("%s has no tag", name)
			}
			for _, tag := range op.Tags {
				if !described[tag] {
					t.Errorf("%s: tag %q is not declared with a description", name, tag)
				}
			}
			clientErrors := 0
			for status, res := range op.Responses.Map() {
				if n, err := strconv.Atoi(status); err != nil || n < 400 || n > 499 {
					continue
				}
				clientErrors++
				for ct, media := range res.Value.Content {
					switch {
					case ct == "application/json" && media.Schema != nil && media.Schema.Ref == "#/components/schemas/Error":
					case ct == "text/html" && slices.Contains(op.Tags, "public"):
					default:
						t.Errorf("%s: answer %s as %s is not the contract's Error schema", name, status, ct)
					}
				}
				if len(res.Value.Content) == 0 {
					t.Errorf("%s: answer %s has no body", name, status)
				}
			}
			if clientErrors == 0 {
				t.Errorf("%s documents no 4XX answer", name)
			}
		}
	}
}

// TestOperationIDsStayTheSame pins the operationIds integrators' generated
// clients are built on: renaming one renames a method in every client.
func TestOperationIDsStayTheSame(t *testing.T) {
	doc, err := openapiDoc()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"GET /healthz":                                           "getLiveness",
		"GET /readyz":                                            "getReadiness",
		"GET /openapi.json":                                      "getOpenApiDocument",
		"GET /metrics":                                           "getMetrics",
		"GET /api/v1/models":                                     "listModels",
		"GET /api/v1/models/{sku}":                               "getModel",
		"PUT /api/v1/models/{sku}":                               "putModel",
		"POST /api/v1/items":                                     "registerItems",
		"GET /api/v1/items/{serial}":                             "getItem",
		"POST /api/v1/items/{serial}/events":                     "recordEvent",
		"POST /api/v1/events":                                    "recordEvents",
		"POST /api/v1/orders/{order}/received":                   "receiveOrder",
		"GET /api/v1/items/{serial}/entitlements":                "getEntitlements",
		"GET /api/v1/items/{serial}/label":                       "getItemLabel",
		"POST /api/v1/labels":                                    "printLabels",
		"GET /api/v1/batches":                                    "listBatches",
		"GET /api/v1/batches/{batch}":                            "getBatch",
		"GET /api/v1/service/open":                               "listOpenCases",
		"POST /api/v1/keys":                                      "createKey",
		"GET /api/v1/keys":                                       "listKeys",
		"DELETE /api/v1/keys/{id}":                               "revokeKey",
		"GET /api/v1/audit":                                      "listAudit",
		"GET /api/v1/admin/backup":                               "getBackup",
		"GET /api/v1/public/coverage":                            "getCoverage",
		"GET /c":                                                 "getCheckForm",
		"GET /c/{serial}":                                        "getCoveragePage",
		"GET /01/{gtin14}/21/{serial}":                           "getDigitalLinkPage",
		"POST /api/v1/webhooks":                                  "createWebhook",
		"GET /api/v1/webhooks":                                   "listWebhooks",
		"GET /api/v1/webhooks/{id}":                              "getWebhook",
		"DELETE /api/v1/webhooks/{id}":                           "deleteWebhook",
		"GET /api/v1/webhooks/{id}/deliveries":                   "listWebhookDeliveries",
		"POST /api/v1/webhooks/{id}/deliveries/{delivery}/retry": "retryWebhookDelivery",
	}
	var missing []string
	for route, id := range want {
		method, path, _ := strings.Cut(route, " ")
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			missing = append(missing, route)
			continue
		}
		if got := item.GetOperation(method).OperationID; got != id {
			t.Errorf("%s: operationId %q, want %q", route, got, id)
		}
	}
	sort.Strings(missing)
	for _, route := range missing {
		t.Errorf("%s is not in openapi.json", route)
	}
}

// TestProbesAnswerTooLargeForABodyOverTheLimit checks the one client error
// the probes and the document's route document: any route refuses a body
// declared over the limit before reading it.
func TestProbesAnswerTooLargeForABodyOverTheLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 1000 })
	for _, path := range []string{"/healthz", "/readyz", "/openapi.json"} {
		res := e.do(req{Method: http.MethodGet, Path: path, Body: strings.Repeat("x", 2000)})
		wantError(t, res, http.StatusRequestEntityTooLarge, policy.ETooLarge, "")
	}
}

// TestOpenAPIDocumentPassesRedoclyLint lints the served document with
// Redocly CLI's recommended rules as redocly.yaml (at the repository's
// root) sets them: no error and no warning. .ci/run installs the pinned
// @redocly/cli; without redocly the test is skipped, except under CI.
func TestOpenAPIDocumentPassesRedoclyLint(t *testing.T) {
	redocly, err := exec.LookPath("redocly")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redocly is required under CI: .ci/run installs it (npm install -g @redocly/cli)")
		}
		t.Skip("redocly not found (npm install -g @redocly/cli): the served OpenAPI document is not linted")
	}
	e := newEnv(t)
	doc := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(doc, must(t, e.get("/openapi.json", ""), http.StatusOK).Body, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(redocly, "lint", "--config", filepath.Join("..", "redocly.yaml"), "--format", "json", doc)
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	out, err := cmd.Output()
	var report struct {
		Totals   struct{ Errors, Warnings int }
		Version  string
		Problems []struct {
			RuleID   string
			Severity string
			Message  string
			Location []struct{ Pointer string }
		}
	}
	if jerr := json.Unmarshal(out, &report); jerr != nil {
		t.Fatalf("redocly lint: %v (%v)\n%s", err, jerr, out)
	}
	for _, p := range report.Problems {
		where := ""
		if len(p.Location) > 0 {
			where = p.Location[0].Pointer
		}
		t.Errorf("redocly %s %s at %s: %s", p.Severity, p.RuleID, where, p.Message)
	}
	if report.Totals.Errors+report.Totals.Warnings > 0 || err != nil {
		t.Errorf("redocly %s: %d errors, %d warnings (exit: %v)", report.Version, report.Totals.Errors, report.Totals.Warnings, err)
	}
}
