package bolt

import (
	"strings"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
	"go.etcd.io/bbolt"
)

func TestCreateUserChecksItsFields(t *testing.T) {
	db := MustOpen(t)
	for _, tc := range []struct {
		name     string
		u        registry.User
		password string
		field    string
	}{
		{"no username", registry.User{Role: registry.RoleService}, "long enough pw", "username"},
		{"a space in the username", registry.User{Username: "li wei", Role: registry.RoleService}, "long enough pw", "username"},
		{"a username of 65 characters", registry.User{Username: strings.Repeat("a", 65), Role: registry.RoleService}, "long enough pw", "username"},
		{"an unknown role", registry.User{Username: "li", Role: "root"}, "long enough pw", "role"},
		{"a password of 9 characters", registry.User{Username: "li", Role: registry.RoleService}, "123456789", "password"},
		{"a centre of 101 characters", registry.User{Username: "li", Role: registry.RoleService, Center: strings.Repeat("x", 101)}, "long enough pw", "center"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.CreateUser(admin, tc.u, tc.password)
			var pe *policy.Error
			if policy.ErrorCode(err) != policy.EInvalid || !asPolicy(err, &pe) || pe.Field != tc.field {
				t.Fatalf("CreateUser = %v; want invalid_field on %s", err, tc.field)
			}
		})
	}
	// Ten characters are enough, counted as characters, not bytes.
	u, err := db.CreateUser(admin, registry.User{Username: " Li.Wei ", Name: "李伟", Role: registry.RoleService, Center: "上海服务网点"}, "售后服务中心密码一二")
	must(t, err)
	if u.Username != "li.wei" || u.Name != "李伟" || u.Center != "上海服务网点" {
		t.Fatalf("CreateUser = %+v", u)
	}
	_, err = db.CreateUser(admin, registry.User{Username: "LI.WEI", Role: registry.RoleAdmin}, "another password")
	wantCode(t, err, policy.EConflict, "li.wei")
}

func asPolicy(err error, pe **policy.Error) bool {
	p, ok := err.(*policy.Error)
	*pe = p
	return ok
}

func TestPasswordsAreStoredAsArgon2idHashes(t *testing.T) {
	db := MustOpen(t)
	_, err := db.CreateUser(admin, registry.User{Username: "li", Role: registry.RoleService}, "correct horse battery")
	must(t, err)
	var stored string
	db.bolt.View(func(tx *bbolt.Tx) error {
		stored = string(tx.Bucket([]byte("users")).Get([]byte("li")))
		return nil
	})
	if strings.Contains(stored, "correct horse") || !strings.Contains(stored, `$argon2id$v=19$m=19456,t=2,p=1$`) {
		t.Fatalf("stored user: %s", stored)
	}
}

// The file holds a session id's hash, never the id (the behaviour of
// sessions is in the conformance suite, registry/storetest).
func TestSessionIDsAreStoredHashed(t *testing.T) {
	db := MustOpen(t)
	s, err := db.CreateSession(registry.Session{Username: "li", Expires: db.clock.Now().Add(12 * time.Hour), Center: "上海"})
	must(t, err)
	db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("sessions")).ForEach(func(k, v []byte) error {
			if strings.Contains(string(k)+string(v), s.ID) {
				t.Errorf("the session id is stored in the clear")
			}
			return nil
		})
	})
}
