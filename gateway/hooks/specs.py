"""The hook catalogue: every point where plugins run around an order, one flat list.

Calling rules (the same for every hook):
- Implementations run one at a time in pluggy's order (last registered
  first; `tryfirst`/`trylast` move them); an `async def` implementation is
  awaited before the next one runs.
- Gating hooks (`gateway_select_account`, `gateway_validate_order`,
  `gateway_reserve`, `gateway_wrap_provider_call`) fail closed: `Reject` stops the
  order with the plugin's code and message; any other exception stops it with
  a 500-free 503 `plugin_failed` naming the plugin.
- Notification hooks (all others but one) never break an order: an exception is
  logged with the plugin's name and the next implementation runs.
- The question hook (`gateway_settle_needs_transaction`) is answered at once; an
  exception counts as the safe answer (yes).
- A plugin enabled only for some tenants (`tenants = [...]` in its settings
  block), or whose policy for a tenant is `off`, is skipped for that tenant in
  every hook that concerns an order. In `shadow` mode it runs, and a refusal
  or a failure is only recorded in the order's decision trace.
- Arguments may be added to a hook, never renamed; an implementation may
  take any subset of them.

Each spec says in one line what it is; when it runs, what it may change, how
it refuses and an example are in one place, the plugin guide (docs/plugins.md),
and a test keeps the guide's signatures equal to these.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import pluggy
from aiohttp import web

from gateway.plugin_api import (
    PROJECT,
    AdminChange,
    OrderIntent,
    OrderRecord,
    PlaceRequest,
    ProviderOrder,
    Rejection,
    Resolution,
    Selection,
    Settlement,
    Tenant,
)
from gateway.storage import Transaction

hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec(firstresult=True)
def gateway_select_account(
    tenant: Tenant, requested: str | None, request: PlaceRequest
) -> str | Selection | None:
    """Choose the provider account for an order (gating, first answer wins); a
    `Selection` also says why, in the order's decision trace."""


@hookspec
def gateway_validate_order(intent: OrderIntent) -> None:
    """Refuse an order before anything is written (gating)."""


@hookspec
def gateway_reserve(intent: OrderIntent) -> None:
    """Reserve what an order may spend, after its intent is written (gating)."""


@hookspec
def gateway_settle(settlement: Settlement, transaction: Transaction | None) -> None:
    """Settle a reservation: placed, released, unknown or final (notification)."""


@hookspec
def gateway_settle_needs_transaction(settlement: Settlement) -> bool | None:
    """Whether this plugin's `gateway_settle` writes through the caller's transaction for
    this settlement (question)."""


@hookspec
def gateway_wrap_provider_call(intent: OrderIntent) -> AbstractAsyncContextManager[Any] | None:
    """An async context manager around the provider call (gating)."""


@hookspec
def gateway_order_accepted(intent: OrderIntent, order: OrderRecord) -> None:
    """The gateway accepted an order: placed, or its answer lost (notification)."""


@hookspec
def gateway_order_rejected(intent: OrderIntent, rejection: Rejection) -> None:
    """An order was refused, by a plugin or the provider (notification)."""


@hookspec
def gateway_order_settled(order: OrderRecord) -> None:
    """An order reached a terminal status, once (notification)."""


@hookspec
def gateway_order_resolved(order: OrderRecord, resolution: Resolution) -> None:
    """An order whose outcome was unknown became known (notification)."""


@hookspec
def gateway_provider_webhook(account: str, event: ProviderOrder, order: OrderRecord | None) -> None:
    """A verified provider webhook arrived (notification)."""


@hookspec
def gateway_delivery_exhausted(
    tenant: str, subscription_id: str, message_id: str, event_type: str
) -> None:
    """A tenant delivery went to the dead letter (notification)."""


@hookspec
def gateway_admin_change(change: AdminChange) -> None:
    """An admin changed a tenant, a token or a policy (notification; runs for every plugin)."""


@hookspec
def gateway_routes() -> list[web.RouteDef] | None:
    """HTTP routes the plugin serves under the gateway's middleware."""


@hookspec
def gateway_housekeeping(now: datetime, batch: int) -> None:
    """Delete the plugin's rows past their retention, `batch` per statement (notification)."""
