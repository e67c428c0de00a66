package registry

import (
	"strings"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	bolt "go.etcd.io/bbolt"
)

func TestCreateUserChecksItsFields(t *testing.T) {
	db := MustOpen(t)
	for _, tc := range []struct {
		name     string
		u        User
		password string
		field    string
	}{
		{"no username", User{Role: RoleService}, "long enough pw", "username"},
		{"a space in the username", User{Username: "li wei", Role: RoleService}, "long enough pw", "username"},
		{"a username of 65 characters", User{Username: strings.Repeat("a", 65), Role: RoleService}, "long enough pw", "username"},
		{"an unknown role", User{Username: "li", Role: "root"}, "long enough pw", "role"},
		{"a password of 9 characters", User{Username: "li", Role: RoleService}, "123456789", "password"},
		{"a centre of 101 characters", User{Username: "li", Role: RoleService, Center: strings.Repeat("x", 101)}, "long enough pw", "center"},
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
	u, err := db.CreateUser(admin, User{Username: " Li.Wei ", Name: "李伟", Role: RoleService, Center: "上海服务网点"}, "售后服务中心密码一二")
	must(t, err)
	if u.Username != "li.wei" || u.Name != "李伟" || u.Center != "上海服务网点" {
		t.Fatalf("CreateUser = %+v", u)
	}
	_, err = db.CreateUser(admin, User{Username: "LI.WEI", Role: RoleAdmin}, "another password")
	wantCode(t, err, policy.EConflict, "li.wei")
}

func asPolicy(err error, pe **policy.Error) bool {
	p, ok := err.(*policy.Error)
	*pe = p
	return ok
}

func TestPasswordsAreStoredAsArgon2idHashes(t *testing.T) {
	db := MustOpen(t)
	_, err := db.CreateUser(admin, User{Username: "li", Role: RoleService}, "correct horse battery")
	must(t, err)
	var stored string
	db.bolt.View(func(tx *bolt.Tx) error {
		stored = string(tx.Bucket([]byte("users")).Get([]byte("li")))
		return nil
	})
	if strings.Contains(stored, "correct horse") || !strings.Contains(stored, `$argon2id$v=19$m=19456,t=2,p=1$`) {
		t.Fatalf("stored user: %s", stored)
	}
}

func TestCheckPassword(t *testing.T) {
	db := MustOpen(t)
	_, err := db.CreateUser(admin, User{Username: "li", Name: "李伟", Role: RoleService, Center: "上海"}, "correct horse battery")
	must(t, err)
	u, err := db.CheckPassword(" LI ", "correct horse battery")
	must(t, err)
	if u.Username != "li" || u.Role != RoleService || u.Center != "上海" {
		t.Fatalf("CheckPassword = %+v", u)
	}
	for name, c := range map[string][2]string{
		"a wrong password":       {"li", "correct horse battery!"},
		"an unknown user":        {"wang", "correct horse battery"},
		"no username":            {"", "correct horse battery"},
		"an empty password":      {"li", ""},
		"a megabyte of password": {"li", strings.Repeat("x", 1<<20)},
	} {
		_, err := db.CheckPassword(c[0], c[1])
		wantCode(t, err, policy.EUnauthorized, "wrong username or password")
		if err.Error() != "unauthorized: wrong username or password" {
			t.Errorf("%s: %q, want the same words for every refusal", name, err)
		}
	}
	disabled := true
	_, err = db.UpdateUser(admin, "li", UserPatch{Disabled: &disabled})
	must(t, err)
	_, err = db.CheckPassword("li", "correct horse battery")
	wantCode(t, err, policy.EUnauthorized, "wrong username or password")
}

func TestUpdateUser(t *testing.T) {
	db := MustOpen(t)
	_, err := db.CreateUser(admin, User{Username: "boss", Role: RoleAdmin}, "the first admin")
	must(t, err)
	_, err = db.CreateUser(admin, User{Username: "li", Role: RoleService}, "old password")
	must(t, err)
	name, center, role, pw := "李伟", "北京服务网点", RoleWarehouse, "new password!"
	u, err := db.UpdateUser(admin, "LI", UserPatch{Name: &name, Center: &center, Role: &role, Password: &pw})
	must(t, err)
	if u.Name != "李伟" || u.Center != "北京服务网点" || u.Role != RoleWarehouse {
		t.Fatalf("UpdateUser = %+v", u)
	}
	_, err = db.CheckPassword("li", "old password")
	wantCode(t, err, policy.EUnauthorized)
	_, err = db.CheckPassword("li", "new password!")
	must(t, err)

	short, bad := "short", Role("root")
	_, err = db.UpdateUser(admin, "li", UserPatch{Password: &short})
	wantCode(t, err, policy.EInvalid, "at least 10")
	_, err = db.UpdateUser(admin, "li", UserPatch{Role: &bad})
	wantCode(t, err, policy.EInvalid, "role")
	_, err = db.UpdateUser(admin, "nobody", UserPatch{Name: &name})
	wantCode(t, err, policy.ENotFound)

	// The last active admin user stays one.
	off, service := true, RoleService
	_, err = db.UpdateUser(admin, "boss", UserPatch{Disabled: &off})
	wantCode(t, err, policy.EConflict, "last active admin")
	_, err = db.UpdateUser(admin, "boss", UserPatch{Role: &service})
	wantCode(t, err, policy.EConflict, "last active admin")

	users, err := db.Users()
	must(t, err)
	if len(users) != 2 || users[0].Username != "boss" || users[1].Username != "li" {
		t.Fatalf("Users = %+v", users)
	}
	entries, _, err := db.Audit("", 0)
	must(t, err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+" "+e.Target)
	}
	if got := strings.Join(actions, ", "); got != "user.create boss, user.create li, user.update li" {
		t.Fatalf("audit: %s", got)
	}
}

