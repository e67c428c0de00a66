package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sanbao/sanbao/registry"
	"golang.org/x/term"
)

var usersCreateCommand = &command{
	name:     "users create",
	synopsis: "--username NAME --role admin|warehouse|service [--name TEXT] [--center TEXT] [--db FILE]",
	summary:  "create a staff account (offline; the first admin's); the password is asked for, or read from stdin",
	maxArgs:  0,
	setup:    (*Main).setupUsersCreate,
}

func (m *Main) setupUsersCreate(f *flags) runFunc {
	db := dbFlag(f)
	username := f.String("username", "", "the `username` the person signs in with (a-z, 0-9, . _ -)")
	role := f.String("role", "", "`role`: admin, warehouse or service")
	name := f.String("name", "", "the person's `name`, as the console shows it")
	center := f.String("center", "", "the service `centre` the person works at (fills the intake form)")
	return func(ctx context.Context, _ []string, stdout, stderr io.Writer) (err error) {
		r := registry.Role(strings.TrimSpace(*role))
		if !r.Valid() {
			return f.errorf("role", "%q is not admin, warehouse or service", *role)
		}
		if strings.TrimSpace(*username) == "" {
			return f.errorf("username", "required (e.g. --username li.wei)")
		}
		password, err := m.readPassword(stderr)
		if err != nil {
			return err
		}
		d, err := openOffline(*db, false)
		if err != nil {
			return err
		}
		defer closeDB(d, *db, &err)
		u, err := d.CreateUser(cliActor(), registry.User{Username: *username, Name: *name, Role: r, Center: *center}, password)
		if err != nil {
			return withField(f, err, map[string]string{"username": "username", "role": "role", "name": "name", "center": "center"})
		}
		_, err = fmt.Fprintf(stderr, "created %s user %s\n", u.Role, u.Username)
		return err
	}
}

// readPassword asks for the password twice on a terminal, without echo;
// otherwise it reads the first line of stdin (for scripts).
func (m *Main) readPassword(stderr io.Writer) (string, error) {
	in := m.stdin()
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(prompt string) (string, error) {
			fmt.Fprint(stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			return string(b), err
		}
		p, err := ask("Password (at least 10 characters): ")
		if err != nil {
			return "", err
		}
		again, err := ask("Again: ")
		if err != nil {
			return "", err
		}
		if p != again {
			return "", fmt.Errorf("the two passwords differ; nothing was created")
		}
		return p, nil
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
