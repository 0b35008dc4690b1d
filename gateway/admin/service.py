"""The rules every admin change obeys, whoever asks: the admin API, the CLI, `config apply`.

A change is checked before anything is written (accounts exist, the default
is one of them, a policy names a loaded plugin and settings it accepts), then
written with the version bump (`store.change`), then this process reloads at
once and every other replica within a second (`gateway.admin.watch`). Each
change is one `admin_change` log line and one `gateway_admin_change` hook
call (the audit plugin keeps it, with who made it). A token's secret is
returned once, by the call that made it, and never logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime
from typing import Any

import structlog

from gateway.admin import store
from gateway.admin.store import AdminStore, Policy, Snapshot, TenantRecord, TokenRecord
from gateway.clock import isoformat_z, stamp
from gateway.config import Role
from gateway.config_fields import NAME
from gateway.errors import InvalidField, NotFound
from gateway.hooks.host import PluginHost
from gateway.hooks.policies import MODES
from gateway.plugin_api import AdminChange, SettingsError
from gateway.storage import Transaction
from gateway.tenants import new_token, token_hash

log = structlog.get_logger()

MAX_LABEL = 100


class Admin:
    def __init__(
        self,
        store: AdminStore,
        plugins: PluginHost,
        accounts: Collection[str],
        reload: Callable[[], Awaitable[object]],
    ) -> None:
        self.store = store
        self.plugins = plugins
        self.accounts = accounts
        self.reload = reload

    # --- reading --------------------------------------------------------------------

    async def tenant(self, name: str) -> TenantRecord:
        found = (await self.store.snapshot()).tenants.get(name)
        if found is None:
            raise NotFound(f"no tenant named {name!r}; GET /v1/admin/tenants lists them")
        return found

    async def snapshot(self) -> Snapshot:
        return await self.store.snapshot()

    def policy(self, record: TenantRecord, plugin: str) -> dict[str, Any]:
        """The tenant's policy for a plugin; without one of its own, what the config says."""
        self.check_plugin(plugin)
        own = record.policies.get(plugin)
        return {
            "tenant": record.name,
            "plugin": plugin,
            "mode": own.mode if own else self.plugins.configured_mode(record.name, plugin),
            "settings": own.settings if own else {},
            "default": own is None,
        }

    # --- checks ---------------------------------------------------------------------

    def check_tenant_fields(
        self, accounts: tuple[str, ...], default: str | None
    ) -> tuple[tuple[str, ...], str]:
        if not accounts:
            raise InvalidField("accounts", "list at least one account this tenant may use")
        unknown = [a for a in accounts if a not in self.accounts]
        if unknown:
            raise InvalidField(
                "accounts",
                f"no account named {unknown[0]!r}; the accounts are: {', '.join(self.accounts)}",
            )
        if len(set(accounts)) != len(accounts):
            raise InvalidField("accounts", "name each account once")
        chosen = default if default is not None else accounts[0]
        if chosen not in accounts:
            raise InvalidField("default_account", f"{chosen!r} is not in this tenant's accounts")
        return accounts, chosen

    def check_plugin(self, plugin: str) -> None:
        loaded = [p.name for p in self.plugins.plugins]
        if plugin not in loaded:
            raise NotFound(
                f"no plugin named {plugin!r} is loaded; loaded: {', '.join(loaded) or 'none'}"
            )

    def check_policy(self, plugin: str, mode: str, settings: Mapping[str, Any]) -> Policy:
        self.check_plugin(plugin)
        if mode not in MODES:
            raise InvalidField("mode", "one of enforce, shadow, off")
        try:
            self.plugins.policies.build(plugin, settings)
        except SettingsError as exc:
            raise InvalidField(f"settings.{exc.key}", exc.reason) from None
        return Policy(mode, dict(settings))

    async def _changed(self, actor: str, action: str, tenant: str, **details: Any) -> None:
        await self.reload()
        change = AdminChange(actor=actor, action=action, tenant=tenant, details=details)
        log.info("admin_change", actor=actor, action=action, target=tenant, **details)
        await self.plugins.notify("gateway_admin_change", None, change=change)

    # --- tenants --------------------------------------------------------------------

    async def create_tenant(
        self,
        actor: str,
        name: str,
        role: Role,
        accounts: tuple[str, ...],
        default: str | None,
        label: str = "first token",
        expires_at: datetime | None = None,
    ) -> tuple[TenantRecord, TokenRecord, str]:
        if not NAME.fullmatch(name):
            raise InvalidField(
                "name", "lower-case letters, digits, - and _, starting with a letter (63 at most)"
            )
        accounts, default = self.check_tenant_fields(accounts, default)
        secret = new_token()
        self._check_expiry(expires_at)

        async def work(tx: Transaction, now: str) -> None:
            await store.insert_tenant(tx, now, name, role, accounts, default)
            await store.insert_token(tx, now, name, token_hash(secret), label, _at(expires_at))

        await self.store.change(work)
        await self._changed(actor, "tenant.created", name, role=role.value, accounts=list(accounts))
        record = await self.tenant(name)
        return record, record.tokens[0], secret

    async def update_tenant(self, actor: str, name: str, values: dict[str, Any]) -> TenantRecord:
        current = await self.tenant(name)
        accounts = values.get("accounts", current.accounts)
        default = values.get("default_account")
        if default is None:
            default = current.default_account if current.default_account in accounts else None
        accounts, default = self.check_tenant_fields(tuple(accounts), default)
        changes = {**values, "accounts": accounts, "default_account": default}

        async def work(tx: Transaction, now: str) -> None:
            if not await store.update_tenant(tx, now, name, changes):
                raise NotFound(f"no tenant named {name!r}")

        await self.store.change(work)
        shown = {k: v.value if isinstance(v, Role) else v for k, v in values.items()}
        await self._changed(actor, "tenant.updated", name, **_jsonable(shown))
        return await self.tenant(name)

    async def delete_tenant(self, actor: str, name: str) -> None:
        async def work(tx: Transaction, now: str) -> None:
            if not await store.delete_tenant(tx, now, name):
                raise NotFound(f"no tenant named {name!r}")

        await self.store.change(work)
        await self._changed(actor, "tenant.deleted", name)

    # --- tokens ---------------------------------------------------------------------

    def _check_expiry(self, expires_at: datetime | None) -> None:
        if expires_at is not None and expires_at <= self.store.clock.now():
            raise InvalidField("expires_at", "a time in the future (RFC 3339, with its offset)")

    async def add_token(
        self, actor: str, name: str, label: str, expires_at: datetime | None
    ) -> tuple[TokenRecord, str]:
        self._check_expiry(expires_at)
        secret = new_token()
        digest = token_hash(secret)

        async def work(tx: Transaction, now: str) -> str:
            row = await tx.fetchrow(
                "SELECT name FROM tenants WHERE name = $1 AND deleted_at IS NULL", name
            )
            if row is None:
                raise NotFound(f"no tenant named {name!r}")
            return await store.insert_token(tx, now, name, digest, label, _at(expires_at))

        ident = await self.store.change(work)
        await self._changed(actor, "token.created", name, token_id=ident, label=label)
        token = next(t for t in (await self.tenant(name)).tokens if t.id == ident)
        return token, secret

    async def revoke_token(self, actor: str, name: str, ident: str) -> None:
        async def work(tx: Transaction, now: str) -> None:
            if not await store.delete_token(tx, name, ident):
                raise NotFound(f"tenant {name!r} has no token {ident!r}")

        await self.store.change(work)
        await self._changed(actor, "token.revoked", name, token_id=ident)

    # --- policies -------------------------------------------------------------------

    async def set_policy(
        self, actor: str, name: str, plugin: str, mode: str, settings: Mapping[str, Any]
    ) -> TenantRecord:
        policy = self.check_policy(plugin, mode, settings)
        await self.tenant(name)

        async def work(tx: Transaction, now: str) -> None:
            await store.put_policy(tx, now, name, plugin, policy)

        await self.store.change(work)
        await self._changed(
            actor, "policy.set", name, plugin=plugin, mode=mode, settings=dict(settings)
        )
        return await self.tenant(name)


def _at(when: datetime | None) -> str | None:
    return None if when is None else stamp(when)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def tenant_view(record: TenantRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "role": record.role.value,
        "accounts": list(record.accounts),
        "default_account": record.default_account,
        "disabled": record.disabled,
        "created_at": isoformat_z(record.created_at),
        "updated_at": isoformat_z(record.updated_at),
        "tokens": len(record.tokens),
        "rates": record.rates,
        "policies": {
            plugin: {"mode": p.mode, "settings": p.settings}
            for plugin, p in record.policies.items()
        },
    }


def token_view(token: TokenRecord, used: datetime | None = None) -> dict[str, Any]:
    last = max(filter(None, (token.last_used_at, used)), default=None)
    return {
        "id": token.id,
        "label": token.label,
        "created_at": isoformat_z(token.created_at),
        "expires_at": None if token.expires_at is None else isoformat_z(token.expires_at),
        "last_used_at": None if last is None else isoformat_z(last),
    }
