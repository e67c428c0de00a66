package server

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// userView is a staff account as the API shows it: never its password.
type userView struct {
	Username string        `json:"username"`
	Name     string        `json:"name"`
	Role     registry.Role `json:"role"`
	Center   string        `json:"center"`
	Disabled bool          `json:"disabled"`
	Created  stamp         `json:"created"`
	Updated  stamp         `json:"updated"`
}

func (s *Server) userView(u registry.User) userView {
	return userView{Username: u.Username, Name: u.Name, Role: u.Role, Center: u.Center, Disabled: u.Disabled,
		Created: s.stamp(u.Created), Updated: s.stamp(u.Updated)}
}

// userRequest is the body of POST /api/v1/users and PATCH
// /api/v1/users/{username}; absent fields of a PATCH stay as they are.
type userRequest struct {
	Username *string `json:"username"`
	Name     *string `json:"name"`
	Role     *string `json:"role"`
	Center   *string `json:"center"`
	Disabled *bool   `json:"disabled"`
	Password *string `json:"password"`
}

// readUser decodes a user request body and its registry change.
// Errors: as decodeJSON; EInvalid (role).
func readUser(c echo.Context) (userRequest, registry.UserPatch, error) {
	var r userRequest
	body, err := readBody(c)
	if err != nil {
		return r, registry.UserPatch{}, err
	}
	if err := decodeJSON(body, &r); err != nil {
		return r, registry.UserPatch{}, err
	}
	p := registry.UserPatch{Name: r.Name, Center: r.Center, Password: r.Password, Disabled: r.Disabled}
	if r.Role != nil {
		role := registry.Role(strings.TrimSpace(*r.Role))
		if !role.Valid() {
			return r, p, policy.Errorf(policy.EInvalid, "role", "role must be admin, warehouse or service, not %q", *r.Role)
		}
		p.Role = &role
	}
	return r, p, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// createUser makes a staff account ({"username", "name", "role", "center",
// "password"}). Codes: 201 (the user); 400 (malformed body); 401; 403; 409
// (username taken); 422 (username, name, role, center, password of fewer
// than 10 characters); 503/507.
func (s *Server) createUser(c echo.Context) error {
	r, p, err := readUser(c)
	if err != nil {
		return err
	}
	if r.Disabled != nil {
		return policy.Errorf(policy.EInvalid, "disabled", "a new user is enabled; disable it with PATCH")
	}
	if p.Role == nil {
		return policy.Errorf(policy.EInvalid, "role", "role is required: admin, warehouse or service")
	}
	u, err := s.db.CreateUser(actorOf(c), registry.User{Username: deref(r.Username), Name: deref(r.Name), Role: *p.Role,
		Center: deref(r.Center)}, deref(r.Password))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, s.userView(u))
}

// listUsers answers every user, disabled ones included, by username:
// {"users": [...]}. Codes: 200; 401; 403.
func (s *Server) listUsers(c echo.Context) error {
	us, err := s.db.Users()
	if err != nil {
		return err
	}
	out := struct {
		Users []userView `json:"users"`
	}{make([]userView, len(us))}
	for i, u := range us {
		out.Users[i] = s.userView(u)
	}
	return c.JSON(http.StatusOK, out)
}

// updateUser changes a user's name, role, centre, disabled flag or
// password; disabling or a new password ends the user's console sessions.
// Codes: 200 (the user); 400 (malformed body); 401; 403; 404; 409 (the last
// active admin user); 422 (a field, or username in the body); 503/507.
func (s *Server) updateUser(c echo.Context) error {
	r, p, err := readUser(c)
	if err != nil {
		return err
	}
	if r.Username != nil {
		return policy.Errorf(policy.EInvalid, "username", "a username cannot be changed; create a new user")
	}
	u, err := s.db.UpdateUser(actorOf(c), pathParam(c, "username"), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.userView(u))
}
