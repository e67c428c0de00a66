-- Scan counts move onto the item's row: a lookup then reads one row of
-- one table by its primary key instead of joining a second index scan
-- (the scans table) on every request. Adding columns with constant
-- defaults rewrites nothing; only the items that were ever viewed are
-- updated. A view keeps the old table's name and columns for reporting
-- tools (rows only for items viewed at least once, as before).
ALTER TABLE items ADD COLUMN scan_count bigint NOT NULL DEFAULT 0,
	ADD COLUMN scan_first timestamptz, ADD COLUMN scan_last timestamptz;
UPDATE items i SET scan_count = s.count, scan_first = s.first_at, scan_last = s.last_at
	FROM scans s WHERE s.serial = i.serial;
DROP TABLE scans;
CREATE VIEW scans AS SELECT serial, scan_count AS count, scan_first AS first_at, scan_last AS last_at
	FROM items WHERE scan_count > 0;
