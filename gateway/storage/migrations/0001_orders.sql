-- The order ledger and idempotency keys. Written once for both engines:
-- money and quantities are decimal strings (exact everywhere), times are
-- fixed-width UTC ISO-8601 strings (so they sort as text), JSON is text.

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    account TEXT NOT NULL,
    merchant_order_id TEXT,
    request_hash TEXT NOT NULL,
    item_id BIGINT NOT NULL,
    item_name TEXT,
    product_type TEXT,
    quantity TEXT,
    fields TEXT NOT NULL,
    currency TEXT NOT NULL,
    provider_order_id TEXT UNIQUE,
    status TEXT NOT NULL,
    price TEXT,
    refund_amount TEXT NOT NULL DEFAULT '0',
    delivered_quantity INTEGER NOT NULL DEFAULT 0,
    codes TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    error_message TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    completed_at TEXT,
    UNIQUE (tenant, merchant_order_id)
);

CREATE INDEX orders_tenant_created ON orders (tenant, created_at, id);
CREATE INDEX orders_account_created ON orders (account, created_at, id);
CREATE INDEX orders_created ON orders (created_at, id);
CREATE INDEX orders_open ON orders (status, updated_at);

CREATE TABLE idempotency_keys (
    tenant TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    order_id TEXT,
    response_status INTEGER,
    response_body TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant, idem_key)
);
