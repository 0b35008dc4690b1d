"""The config file as the declared state of tenants, tokens and policies (decK's model).

`plan` compares the file's `[tenants]` with the database and lists the steps
that would make the database say the same; `gateway config diff FILE` prints
them, `gateway config apply FILE` runs them in one transaction. Without
`--prune` nothing the file leaves out is deleted (a tenant onboarded through
the API survives an apply of an older file); with it, tenants, tokens and
policies the file does not declare go. The first start on an empty database
applies the file once, so an existing config keeps working unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.admin import store
from gateway.admin.service import Admin
from gateway.admin.store import Policy, Snapshot, TenantRecord
from gateway.config import TenantConfig
from gateway.errors import Conflict
from gateway.plugin_api import AdminChange
from gateway.storage import Transaction

FILE_LABEL = "config file"


@dataclass
class Step:
    action: str  # the AdminChange action: tenant.created, token.revoked, ...
    tenant: str
    text: str  # one line for `config diff`
    run: Callable[[Transaction, str], Awaitable[Any]]
    details: dict[str, Any] = field(default_factory=dict)


def _create(cfg: TenantConfig) -> Callable[[Transaction, str], Awaitable[None]]:
    async def run(tx: Transaction, now: str) -> None:
        await store.insert_tenant(
            tx, now, cfg.name, cfg.role, cfg.accounts, cfg.default_account,
            fix="rename it in the file",
        )  # fmt: skip

    return run


def _token(tenant: str, digest: str) -> Callable[[Transaction, str], Awaitable[str]]:
    async def run(tx: Transaction, now: str) -> str:
        owner = await tx.fetchrow("SELECT tenant FROM tenant_tokens WHERE hash = $1", digest)
        if owner is not None:
            raise Conflict(
                f"a token of tenant {tenant!r} in the file is already tenant "
                f"{owner['tenant']!r}'s; tokens are per tenant"
            )
        return await store.insert_token(tx, now, tenant, digest, FILE_LABEL, None)

    return run


def _update(name: str, values: dict[str, Any]) -> Callable[[Transaction, str], Awaitable[bool]]:
    async def run(tx: Transaction, now: str) -> bool:
        return await store.update_tenant(tx, now, name, values)

    return run


def _revoke(name: str, ident: str) -> Callable[[Transaction, str], Awaitable[bool]]:
    async def run(tx: Transaction, now: str) -> bool:
        return await store.delete_token(tx, name, ident)

    return run


def _policy(
    name: str, plugin: str, policy: Policy | None
) -> Callable[[Transaction, str], Awaitable[None]]:
    async def run(tx: Transaction, now: str) -> None:
        await store.put_policy(tx, now, name, plugin, policy)

    return run


def _delete(name: str) -> Callable[[Transaction, str], Awaitable[bool]]:
    async def run(tx: Transaction, now: str) -> bool:
        return await store.delete_tenant(tx, now, name)

    return run


def _tenant_steps(cfg: TenantConfig, have: TenantRecord | None, admin: Admin) -> list[Step]:
    name = cfg.name
    steps: list[Step] = []
    if have is None:
        steps.append(
            Step(
                "tenant.created", name,
                f"+ tenant {name}: {cfg.role.value}, accounts {', '.join(cfg.accounts)} "
                f"(default {cfg.default_account})",
                _create(cfg), {"role": cfg.role.value, "accounts": list(cfg.accounts)},
            )
        )  # fmt: skip
    else:
        values: dict[str, Any] = {}
        if have.role is not cfg.role:
            values["role"] = cfg.role
        if have.accounts != cfg.accounts:
            values["accounts"] = cfg.accounts
        if have.default_account != cfg.default_account:
            values["default_account"] = cfg.default_account
        if values:
            said = ", ".join(
                f"{k} {getattr(have, k)!s} -> {v.value if hasattr(v, 'value') else v}"
                for k, v in values.items()
            )
            shown = {k: v.value if hasattr(v, "value") else v for k, v in values.items()}
            shown = {k: list(v) if isinstance(v, tuple) else v for k, v in shown.items()}
            steps.append(
                Step(
                    "tenant.updated", name, f"~ tenant {name}: {said}", _update(name, values), shown
                )
            )
    held = {t.hash for t in have.tokens} if have else set()
    for digest in cfg.token_hashes:
        if digest not in held:
            ident = store.token_id(digest)
            steps.append(
                Step(
                    "token.created", name, f"+ token {ident} of {name}",
                    _token(name, digest), {"token_id": ident, "label": FILE_LABEL},
                )
            )  # fmt: skip
    for plugin, (mode, settings) in cfg.policies.items():
        policy = admin.check_policy(plugin, mode, settings)
        current = have.policies.get(plugin) if have else None
        if current != policy:
            steps.append(
                Step(
                    "policy.set", name, f"~ policy {plugin} of {name}: {mode} {settings}",
                    _policy(name, plugin, policy),
                    {"plugin": plugin, "mode": mode, "settings": settings},
                )
            )  # fmt: skip
    return steps


def _pruned(cfg: TenantConfig, have: TenantRecord) -> list[Step]:
    name = cfg.name
    steps = []
    for token in have.tokens:
        if token.hash not in cfg.token_hashes:
            steps.append(
                Step(
                    "token.revoked", name, f"- token {token.id} of {name} ({token.label})",
                    _revoke(name, token.id), {"token_id": token.id},
                )
            )  # fmt: skip
    for plugin in have.policies:
        if plugin not in cfg.policies:
            steps.append(
                Step(
                    "policy.set", name, f"- policy {plugin} of {name} (back to the config's)",
                    _policy(name, plugin, None), {"plugin": plugin, "mode": None},
                )
            )  # fmt: skip
    return steps


def plan(
    declared: dict[str, TenantConfig], current: Snapshot, admin: Admin, prune: bool
) -> list[Step]:
    steps: list[Step] = []
    for name, cfg in declared.items():
        have = current.tenants.get(name)
        steps += _tenant_steps(cfg, have, admin)
        if prune and have is not None:
            steps += _pruned(cfg, have)
    if prune:
        for name in current.tenants:
            if name not in declared:
                steps.append(Step("tenant.deleted", name, f"- tenant {name}", _delete(name)))
    return steps


async def apply(
    admin: Admin, declared: dict[str, TenantConfig], actor: str, prune: bool, seed: bool = False
) -> list[Step]:
    """Run the plan in one transaction; `seed`: only if the file was never applied."""
    current = await admin.store.snapshot()
    if seed and current.seeded:
        return []
    steps = plan(declared, current, admin, prune)
    if not steps and not seed:
        return []

    async def work(tx: Transaction, now: str) -> bool:
        if seed and not await store.mark_seeded(tx, now):
            return False  # another replica seeded first
        if not seed:
            await store.mark_seeded(tx, now)
        for step in steps:
            await step.run(tx, now)
        return True

    if not await admin.store.change(work):
        return []
    await admin.reload()
    changes = [AdminChange(actor, s.action, s.tenant, s.details) for s in steps]
    if seed:  # one record for the whole first start, not one per tenant and token
        tenants = sorted(declared)
        changes = [AdminChange(actor, "config.seeded", "", {"tenants": tenants})]
    for change in changes:
        await admin.plugins.notify("gateway_admin_change", None, change=change)
    return steps
