package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runWithStdin runs one command with stdin.
func runWithStdin(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := newMain(nil)
	m.Stdin = strings.NewReader(stdin)
	err := m.Run(context.Background(), args, &stdout, &stderr)
	return stderr.String(), err
}

func TestUsersCreateReadsThePasswordFromStdin(t *testing.T) {
	db := tempDB(t)
	errOut, err := runWithStdin(t, "first admin pw\n", "users", "create", "--db", db, "--username", "Boss", "--role", "admin",
		"--name", "王经理", "--center", "上海服务网点")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "created admin user boss") {
		t.Errorf("stderr: %q", errOut)
	}
	reg := openDB(t, db)
	u, err := reg.CheckPassword("boss", "first admin pw")
	if err != nil {
		t.Fatalf("the password read from stdin does not sign in: %v", err)
	}
	if u.Name != "王经理" || u.Center != "上海服务网点" || u.Role != "admin" {
		t.Errorf("user = %+v", u)
	}
}

func TestUsersCreateRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"a short password", "short\n", []string{"--username", "li", "--role", "service"}, "at least 10 characters"},
		{"no password", "", []string{"--username", "li", "--role", "service"}, "at least 10 characters"},
		{"no username", "long enough pw\n", []string{"--role", "service"}, "--username"},
		{"an unknown role", "long enough pw\n", []string{"--username", "li", "--role", "root"}, "--role"},
		{"a bad username", "long enough pw\n", []string{"--username", "li wei", "--role", "service"}, "--username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"users", "create", "--db", tempDB(t)}, tc.args...)
			_, err := runWithStdin(t, tc.stdin, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
