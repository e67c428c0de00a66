package server

import (
	"mime"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// DefaultSmallBodyBytes bounds the body of every route not in largeBodies:
// a console form, a sign-in, a model, one event or a key fits in a few KiB,
// and a request that nobody has authenticated yet must not make the server
// hold megabytes.
const DefaultSmallBodyBytes = 64 << 10

// DefaultStreamTimeout is how long an authenticated stream (see streams)
// may take to read its request and write its answer.
const DefaultStreamTimeout = 10 * time.Minute

// largeBodies are the routes whose bodies may reach Config.MaxBodyBytes: a
// registration of up to 100,000 rows (API and console upload), a batch of
// events, a list of up to MaxLabels serials to print.
var largeBodies = map[routeKey]bool{
	{http.MethodPost, "/api/v1/items"}:    true,
	{http.MethodPost, "/api/v1/events"}:   true,
	{http.MethodPost, "/api/v1/labels"}:   true,
	{http.MethodPost, "/console/batches"}: true,
}

// streams are the routes whose authenticated requests may outlast the
// server's short read and write deadlines (cmd sets them on http.Server):
// large uploads, label files and backups, which a slow link needs minutes
// for. Everyone else, and these routes before the caller is known, is
// answered or cut within the short deadlines.
var streams = map[routeKey]bool{
	{http.MethodPost, "/api/v1/items"}:                 true,
	{http.MethodPost, "/api/v1/events"}:                true,
	{http.MethodPost, "/api/v1/labels"}:                true,
	{http.MethodGet, "/api/v1/items/:serial/label"}:    true,
	{http.MethodGet, "/api/v1/admin/backup"}:           true,
	{http.MethodPost, "/console/batches"}:              true,
	{http.MethodGet, "/console/batches/:batch/labels"}: true,
	{http.MethodGet, "/console/items/:serial/label"}:   true,
}

// bodyLimit is the most bytes c's route reads from a body.
func (s *Server) bodyLimit(c echo.Context) int64 {
	if largeBodies[routeKey{c.Request().Method, c.Path()}] {
		return s.cfg.MaxBodyBytes
	}
	return s.cfg.SmallBodyBytes
}

// parseSmallForm parses a form body of a small-body page route before any
// handler or session check reads it, so that a form past the limit is a 413
// rather than the empty values net/http's FormValue makes of a failed parse.
// Errors: ETooLarge (as *http.MaxBytesError), EBadRequest for a form that
// cannot be read.
func parseSmallForm(req *http.Request, limit int64) error {
	ct, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	var err error
	switch ct {
	case echo.MIMEApplicationForm:
		err = req.ParseForm()
	case echo.MIMEMultipartForm:
		err = req.ParseMultipartForm(limit)
	}
	if err != nil {
		return bodyReadError(err)
	}
	return nil
}

// extendStream gives an authenticated request of a stream route the long
// deadlines, from now. It is called once the caller is known (API key or
// console session) and before the body is read.
func (s *Server) extendStream(c echo.Context) {
	if !streams[routeKey{c.Request().Method, c.Path()}] {
		return
	}
	rc := http.NewResponseController(c.Response())
	deadline := time.Now().Add(s.cfg.StreamTimeout)
	// Errors mean the connection has no deadlines to move (a test's
	// recorder, HTTP/2 without support): the request keeps the server's.
	_ = rc.SetReadDeadline(deadline)
	_ = rc.SetWriteDeadline(deadline)
}
