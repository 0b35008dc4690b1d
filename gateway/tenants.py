"""Tenants and their tokens.

A token is shown once, when it is made, and kept only as its SHA-256 hash: a
token carries 256 bits of randomness, so a plain hash cannot be searched back
(no slow KDF is needed, and lookups stay a dictionary access per request).
`add`, `rotate_token` and `list_tenants` edit the config file in place with
tomlkit, which keeps the operator's comments and layout.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from gateway.config import Config, ConfigError, Role, TenantConfig, parse
from gateway.errors import AccountNotAllowed

TOKEN_PREFIX = "gwt_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Tenant:
    name: str
    role: Role
    accounts: tuple[str, ...]
    default_account: str

    def may_use(self, account: str) -> bool:
        return account in self.accounts

    def account_for(self, requested: str | None) -> str:
        """The account a call names (or the default), if this tenant may use it: an unknown
        account gets the same 403 as another's, so that nothing leaks."""
        account = requested or self.default_account
        if not self.may_use(account):
            raise AccountNotAllowed(
                f"tenant {self.name!r} may not use account {account!r}; "
                f"use one of: {', '.join(self.accounts)}",
                details={"field": "account", "allowed": list(self.accounts)},
            )
        return account

    @property
    def may_place(self) -> bool:
        return self.role is not Role.OBSERVER


class TenantDirectory:
    """Token → tenant, by hash."""

    def __init__(self, tenants: dict[str, TenantConfig]) -> None:
        self.replace(tenants)

    def replace(self, tenants: dict[str, TenantConfig]) -> None:
        """Swap in a new set at once (one assignment): a revoked token stops working for
        the next request, and no request sees half of the old set and half of the new."""
        by_hash: dict[str, Tenant] = {}
        for cfg in tenants.values():
            tenant = Tenant(cfg.name, cfg.role, cfg.accounts, cfg.default_account)
            for digest in cfg.token_hashes:
                by_hash[digest] = tenant
        self._by_hash = by_hash
        self.names = sorted(tenants)

    def authenticate(self, token: str) -> Tenant | None:
        # The lookup compares hashes of the secret, never the secret: no timing leak to guard.
        return self._by_hash.get(token_hash(token))


# --- editing the config file ------------------------------------------------------


def _load(path: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(path.read_text())
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror}") from None


def _save(path: Path, doc: tomlkit.TOMLDocument) -> Config:
    parse(doc.unwrap(), base=path.parent)  # never write a config that would not load
    path.write_text(tomlkit.dumps(doc))
    return parse(doc.unwrap(), base=path.parent)


def add(path: Path, name: str, accounts: list[str], default_account: str | None, role: Role) -> str:
    doc = _load(path)
    tenants: Any = doc.setdefault("tenants", tomlkit.table(is_super_table=True))
    if name in tenants:
        raise ConfigError(f"tenants.{name}", "already exists; use rotate-token for a new token")
    token = new_token()
    table = tomlkit.table()
    table["token_hashes"] = [token_hash(token)]
    table["accounts"] = accounts
    table["default_account"] = default_account or (accounts[0] if accounts else "")
    table["role"] = role.value
    tenants[name] = table
    _save(path, doc)
    return token


def rotate_token(path: Path, name: str, keep_old: bool = True) -> str:
    """A new token for a tenant. The old ones keep working until removed (`keep_old=False`)."""
    doc = _load(path)
    tenants: Any = doc.get("tenants", {})
    if name not in tenants:
        raise ConfigError(f"tenants.{name}", "no such tenant")
    token = new_token()
    hashes = list(tenants[name].get("token_hashes", [])) if keep_old else []
    tenants[name]["token_hashes"] = [*hashes, token_hash(token)]
    _save(path, doc)
    return token


def list_tenants(config: Config) -> list[dict[str, Any]]:
    return [
        {
            "name": t.name,
            "role": t.role.value,
            "accounts": list(t.accounts),
            "default_account": t.default_account,
            "tokens": len(t.token_hashes),
        }
        for t in config.tenants.values()
    ]
