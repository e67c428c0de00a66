package server

import (
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// Role sets used by the matrix below.
var (
	public        []registry.Role // no key needed
	adminOnly     = []registry.Role{registry.RoleAdmin}
	anyRole       = []registry.Role{registry.RoleAdmin, registry.RoleWarehouse, registry.RoleService}
	warehouseSide = []registry.Role{registry.RoleAdmin, registry.RoleWarehouse}
	serviceSide   = []registry.Role{registry.RoleAdmin, registry.RoleService}
)

// rule is one row of the role matrix: a route (echo path syntax) and the
// roles that may call it. A nil Roles means public.
type rule struct {
	Method string
	Path   string
	Roles  []registry.Role
}

// access is the role matrix of the contract, the single source both the
// router and the tests read: every route the server registers has exactly
// one row here, and New refuses a row without a handler or a handler without
// a row. Event-writing routes admit every role that may write some event
// type; eventAccess then decides per event (per row for POST /events).
var access = []rule{
	{"GET", "/", public},
	{"GET", "/healthz", public},
	{"GET", "/readyz", public},
	{"GET", "/openapi.json", public},
	// /metrics needs a key of any role unless Config.MetricsPublic.
	{"GET", "/metrics", anyRole},

	{"GET", "/api/v1/models", anyRole},
	{"GET", "/api/v1/models/:sku", anyRole},
	{"PUT", "/api/v1/models/:sku", warehouseSide},

	{"POST", "/api/v1/items", warehouseSide},
	{"GET", "/api/v1/items/:serial", anyRole},
	{"POST", "/api/v1/items/:serial/events", anyRole},
	{"GET", "/api/v1/items/:serial/entitlements", serviceSide},
	{"POST", "/api/v1/events", anyRole},
	{"POST", "/api/v1/orders/:order/received", anyRole},

	{"GET", "/api/v1/batches", warehouseSide},
	{"GET", "/api/v1/batches/:batch", warehouseSide},

	{"GET", "/api/v1/reports/quality", warehouseSide},
	{"GET", "/api/v1/reports/findings", warehouseSide},
	{"GET", "/api/v1/reports/expiring", warehouseSide},

	// Label reprints are the service desk's too; files of many are the warehouse's.
	{"GET", "/api/v1/items/:serial/label", anyRole},
	{"POST", "/api/v1/labels", warehouseSide},

	{"GET", "/api/v1/service/open", serviceSide},

	{"POST", "/api/v1/keys", adminOnly},
	{"GET", "/api/v1/keys", adminOnly},
	{"DELETE", "/api/v1/keys/:id", adminOnly},
	{"GET", "/api/v1/audit", adminOnly},
	{"GET", "/api/v1/admin/backup", adminOnly},
	{"POST", "/api/v1/users", adminOnly},
	{"GET", "/api/v1/users", adminOnly},
	{"PATCH", "/api/v1/users/:username", adminOnly},

	{"POST", "/api/v1/webhooks", adminOnly},
	{"GET", "/api/v1/webhooks", adminOnly},
	{"GET", "/api/v1/webhooks/:id", adminOnly},
	{"DELETE", "/api/v1/webhooks/:id", adminOnly},
	{"GET", "/api/v1/webhooks/:id/deliveries", adminOnly},
	{"POST", "/api/v1/webhooks/:id/deliveries/:delivery/retry", adminOnly},

	// Batch notices: set and cleared by an admin; read by every role (the
	// service desk shows them).
	{"PUT", "/api/v1/batches/:batch/notice", adminOnly},
	{"DELETE", "/api/v1/batches/:batch/notice", adminOnly},
	{"GET", "/api/v1/notices", anyRole},

	// The public coverage check (rate-limited per client instead).
	{"GET", "/c", public},
	{"GET", "/static/:file", public},
	{"GET", "/c/:serial", public},
	{"GET", "/c/:serial/terms", public},
	{"GET", "/01/:gtin14/21/:serial", public},
	{"GET", "/api/v1/public/coverage", public},
	{"POST", "/c/:serial/receipt", public},
	{"POST", "/api/v1/public/receipt", public},

	// What shipped under an order is read like items; registration
	// mistakes are undone by an admin only.
	{"GET", "/api/v1/orders/:order", anyRole},
	{"DELETE", "/api/v1/items/:serial", adminOnly},
	{"DELETE", "/api/v1/models/:sku", adminOnly},
}

// consoleAccess is the role matrix of the staff console (console*.go), in
// the same form as access. Console pages authenticate by a session cookie
// made by signing in (a person's username and password, or an admin's API
// key), not by a Bearer key: public rows need
// no session; the others redirect to the sign-in page without one and
// answer a 403 page to a key of a role not listed. Every console route has
// exactly one row here (routeConsole refuses a row without a handler or a
// handler without a row), and the console's navigation shows a page only to
// the roles its row lists. Event forms are checked per type by eventAccess,
// as the API is.
var consoleAccess = []rule{
	{"GET", "/console/static/:file", public},
	{"GET", "/console/sign-in", public},
	{"POST", "/console/sign-in", public},
	{"POST", "/console/sign-out", anyRole},
	{"GET", "/console", anyRole},

	{"GET", "/console/models", warehouseSide},
	{"GET", "/console/models/:sku", warehouseSide},
	{"POST", "/console/models", warehouseSide},
	{"GET", "/console/batches", warehouseSide},
	{"POST", "/console/batches", warehouseSide},
	{"GET", "/console/batches/:batch", warehouseSide},
	{"GET", "/console/batches/:batch/labels", warehouseSide},
	{"POST", "/console/batches/:batch/notice", adminOnly},
	{"POST", "/console/batches/:batch/notice/clear", adminOnly},
	{"GET", "/console/dispatch", warehouseSide},
	{"POST", "/console/dispatch", warehouseSide},
	{"POST", "/console/receipts", warehouseSide},
	{"GET", "/console/items/:serial/label", anyRole},
	{"GET", "/console/quality", warehouseSide},

	{"GET", "/console/desk", serviceSide},
	{"GET", "/console/items/:serial", serviceSide},
	{"POST", "/console/items/:serial/events", serviceSide},
	{"GET", "/console/items/:serial/entitlements", serviceSide},
	{"GET", "/console/queue", serviceSide},

	{"GET", "/console/users", adminOnly},
	{"POST", "/console/users", adminOnly},
	{"POST", "/console/users/:username", adminOnly},
}

// eventAccess says which roles may write each event type: warehouse
// dispatches and records receipts; service records receipts, transfers and
// every service step; corrections are admin-only. Admin may write any type.
var eventAccess = map[policy.EventType][]registry.Role{
	policy.EvDispatched:        warehouseSide,
	policy.EvReceived:          anyRole,
	policy.EvTransferred:       serviceSide,
	policy.EvIntake:            serviceSide,
	policy.EvDiagnosed:         serviceSide,
	policy.EvQuoted:            serviceSide,
	policy.EvPaid:              serviceSide,
	policy.EvDeclined:          serviceSide,
	policy.EvRepaired:          serviceSide,
	policy.EvReplaced:          serviceSide,
	policy.EvReturned:          serviceSide,
	policy.EvPaused:            serviceSide,
	policy.EvResumed:           serviceSide,
	policy.EvShipped:           serviceSide,
	policy.EvAccessoryReplaced: serviceSide,
	policy.EvCorrected:         adminOnly,
}

// authorize returns the middleware enforcing roles on one route: no or bad
// key -> 401 unauthorized, a key of another role -> 403 forbidden.
func (s *Server) authorize(roles []registry.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if roles == nil {
			return next
		}
		return func(c echo.Context) error {
			token, ok := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
			if !ok {
				return policy.Errorf(policy.EUnauthorized, "", "an API key is required: send Authorization: Bearer <key>")
			}
			key, err := s.db.Authenticate(token)
			if err != nil {
				return err
			}
			exchangeOf(c).key = key
			if !slices.Contains(roles, key.Role) {
				return policy.Errorf(policy.EForbidden, "", "%s key may not %s %s", policy.WithArticle(string(key.Role)), c.Request().Method, c.Path())
			}
			s.extendStream(c)
			return next(c)
		}
	}
}

// bearer extracts the token of an Authorization header ("Bearer" is
// case-insensitive, as RFC 9110 has it).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// keyOf is the authenticated key of the request (zero on public routes).
func keyOf(c echo.Context) registry.Key { return exchangeOf(c).key }

// actorOf is who the registry records for the request.
func actorOf(c echo.Context) registry.Actor {
	k := keyOf(c)
	return registry.Actor{KeyID: k.ID, Name: k.Name}
}

// mayWrite checks the event-type-level role. Errors: EForbidden.
func mayWrite(k registry.Key, t policy.EventType) error {
	roles, ok := eventAccess[t]
	if !ok || slices.Contains(roles, k.Role) {
		// An unknown type is the validator's to reject with invalid_field.
		return nil
	}
	return policy.Errorf(policy.EForbidden, "type", "%s key may not record %s events", policy.WithArticle(string(k.Role)), t).
		Keyed("auth.may_not_record", policy.Args{"role": k.Role, "type": t})
}
