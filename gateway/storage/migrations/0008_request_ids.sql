-- The request that caused a tenant webhook (the tenant's place-order, or the provider's webhook
-- to the intake): sent as X-Request-Id with every delivery attempt and on its log lines, so
-- that one id follows an order from the tenant's call to the tenant's endpoint.
ALTER TABLE messages ADD COLUMN request_id TEXT
