package bolt

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testDB is an open registry on a temporary file with its clock.
type testDB struct {
	*DB
	clock *clock
}

var admin = registry.Actor{KeyID: "adminkey0001", Name: "admin"}

// MustOpen opens a registry on a new file in t.TempDir(). At cleanup it
// runs the bbolt consistency check and fails the test on any problem, then
// closes the file.
func MustOpen(t testing.TB, opts ...func(*Options)) *testDB {
	t.Helper()
	return mustOpenPath(t, filepath.Join(t.TempDir(), "sanbao.db"), opts...)
}

func mustOpenPath(t testing.TB, path string, opts ...func(*Options)) *testDB {
	t.Helper()
	c := newClock()
	o := Options{Options: registry.Options{Now: c.Now}}
	for _, f := range opts {
		f(&o)
	}
	db, err := Open(path, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { checkAndClose(t, db) })
	return &testDB{DB: db, clock: c}
}

// reopen closes db and opens its file again with the same clock.
func (db *testDB) reopen(t testing.TB, opts ...func(*Options)) *testDB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	o := Options{Options: registry.Options{Now: db.clock.Now}}
	for _, f := range opts {
		f(&o)
	}
	n, err := Open(db.Path(), o)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { checkAndClose(t, n) })
	return &testDB{DB: n, clock: db.clock}
}

// checkAndClose runs the consistency check on db, or on its file when the
// test closed it, and closes it.
func checkAndClose(t testing.TB, db *DB) {
	err := db.Check()
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		var b *bbolt.DB
		if b, err = bbolt.Open(db.Path(), 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second}); err == nil {
			err = b.View(func(tx *bbolt.Tx) error {
				var errs []error
				for e := range tx.Check() {
					errs = append(errs, e)
				}
				return errors.Join(errs...)
			})
			b.Close()
		}
	}
	if err != nil {
		t.Errorf("consistency check of %s: %v", db.Path(), err)
	}
	db.Close()
}

// wantCode fails unless err carries code (and, when given, a message
// containing each of the words).
func wantCode(t testing.TB, err error, code string, words ...string) {
	t.Helper()
	if got := policy.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q); want code %q", err, got, code)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not mention %q", err, w)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rowErrors returns the rows of err's *policy.Error.
func rowErrors(t testing.TB, err error) []policy.RowError {
	t.Helper()
	var pe *policy.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *policy.Error", err)
	}
	return pe.Rows
}

// seedModels creates a product P1 (policy months), a product P24 (24
// months), a charger accessory CHG, an adapter ADP (6 months).
func seedModels(t testing.TB, db *testDB) {
	t.Helper()
	for _, m := range []policy.Model{
		{SKU: "P1", Name: "Mask One", Kind: policy.KindProduct},
		{SKU: "P24", Name: "Mask Pro", Kind: policy.KindProduct, WarrantyMonths: 24},
		{SKU: "CHG", Name: "Charger", Kind: policy.KindAccessory},
		{SKU: "ADP", Name: "Adapter", Kind: policy.KindAdapter, WarrantyMonths: 6},
	} {
		if _, _, err := db.PutModel(admin, m); err != nil {
			t.Fatalf("PutModel(%s): %v", m.SKU, err)
		}
	}
}

func date(s string) policy.Date {
	d, err := policy.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// register registers serials of sku in batch, failing the test on error.
func register(t testing.TB, db *testDB, sku, batch string, serials ...string) {
	t.Helper()
	rows := make([]registry.Row, len(serials))
	for i, s := range serials {
		rows[i] = registry.Row{Serial: s, SKU: sku, Batch: batch, ProducedOn: date("2026-10-01")}
	}
	if _, err := db.Register(admin, rows); err != nil {
		t.Fatalf("Register: %v", err)
	}
}
