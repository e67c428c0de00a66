package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

var _ interface {
	registry.Dumper
	registry.Loader
} = (*DB)(nil)

// Dump hands the file's contents to sink, read in one read transaction.
// Errors: the sink's; internal ones (a damaged record).
func (db *DB) Dump(sink registry.Sink) error {
	return db.bolt.View(func(tx *bbolt.Tx) error {
		if err := sink.Secret(bytes.Clone(tx.Bucket(bucketMeta).Get(metaSecret))); err != nil {
			return err
		}
		err := tx.Bucket(bucketModels).ForEach(func(k, v []byte) error {
			var m policy.Model
			if err := decodeJSON("model "+string(k), v, &m); err != nil {
				return err
			}
			return sink.Model(m)
		})
		if err != nil {
			return err
		}
		if b := tx.Bucket(bucketGTINs); b != nil {
			err = b.ForEach(func(k, v []byte) error { return sink.GTIN(string(k), string(v)) })
		} else { // a file whose models have not been written since GTINs were indexed
			err = tx.Bucket(bucketModels).ForEach(func(k, v []byte) error {
				var m policy.Model
				if err := decodeJSON("model "+string(k), v, &m); err != nil || m.GTIN == "" {
					return err
				}
				return sink.GTIN(m.GTIN, m.SKU)
			})
		}
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketItems).ForEach(func(k, v []byte) error {
			r, err := decodeItem(string(k), v)
			if err != nil {
				return err
			}
			rec, err := record(tx, r)
			if err != nil {
				return err
			}
			rec.Scans = db.scans.Merge(r.Serial, rec.Scans, uint64(tx.ID()))
			return sink.Item(registry.ItemDump{Item: r.Item, Seq: r.Seq, History: rec.History, Scans: rec.Scans, Derived: registry.Derived{
				State: r.State, DispatchedOn: r.DispatchedOn, Order: r.Order, ReceivedOn: r.ReceivedOn,
				Evidence: r.Evidence, SupersededBy: r.SupersededBy, OpenCase: r.OpenCase}})
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketBatches).ForEach(func(k, v []byte) error {
			if len(v) == 0 || v[0]&flagCarrier == 0 {
				return nil
			}
			batch, serial, _ := strings.Cut(string(k), "\x00")
			return sink.Carrier(batch, serial)
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketKeys).ForEach(func(k, v []byte) error {
			var r keyRec
			if err := decodeJSON("key "+string(k), v, &r); err != nil {
				return err
			}
			return sink.Key(registry.KeyDump{Key: r.key(string(k)), Hash: r.Hash})
		})
		if err != nil {
			return err
		}
		if b := tx.Bucket(bucketUsers); b != nil { // nil: a read-only file written before users existed
			err = b.ForEach(func(k, v []byte) error {
				var r userRec
				if err := decodeJSON("user "+string(k), v, &r); err != nil {
					return err
				}
				return sink.User(registry.UserDump{User: r.user(string(k)), Hash: r.Hash})
			})
			if err != nil {
				return err
			}
		}
		err = tx.Bucket(bucketAudit).ForEach(func(k, v []byte) error {
			var r auditRec
			id := hex.EncodeToString(k)
			if err := decodeJSON("audit entry "+id, v, &r); err != nil {
				return err
			}
			return sink.Audit(registry.AuditEntry{ID: id, At: r.At, KeyID: r.KeyID, Name: r.Name, Action: r.Action, Target: r.Target, Detail: r.Detail})
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketIdempotency).ForEach(func(k, v []byte) error {
			if len(v) < 1+8+32 || v[0] != idemV1 {
				return errUnknownVersion("idempotency key " + string(k))
			}
			caller, key, scoped := strings.Cut(string(k), "\x00")
			if !scoped {
				caller, key = "", string(k)
			}
			return sink.Idempotency(registry.IdempotencyDump{Caller: caller, Key: key, At: time.Unix(0, int64(binary.BigEndian.Uint64(v[1:9]))).UTC(),
				RequestHash: bytes.Clone(v[9:41]), Answer: bytes.Clone(v[41:])})
		})
		if err != nil {
			return err
		}
		if err := dumpWebhooks(tx, sink); err != nil {
			return err
		}
		return dumpNotices(tx, sink)
	})
}

// Load writes what fill hands it into this file, which must hold no model,
// item or key, in one transaction; the indexes and counts are rebuilt from
// the items. Errors: EConflict when the file is not empty; fill's;
// EUnavailable.
func (db *DB) Load(fill func(registry.Sink) error) error {
	return db.update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketModels, bucketItems, bucketKeys, bucketUsers} {
			if k, _ := tx.Bucket(b).Cursor().First(); k != nil {
				return registry.NotEmpty(db.path)
			}
		}
		var lastAudit uint64
		return fill(registry.Sink{
			Secret: func(secret []byte) error {
				db.secrets[0] = bytes.Clone(secret)
				return tx.Bucket(bucketMeta).Put(metaSecret, bytes.Clone(secret))
			},
			Model: func(m policy.Model) error {
				v, err := encodeJSON(m)
				if err != nil {
					return err
				}
				if err := tx.Bucket(bucketModels).Put([]byte(m.SKU), v); err != nil {
					return err
				}
				return addCounter(tx, countModels, 1)
			},
			GTIN: func(gtin, sku string) error {
				b, err := gtinIndex(tx)
				if err != nil {
					return err
				}
				return b.Put([]byte(gtin), []byte(sku))
			},
			Item: func(it registry.ItemDump) error {
				r := itemRec{Item: it.Item, State: it.Derived.State, DispatchedOn: it.Derived.DispatchedOn, Order: it.Derived.Order,
					ReceivedOn: it.Derived.ReceivedOn, Evidence: it.Derived.Evidence, SupersededBy: it.Derived.SupersededBy,
					Seq: it.Seq, OpenCase: it.Derived.OpenCase, Scanned: it.Scans.Count > 0}
				for i := range it.History {
					if err := tx.Bucket(bucketEvents).Put(eventKey(r.Serial, it.History[i].Seq), appendEvent(nil, &it.History[i])); err != nil {
						return err
					}
				}
				if err := putItem(tx, &r); err != nil {
					return err
				}
				if err := indexBatch(tx, r.Batch, r.Serial, flagMember); err != nil {
					return err
				}
				if r.Order != "" {
					if err := tx.Bucket(bucketOrders).Put(compositeKey(r.Order, []byte(r.Serial)), nil); err != nil {
						return err
					}
				}
				if r.OpenCase != 0 {
					if err := tx.Bucket(bucketCases).Put([]byte(r.Serial), be64(r.OpenCase)); err != nil {
						return err
					}
					if err := addCounter(tx, countCases, 1); err != nil {
						return err
					}
				}
				if it.Scans.Count > 0 {
					if err := tx.Bucket(bucketScans).Put([]byte(r.Serial), encodeScans(it.Scans)); err != nil {
						return err
					}
				}
				// The report counters are no part of a dump: rebuilt here.
				if err := retally(tx, r.Item, policy.Tally{}, db.policy.Tally(r.Item, it.History)); err != nil {
					return err
				}
				return addCounter(tx, countItems, 1)
			},
			Carrier: func(batch, serial string) error { return indexBatch(tx, batch, serial, flagCarrier) },
			Key: func(k registry.KeyDump) error {
				v, err := encodeJSON(keyRec{Name: k.Key.Name, Role: k.Key.Role, Hash: k.Hash, Created: k.Key.Created, Revoked: k.Key.Revoked})
				if err != nil {
					return err
				}
				db.keys.putOnCommit(tx, k.Key.ID, keyRec{Name: k.Key.Name, Role: k.Key.Role, Hash: k.Hash, Created: k.Key.Created, Revoked: k.Key.Revoked})
				return tx.Bucket(bucketKeys).Put([]byte(k.Key.ID), v)
			},
			User: func(u registry.UserDump) error {
				return putUser(tx.Bucket(bucketUsers), u.User.Username, userRec{Name: u.User.Name, Role: u.User.Role, Center: u.User.Center,
					Disabled: u.User.Disabled, Hash: u.Hash, Created: u.User.Created, Updated: u.User.Updated})
			},
			Audit: func(e registry.AuditEntry) error {
				// Kept in the order handed over, whatever the clocks said.
				b := tx.Bucket(bucketAudit)
				seq, err := b.NextSequence()
				if err != nil {
					return err
				}
				lastAudit = max(lastAudit, uint64(e.At.UnixNano()))
				v, err := encodeJSON(auditRec{At: e.At, KeyID: e.KeyID, Name: e.Name, Action: e.Action, Target: e.Target, Detail: e.Detail})
				if err != nil {
					return err
				}
				return b.Put(binary.BigEndian.AppendUint64(be64(lastAudit), seq), v)
			},
			Idempotency: func(k registry.IdempotencyDump) error {
				key := []byte(k.Key)
				if k.Caller != "" {
					key = []byte(k.Caller + "\x00" + k.Key)
				}
				if len(k.RequestHash) != 32 {
					return fmt.Errorf("idempotency key %s: request hash of %d bytes", k.Key, len(k.RequestHash))
				}
				return storeKey(tx, key, [32]byte(k.RequestHash), k.Answer, k.At)
			},
			Webhook:  func(w registry.Subscription) error { return loadWebhook(tx, w) },
			Delivery: func(d registry.Delivery) error { return loadDelivery(tx, d) },
			Notice:   func(n registry.Notice) error { return putNotice(tx, n) },
		})
	})
}
