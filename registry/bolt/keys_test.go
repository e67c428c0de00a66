package bolt

import (
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

func TestKeys(t *testing.T) {
	db := MustOpen(t)
	k, token, err := db.CreateKey(admin, " desk 1 ", registry.RoleAdmin)
	must(t, err)
	id, secret, _ := strings.Cut(token, ".")
	if k.ID != id || len(id) != 12 || len(secret) != 52 || k.Name != "desk 1" || k.Role != registry.RoleAdmin {
		t.Fatalf("CreateKey = %+v, %q", k, token)
	}
	got, err := db.Authenticate(token)
	must(t, err)
	if got.ID != k.ID || got.Role != registry.RoleAdmin {
		t.Fatalf("Authenticate = %+v", got)
	}
	for name, bad := range map[string]string{
		"wrong secret":  id + "." + strings.Repeat("a", 52),
		"unknown id":    "aaaaaaaaaaaa." + secret,
		"no separator":  id + secret,
		"empty":         "",
		"short id":      "abc." + secret,
		"empty secret":  id + ".",
		"other's token": strings.ToUpper(token),
	} {
		if _, err := db.Authenticate(bad); policy.ErrorCode(err) != policy.EUnauthorized {
			t.Errorf("%s: Authenticate = %v; want unauthorized", name, err)
		}
	}
	_, _, err = db.CreateKey(admin, "", registry.RoleAdmin)
	wantCode(t, err, policy.EInvalid, "name")
	_, _, err = db.CreateKey(admin, "x", "root")
	wantCode(t, err, policy.EInvalid, "role")

	wantCode(t, db.RevokeKey(admin, k.ID), policy.EConflict, "last active admin")
	db.clock.Advance(1e9)
	k2, token2, err := db.CreateKey(admin, "desk 2", registry.RoleWarehouse)
	must(t, err)
	wantCode(t, db.RevokeKey(admin, k.ID), policy.EConflict, "last active admin") // a warehouse key is no admin
	must(t, db.RevokeKey(admin, k2.ID))
	must(t, db.RevokeKey(admin, k2.ID)) // again: no change
	_, err = db.Authenticate(token2)
	wantCode(t, err, policy.EUnauthorized, "revoked")
	wantCode(t, db.RevokeKey(admin, "nosuchkey000"), policy.ENotFound)

	db.clock.Advance(1e9)
	k3, _, err := db.CreateKey(admin, "second admin", registry.RoleAdmin)
	must(t, err)
	must(t, db.RevokeKey(admin, k.ID))
	wantCode(t, db.RevokeKey(admin, k3.ID), policy.EConflict, "last active admin")

	keys, err := db.Keys()
	must(t, err)
	if len(keys) != 3 || keys[0].ID != k.ID || keys[0].Revoked.IsZero() || !keys[2].Revoked.IsZero() {
		t.Fatalf("Keys() = %+v", keys)
	}
	kb, err := db.KeyByID(k2.ID)
	must(t, err)
	if kb.Name != "desk 2" || kb.Revoked.IsZero() {
		t.Fatalf("KeyByID = %+v", kb)
	}
	_, err = db.KeyByID("nosuchkey000")
	wantCode(t, err, policy.ENotFound)

	// Keys survive a restart; the secret itself is never stored.
	db = db.reopen(t)
	if _, err := db.Authenticate(token); policy.ErrorCode(err) != policy.EUnauthorized {
		t.Fatalf("revoked key after restart: %v", err)
	}
	var file strings.Builder
	_, err = db.Backup(&file)
	must(t, err)
	if strings.Contains(file.String(), secret) {
		t.Fatal("the key's secret is stored in the file")
	}
}

func TestAuditPages(t *testing.T) {
	db := MustOpen(t)
	for i := range 7 {
		_, _, err := db.CreateKey(registry.Actor{KeyID: "k", Name: "setup"}, "key", registry.RoleService)
		must(t, err)
		if i == 3 {
			db.clock.Advance(-3600e9) // the clock going back never reorders or hides entries
		}
	}
	var all []registry.AuditEntry
	after := ""
	for {
		page, next, err := db.Audit(after, 3)
		must(t, err)
		all = append(all, page...)
		if next == "" {
			break
		}
		after = next
	}
	if len(all) != 7 {
		t.Fatalf("paged %d entries; want 7", len(all))
	}
	for i, e := range all {
		if e.Action != "key.create" || e.Name != "setup" || e.KeyID != "k" || e.At.IsZero() {
			t.Fatalf("entry %d = %+v", i, e)
		}
		if i > 0 && e.ID <= all[i-1].ID {
			t.Fatalf("ids out of order: %s then %s", all[i-1].ID, e.ID)
		}
	}
	_, _, err := db.Audit("zz", 10)
	wantCode(t, err, policy.EInvalid, "after")
	_, _, err = db.Audit("", -5)
	wantCode(t, err, policy.EInvalid, "limit")
}
