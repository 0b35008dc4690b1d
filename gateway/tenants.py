"""Tenants and their tokens, as each request sees them.

A token is shown once, when it is made, and kept only as its SHA-256 hash: a
token carries 256 bits of randomness, so a plain hash cannot be searched back
(no slow KDF is needed, and lookups stay a dictionary access per request).
The directory is a copy of the database's tenants (`gateway.admin`), swapped
whole when an admin changes them, so that no request sees half a change.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from gateway.clock import Clock, SystemClock
from gateway.config import Role, TenantConfig
from gateway.errors import AccountNotAllowed

if TYPE_CHECKING:
    from gateway.admin.store import TenantRecord

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
    disabled: bool = False
    # its own request rates, set at run time (("reads_per_second", 10), ...); none: [server]'s
    rates: tuple[tuple[str, int], ...] = ()

    def rate(self, kind: str) -> int | None:
        return dict(self.rates).get(f"{kind}s_per_second")

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


@dataclass(frozen=True)
class Credential:
    tenant: Tenant
    token_id: str
    expires_at: datetime | None


class TenantDirectory:
    """Token → tenant, by hash; and when each token was last used, for the admin API."""

    def __init__(
        self, tenants: dict[str, TenantConfig] | None = None, clock: Clock | None = None
    ) -> None:
        self.clock = clock or SystemClock()
        self._by_hash: dict[str, Credential] = {}
        self.by_name: dict[str, Tenant] = {}
        self.used: dict[str, datetime] = {}  # token id → last use, not yet written
        if tenants:
            self.replace(tenants)

    def replace(self, tenants: dict[str, TenantConfig]) -> None:
        """From the config file's tenants (before the database is read, and in tests)."""
        from gateway.admin.store import token_id

        by_hash, by_name = {}, {}
        for cfg in tenants.values():
            tenant = Tenant(cfg.name, cfg.role, cfg.accounts, cfg.default_account)
            by_name[cfg.name] = tenant
            for digest in cfg.token_hashes:
                by_hash[digest] = Credential(tenant, token_id(digest), None)
        self._by_hash, self.by_name = by_hash, by_name

    def load(self, records: Iterable[TenantRecord]) -> None:
        """Swap in the database's tenants at once (one assignment each): a revoked token
        stops working for the next request."""
        by_hash, by_name = {}, {}
        for record in records:
            tenant = Tenant(
                record.name,
                record.role,
                record.accounts,
                record.default_account,
                record.disabled,
                tuple(sorted(record.rates.items())),
            )
            by_name[record.name] = tenant
            for token in record.tokens:
                by_hash[token.hash] = Credential(tenant, token.id, token.expires_at)
        self._by_hash, self.by_name = by_hash, by_name

    @property
    def names(self) -> list[str]:
        return sorted(self.by_name)

    def credential(self, token: str) -> Credential | None:
        # The lookup compares hashes of the secret, never the secret: no timing leak to guard.
        return self._by_hash.get(token_hash(token))

    def by_hash(self, digest: str) -> Credential | None:
        """A console session keeps its token's hash (sealed in its cookie), never the token."""
        return self._by_hash.get(digest)

    def authenticate(self, token: str) -> Tenant | None:
        found = self.credential(token)
        return None if found is None else found.tenant

    def take_used(self) -> dict[str, datetime]:
        used, self.used = self.used, {}
        return used
