// Package bolt is the registry in one bbolt file, sanbao's embedded
// default store (registry.Store): models, registered serials and their
// append-only histories, the indexes hanging on them, API keys, the audit
// log, idempotency keys and public-view counts, in one file. Events are
// validated with policy.Validate inside the write transaction that appends
// them, and an item's derived fields come from policy.Coverage and
// policy.OpenCase, through the rules package registry holds for every
// store.
//
// Every error a method returns is a *policy.Error (its doc names the codes)
// or, for a bug or an I/O failure, a plain error (policy.ErrorCode maps it
// to EInternal). A write either commits whole — fsync'd before the method
// returns — or leaves nothing behind: a full disk or a read-only file
// system gives EUnavailable, reads keep working, and writes resume once the
// cause is gone.
//
// # On-disk layout (schema version 1)
//
// Values start with a version byte; index values are flags or empty.
//
//	bucket       key                                  value
//	meta         "schema", "secret"                   big-endian version; 32-byte check-code secret
//	models       SKU                                  1 + JSON policy.Model
//	items        serial                               1 + binary item: terms fixed at registration
//	                                                  (sku, kind, months, batch, produced_on, bundled
//	                                                  accessories with name, kind and months,
//	                                                  registered_at), the replacement link, and the
//	                                                  fields derived from the history (state, dates,
//	                                                  order, evidence, superseded_by, last seq, open case)
//	events       serial 0x00 big-endian seq           2 + binary policy.Event (field mask, then the
//	                                                  fields that are set), or 1 + JSON as written
//	                                                  before (append-only; both are read)
//	batches      batch 0x00 serial                    flags: 1 member of the batch, 2 carries a bundled
//	                                                  accessory of it (entries are never removed)
//	batchcounts  batch                                uvarint members, uvarint carriers
//	orders       order 0x00 serial                    empty: the order of the item's effective dispatch
//	cases        serial                               big-endian id of the open service case
//	scans        serial                               1 + count, first, last (public views)
//	counts       "items", "models", "open_cases"      big-endian uint64
//	keys         key id                               1 + JSON: name, role, SHA-256 of the secret, created, revoked
//	audit        big-endian unix nanos ‖ sequence     1 + JSON: at, key id, name, action, target, detail
//	idempotency  caller key id 0x00 Idempotency-Key   1 + unix nanos + SHA-256 of the request + first answer
//	             (a bare Idempotency-Key: stored before keys were scoped to their caller; read, never written)
//	idemtime     big-endian unix nanos ‖ stored key   empty: pruning order (keys live at least 24 hours)
//	webhooks     subscription id                      1 + JSON: url, event types, signing secret, created
//	deliveries   subscription id 0x00 big-endian n    1 + JSON: serial, seq, type, status, attempts, last
//	                                                  error, created, retry window start, next attempt,
//	                                                  delivered at (the outbox; id msg_<n in hex>)
//	outbox       big-endian due unix nanos ‖ n         subscription id: the pending deliveries, due first
//
// Open refuses a file of a newer schema and migrates an older one after
// copying it beside itself (path.bak-v<N>-<time>).
//
// # Writes
//
// Single appends from concurrent callers are committed together through
// bbolt's Batch (one fsync for the group); a lone writer goes straight to
// Update. Registrations, AppendMany and ReceiveOrder are one transaction
// each. Public views (Scan) are counted in memory and written every few
// seconds; a crash can lose only those counts.
//
// # Import atomicity
//
// Import (the offline `sanbao import`) is all or nothing at validation and
// resumable at writing: it reads and checks the whole input against the
// database first — any bad row and nothing is written — then writes the
// rows in serial order in transactions of 250,000 rows, each complete
// (items, batch index entries and counts, an audit entry). A run cut short
// leaves a consistent file holding the first rows in serial order; running
// the same import again completes it, the rows already there counting as
// unchanged. A single transaction for millions of rows would hold them all
// in memory at once; undoing committed chunks would need a second copy of
// the data.
package bolt
