package goclient

// The README's "Five minutes with curl", step by step, through the client
// oapi-codegen generates from the live /openapi.json (sanbao.gen.go, written
// next to this file by server's TestGeneratedGoClientRunsTheTutorial, which
// starts the server and passes its address and keys). Every call goes
// through the generated methods and types: a wrong path, parameter, body
// or answer schema in the document fails here. Expected values are the
// README's and the policy's (receipt on 2026-11-22: return until 11-29,
// replacement until 12-07, warranty 12 months).
//
// By hand, against a fresh server's database: put its document here as
// openapi.json, run go tool oapi-codegen -config oapi-codegen.yaml
// openapi.json, then go test with SANBAO_URL, SANBAO_WAREHOUSE_KEY and
// SANBAO_SERVICE_KEY set.

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"
)

// client is a generated client sending key as its bearer token.
func client(t *testing.T, key string) *ClientWithResponses {
	t.Helper()
	c, err := NewClientWithResponses(os.Getenv("SANBAO_URL"), WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+key)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// answered fails the test unless the call succeeded with status want.
func answered[R interface{ StatusCode() int }](t *testing.T, step string, res R, err error, want int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	if got := res.StatusCode(); got != want {
		t.Fatalf("%s: status %d, want %d: %.500s", step, got, want, reflect.ValueOf(res).Elem().FieldByName("Body").Bytes())
	}
}

func date(t *testing.T, s string) *openapi_types.Date {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return &openapi_types.Date{Time: d}
}

func instant(t *testing.T, s string) *time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return &at
}

func ptr[T any](v T) *T { return &v }

func dateIs(d *openapi_types.Date, want string) bool {
	return d != nil && d.Format(time.DateOnly) == want
}

