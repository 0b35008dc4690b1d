-- The trace context (W3C traceparent) of the work that wrote a tenant webhook: every delivery
-- attempt's span continues it and sends it on, so that the trace a tenant started with its
-- place-order goes on into the webhook it receives (gateway/tracing.py).
ALTER TABLE messages ADD COLUMN traceparent TEXT
