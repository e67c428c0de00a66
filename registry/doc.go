// Package registry is the store's contract: the Store interface the server
// and the CLI use, with its role interfaces (store.go), the types they
// take and return (Row, Record, Actor, Write, pages, ...), and the rules
// every store applies the same way: row and event checks, what an event
// derives, idempotency answers, audit lines, the CSV format, the limits and
// the scan-count buffer. It holds no storage: registry/bolt keeps the
// registry in one bbolt file (the default), registry/postgres in a
// PostgreSQL database, and registry/storetest is the conformance suite both
// pass. It imports policy and the standard library only (and
// golang.org/x/crypto for password hashes).
//
// Every error a store's method returns is a *policy.Error (the method's doc
// in store.go names the codes) or, for a bug or an I/O failure, a plain
// error (policy.ErrorCode maps it to EInternal). A write either commits
// whole or leaves nothing behind.
package registry
