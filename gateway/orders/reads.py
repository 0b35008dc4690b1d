"""Reading orders back: one order (read through to the provider when a pending one is
a little stale), a filtered page of them, and sending an order's events again.

What a caller may see is its scope: a tenant its own orders, an observer its
accounts' orders, an admin every order of its accounts; another tenant's order is a 404, as
if it did not exist.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from gateway.clock import Clock
from gateway.domain import OrderRecord
from gateway.errors import GatewayError, NotFound
from gateway.orders.ledger import Ledger, OrderFilters, OrderScope
from gateway.orders.outcomes import Outcomes, is_uuid
from gateway.outbox.events import Outbox
from gateway.provider.accounts import AccountSession
from gateway.tenants import Tenant
from gateway.views import order_view

log = structlog.get_logger()

# How long a GET may serve a non-terminal order before reading it from the provider again.
READ_THROUGH_AFTER = timedelta(seconds=2)


class OrderReads:
    def __init__(
        self,
        ledger: Ledger,
        sessions: dict[str, AccountSession],
        outcomes: Outcomes,
        outbox: Outbox,
        clock: Clock,
    ) -> None:
        self.ledger = ledger
        self.sessions = sessions
        self.outcomes = outcomes
        self.outbox = outbox
        self.clock = clock

    def scope_for(self, tenant: Tenant) -> OrderScope:
        """Observers and admins see every tenant's orders, on their own accounts only."""
        if tenant.role.value in ("admin", "observer"):
            return OrderScope(accounts=tenant.accounts)
        return OrderScope(tenant=tenant.name)

    async def get(self, tenant: Tenant, order_id: str) -> dict[str, Any]:
        record = await self.ledger.get(order_id) if is_uuid(order_id) else None
        if record is None or not self.scope_for(tenant).admits(record):
            raise NotFound(f"no order {order_id} for tenant {tenant.name!r}")
        record = await self._read_through(record)
        return order_view(record, owner=record.tenant == tenant.name)

    async def visible(self, tenant: Tenant, order_id: str) -> bool:
        record = await self.ledger.get(order_id) if is_uuid(order_id) else None
        return record is not None and self.scope_for(tenant).admits(record)

    async def _read_through(self, record: OrderRecord) -> OrderRecord:
        """A non-terminal order the provider knows is read again once it is a little stale."""
        if record.status.terminal or record.provider_order_id is None:
            return record
        if self.clock.now() - record.updated_at < READ_THROUGH_AFTER:
            return record
        try:
            seen = await self.sessions[record.account].get_order(record.provider_order_id)
        except GatewayError as exc:
            log.warning("order_read_through_failed", order_id=record.id, error=exc.code)
            return record
        return await self.outcomes.apply_read(record, seen)

    async def list(
        self, tenant: Tenant, filters: OrderFilters, limit: int, cursor: str | None
    ) -> dict[str, Any]:
        if filters.account is not None:
            tenant.account_for(filters.account)
        records, next_cursor = await self.ledger.page(
            self.scope_for(tenant), filters, limit, cursor
        )
        return {
            "data": [order_view(r, owner=r.tenant == tenant.name) for r in records],
            "next_cursor": next_cursor,
        }

    async def replay_order_events(self, tenant: Tenant, order_id: str) -> int:
        """Send an order's events again to the tenant's own endpoints (its own order only):
        observers' endpoints hear them again only when an observer replays them."""
        record = await self.ledger.get(order_id) if is_uuid(order_id) else None
        if record is None or record.tenant != tenant.name:
            raise NotFound(f"no order {order_id} for tenant {tenant.name!r}")
        count = await self.outbox.messages.replay_order(self.ledger.db, order_id, tenant.name)
        self.outcomes.wake(count)
        return count
