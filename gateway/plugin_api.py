"""Everything a plugin author imports: `from gateway.plugin_api import hookimpl, Reject, ...`.

A plugin is a class registered under the `order_gateway.plugins` entry-point
group. The gateway builds it once per app as `Plugin(settings)`, where
`settings` is the plugin's own `[plugins.NAME]` table: raise `SettingsError`
naming the key when it is wrong, and the gateway will not start. If the class
has `async def start(self, context)` and `async def stop(self)`, they run when
the app starts and stops; `context` gives the clock and the database. SQL in
its `migrations` tuple is applied once, in order, before `start`. Its methods
marked `@hookimpl` run at the points `gateway.hooks.specs` documents; any of
them may be `async def`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pluggy

from gateway import cursors
from gateway.api import params
from gateway.api.edge import authenticate  # a plugin's own routes check tokens as the API does
from gateway.clock import Clock, isoformat_z, stamp, unstamp
from gateway.config import ConfigError
from gateway.domain import (
    CatalogItem,
    OrderRecord,
    OrderStatus,
    PlaceRequest,
    ProviderOrder,
    money_text,
)
from gateway.errors import BadRequest, Forbidden, GatewayError, InvalidField, NotFound
from gateway.storage.database import Database, StorageUnavailable, Transaction
from gateway.storage.queued import QueuedWriter
from gateway.storage.sweep import Swept, in_batches
from gateway.tenants import Tenant

PROJECT = "order_gateway"
ENTRY_POINT_GROUP = "order_gateway.plugins"

hookimpl = pluggy.HookimplMarker(PROJECT)


class Reject(Exception):  # a verb reads better where it is raised: `raise Reject(...)`
    """Raised by a gating hook to refuse an order. The tenant sees `code` and `message`,
    with the plugin's name and `field` in the details; `status` is a 4xx (default 422)."""

    def __init__(
        self, code: str, message: str, *, field: str | None = None, status: int = 422
    ) -> None:
        if not 400 <= status < 500:
            raise ValueError("a rejection is a 4xx")
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status


