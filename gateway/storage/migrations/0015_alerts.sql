-- Operator alerts (gateway/alerts.py): one row per incident; the unique index on the open
-- ones means one alert per incident, whichever replica sees it first.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    closed_at TEXT,
    details TEXT NOT NULL
);
CREATE UNIQUE INDEX alerts_open ON alerts (kind, subject) WHERE closed_at IS NULL
