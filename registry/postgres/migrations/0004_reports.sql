-- The maker's reports (issue 19): counters kept by every write in its own
-- transaction (reports.go). Filled from the items on file by the Go code
-- that applies this migration (Store.migrate), since a tally is a policy
-- rule, not SQL.
CREATE TABLE report_quality (
	sku text COLLATE "C" NOT NULL,
	batch text COLLATE "C" NOT NULL,
	month text COLLATE "C" NOT NULL, -- 2006-01 of receipt, '' when none
	units bigint NOT NULL DEFAULT 0,
	received bigint NOT NULL DEFAULT 0,
	cases bigint NOT NULL DEFAULT 0,
	free_repairs bigint NOT NULL DEFAULT 0,
	replacements bigint NOT NULL DEFAULT 0,
	returns bigint NOT NULL DEFAULT 0,
	early_failures bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (sku, batch, month)
);

CREATE TABLE report_findings (
	kind "char" NOT NULL, -- f: finding, p: part
	sku text COLLATE "C" NOT NULL,
	month text COLLATE "C" NOT NULL, -- 2006-01 the case was opened
	name text COLLATE "C" NOT NULL,
	n bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (kind, sku, month, name)
);

-- The expiring report's index: a serial's warranty end as of its last event.
CREATE TABLE report_expiry (
	serial text COLLATE "C" PRIMARY KEY,
	sku text COLLATE "C" NOT NULL,
	batch text COLLATE "C" NOT NULL,
	until date NOT NULL
);
CREATE INDEX report_expiry_until ON report_expiry (until, serial);
CREATE INDEX report_expiry_sku ON report_expiry (sku, until, serial);
