-- Staff accounts (argon2id hashes of their passwords, PHC strings),
-- console sessions (the SHA-256 of their ids), so that any replica serves
-- any signed-in browser, and the GTINs models have had.
CREATE TABLE users (
	username text COLLATE "C" PRIMARY KEY,
	name text NOT NULL DEFAULT '',
	role text NOT NULL,
	center text NOT NULL DEFAULT '',
	disabled boolean NOT NULL DEFAULT false,
	hash text NOT NULL,
	created timestamptz NOT NULL,
	updated timestamptz NOT NULL
);

CREATE TABLE sessions (
	hash bytea PRIMARY KEY,
	owner text COLLATE "C" NOT NULL, -- "u:" username or "k:" key id
	username text NOT NULL DEFAULT '',
	key_id text NOT NULL DEFAULT '',
	csrf text NOT NULL,
	created timestamptz NOT NULL,
	expires timestamptz NOT NULL,
	flash text NOT NULL DEFAULT '',
	center text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_owner ON sessions (owner, created);

-- Every GTIN a model has had (GTIN -> SKU): a GS1 Digital Link printed
-- under a model's earlier GTIN keeps resolving, and no other model takes it.
CREATE TABLE gtins (gtin text COLLATE "C" PRIMARY KEY, sku text COLLATE "C" NOT NULL);
INSERT INTO gtins (gtin, sku) SELECT model->>'gtin', sku FROM models WHERE coalesce(model->>'gtin', '') <> '';