func TestSessionsOutliveARestart(t *testing.T) {
	db := MustOpen(t)
	s, err := db.CreateSession(Session{Username: "li", Expires: db.clock.Now().Add(12 * time.Hour), Center: "上海"})
	must(t, err)
	if len(s.ID) != 43 || len(s.CSRF) != 43 || s.ID == s.CSRF {
		t.Fatalf("CreateSession = %+v", s)
	}
	must(t, db.UpdateSession(s.ID, func(x *Session) { x.Flash = "已受理" }))
	db = db.reopen(t)
	got, err := db.Session(s.ID)
	must(t, err)
	if got.Username != "li" || got.CSRF != s.CSRF || got.Flash != "已受理" || got.Center != "上海" {
		t.Fatalf("Session after reopen = %+v", got)
	}
	// The file holds the id's hash, not the id.
	db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("sessions")).ForEach(func(k, v []byte) error {
			if strings.Contains(string(k)+string(v), s.ID) {
				t.Errorf("the session id is stored in the clear")
			}
			return nil
		})
	})
	db.clock.Advance(12 * time.Hour)
	_, err = db.Session(s.ID)
	wantCode(t, err, policy.ENotFound)
}

func TestSessionsPerOwnerAreCappedAtTwenty(t *testing.T) {
	db := MustOpen(t)
	var ids []string
	for range 21 {
		s, err := db.CreateSession(Session{Username: "li", Expires: db.clock.Now().Add(time.Hour)})
		must(t, err)
		ids = append(ids, s.ID)
		db.clock.Advance(time.Second)
	}
	other, err := db.CreateSession(Session{Username: "wang", Expires: db.clock.Now().Add(time.Hour)})
	must(t, err)
	if _, err := db.Session(ids[0]); policy.ErrorCode(err) != policy.ENotFound {
		t.Errorf("the oldest of 21 sessions is still live: %v", err)
	}
	for _, id := range append(ids[1:], other.ID) {
		if _, err := db.Session(id); err != nil {
			t.Errorf("session %s: %v", id[:6], err)
		}
	}
}

func TestSessionsEndWithTheirOwner(t *testing.T) {
	db := MustOpen(t)
	_, err := db.CreateUser(admin, User{Username: "li", Role: RoleService}, "old password")
	must(t, err)
	_, err = db.CreateUser(admin, User{Username: "wang", Role: RoleService}, "old password")
	must(t, err)
	k, _, err := db.CreateKey(admin, "root", RoleAdmin)
	must(t, err)
	_, _, err = db.CreateKey(admin, "root 2", RoleAdmin)
	must(t, err)
	open := func(s Session) string {
		s.Expires = db.clock.Now().Add(time.Hour)
		x, err := db.CreateSession(s)
		must(t, err)
		return x.ID
	}
	live := func(id string) bool { _, err := db.Session(id); return err == nil }
	name, pw, off := "李伟", "new password!", true

	li, wang, key := open(Session{Username: "li"}), open(Session{Username: "wang"}), open(Session{KeyID: k.ID})
	_, err = db.UpdateUser(admin, "li", UserPatch{Name: &name})
	must(t, err)
	if !live(li) {
		t.Fatal("a change of name ended the session")
	}
	_, err = db.UpdateUser(admin, "li", UserPatch{Password: &pw})
	must(t, err)
	if live(li) || !live(wang) {
		t.Fatalf("after li's new password: li %v, wang %v", live(li), live(wang))
	}
	_, err = db.UpdateUser(admin, "wang", UserPatch{Disabled: &off})
	must(t, err)
	if live(wang) {
		t.Fatal("a disabled user's session is live")
	}
	must(t, db.RevokeKey(admin, k.ID))
	if live(key) {
		t.Fatal("a revoked key's session is live")
	}
	s := open(Session{Username: "li"})
	must(t, db.EndSession(s))
	if live(s) {
		t.Fatal("an ended session is live")
	}
	must(t, db.EndSession(s))
	_, err = db.CreateSession(Session{Expires: db.clock.Now().Add(time.Hour)})
	wantCode(t, err, policy.EInvalid)
}
