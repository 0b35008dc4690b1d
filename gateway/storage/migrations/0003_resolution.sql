-- No dead ends: orders whose outcome is unknown are re-sent until the provider answers
-- definitively, and work owned by a process that died is recognised in seconds.

-- The process whose request is still placing the order (NULL once that request ended).
ALTER TABLE orders ADD COLUMN owner TEXT;
-- When an `unknown` order is next re-sent, and how often it was.
ALTER TABLE orders ADD COLUMN resend_at TEXT;
ALTER TABLE orders ADD COLUMN resend_attempts INTEGER NOT NULL DEFAULT 0;
-- Why an operator must decide (NULL while the gateway can still find out by itself).
ALTER TABLE orders ADD COLUMN unresolved TEXT;
-- Each set of unresolved orders has a partial index: they stay small while the ledger grows.
CREATE INDEX orders_resend ON orders (resend_at) WHERE status = 'unknown';
CREATE INDEX orders_unresolved ON orders (created_at) WHERE unresolved IS NOT NULL;
CREATE INDEX orders_placed_without_id ON orders (created_at)
    WHERE provider_order_id IS NULL AND status IN ('pending', 'processing');

ALTER TABLE idempotency_keys ADD COLUMN owner TEXT;

-- Gateway processes and their heartbeats: an owner not seen for seconds is dead.
CREATE TABLE gateway_instances (
    id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started_at TEXT NOT NULL,
    seen_at TEXT NOT NULL
);

-- Orders left `unknown` before this version: due to be re-sent (past the window, they go to
-- an operator, as every unknown order does).
UPDATE orders SET resend_at = created_at WHERE status = 'unknown';
