package bolt

import (
	"strings"
	"sync"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

func TestAuthenticateSeesKeysOfTheFileAtOpen(t *testing.T) {
	db := MustOpen(t)
	_, live, err := db.CreateKey(admin, "desk", registry.RoleService)
	must(t, err)
	gone, goneToken, err := db.CreateKey(admin, "old desk", registry.RoleService)
	must(t, err)
	must(t, db.RevokeKey(admin, gone.ID))
	// A record nobody can read: the key it stands for is refused with the
	// decoding error, and the other keys still work.
	must(t, db.bolt.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketKeys).Put([]byte("damaged00000"), []byte{jsonV1, '{'})
	}))

	for _, ro := range []bool{false, true} {
		db = db.reopen(t, func(o *Options) { o.ReadOnly = ro })
		if k, err := db.Authenticate(live); err != nil || k.Name != "desk" || k.Role != registry.RoleService {
			t.Errorf("read-only %v: live key: %+v, %v", ro, k, err)
		}
		_, err = db.Authenticate(goneToken)
		wantCode(t, err, policy.EUnauthorized, "revoked")
		_, err = db.Authenticate("damaged00000." + strings.Repeat("a", 52))
		if err == nil || !strings.Contains(err.Error(), "damaged record") || policy.ErrorCode(err) != policy.EInternal {
			t.Errorf("read-only %v: damaged key record: %v", ro, err)
		}
	}
}

func TestKeyChangesReachAuthenticateAtOnce(t *testing.T) {
	db := MustOpen(t)
	_, _, err := db.CreateKey(admin, "root", registry.RoleAdmin)
	must(t, err)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() { // readers racing the writes below (go test -race)
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					db.Authenticate("aaaaaaaaaaaa." + strings.Repeat("b", 52))
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	for i := range 20 {
		k, token, err := db.CreateKey(admin, "desk", registry.RoleWarehouse)
		must(t, err)
		if got, err := db.Authenticate(token); err != nil || got != k {
			t.Fatalf("key %d right after CreateKey: %+v, %v; want %+v", i, got, err, k)
		}
		must(t, db.RevokeKey(admin, k.ID))
		_, err = db.Authenticate(token)
		wantCode(t, err, policy.EUnauthorized, "revoked")
	}
}
