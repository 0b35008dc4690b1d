-- Rows past their retention are deleted a batch at a time, oldest first (gateway/retention.py).
-- Each batch walks one of these indexes from its oldest entry: it reads what it deletes.
-- Delivered and cancelled messages need none of their own: they are found on `messages_due`
-- (state, next_attempt_at), which holds every message already.

-- Keys past `[gateway] idempotency_ttl_hours` replay nothing any more (a reuse starts afresh).
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
-- Provider events past `[gateway] provider_event_retention_hours`: the provider stopped retrying.
CREATE INDEX provider_events_received ON provider_events (received_at)
