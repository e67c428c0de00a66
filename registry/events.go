package registry

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// IdempotencyTTL is how long an Idempotency-Key is remembered at least;
// older keys are pruned a few at a time by later keyed writes.
const IdempotencyTTL = 24 * time.Hour

const (
	maxIdempotencyKey = 255
)

// rowError adds err as row n's error; a storage or internal error is
// returned instead, to abort.
func rowError(errs []policy.RowError, n int, serial string, err error) ([]policy.RowError, error) {
	pe, ok := err.(*policy.Error)
	if !ok || pe.Code == policy.EUnavailable || pe.Code == policy.EInternal {
		return errs, err
	}
	return append(errs, pe.Row(n, strings.TrimSpace(serial))), nil
}

// CustomerName is the Actor name of a customer's own writes from the
// public page (the history's "by").
const CustomerName = "customer"

func checkWrite(w Write) error {
	k := w.IdempotencyKey
	if k == "" {
		return nil
	}
	if len(k) > maxIdempotencyKey {
		return policy.Errorf(policy.EInvalid, "Idempotency-Key", "Idempotency-Key is %d characters long; at most %d are allowed", len(k), maxIdempotencyKey)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return policy.Errorf(policy.EInvalid, "Idempotency-Key", "Idempotency-Key may hold only visible ASCII characters")
		}
	}
	if w.Answer == nil {
		return fmt.Errorf("registry: Write.Answer is required with an idempotency key")
	}
	return nil
}

// refusal reports whether err is a rule's answer (invalid, not found,
// conflict), returned before anything was written, rather than a failure.
func refusal(err error) bool {
	pe, ok := err.(*policy.Error)
	return ok && pe.Code != policy.EUnavailable && pe.Code != policy.EInternal
}

// IdempotencyCaller is whose an Idempotency-Key is: the caller's key id,
// or "name:" and its name for a caller without a key (a customer's
// confirmation). Every store keeps keys under it.
func IdempotencyCaller(a Actor) string {
	if a.KeyID == "" {
		return "name:" + a.Name
	}
	return a.KeyID
}

// eventSummary describes an event in a few words for the audit log.
func eventSummary(ev policy.Event) string {
	parts := []string{fmt.Sprintf("seq %d", ev.Seq)}
	add := func(name, v string) {
		if v != "" {
			parts = append(parts, name+" "+v)
		}
	}
	add("on", ev.On.String())
	add("order", ev.Order)
	add("evidence", string(ev.Evidence))
	add("finding", string(ev.Finding))
	add("new_serial", ev.NewSerial)
	add("sku", ev.SKU)
	add("new_batch", ev.NewBatch)
	if ev.Corrects != 0 {
		add("corrects seq", fmt.Sprint(ev.Corrects))
	}
	add("reason", ev.Reason)
	return strings.Join(parts, ", ")
}

// manySummary counts events by type, for the audit log.
func manySummary(aps []Appended) string {
	n := map[policy.EventType]int{}
	serials := map[string]bool{}
	for _, ap := range aps {
		n[ap.Event.Type]++
		serials[ap.Serial] = true
	}
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", t, n[t]))
	}
	return fmt.Sprintf("%s on %d serials", strings.Join(parts, ", "), len(serials))
}
