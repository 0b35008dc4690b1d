-- Every list a tenant or an admin can ask for is an index range scan, however big the
-- ledger: one index per (who is asking, what they filter by), each in the lists' order
-- (created_at, id), so a page reads its rows and stops (tests/test_query_plans.py).
--
-- Who is asking: a tenant (tenant = ?) or, for observers and admins, one account at a
-- time (account = ?; several accounts are merged page by page). What they filter by:
-- nothing, status, item_id. A merchant_order_id finds at most one order per tenant (the
-- unique key) and few across tenants (the partial index below).
CREATE INDEX orders_tenant_status ON orders (tenant, status, created_at, id);
CREATE INDEX orders_account_status ON orders (account, status, created_at, id);
CREATE INDEX orders_tenant_item ON orders (tenant, item_id, created_at, id);
CREATE INDEX orders_account_item ON orders (account, item_id, created_at, id);
CREATE INDEX orders_merchant ON orders (merchant_order_id) WHERE merchant_order_id IS NOT NULL;

-- The reconciler's open orders, oldest update first: only open orders are in it, so
-- it stays small as the ledger grows (the old one indexed every order's status).
DROP INDEX orders_open;
CREATE INDEX orders_open ON orders (updated_at) WHERE status IN ('pending', 'processing');

-- Delivery logs and operators' message lists page by (time, id) as well.
DROP INDEX delivery_attempts_subscription;
CREATE INDEX delivery_attempts_subscription ON delivery_attempts (subscription_id, at, id);
DROP INDEX messages_subscription;
CREATE INDEX messages_subscription ON messages (subscription_id, created_at, id);
CREATE INDEX messages_created ON messages (created_at, id);
