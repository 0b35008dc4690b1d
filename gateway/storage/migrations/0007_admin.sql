-- Tenants, their tokens and their per-plugin policies live here from now on, managed through
-- the admin API (gateway/admin). The config file's tenants are applied once, on the first start
-- with this table empty; after that `gateway config diff|apply FILE` syncs the file on demand.

-- A deleted tenant keeps its row (deleted_at set, no tokens, no policies): its orders still name
-- it, and a new tenant under the same name would see them.
CREATE TABLE tenants (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    accounts TEXT NOT NULL,
    default_account TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);

-- Only a token's SHA-256 is kept (gateway/tenants.py says why no slow hash is needed); its id is
-- derived from that hash, so the same token declared in the file and in the database is one row.
CREATE TABLE tenant_tokens (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants (name),
    hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT
);
CREATE INDEX tenant_tokens_tenant ON tenant_tokens (tenant, created_at);

CREATE TABLE tenant_policies (
    tenant TEXT NOT NULL REFERENCES tenants (name),
    plugin TEXT NOT NULL,
    mode TEXT NOT NULL,
    settings TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant, plugin)
);

-- One row: bumped by every change above, in the same transaction, so that a replica that sees
-- a new version reloads everything at once (PostgreSQL also NOTIFYs it: gateway/admin/watch.py).
-- seeded_at: when the config file's tenants were first applied.
CREATE TABLE admin_state (
    id INTEGER PRIMARY KEY,
    version BIGINT NOT NULL,
    seeded_at TEXT
);
INSERT INTO admin_state (id, version) VALUES (1, 0);

-- Each plugin hook that ran for an order, in the order it ran (GET /v1/orders/{id}/decisions):
-- one row per order per batch the writer took (its placement, later its settlement), the hooks'
-- outcomes as a JSON list in `entries`, so that an order costs two rows rather than ten.
-- A refused order has decisions and no order row: `tenant` says whose it was.
CREATE TABLE order_decisions (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    at TEXT NOT NULL,
    seq BIGINT NOT NULL,
    entries TEXT NOT NULL
);
CREATE INDEX order_decisions_order ON order_decisions (order_id, at, seq);
CREATE INDEX order_decisions_at ON order_decisions (at)