func TestTutorial(t *testing.T) {
	if os.Getenv("SANBAO_URL") == "" {
		t.Skip("run by server's TestGeneratedGoClientRunsTheTutorial, which starts a server")
	}
	ctx := context.Background()
	warehouse := client(t, os.Getenv("SANBAO_WAREHOUSE_KEY"))
	service := client(t, os.Getenv("SANBAO_SERVICE_KEY"))

	// 1. A product with a GTIN and its bundled charger.
	model, err := warehouse.PutModelWithResponse(ctx, "IM-X1", ModelInput{Name: "IMASK X1 massager", Kind: ModelInputKindProduct, Gtin: ptr("6901234567892")})
	answered(t, "putModel IM-X1", model, err, http.StatusCreated)
	if model.JSON201 == nil || model.JSON201.Gtin == nil || *model.JSON201.Gtin != "06901234567892" {
		t.Fatalf("putModel IM-X1: the GTIN is stored as 14 digits: %s", model.Body)
	}
	model, err = warehouse.PutModelWithResponse(ctx, "CHG-1", ModelInput{Name: "USB-C charger 20W", Kind: ModelInputKindAdapter})
	answered(t, "putModel CHG-1", model, err, http.StatusCreated)

	// 2. A batch as CSV, the way a warehouse exports it.
	csv := "serial,sku,batch,produced_on,accessories\nX1-0001,IM-X1,B2611,2026-11-01,CHG-1:CB2611\nX1-0002,IM-X1,B2611,2026-11-01,CHG-1:CB2611\n"
	reg, err := warehouse.RegisterItemsWithBodyWithResponse(ctx, "text/csv", strings.NewReader(csv))
	answered(t, "registerItems", reg, err, http.StatusCreated)
	if reg.JSON201 == nil || reg.JSON201.Created != 2 || reg.JSON201.Unchanged != 0 {
		t.Fatalf("registerItems: want 2 created: %s", reg.Body)
	}

	// 3. The batch's A4 sheet and one thermal label.
	sheet, err := warehouse.PrintLabelsWithResponse(ctx, &PrintLabelsParams{}, LabelsInput{Batch: ptr("B2611"), Format: LabelsInputFormatPdf})
	answered(t, "printLabels", sheet, err, http.StatusOK)
	if !bytes.HasPrefix(sheet.Body, []byte("%PDF-")) || sheet.HTTPResponse.Header.Get("X-Label-Count") != "2" {
		t.Fatalf("printLabels: want a PDF of 2 labels, got X-Label-Count %q", sheet.HTTPResponse.Header.Get("X-Label-Count"))
	}
	label, err := warehouse.GetItemLabelWithResponse(ctx, "X1-0001", &GetItemLabelParams{
		Format: ptr(GetItemLabelParamsFormatZpl), Dpi: ptr(GetItemLabelParamsDpiN203), Size: ptr(GetItemLabelParamsSizeN50x30)})
	answered(t, "getItemLabel", label, err, http.StatusOK)
	if zpl := string(label.Body); !strings.HasPrefix(zpl, "^XA") || !strings.Contains(zpl, "X1-0001") {
		t.Fatalf("getItemLabel: want one ZPL label of X1-0001: %.200s", zpl)
	}

	// 4. Dispatch under an order; the courier confirms receipt of the order.
	ev, err := warehouse.RecordEventWithResponse(ctx, "X1-0001", nil, EventInput{Type: EventInputTypeDispatched, On: date(t, "2026-11-20"), Order: ptr("SO-1001")})
	answered(t, "recordEvent dispatched", ev, err, http.StatusCreated)
	order, err := warehouse.ReceiveOrderWithResponse(ctx, "SO-1001", nil, OrderReceivedInput{On: *date(t, "2026-11-22"), Evidence: OrderReceivedInputEvidenceCourier})
	answered(t, "receiveOrder", order, err, http.StatusCreated)
	if order.JSON201 == nil || order.JSON201.Order != "SO-1001" || order.JSON201.Count != 1 || order.JSON201.Events[0].Serial != "X1-0001" {
		t.Fatalf("receiveOrder: want X1-0001's receipt: %s", order.Body)
	}

	// 5. The lookup: the warranty runs from the courier's receipt.
	item, err := service.GetItemWithResponse(ctx, "X1-0001", nil)
	answered(t, "getItem", item, err, http.StatusOK)
	w := item.JSON200.Warranty
	if w.Status != WarrantyStatusActive || !dateIs(w.Start, "2026-11-22") || !dateIs(w.ReturnUntil, "2026-11-29") ||
		!dateIs(w.ReplaceUntil, "2026-12-07") || !dateIs(w.WarrantyUntil, "2027-11-22") {
		t.Fatalf("getItem: want active from 2026-11-22, return until 11-29, replacement until 12-07, warranty until 2027-11-22: %s", item.Body)
	}
	if item.JSON200.State != ItemStateInUse || item.JSON200.ReceiptEvidence == nil || *item.JSON200.ReceiptEvidence != ItemReceiptEvidenceCourier ||
		item.JSON200.Order == nil || *item.JSON200.Order != "SO-1001" || len(item.JSON200.Accessories) != 1 ||
		item.JSON200.Accessories[0].Sku != "CHG-1" || item.JSON200.Accessories[0].Batch != "CB2611" || item.JSON200.OpenCase != nil {
		t.Fatalf("getItem: want in use, received by courier under SO-1001, the charger of batch CB2611, no case: %s", item.Body)
	}
	missing, err := service.GetItemWithResponse(ctx, "X1-9999", nil)
	answered(t, "getItem of an unknown serial", missing, err, http.StatusNotFound)
	if missing.JSON404 == nil || missing.JSON404.Error.Code != ErrorErrorCodeNotFound || missing.JSON404.Error.Message == "" {
		t.Fatalf("getItem of an unknown serial: want the error shape with not_found: %s", missing.Body)
	}

	// 6. Day 5 after receipt, a unit that works, intact and complete: a return.
	ent, err := service.GetEntitlementsWithResponse(ctx, "X1-0001", &GetEntitlementsParams{
		On: date(t, "2026-11-27"), Finding: ptr(GetEntitlementsParamsFindingNoFault), Intact: ptr(true), Complete: ptr(true)})
	answered(t, "getEntitlements", ent, err, http.StatusOK)
	if !slices.Equal(ent.JSON200.Remedies, []EntitlementRemedies{EntitlementRemediesReturn}) || len(ent.JSON200.Reasons) == 0 {
		t.Fatalf("getEntitlements: want only a return, with reasons: %s", ent.Body)
	}

	// 7. A service case: intake, diagnosis, a free repair (retried with its
	// Idempotency-Key), shipped back.
	ev, err = service.RecordEventWithResponse(ctx, "X1-0001", nil, EventInput{Type: EventInputTypeIntake, At: instant(t, "2026-11-27T09:00:00+08:00"), Center: ptr("SH-01"), Complaint: ptr("no power")})
	answered(t, "recordEvent intake", ev, err, http.StatusCreated)
	ev, err = service.RecordEventWithResponse(ctx, "X1-0001", nil, EventInput{Type: EventInputTypeDiagnosed, At: instant(t, "2026-11-27T10:00:00+08:00"), Finding: ptr(EventInputFindingQualityProblem), Part: ptr("battery")})
	answered(t, "recordEvent diagnosed", ev, err, http.StatusCreated)
	queue, err := service.ListOpenCasesWithResponse(ctx, nil)
	answered(t, "listOpenCases", queue, err, http.StatusOK)
	if len(queue.JSON200.Cases) != 1 || queue.JSON200.Cases[0].Serial != "X1-0001" || queue.JSON200.Cases[0].Stage != "diagnosed" ||
		queue.JSON200.Cases[0].Finding != CaseFindingQualityProblem || !queue.JSON200.Cases[0].InWarranty {
		t.Fatalf("listOpenCases: want X1-0001 diagnosed with a quality problem, in warranty: %s", queue.Body)
	}
	var parts EventInput_Parts
	if err := parts.FromEventInputParts0([]string{"battery"}); err != nil {
		t.Fatal(err)
	}
	repaired := EventInput{Type: EventInputTypeRepaired, At: instant(t, "2026-11-27T12:00:00+08:00"), Paid: ptr(false), Parts: &parts}
	for i, replayed := range []string{"", "true"} {
		ev, err = service.RecordEventWithResponse(ctx, "X1-0001", &RecordEventParams{IdempotencyKey: ptr("rep-1")}, repaired)
		answered(t, "recordEvent repaired", ev, err, http.StatusCreated)
		if got := ev.HTTPResponse.Header.Get("Idempotent-Replayed"); got != replayed {
			t.Fatalf("recordEvent repaired, try %d: Idempotent-Replayed %q, want %q", i+1, got, replayed)
		}
	}
	ev, err = service.RecordEventWithResponse(ctx, "X1-0001", nil, EventInput{Type: EventInputTypeShipped, At: instant(t, "2026-11-27T15:00:00+08:00"), Tracking: ptr("SF123")})
	answered(t, "recordEvent shipped", ev, err, http.StatusCreated)

	item, err = service.GetItemWithResponse(ctx, "X1-0001", nil)
	answered(t, "getItem after the repair", item, err, http.StatusOK)
	if item.JSON200.OpenCase != nil || item.JSON200.Warranty.FreeRepairs != 1 || len(item.JSON200.Parts) != 1 ||
		item.JSON200.Parts[0].Part != "battery" || item.JSON200.Parts[0].CoveredUntil == nil {
		t.Fatalf("getItem after the repair: want the case closed, one free repair (the retry not counted), the battery covered: %s", item.Body)
	}
	if n := len(item.JSON200.History); n != 6 {
		t.Fatalf("getItem after the repair: %d events, want 6 (dispatched, received, intake, diagnosed, repaired, shipped): %s", n, item.Body)
	}
}
