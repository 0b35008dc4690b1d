"""Reconciliation: open orders are read from the provider and settled as if their webhook came.

The provider retries a webhook only three times in three minutes, and a
webhook can be lost. Orders still `pending` or `processing`
`reconcile_after_seconds` after their last change are read again with the
provider's order id, and their state applied exactly as a webhook's would be
(ledger, reservations, tenant events). `unknown` orders are the resolver's
(`gateway.orders.resolution`). A placed order without a provider id (the provider
refused a duplicate of its reference) cannot be read: the provider has no
lookup by merchant_order_id. When its webhook has not come by then, it goes
to an operator (`gateway orders unresolved`).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from gateway.clock import Clock
from gateway.config import WebhooksConfig
from gateway.errors import GatewayError
from gateway.orders.desk import OrderDesk
from gateway.storage import StorageUnavailable

log = structlog.get_logger()


class Reconciler:
    def __init__(self, desk: OrderDesk, clock: Clock, config: WebhooksConfig) -> None:
        self.desk = desk
        self.clock = clock
        self.after = timedelta(seconds=config.reconcile_after_seconds)
        self.interval = config.reconcile_interval_seconds

    async def run_once(self) -> dict[str, int]:
        counts = {"read": 0, "settled": 0, "unreadable": 0, "failed": 0}
        stale = await self.desk.ledger.open_orders(self.clock.now() - self.after, limit=500)
        for order in stale:
            if order.provider_order_id is None:
                # Placed (the provider refused a duplicate of its reference) but its webhook
                # never came, and the provider has no lookup by reference: an operator's.
                counts["unreadable"] += 1
                await self.desk.outcomes.give_up(
                    order,
                    f"placed at the provider, but no webhook came within "
                    f"{self.after.total_seconds():g} s and the provider has no lookup by "
                    f"reference: find {order.reference} in its dashboard",
                )
                continue
            try:
                seen = await self.desk.sessions[order.account].get_order(order.provider_order_id)
            except GatewayError as exc:
                counts["failed"] += 1
                log.warning("reconcile_read_failed", order_id=order.id, error=exc.code)
                continue
            counts["read"] += 1
            after = await self.desk.outcomes.apply_read(order, seen)
            if after.status.terminal:
                counts["settled"] += 1
            elif after.status == order.status:
                await self.desk.ledger.touch(order.id)
        if stale:
            log.info("reconciled", **counts)
        return counts

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.run_once()
            except StorageUnavailable as exc:
                log.warning("reconcile_storage_unavailable", error=str(exc))
            except Exception:  # a bad turn is logged; the next one tries again
                log.exception("reconcile_failed")
