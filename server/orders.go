package server

// What shipped under an order, and the undoing of registration mistakes
// (contract, "Registration mistakes").

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
)

// orderView is GET /api/v1/orders/{order}.
type orderView struct {
	Order string          `json:"order"`
	Count int             `json:"count"`
	Items []orderLineView `json:"items"`
}

type orderLineView struct {
	Serial       string       `json:"serial"`
	SKU          string       `json:"sku"`
	Kind         policy.Kind  `json:"kind"`
	State        policy.State `json:"state"`
	DispatchedOn policy.Date  `json:"dispatched_on"`
	ReceivedOn   policy.Date  `json:"received_on"`
}

// getOrder answers the serials dispatched under an order, each with its
// model, kind, state and dispatch and receipt dates, in serial order.
// Codes: 200; 400 (malformed order); 401; 403; 404 (nothing dispatched
// under it).
func (s *Server) getOrder(c echo.Context) error {
	order, err := identParam(c, "order")
	if err != nil {
		return err
	}
	lines, err := s.db.Order(order)
	if err != nil {
		return err
	}
	v := orderView{Order: order, Count: len(lines), Items: make([]orderLineView, len(lines))}
	for i, l := range lines {
		v.Items[i] = orderLineView{Serial: l.Serial, SKU: l.SKU, Kind: l.Kind, State: l.State,
			DispatchedOn: l.DispatchedOn, ReceivedOn: l.ReceivedOn}
	}
	return c.JSON(http.StatusOK, v)
}

// deleteItem unregisters a serial registered by mistake
// (?reason=… required, kept in the audit log). Codes: 204; 400 (malformed
// serial); 401; 403; 404; 409 (the serial has events, or replaced
// another); 422 (reason missing or too long); 503/507.
func (s *Server) deleteItem(c echo.Context) error {
	serial, err := identParam(c, "serial")
	if err != nil {
		return err
	}
	if err := s.db.DeleteItem(actorOf(c), serial, c.QueryParam("reason")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// deleteModel deletes a model defined by mistake, while no item uses it.
// Codes: 204; 400 (malformed SKU); 401; 403; 404; 409 (an item uses it);
// 503/507.
func (s *Server) deleteModel(c echo.Context) error {
	sku, err := identParam(c, "sku")
	if err != nil {
		return err
	}
	if err := s.db.DeleteModel(actorOf(c), sku); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
