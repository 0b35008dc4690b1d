"""The hook catalogue: every point where plugins run around an order, one flat list.

Calling rules (the same for every hook):
- Implementations run one at a time in pluggy's order (last registered
  first; `tryfirst`/`trylast` move them); an `async def` implementation is
  awaited before the next one runs.
- Gating hooks (`gateway_select_account`, `gateway_validate_order`,
  `gateway_reserve`, `gateway_wrap_provider_call`) fail closed: `Reject` stops the
  order with the plugin's code and message; any other exception stops it with
  a 500-free 503 `plugin_failed` naming the plugin.
- Notification hooks (all others) never break an order: an exception is
  logged with the plugin's name and the next implementation runs.
- A plugin enabled only for some tenants (`tenants = [...]` in its settings
  block) is skipped for the others, in every hook that concerns an order.
- Arguments may be added to a hook, never renamed; an implementation may
  take any subset of them.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import pluggy
from aiohttp import web

from gateway.plugin_api import (
    PROJECT,
    OrderIntent,
    OrderRecord,
    PlaceRequest,
    ProviderOrder,
    Rejection,
    Resolution,
    Settlement,
    Tenant,
)
from gateway.storage import Transaction

hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec(firstresult=True)
def gateway_select_account(
    tenant: Tenant, requested: str | None, request: PlaceRequest
) -> str | None:
    """Choose the provider account for an order, before anything else runs.

    Sees the tenant, the account the tenant asked for (or None) and the order.
    Return an account name to choose it (the first non-None answer wins; it
    must be one of the tenant's accounts), or None to leave the choice to the
    next plugin and finally to the default: the requested account, else the
    tenant's default. Reject with `Reject`.
    """


@hookspec
def gateway_validate_order(intent: OrderIntent) -> None:
    """Check an order before any provider call or reservation.

    Sees the tenant, account, request and catalog item in `intent`. May not
    change the order (it may leave notes in `intent.extra`). Refuse it by
    raising `Reject(code, message, field=...)`.
    """


@hookspec
def gateway_reserve(intent: OrderIntent) -> None:
    """Reserve what the order may spend (budgets, balance floors), after validation.

    Runs just before the intent is written and the provider is called. Refuse
    by raising `Reject`. Every reservation made here is later answered by
    `gateway_settle` for the same `intent.order_id`: placed, released, or
    final. If a later plugin refuses the order, earlier reservations are
    released.
    """


@hookspec
def gateway_settle(settlement: Settlement, transaction: Transaction | None) -> None:
    """Settle a reservation: `placed` (charged at the provider's actual price),
    `released` (refused: give it all back), `unknown` (answer lost: keep it),
    `final` (terminal status: `charged` is what stays spent, `refunded` what the
    provider refunded from a partial or failed order). When `transaction` is
    given, the change that caused the settlement is being written in it: write
    through it so both commit together (and never open another one meanwhile),
    awaiting nothing but its own methods (on SQLite the whole transaction runs in
    the database thread; do other I/O in `gateway_order_settled`).
    Notification rules apply: an exception is logged, never raised to the tenant."""


@hookspec
def gateway_wrap_provider_call(intent: OrderIntent) -> AbstractAsyncContextManager[Any] | None:
    """Return an async context manager to run around the provider's place-order
    call (timing, tracing), or None. Entered in calling order, exited in reverse;
    it sees exceptions from the call but should not swallow them."""


@hookspec
def gateway_order_accepted(intent: OrderIntent, order: OrderRecord) -> None:
    """The provider accepted the order (status `pending`), or its answer was lost
    (`unknown`). Notification: may not change anything."""


@hookspec
def gateway_order_rejected(intent: OrderIntent, rejection: Rejection) -> None:
    """The order was refused: `rejection.by` names the plugin, or is `"provider"`.
    Runs even when a gating plugin vetoed the order. Notification."""


@hookspec
def gateway_order_settled(order: OrderRecord) -> None:
    """An order reached a terminal status (completed, partial, failed), from the
    provider's webhook or a read. Runs once per order. Notification."""


@hookspec
def gateway_order_resolved(order: OrderRecord, resolution: Resolution) -> None:
    """An order whose outcome was unknown became known, or was handed to an operator
    (`resolution.outcome` is `ambiguous`). Notification."""


@hookspec
def gateway_provider_webhook(account: str, event: ProviderOrder, order: OrderRecord | None) -> None:
    """A verified provider webhook arrived for `account`; `order` is the gateway's
    order it concerns (None for dashboard or older orders). Notification."""


@hookspec
def gateway_delivery_exhausted(
    tenant: str, subscription_id: str, message_id: str, event_type: str
) -> None:
    """A tenant webhook delivery used its last attempt and went to the dead letter
    (or its endpoint was disabled). Notification."""


@hookspec
def gateway_routes() -> list[web.RouteDef] | None:
    """HTTP routes the plugin adds to the gateway, collected once at start. A
    route is under the gateway's middleware (request ids, error shape, logs);
    use `gateway.plugin_api.authenticate(request)` for tenant auth."""
