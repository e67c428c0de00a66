-- Webhooks: subscriptions with their signing secrets, and the outbox — a
-- delivery per event and subscription, inserted in the event's
-- transaction, claimed by one replica at a time (lease_until, taken with
-- FOR UPDATE SKIP LOCKED).
CREATE TABLE webhooks (
	id text COLLATE "C" PRIMARY KEY,
	url text NOT NULL,
	events text[] NOT NULL,
	secret bytea NOT NULL,
	created timestamptz NOT NULL
);

CREATE TABLE webhook_deliveries (
	n bigserial PRIMARY KEY,
	webhook text COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
	serial text COLLATE "C" NOT NULL,
	seq bigint NOT NULL,
	type text NOT NULL,
	status text NOT NULL,
	attempts integer NOT NULL DEFAULT 0,
	last_error text NOT NULL DEFAULT '',
	created timestamptz NOT NULL,
	since timestamptz NOT NULL,
	next_attempt timestamptz,
	delivered_at timestamptz,
	lease_until timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt, n) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_of ON webhook_deliveries (webhook, n);
