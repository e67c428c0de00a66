package server

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// keyView is an API key as listed: never its secret.
type keyView struct {
	ID      string        `json:"id"`
	Name    string        `json:"name"`
	Role    registry.Role `json:"role"`
	Active  bool          `json:"active"`
	Created stamp         `json:"created"`
	Revoked stamp         `json:"revoked"`
}

func (s *Server) keyView(k registry.Key) keyView {
	return keyView{ID: k.ID, Name: k.Name, Role: k.Role, Active: k.Revoked.IsZero(),
		Created: s.stamp(k.Created), Revoked: s.stamp(k.Revoked)}
}

// createKey makes an API key ({"name", "role"}). The key itself is in this
// answer only; the registry keeps its hash. Codes: 201 {"id", "name",
// "role", "key", "created"}; 400 (malformed body); 401; 403; 422 (name,
// role); 503/507.
func (s *Server) createKey(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var r struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := decodeJSON(body, &r); err != nil {
		return err
	}
	role := registry.Role(strings.TrimSpace(r.Role))
	if !role.Valid() {
		return policy.Errorf(policy.EInvalid, "role", "role must be admin, warehouse or service, not %q", r.Role)
	}
	k, token, err := s.db.CreateKey(actorOf(c), r.Name, role)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, struct {
		ID      string        `json:"id"`
		Name    string        `json:"name"`
		Role    registry.Role `json:"role"`
		Key     string        `json:"key"`
		Created stamp         `json:"created"`
	}{k.ID, k.Name, k.Role, token, s.stamp(k.Created)})
}

// listKeys answers every key, revoked ones included: {"keys": [...]}.
// Codes: 200; 401; 403.
func (s *Server) listKeys(c echo.Context) error {
	ks, err := s.db.Keys()
	if err != nil {
		return err
	}
	out := struct {
		Keys []keyView `json:"keys"`
	}{make([]keyView, len(ks))}
	for i, k := range ks {
		out.Keys[i] = s.keyView(k)
	}
	return c.JSON(http.StatusOK, out)
}

// revokeKey revokes a key at once (its next request gets 401). Codes: 204;
// 400 (malformed id); 401; 403; 404; 409 (the last active admin key);
// 503/507.
func (s *Server) revokeKey(c echo.Context) error {
	id, err := identParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.db.RevokeKey(actorOf(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
