-- sanbao's registry on PostgreSQL, schema version 1. Columns hold what
-- reporting tools read (items, events as JSON, batches, the audit log);
-- times are timestamptz to the microsecond, calendar dates are date.
-- Identifiers sort bytewise (COLLATE "C"), as on the bbolt file, whatever
-- the database's locale: pages and cursors walk serials in one order.
CREATE TABLE meta (name text PRIMARY KEY, value bytea NOT NULL);
-- A counter is the sum of its stripes: concurrent writes add to different
-- rows (items.go, addCount) instead of queueing on one.
CREATE TABLE counts (name text NOT NULL, stripe smallint NOT NULL, n bigint NOT NULL DEFAULT 0, PRIMARY KEY (name, stripe));

CREATE TABLE models (sku text COLLATE "C" PRIMARY KEY, model jsonb NOT NULL);

CREATE TABLE items (
	serial text COLLATE "C" PRIMARY KEY,
	sku text COLLATE "C" NOT NULL,
	kind text NOT NULL,
	warranty_months integer NOT NULL,
	batch text COLLATE "C" NOT NULL,
	produced_on date,
	accessories jsonb,
	registered_at timestamptz NOT NULL,
	replaces text,
	exchanged_on date,
	exchanges integer NOT NULL DEFAULT 0,
	-- derived from the history, kept for the indexes below
	state text NOT NULL DEFAULT 'registered',
	dispatched_on date,
	order_no text COLLATE "C",
	received_on date,
	evidence text,
	superseded_by text,
	seq bigint NOT NULL DEFAULT 0,
	open_case bigint NOT NULL DEFAULT 0
);
CREATE INDEX items_batch ON items (batch, serial);
CREATE INDEX items_order ON items (order_no, serial) WHERE order_no IS NOT NULL;
CREATE INDEX items_open ON items (serial) WHERE open_case <> 0;

CREATE TABLE events (
	serial text COLLATE "C" NOT NULL,
	seq bigint NOT NULL,
	event jsonb NOT NULL,
	PRIMARY KEY (serial, seq)
);

-- products carrying a bundled accessory of a batch (never removed)
CREATE TABLE carriers (batch text COLLATE "C" NOT NULL, serial text COLLATE "C" NOT NULL, PRIMARY KEY (batch, serial));
CREATE TABLE batch_counts (batch text COLLATE "C" PRIMARY KEY, members bigint NOT NULL DEFAULT 0, carriers bigint NOT NULL DEFAULT 0);

CREATE TABLE scans (
	serial text COLLATE "C" PRIMARY KEY,
	count bigint NOT NULL,
	first_at timestamptz NOT NULL,
	last_at timestamptz NOT NULL
);

CREATE TABLE keys (
	id text COLLATE "C" PRIMARY KEY,
	name text NOT NULL,
	role text NOT NULL,
	hash bytea NOT NULL,
	created timestamptz NOT NULL,
	revoked timestamptz
);

-- Entries are read in id order. A writer takes a shared advisory lock
-- (audit.go) before drawing an id and a reader an exclusive one, so a
-- reader never passes an id whose transaction has yet to commit.
CREATE TABLE audit (
	id bigserial PRIMARY KEY,
	at timestamptz NOT NULL,
	key_id text NOT NULL DEFAULT '',
	name text NOT NULL DEFAULT '',
	action text NOT NULL,
	target text NOT NULL DEFAULT '',
	detail text NOT NULL DEFAULT ''
);

-- Idempotency-Keys are the caller's (registry.IdempotencyCaller).
CREATE TABLE idempotency (
	caller text NOT NULL,
	key text NOT NULL,
	at timestamptz NOT NULL,
	request_hash bytea NOT NULL,
	answer bytea NOT NULL,
	PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_at ON idempotency (at);
