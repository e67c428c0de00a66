package server

// The console's staff accounts page (admins): add a person, change their
// role or centre, reset their password, disable or enable them.

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// userForm is a user form's fields as typed (never the password).
type userForm struct {
	Username, Name, Role, Center string
}

type usersBody struct {
	Users   []registry.User
	Roles   []registry.Role
	Centers []string // the centres of the users, for the forms' suggestions
	Form    userForm
	Err     *policy.Error
	Editing string // the user whose form was refused
}

func (s *Server) usersPage(c echo.Context, status int, b usersBody) error {
	us, err := s.db.Users()
	if err != nil {
		return err
	}
	b.Users, b.Roles = us, []registry.Role{registry.RoleService, registry.RoleWarehouse, registry.RoleAdmin}
	b.Centers = userCenters(us)
	return s.render(c, status, "users.html", page{Title: "console.users.title", Nav: "users", Body: b})
}

// userCenters are the distinct centres of enabled users, in order of first
// appearance (users are listed by username).
func userCenters(us []registry.User) []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range us {
		if u.Center != "" && !u.Disabled && !seen[strings.ToLower(u.Center)] {
			seen[strings.ToLower(u.Center)] = true
			out = append(out, u.Center)
		}
	}
	return out
}

// consoleUsers lists the staff accounts with a form for a new one.
// Codes: 200.
func (s *Server) consoleUsers(c echo.Context) error {
	return s.usersPage(c, http.StatusOK, usersBody{Form: userForm{Role: string(registry.RoleService)}})
}

// consoleCreateUser adds a staff account. Codes: 303 to the list; 409/422
// with the form again.
func (s *Server) consoleCreateUser(c echo.Context) error {
	f := userForm{Username: c.FormValue("username"), Name: c.FormValue("name"), Role: c.FormValue("role"), Center: c.FormValue("center")}
	role := registry.Role(f.Role)
	var err error
	if !role.Valid() {
		err = policy.Errorf(policy.EInvalid, "role", "role must be admin, warehouse or service, not %q", f.Role).
			Keyed("user.role_bad", policy.Args{"value": f.Role})
	} else {
		var u registry.User
		u, err = s.db.CreateUser(actorOf(c), registry.User{Username: f.Username, Name: f.Name, Role: role, Center: f.Center},
			c.FormValue("password"))
		if err == nil {
			s.flash(c, s.lang(c).T("console.users.added", u.Username))
			return c.Redirect(http.StatusSeeOther, consolePrefix+"/users")
		}
	}
	if pe, status, ok := refused(err); ok {
		return s.usersPage(c, status, usersBody{Form: f, Err: pe})
	}
	return err
}

// consoleUpdateUser changes one account from its row's form: name, role,
// centre, a new password (when typed) and disabled. Codes: 303 to the
// list; 404; 409/422 with the form again.
func (s *Server) consoleUpdateUser(c echo.Context) error {
	username := pathParam(c, "username")
	name, center := c.FormValue("name"), c.FormValue("center")
	role := registry.Role(c.FormValue("role"))
	disabled := c.FormValue("disabled") == "true"
	p := registry.UserPatch{Name: &name, Center: &center, Role: &role, Disabled: &disabled}
	if pw := c.FormValue("password"); pw != "" {
		p.Password = &pw
	}
	if !role.Valid() {
		p.Role = nil
	}
	u, err := s.db.UpdateUser(actorOf(c), username, p)
	if err == nil {
		l := s.lang(c)
		msg := l.T("console.users.saved", u.Username)
		if p.Password != nil {
			msg += l.T("console.users.password_reset")
		}
		if u.Disabled {
			msg = l.T("console.users.disabled_now", u.Username)
		}
		s.flash(c, msg)
		return c.Redirect(http.StatusSeeOther, consolePrefix+"/users")
	}
	if pe, status, ok := refused(err); ok && status != http.StatusNotFound {
		return s.usersPage(c, status, usersBody{Form: userForm{Role: string(registry.RoleService)}, Err: pe, Editing: username})
	}
	return err
}
