"""Every statement on tenants, tenant_tokens, tenant_policies and admin_state.

A change and the bump of `admin_state.version` are one transaction; on
PostgreSQL the same transaction NOTIFYs the new version (delivered at
commit, never for a rolled-back change), so that replicas reload at once
instead of at their next poll. A reload reads everything: a few hundred
tenants are three small queries, and a replica never holds half a change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from gateway.clock import Clock, stamp, unstamp
from gateway.config import Role
from gateway.errors import Conflict
from gateway.storage import Database, Transaction

CHANNEL = "gateway_admin"
MODES = ("enforce", "shadow", "off")
T = TypeVar("T")


def token_id(digest: str) -> str:
    """Derived from the token's hash: the file and the database name one token alike."""
    return "tok_" + hashlib.sha256(digest.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TokenRecord:
    id: str
    tenant: str
    hash: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class Policy:
    mode: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class TenantRecord:
    name: str
    role: Role
    accounts: tuple[str, ...]
    default_account: str
    disabled: bool
    created_at: datetime
    updated_at: datetime
    tokens: tuple[TokenRecord, ...] = ()
    policies: dict[str, Policy] = field(default_factory=dict)
    rates: dict[str, int] = field(default_factory=dict)  # its own request rates


@dataclass(frozen=True)
class Snapshot:
    version: int
    seeded: bool
    tenants: dict[str, TenantRecord]


def _time(text: str | None) -> datetime | None:
    return None if text is None else unstamp(text)


def _token(row: dict[str, Any]) -> TokenRecord:
    return TokenRecord(
        row["id"], row["tenant"], row["hash"], row["label"], unstamp(row["created_at"]),
        _time(row["expires_at"]), _time(row["last_used_at"]),
    )  # fmt: skip


class AdminStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # --- reading --------------------------------------------------------------------

    async def version(self) -> int:
        row = await self.db.fetchrow("SELECT version FROM admin_state WHERE id = 1")
        return int(row["version"]) if row else 0

    async def snapshot(self) -> Snapshot:
        async def read(tx: Transaction) -> Snapshot:
            state = await tx.fetchrow("SELECT version, seeded_at FROM admin_state WHERE id = 1")
            rows = await tx.fetch(
                "SELECT name, role, accounts, default_account, disabled, created_at, updated_at,"
                " rates FROM tenants WHERE deleted_at IS NULL ORDER BY name"
            )
            tokens = await tx.fetch(
                "SELECT id, tenant, hash, label, created_at, expires_at, last_used_at"
                " FROM tenant_tokens ORDER BY tenant, created_at, id"
            )
            policies = await tx.fetch(
                "SELECT tenant, plugin, mode, settings FROM tenant_policies ORDER BY tenant, plugin"
            )
            by_tenant: dict[str, list[TokenRecord]] = {}
            for row in tokens:
                by_tenant.setdefault(row["tenant"], []).append(_token(row))
            rules: dict[str, dict[str, Policy]] = {}
            for row in policies:
                rules.setdefault(row["tenant"], {})[row["plugin"]] = Policy(
                    row["mode"], json.loads(row["settings"])
                )
            tenants = {
                row["name"]: TenantRecord(
                    row["name"],
                    Role(row["role"]),
                    tuple(json.loads(row["accounts"])),
                    row["default_account"],
                    bool(row["disabled"]),
                    unstamp(row["created_at"]),
                    unstamp(row["updated_at"]),
                    tuple(by_tenant.get(row["name"], ())),
                    rules.get(row["name"], {}),
                    json.loads(row["rates"]) if row["rates"] else {},
                )
                for row in rows
            }
            assert state is not None
            return Snapshot(int(state["version"]), state["seeded_at"] is not None, tenants)

        return await self.db.transaction(read)

    async def was_deleted(self, name: str) -> bool:
        row = await self.db.fetchrow(
            "SELECT deleted_at FROM tenants WHERE name = $1 AND deleted_at IS NOT NULL", name
        )
        return row is not None

    # --- writing --------------------------------------------------------------------

    async def change(self, work: Callable[[Transaction, str], Awaitable[T]]) -> T:
        """Run `work(tx, now)` and bump the version with it, in one transaction."""
        now = stamp(self.clock.now())

        async def run(tx: Transaction) -> T:
            result = await work(tx, now)
            row = await tx.fetchrow(
                "UPDATE admin_state SET version = version + 1 WHERE id = 1 RETURNING version"
            )
            if self.db.engine == "postgresql":
                assert row is not None
                await tx.execute("SELECT pg_notify($1, $2)", CHANNEL, str(row["version"]))
            return result

        return await self.db.transaction(run)


async def insert_tenant(
    tx: Transaction, now: str, name: str, role: Role, accounts: tuple[str, ...], default: str,
    fix: str = "choose another name",
) -> None:  # fmt: skip
    """A new tenant, if its name was never taken: a deleted tenant's orders keep its name,
    and a new tenant under it would see them. `fix` ends the refusal's message."""
    row = await tx.fetchrow("SELECT deleted_at FROM tenants WHERE name = $1", name)
    if row is not None:
        raise Conflict(
            f"tenant {name!r} already exists"
            if row["deleted_at"] is None
            else f"tenant {name!r} was deleted and its orders keep the name; {fix}",
            details={"field": "name"},
        )
    await tx.execute(
        "INSERT INTO tenants (name, role, accounts, default_account, disabled, created_at,"
        " updated_at) VALUES ($1, $2, $3, $4, FALSE, $5, $5)",
        name, role.value, json.dumps(list(accounts)), default, now,
    )  # fmt: skip


async def update_tenant(tx: Transaction, now: str, name: str, values: dict[str, Any]) -> bool:
    columns = {"role", "accounts", "default_account", "disabled", "rates"}
    assert set(values) <= columns
    stored = {
        k: json.dumps(list(v) if k == "accounts" else v, sort_keys=True)
        if k in ("accounts", "rates")
        else v
        for k, v in values.items()
    }
    role = stored.get("role")
    if isinstance(role, Role):
        stored["role"] = role.value
    sets = ", ".join(f"{column} = ${n}" for n, column in enumerate(stored, start=3))
    done = await tx.execute(
        f"UPDATE tenants SET updated_at = $2{', ' if sets else ''}{sets}"
        " WHERE name = $1 AND deleted_at IS NULL",
        name, now, *stored.values(),
    )  # fmt: skip
    return done > 0


async def delete_tenant(tx: Transaction, now: str, name: str) -> bool:
    await tx.execute("DELETE FROM tenant_tokens WHERE tenant = $1", name)
    await tx.execute("DELETE FROM tenant_policies WHERE tenant = $1", name)
    done = await tx.execute(
        "UPDATE tenants SET deleted_at = $2, disabled = TRUE, updated_at = $2"
        " WHERE name = $1 AND deleted_at IS NULL",
        name, now,
    )  # fmt: skip
    return done > 0


async def insert_token(
    tx: Transaction, now: str, tenant: str, digest: str, label: str, expires_at: str | None
) -> str:
    ident = token_id(digest)
    await tx.execute(
        "INSERT INTO tenant_tokens (id, tenant, hash, label, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        ident, tenant, digest, label, now, expires_at,
    )  # fmt: skip
    return ident


async def delete_token(tx: Transaction, tenant: str, ident: str) -> bool:
    done = await tx.execute(
        "DELETE FROM tenant_tokens WHERE tenant = $1 AND id = $2", tenant, ident
    )
    return done > 0


async def put_policy(
    tx: Transaction, now: str, tenant: str, plugin: str, policy: Policy | None
) -> None:
    await tx.execute(
        "DELETE FROM tenant_policies WHERE tenant = $1 AND plugin = $2", tenant, plugin
    )
    if policy is not None:
        await tx.execute(
            "INSERT INTO tenant_policies (tenant, plugin, mode, settings, updated_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            tenant, plugin, policy.mode, json.dumps(policy.settings, sort_keys=True), now,
        )  # fmt: skip


async def mark_seeded(tx: Transaction, now: str) -> bool:
    """True for the one caller that seeds: replicas starting together on an empty database."""
    done = await tx.execute(
        "UPDATE admin_state SET seeded_at = $1 WHERE id = 1 AND seeded_at IS NULL", now
    )
    return done > 0


async def touch_tokens(db: Database, used: dict[str, datetime]) -> None:
    """Last-used times, written in one batch a minute rather than one write per request."""
    if not used:
        return
    rows = [(ident, stamp(at)) for ident, at in used.items()]

    async def write(tx: Transaction) -> None:
        await tx.executemany(
            "UPDATE tenant_tokens SET last_used_at = $2 WHERE id = $1"
            " AND (last_used_at IS NULL OR last_used_at < $2)",
            rows,
        )

    await db.transaction(write)
