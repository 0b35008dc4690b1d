-- Provider webhooks in, tenant webhooks out.

CREATE TABLE provider_events (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    provider_order_id TEXT NOT NULL,
    status TEXT NOT NULL,
    order_id TEXT,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (account, provider_order_id, status)
);

CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    scope TEXT NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TEXT,
    state TEXT NOT NULL,
    disabled_reason TEXT,
    failing_since TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX subscriptions_tenant ON subscriptions (tenant, created_at);

-- The outbox: one row per event per subscription, written in the same
-- transaction as the change it reports.
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    event_type TEXT NOT NULL,
    order_id TEXT,
    ordering TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_until TEXT,
    last_status INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX messages_due ON messages (state, next_attempt_at);
CREATE INDEX messages_order ON messages (subscription_id, order_id, ordering);
CREATE INDEX messages_subscription ON messages (subscription_id, created_at);

CREATE TABLE delivery_attempts (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at TEXT NOT NULL,
    status INTEGER,
    latency_ms INTEGER NOT NULL,
    response_excerpt TEXT,
    error TEXT
);
CREATE INDEX delivery_attempts_subscription ON delivery_attempts (subscription_id, at);
CREATE INDEX delivery_attempts_message ON delivery_attempts (message_id, attempt)
