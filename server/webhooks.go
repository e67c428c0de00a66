package server

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// webhookView is a subscription as listed: never its secret.
type webhookView struct {
	ID      string   `json:"id"`
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Created stamp    `json:"created"`
}

func (s *Server) webhookView(w registry.Subscription) webhookView {
	return webhookView{ID: w.ID, URL: w.URL, Events: w.Events, Created: s.stamp(w.Created)}
}

// deliveryView is one delivery of a webhook, without its body.
type deliveryView struct {
	ID          string                  `json:"id"`
	Webhook     string                  `json:"webhook"`
	Serial      string                  `json:"serial"`
	Seq         uint64                  `json:"seq"`
	Type        policy.EventType        `json:"type"`
	Status      registry.DeliveryStatus `json:"status"`
	Attempts    int                     `json:"attempts"`
	LastError   nullString              `json:"last_error"`
	Created     stamp                   `json:"created"`
	NextAttempt stamp                   `json:"next_attempt"`
	DeliveredAt stamp                   `json:"delivered_at"`
}

func (s *Server) deliveryView(d registry.Delivery) deliveryView {
	return deliveryView{ID: d.ID, Webhook: d.Subscription, Serial: d.Serial, Seq: d.Seq, Type: d.Type,
		Status: d.Status, Attempts: d.Attempts, LastError: nullString(d.LastError), Created: s.stamp(d.Created),
		NextAttempt: s.stamp(d.NextAttempt), DeliveredAt: s.stamp(d.DeliveredAt)}
}

// webhookSecret is how a signing secret is shown: Standard Webhooks' form.
func webhookSecret(raw []byte) string { return "whsec_" + base64.StdEncoding.EncodeToString(raw) }

// createWebhook subscribes a URL to event types ({"url", "events"}). The
// signing secret is in this answer only. Codes: 201 {"id", "url",
// "events", "created", "secret"}; 400 (malformed body); 401; 403; 422 (url:
// not http(s), or its host is on a loopback, private, link-local or
// metadata address, or does not resolve; events); 503/507.
func (s *Server) createWebhook(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var r struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := decodeJSON(body, &r); err != nil {
		return err
	}
	u, err := registry.CheckWebhookURL(r.URL)
	if err != nil {
		return err
	}
	if !s.cfg.WebhookAllowPrivate {
		if err := checkWebhookHost(c.Request().Context(), u.Hostname()); err != nil {
			return err
		}
	}
	w, err := s.db.CreateSubscription(actorOf(c), r.URL, r.Events)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, struct {
		webhookView
		Secret string `json:"secret"`
	}{s.webhookView(w), webhookSecret(w.Secret)})
}

// checkWebhookHost refuses a host that is, or resolves to, an address a
// webhook must not reach (see blockedAddr). The dialer checks again at
// every connection, since DNS may answer differently later.
// Errors: EInvalid naming url.
func checkWebhookHost(ctx context.Context, host string) error {
	addrs := []netip.Addr{}
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = append(addrs, ip)
	} else {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if addrs, err = netResolver.LookupNetIP(ctx, "ip", host); err != nil || len(addrs) == 0 {
			return policy.Errorf(policy.EInvalid, "url", "url's host %s does not resolve: give a host name the server can look up", host)
		}
	}
	for _, a := range addrs {
		if why := blockedAddr(a); why != "" {
			return policy.Errorf(policy.EInvalid, "url", "url's host %s is %s, %s; webhooks go to public addresses only (serve --webhook-allow-private lifts this)", host, a.Unmap(), why)
		}
	}
	return nil
}

// listWebhooks answers every subscription, oldest first: {"webhooks": [...]}.
// Codes: 200; 401; 403.
func (s *Server) listWebhooks(c echo.Context) error {
	ws, err := s.db.Subscriptions()
	if err != nil {
		return err
	}
	out := struct {
		Webhooks []webhookView `json:"webhooks"`
	}{make([]webhookView, len(ws))}
	for i, w := range ws {
		out.Webhooks[i] = s.webhookView(w)
	}
	return c.JSON(http.StatusOK, out)
}

// getWebhook answers one subscription. Codes: 200; 400 (malformed id);
// 401; 403; 404.
func (s *Server) getWebhook(c echo.Context) error {
	id, err := identParam(c, "id")
	if err != nil {
		return err
	}
	w, err := s.db.Subscription(id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.webhookView(w))
}

// deleteWebhook removes a subscription and its deliveries, pending ones
// included. Codes: 204; 400; 401; 403; 404; 503/507.
func (s *Server) deleteWebhook(c echo.Context) error {
	id, err := identParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.db.DeleteSubscription(actorOf(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// listWebhookDeliveries answers a subscription's deliveries, newest first,
// a page at a time (?status=pending|delivered|dead, ?after=<delivery id>,
// ?limit): {"deliveries": [...], "next"}. Codes: 200; 400 (malformed id,
// status, cursor or limit); 401; 403; 404.
func (s *Server) listWebhookDeliveries(c echo.Context) error {
	id, err := identParam(c, "id")
	if err != nil {
		return err
	}
	limit, err := queryLimit(c, registry.DefaultLimit, registry.MaxLimit)
	if err != nil {
		return err
	}
	ds, next, err := s.db.Deliveries(id, registry.DeliveryStatus(c.QueryParam("status")), c.QueryParam("after"), limit)
	if err != nil {
		return asParam(err)
	}
	out := struct {
		Deliveries []deliveryView `json:"deliveries"`
		Next       nullString     `json:"next"`
	}{make([]deliveryView, len(ds)), nullString(next)}
	for i, d := range ds {
		out.Deliveries[i] = s.deliveryView(d)
	}
	return c.JSON(http.StatusOK, out)
}

// retryWebhookDelivery queues a dead delivery again, with the same
// webhook-id and a new 24-hour retry window. Codes: 202 (the delivery);
// 400; 401; 403; 404 (webhook or delivery); 409 (not dead); 503/507.
func (s *Server) retryWebhookDelivery(c echo.Context) error {
	id, err := identParam(c, "id")
	if err != nil {
		return err
	}
	delivery, err := identParam(c, "delivery")
	if err != nil {
		return err
	}
	d, err := s.db.RetryDelivery(actorOf(c), id, delivery)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, s.deliveryView(d))
}

// webhookPayload is the body of an event's deliveries: {"type", "serial",
// "event", "item"}, the event and the item as the API shows them just
// after the event (its history up to the event, evaluated at its recording
// time, so that a retry sends the same item). Written by hand as the item
// view is (itemjson.go): the sender renders one per attempt.
func (s *Server) webhookPayload(ap registry.Appended) []byte {
	at := ap.Event.RecordedAt
	ev, item := s.eventView(ap.Event), s.itemView(ap.Record, s.policy.Today(at), at)
	b := make([]byte, 0, 2048)
	b = append(b, `{"type":`...)
	b = appendJSONString(b, string(ap.Event.Type))
	b = append(b, `,"serial":`...)
	b = appendJSONString(b, ap.Serial)
	b = append(b, `,"event":`...)
	b = ev.appendJSON(b)
	b = append(b, `,"item":`...)
	b = item.appendJSON(b)
	return append(b, '}')
}
