package registry

// Batch notices (contract, "Batch notices"): a recall or an advisory an
// admin puts on a production batch. It concerns every serial registered in
// the batch and every product carrying a bundled accessory of it (the
// batch's carriers), and shows on their public pages and at the desk. A
// batch has at most one notice; setting one again replaces it. Every set,
// change and clearing is in the audit log.

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sanbao/sanbao/policy"
)

// Severity is how grave a notice is.
type Severity string

// The severities of the contract.
const (
	// SeverityRecall: the units must come back (a safety or quality fault).
	SeverityRecall Severity = "recall"
	// SeverityAdvisory: something the customer should know or do.
	SeverityAdvisory Severity = "advisory"
)

// MaxNoticeText bounds each text of a notice, in characters.
const MaxNoticeText = policy.MaxNote

// Notice is a batch's current notice.
type Notice struct {
	Batch    string
	Severity Severity
	Text     string // Chinese (or the only language given)
	TextEN   string // English; "" shows Text to English readers too
	Since    policy.Date
	SetAt    time.Time // when it was last set or changed
	SetBy    string    // the name of who did
} // batch -> notice

// CheckNotice checks a notice as it enters, and returns it tidied (texts
// trimmed). Texts follow the free-text rule of notes (policy.Text); Text
// is required, TextEN optional. Errors: EInvalid naming batch, severity,
// text, text_en or since.
func CheckNotice(n Notice) (Notice, error) {
	var err error
	if n.Batch, err = policy.Ident("batch", n.Batch); err != nil {
		return Notice{}, err
	}
	if n.Severity != SeverityRecall && n.Severity != SeverityAdvisory {
		return Notice{}, policy.Errorf(policy.EInvalid, "severity", "severity must be recall or advisory, not %q", n.Severity).
			Keyed("notice.severity", policy.Args{"value": n.Severity})
	}
	if n.Text, err = policy.Text("text", n.Text, MaxNoticeText, true); err != nil {
		return Notice{}, err
	}
	if n.TextEN, err = policy.Text("text_en", n.TextEN, MaxNoticeText, false); err != nil {
		return Notice{}, err
	}
	if n.Since.IsZero() {
		return Notice{}, policy.Errorf(policy.EInvalid, "since", "since (the date the notice applies from, YYYY-MM-DD) is required").
			Keyed("field.required", policy.Args{"field": policy.Field("since")})
	}
	return n, nil
}

// NoticeAction is the audit action of setting n over old (nil: there was
// none): "notice.set" or "notice.change". "notice.clear" is a clearing.
func NoticeAction(old *Notice) string {
	if old == nil {
		return "notice.set"
	}
	return "notice.change"
}

// NoticeDetail is a notice as the audit log keeps it: severity, date and
// the start of its text.
func NoticeDetail(n Notice) string {
	text := n.Text
	if utf8.RuneCountInString(text) > 200 {
		text = string([]rune(text)[:200]) + "…"
	}
	return string(n.Severity) + " since " + n.Since.String() + ": " + strings.ReplaceAll(text, "\n", " ")
}

// NoticeFor chooses the notice to show for a unit among ns, the notices of
// its batches: of those begun by today (Since on or before it), a recall
// before an advisory, then the one applying from the latest date, then the
// one set last. nil when none applies.
func NoticeFor(ns []Notice, today policy.Date) *Notice {
	var best *Notice
	for i := range ns {
		n := &ns[i]
		if n.Since.After(today) {
			continue
		}
		if best == nil || noticeBefore(n, best) {
			best = n
		}
	}
	return best
}

// noticeBefore says whether a is shown rather than b.
func noticeBefore(a, b *Notice) bool {
	if (a.Severity == SeverityRecall) != (b.Severity == SeverityRecall) {
		return a.Severity == SeverityRecall
	}
	if c := a.Since.Compare(b.Since); c != 0 {
		return c > 0
	}
	return a.SetAt.After(b.SetAt)
}

// NoticeBatches lists the batches whose notices concern rec's unit, sorted
// and without repeats: its own batch, the batches of the accessories it was
// registered with, and every batch an accessory exchange (or a correction of
// one) brought — the batches whose carriers the unit is counted among.
func NoticeBatches(rec Record) []string {
	out := []string{rec.Item.Batch}
	for _, a := range rec.Item.Accessories {
		out = append(out, a.Batch)
	}
	for _, ev := range rec.History {
		out = append(out, ev.NewBatch)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 0 && out[0] == "" {
		out = out[1:]
	}
	return out
}

// NoSuchBatch is the ENotFound of a batch with no registered serial and no
// bundled accessory.
func NoSuchBatch(batch string) error {
	return policy.Errorf(policy.ENotFound, "batch", "batch %s has no registered serials and no bundled accessories", batch).
		Keyed("batch.empty", policy.Args{"batch": batch})
}

// NoNotice is the ENotFound of clearing a batch that has no notice.
func NoNotice(batch string) error {
	return policy.Errorf(policy.ENotFound, "batch", "batch %s has no notice", batch).
		Keyed("notice.none", policy.Args{"batch": batch})
}
