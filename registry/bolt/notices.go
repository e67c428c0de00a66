package bolt

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

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// noticeRec is a stored notice; the batch is its key.
type noticeRec struct {
	Severity registry.Severity `json:"severity"`
	Text     string            `json:"text"`
	TextEN   string            `json:"text_en,omitempty"`
	Since    policy.Date       `json:"since"`
	SetAt    time.Time         `json:"set_at"`
	SetBy    string            `json:"set_by,omitempty"`
}

// bucketNotices is created by the first notice set (lazily: no schema
// migration); a file without it has no notices.
var bucketNotices = []byte("notices")

// sameNotice says whether two notices say the same thing.
func sameNotice(a, b registry.Notice) bool {
	return a.Severity == b.Severity && a.Text == b.Text && a.TextEN == b.TextEN && a.Since == b.Since
}

func (r noticeRec) notice(batch string) registry.Notice {
	return registry.Notice{Batch: batch, Severity: r.Severity, Text: r.Text, TextEN: r.TextEN, Since: r.Since, SetAt: r.SetAt, SetBy: r.SetBy}
}

func encodeNotice(n registry.Notice) ([]byte, error) {
	return encodeJSON(noticeRec{Severity: n.Severity, Text: n.Text, TextEN: n.TextEN, Since: n.Since, SetAt: n.SetAt, SetBy: n.SetBy})
}

func getNotice(tx *bbolt.Tx, batch string) (*registry.Notice, error) {
	b := tx.Bucket(bucketNotices)
	if b == nil {
		return nil, nil
	}
	n, found, err := readNotice(b, batch)
	if !found || err != nil {
		return nil, err
	}
	return &n, nil
}

// readNotice reads batch's notice from b, the notices bucket. The notice
// holds no bytes of the transaction (decoding copies the texts), so it
// outlives it.
func readNotice(b *bbolt.Bucket, batch string) (registry.Notice, bool, error) {
	v := b.Get([]byte(batch))
	if v == nil {
		return registry.Notice{}, false, nil
	}
	var r noticeRec
	if err := decodeJSON("notice "+batch, v, &r); err != nil {
		return registry.Notice{}, false, err
	}
	return r.notice(batch), true, nil
}

// appendNotices appends to out the notices of batches that have one, in
// the order given. A file without the notices bucket has none: nothing is
// looked up (the public page's lookup of a registry that never had a
// notice costs nothing more).
func appendNotices(tx *bbolt.Tx, out []registry.Notice, batches []string) ([]registry.Notice, error) {
	b := tx.Bucket(bucketNotices)
	if b == nil {
		return out, nil
	}
	for _, batch := range batches {
		n, found, err := readNotice(b, batch)
		if err != nil {
			return out, err
		}
		if found {
			out = append(out, n)
		}
	}
	return out, nil
}

// PutNotice sets the notice of n.Batch (CheckNotice), replacing any it had;
// the bool reports that the batch had none. Setting the same notice again
// writes nothing and returns the one on record. Errors: EInvalid naming
// the field; ENotFound when the batch has no registered serial and no
// bundled accessory; EUnavailable.
func (db *DB) PutNotice(a registry.Actor, n registry.Notice) (registry.Notice, bool, error) {
	n, err := registry.CheckNotice(n)
	if err != nil {
		return registry.Notice{}, false, err
	}
	now := db.now()
	n.SetAt, n.SetBy = registry.Instant(now), a.Name
	created := false
	err = db.update(func(tx *bbolt.Tx) error {
		members, carriers := batchCount(tx, n.Batch)
		if members == 0 && carriers == 0 {
			return registry.NoSuchBatch(n.Batch)
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
		return db.audit(tx, a, registry.NoticeAction(old), n.Batch, registry.NoticeDetail(n), now)
	})
	if err != nil {
		return registry.Notice{}, false, err
	}
	return n, created, nil
}

// DeleteNotice clears a batch's notice. Errors: EInvalid for a malformed
// batch; ENotFound when it has none; EUnavailable.
func (db *DB) DeleteNotice(a registry.Actor, batch string) error {
	batch, err := policy.Ident("batch", batch)
	if err != nil {
		return err
	}
	now := db.now()
	return db.update(func(tx *bbolt.Tx) error {
		old, err := getNotice(tx, batch)
		if err != nil {
			return err
		}
		if old == nil {
			return registry.NoNotice(batch)
		}
		if err := tx.Bucket(bucketNotices).Delete([]byte(batch)); err != nil {
			return err
		}
		return db.audit(tx, a, "notice.clear", batch, registry.NoticeDetail(*old), now)
	})
}

// Notices lists every current notice in batch order. Errors: internal only.
func (db *DB) Notices() ([]registry.Notice, error) {
	out := []registry.Notice{}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		return eachNotice(tx, func(n registry.Notice) error {
			out = append(out, n)
			return nil
		})
	})
	return out, err
}

// BatchNotices returns the notices of the batches given (those that have
// one), in batch order. Errors: internal only.
func (db *DB) BatchNotices(batches []string) ([]registry.Notice, error) {
	out := []registry.Notice{}
	err := db.bolt.View(func(tx *bbolt.Tx) (err error) {
		out, err = appendNotices(tx, out, batches)
		return err
	})
	slices.SortFunc(out, func(a, b registry.Notice) int { return strings.Compare(a.Batch, b.Batch) })
	out = slices.CompactFunc(out, func(a, b registry.Notice) bool { return a.Batch == b.Batch })
	return out, err
}

// dumpNotices hands every notice to sink.
func dumpNotices(tx *bbolt.Tx, sink registry.Sink) error {
	return eachNotice(tx, sink.Notice)
}

// eachNotice calls fn with every notice, in batch order.
func eachNotice(tx *bbolt.Tx, fn func(registry.Notice) error) error {
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
func putNotice(tx *bbolt.Tx, n registry.Notice) error {
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