class SettingsError(ValueError):
    """Raised by a plugin's constructor: `key` inside its settings block, and why."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass
class OrderIntent:
    """One place-order call as the hooks see it, before the provider is asked.

    `item` is the account's catalog entry (None when the id is not in the
    catalog or no catalog could be loaded: `catalog_loaded` tells which).
    `estimate` is the catalog price x quantity in the account's currency,
    rounded half up to cents, as the provider rounds (None without an item).
    """

    order_id: str
    tenant: Tenant
    account: str
    currency: str
    request: PlaceRequest
    item: CatalogItem | None
    catalog_loaded: bool
    estimate: Decimal | None
    request_id: str | None
    at: datetime
    extra: dict[str, Any] = field(default_factory=dict)  # plugins may leave notes for later hooks


@dataclass(frozen=True)
class Rejection:
    """Why an order was refused: by a plugin (its name) or by the provider (`"provider"`)."""

    by: str
    code: str
    message: str
    status: int
    field: str | None = None


@dataclass(frozen=True)
class Settlement:
    """What became of a reservation.

    kind: `placed` (the provider charged `charged`), `released` (nothing will be
    charged: refused by a plugin or the provider), `final` (the order reached a
    terminal status: `charged` is price minus refund, `refunded` the refund),
    `unknown` (the provider's answer was lost: keep the reservation).
    """

    kind: str
    order_id: str
    tenant: str
    account: str
    currency: str
    charged: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)
    status: OrderStatus | None = None


@dataclass(frozen=True)
class Resolution:
    """How an order whose outcome was unknown came to be known (docs/operations.md).

    outcome: `placed` (a re-sending placed it, or an operator gave its provider id),
    `exists` (the provider refused a duplicate of its reference: placed earlier),
    `not_placed`, or `ambiguous` (nothing proven: an operator must decide).
    by: `gateway`, `request` (the tenant's own request, sending again at once) or
    `operator:<name>`. attempts: sendings that got no definitive answer before this.
    """

    outcome: str
    by: str
    reason: str
    attempts: int = 0


@dataclass(frozen=True)
class AdminChange:
    """A change an admin made to tenants, tokens or policies (`gateway.admin`).

    actor: who (`admin:<tenant>` through the API, `cli:<user>` or `config:<user>` on the
    command line); action: `tenant.created`, `tenant.updated`, `tenant.deleted`,
    `token.created`, `token.revoked`, `policy.set`, or `config.seeded` (the config file's
    tenants applied on the first start; `tenant` is empty); details: what changed (never a
    secret).
    """

    actor: str
    action: str
    tenant: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PluginContext:
    """What a plugin gets at start: the clock, the gateway's database (for its own tables,
    made by its `migrations`; `await database.transaction(work)` runs `async def work(tx)`
    atomically, awaiting only `tx`'s methods inside), its own name, and a reader of an
    account's provider balance."""

    clock: Clock
    database: Database
    name: str
    balance: Callable[[str], Awaitable[Decimal]]
    # an account's catalog entry for an item id (None: not in that account's catalog)
    item: Callable[[str, int], Awaitable[CatalogItem | None]] | None = None


class SpendableBalances:
    """What an account can still spend, as this process sees it: the provider's balance
    (read at most every `cache`), less the estimates of orders sent from here and not yet
    settled, less what the provider charged since that read (the read does not show it
    yet). Per process. Used by the limits plugin's floor and the routing plugin."""

    def __init__(self, context: PluginContext, cache: timedelta) -> None:
        self._context, self._cache = context, cache
        self._read: dict[str, tuple[datetime, Decimal]] = {}  # account -> (when, balance)
        self._held: dict[str, tuple[str, Decimal]] = {}  # order id -> (account, estimate)
        self._charged: dict[str, Decimal] = {}  # account -> charged since the read

    async def spendable(self, account: str) -> Decimal:
        now = self._context.clock.now()
        read = self._read.get(account)
        if read is None or now - read[0] >= self._cache:
            read = self._read[account] = (now, await self._context.balance(account))
            self._charged[account] = Decimal(0)
        held = sum((amount for a, amount in self._held.values() if a == account), Decimal(0))
        return read[1] - held - self._charged.get(account, Decimal(0))

    def hold(self, order_id: str, account: str, estimate: Decimal) -> None:
        self._held[order_id] = (account, estimate)

    def settle(self, settlement: Settlement) -> None:
        """An estimate leaves the reckoning once the provider has answered; what it
        charged counts until the balance is read again."""
        if settlement.kind == "unknown":
            return  # may have been charged: keep counting it until the final word
        held = self._held.pop(settlement.order_id, None)
        if held is not None and settlement.kind in ("placed", "final"):
            account = held[0]
            self._charged[account] = self._charged.get(account, Decimal(0)) + settlement.charged


@dataclass(frozen=True)
class Selection:
    """What `gateway_select_account` may answer instead of an account's name: the account
    and why, which the order's decision trace shows."""

    account: str
    reason: str


__all__ = [
    "ENTRY_POINT_GROUP",
    "AdminChange",
    "BadRequest",
    "CatalogItem",
    "ConfigError",
    "Database",
    "Forbidden",
    "GatewayError",
    "InvalidField",
    "NotFound",
    "OrderIntent",
    "OrderRecord",
    "OrderStatus",
    "PlaceRequest",
    "PluginContext",
    "ProviderOrder",
    "QueuedWriter",
    "Reject",
    "Rejection",
    "Resolution",
    "Selection",
    "SettingsError",
    "Settlement",
    "SpendableBalances",
    "StorageUnavailable",
    "Swept",
    "Tenant",
    "Transaction",
    "authenticate",
    "cursors",
    "hookimpl",
    "in_batches",
    "isoformat_z",
    "money_text",
    "params",
    "stamp",
    "unstamp",
]
