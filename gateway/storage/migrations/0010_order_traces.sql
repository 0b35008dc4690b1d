-- The trace context of the tenant's place-order, kept with the order: the events the order
-- causes later (its completion, read from the provider's webhook) are delivered in that trace
-- too, so that one order is one trace (gateway/tracing.py).
ALTER TABLE orders ADD COLUMN traceparent TEXT
