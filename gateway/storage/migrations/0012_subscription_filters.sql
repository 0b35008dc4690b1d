-- A subscription's payload filter (gateway/outbox/filters.py), as JSON text; NULL: every
-- event of its types.
ALTER TABLE subscriptions ADD COLUMN filter TEXT
