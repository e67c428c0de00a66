-- Batch notices (recalls and advisories): at most one per batch, shown
-- for the batch's members and carriers. Clearing deletes the row; the
-- audit log keeps the history.
CREATE TABLE notices (
	batch text COLLATE "C" PRIMARY KEY,
	severity text NOT NULL CHECK (severity IN ('recall', 'advisory')),
	text text NOT NULL,
	text_en text NOT NULL DEFAULT '',
	since date NOT NULL,
	set_at timestamptz NOT NULL,
	set_by text NOT NULL DEFAULT ''
);
