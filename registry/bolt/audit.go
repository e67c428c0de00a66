package bolt

import (
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

// auditRec is a stored audit entry; its ID is the key.
type auditRec struct {
	At     time.Time `json:"at"`
	KeyID  string    `json:"key_id,omitempty"`
	Name   string    `json:"name,omitempty"`
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// auditKeyLen is 8 bytes of unix nanoseconds and 8 of the bucket's sequence.
const auditKeyLen = 16

// audit records a mutation in the same transaction as the mutation. Keys
// are time-ordered and never go backwards, even when the clock does, so a
// cursor never skips an entry.
func (db *DB) audit(tx *bbolt.Tx, a registry.Actor, action, target, detail string, now time.Time) error {
	b := tx.Bucket(bucketAudit)
	b.FillPercent = 1 // append-only
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	nanos := uint64(now.UnixNano())
	if last, _ := b.Cursor().Last(); len(last) == auditKeyLen {
		nanos = max(nanos, binary.BigEndian.Uint64(last))
	}
	key := binary.BigEndian.AppendUint64(be64(nanos), seq)
	v, err := encodeJSON(auditRec{At: now.UTC(), KeyID: a.KeyID, Name: a.Name, Action: action, Target: target, Detail: detail})
	if err != nil {
		return err
	}
	return b.Put(key, v)
}

// Audit lists audit entries oldest first, starting after the entry whose ID
// is after ("" = from the first). limit 0 means DefaultLimit; above MaxLimit
// it is MaxLimit. The string returned is the cursor of the next page, ""
// when there is none. Errors: EInvalid for a malformed cursor or a negative
// limit.
func (db *DB) Audit(after string, limit int) ([]registry.AuditEntry, string, error) {
	limit, err := registry.PageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	var start []byte
	if after != "" {
		k, err := hex.DecodeString(after)
		if err != nil || len(k) != auditKeyLen {
			return nil, "", policy.Errorf(policy.EInvalid, "after", "after must be the id of an audit entry")
		}
		start = append(k, 0) // the first key after `after`
	}
	out := []registry.AuditEntry{}
	next := ""
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		k, v := c.First()
		if start != nil {
			k, v = c.Seek(start)
		}
		for ; k != nil; k, v = c.Next() {
			if len(out) == limit {
				next = out[len(out)-1].ID
				break
			}
			var r auditRec
			id := hex.EncodeToString(k)
			if err := decodeJSON("audit entry "+id, v, &r); err != nil {
				return err
			}
			out = append(out, registry.AuditEntry{ID: id, At: r.At, KeyID: r.KeyID, Name: r.Name, Action: r.Action, Target: r.Target, Detail: r.Detail})
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}
