-- An endpoint's delivery rate, in deliveries a second per process (gateway/outbox/rates.py);
-- NULL: as fast as the endpoint answers (within per_endpoint_concurrency).
ALTER TABLE subscriptions ADD COLUMN rate_limit REAL
