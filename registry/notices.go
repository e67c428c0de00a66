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
	bolt "go.etcd.io/bbolt"
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
}

// noticeRec is a stored notice; the batch is its key.
type noticeRec struct {
	Severity Severity    `json:"severity"`
	Text     string      `json:"text"`
	TextEN   string      `json:"text_en,omitempty"`
	Since    policy.Date `json:"since"`
	SetAt    time.Time   `json:"set_at"`
	SetBy    string      `json:"set_by,omitempty"`
}

// bucketNotices is created by the first notice set (lazily: no schema
// migration); a file without it has no notices.
var bucketNotices = []byte("notices") // batch -> notice

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

// sameNotice says whether two notices say the same thing.
func sameNotice(a, b Notice) bool {
	return a.Severity == b.Severity && a.Text == b.Text && a.TextEN == b.TextEN && a.Since == b.Since
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

func (r noticeRec) notice(batch string) Notice {
	return Notice{Batch: batch, Severity: r.Severity, Text: r.Text, TextEN: r.TextEN, Since: r.Since, SetAt: r.SetAt, SetBy: r.SetBy}
}

func encodeNotice(n Notice) ([]byte, error) {
	return encodeJSON(noticeRec{Severity: n.Severity, Text: n.Text, TextEN: n.TextEN, Since: n.Since, SetAt: n.SetAt, SetBy: n.SetBy})
}

func getNotice(tx *bolt.Tx, batch string) (*Notice, error) {
	b := tx.Bucket(bucketNotices)
	if b == nil {
		return nil, nil
	}
	v := b.Get([]byte(batch))
	if v == nil {
		return nil, nil
	}
	var r noticeRec
	if err := decodeJSON("notice "+batch, v, &r); err != nil {
		return nil, err
	}
	n := r.notice(batch)
	return &n, nil
}

// PutNotice sets the notice of n.Batch (CheckNotice), replacing any it had;
// the bool reports that the batch had none. Setting the same notice again
// writes nothing and returns the one on record. Errors: EInvalid naming
// the field; ENotFound when the batch has no registered serial and no
// bundled accessory; EUnavailable.
func (db *DB) PutNotice(a Actor, n Notice) (Notice, bool, error) {
	n, err := CheckNotice(n)
	if err != nil {
		return Notice{}, false, err
	}
	now := db.now()
	n.SetAt, n.SetBy = Instant(now), a.Name
	created := false
	err = db.update(func(tx *bolt.Tx) error {
		members, carriers := batchCount(tx, n.Batch)
		if members == 0 && carriers == 0 {
			return NoSuchBatch(n.Batch)
		}
		old, err := getNotice(tx, n.Batch)
		if err != nil {
			return err
		}
		if old != nil && sameNotice(*old, n) {
			n = *old
			return nil
		}
		created = old == nil
		if err := putNotice(tx, n); err != nil {
			return err
		}
		return db.audit(tx, a, NoticeAction(old), n.Batch, NoticeDetail(n), now)
	})
	if err != nil {
		return Notice{}, false, err
	}
	return n, created, nil
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

// DeleteNotice clears a batch's notice. Errors: EInvalid for a malformed
// batch; ENotFound when it has none; EUnavailable.
func (db *DB) DeleteNotice(a Actor, batch string) error {
	batch, err := policy.Ident("batch", batch)
	if err != nil {
		return err
	}
	now := db.now()
	return db.update(func(tx *bolt.Tx) error {
		old, err := getNotice(tx, batch)
		if err != nil {
			return err
		}
		if old == nil {
			return NoNotice(batch)
		}
		if err := tx.Bucket(bucketNotices).Delete([]byte(batch)); err != nil {
			return err
		}
		return db.audit(tx, a, "notice.clear", batch, NoticeDetail(*old), now)
	})
}

// Notices lists every current notice in batch order. Errors: internal only.
func (db *DB) Notices() ([]Notice, error) {
	out := []Notice{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return eachNotice(tx, func(n Notice) error {
			out = append(out, n)
			return nil
		})
	})
	return out, err
}

// BatchNotices returns the notices of the batches given (those that have
// one), in batch order. Errors: internal only.
func (db *DB) BatchNotices(batches []string) ([]Notice, error) {
	out := []Notice{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketNotices) == nil {
			return nil
		}
		for _, batch := range batches {
			n, err := getNotice(tx, batch)
			if err != nil {
				return err
			}
			if n != nil {
				out = append(out, *n)
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Notice) int { return strings.Compare(a.Batch, b.Batch) })
	out = slices.CompactFunc(out, func(a, b Notice) bool { return a.Batch == b.Batch })
	return out, err
}

// dumpNotices hands every notice to sink.
func dumpNotices(tx *bolt.Tx, sink Sink) error {
	return eachNotice(tx, sink.Notice)
}

// eachNotice calls fn with every notice, in batch order.
func eachNotice(tx *bolt.Tx, fn func(Notice) error) error {
	b := tx.Bucket(bucketNotices)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		var r noticeRec
		if err := decodeJSON("notice "+string(k), v, &r); err != nil {
			return err
		}
		return fn(r.notice(string(k)))
	})
}

// putNotice writes n as its batch's notice (the bucket made on the first).
func putNotice(tx *bolt.Tx, n Notice) error {
	b, err := tx.CreateBucketIfNotExists(bucketNotices)
	if err != nil {
		return err
	}
	v, err := encodeNotice(n)
	if err != nil {
		return err
	}
	return b.Put([]byte(n.Batch), v)
}
