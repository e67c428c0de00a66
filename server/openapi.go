package server

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openapiJSON is the hand-written OpenAPI 3 description of the whole HTTP
// API (including the label and public routes), checked against real
// responses by the tests so it cannot drift.
//
//go:embed openapi.json
var openapiJSON []byte

// openAPI serves the OpenAPI document. Codes: 200.
func (s *Server) openAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openapiJSON)
}
