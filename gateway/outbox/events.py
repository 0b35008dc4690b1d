"""Order events for tenants, written to the outbox in the transaction that causes them.

An event becomes one message per subscribed endpoint: the tenant's own
`own`-scoped endpoints, and the `account:<name>`-scoped endpoints of
observers and admins on the order's account. Orders the gateway did not place
(dashboard or older orders) reach only the account-scoped ones. A disabled
endpoint still gets its messages written: they wait, and go once it is
re-enabled, so disabling loses nothing. Delivered
codes are in a message only when its endpoint belongs to the order's tenant.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from gateway.clock import Clock, isoformat_z
from gateway.domain import OrderRecord, OrderStatus, ProviderOrder, money_text, quantity_text
from gateway.outbox.known import KnownSubscribers
from gateway.outbox.queue import Messages
from gateway.outbox.subscriptions import TEST_EVENT, Subscription, subscribers
from gateway.outbox.writing import INSERT_MESSAGE, new_message
from gateway.sealing import Sealer
from gateway.storage import Transaction
from gateway.views import order_view

EVENT_FOR_STATUS = {
    OrderStatus.PENDING: "order.accepted",
    OrderStatus.PROCESSING: "order.accepted",
    OrderStatus.COMPLETED: "order.completed",
    OrderStatus.PARTIAL: "order.partial",
    OrderStatus.FAILED: "order.failed",
    OrderStatus.UNKNOWN: "order.unknown",
}


def envelope(event_type: str, data: dict[str, Any], when: Any) -> str:
    return json.dumps(
        {"type": event_type, "timestamp": isoformat_z(when), "data": data},
        separators=(",", ":"),
        sort_keys=True,
    )


def foreign_order_view(account: str, currency: str | None, event: ProviderOrder) -> dict[str, Any]:
    """An order the gateway did not place, as its webhook describes it (never with codes)."""
    return {
        "id": None,
        "tenant": None,
        "account": account,
        "provider_order_id": event.provider_order_id,
        "item_id": event.item_id,
        "item_name": event.item_name,
        "product_type": None,
        "quantity": quantity_text(event.quantity),
        "delivered_quantity": event.delivered_quantity,
        "price": money_text(event.price),
        "refund_amount": money_text(event.refund_amount),
        "currency": currency,
        "fields": event.fields,
        "status": event.status.value,
        "error": event.error or None,
        "error_message": event.error_message or None,
        "codes": None,
        "merchant_order_id": None,
        "created_at": None,
        "completed_at": isoformat_z(event.completed_at) if event.completed_at else None,
    }


class Outbox:
    def __init__(self, clock: Clock, sealer: Sealer) -> None:
        self.clock = clock
        self.sealer = sealer
        self.messages = Messages(clock, sealer)
        self.known = KnownSubscribers()  # for gateway.orders.answers

    async def order_event(self, tx: Transaction, order: OrderRecord) -> int:
        """Enqueue the event for this order's current status; returns the messages written."""
        found = await subscribers(tx, order.account, order.tenant)
        messages = self.order_messages(order, found, self.clock.now())
        for values in messages:
            await tx.execute(INSERT_MESSAGE, *values)
        return len(messages)

    def order_messages(
        self, order: OrderRecord, subscriptions: list[Subscription], now: datetime
    ) -> list[tuple[Any, ...]]:
        """The messages of the event for this order's current status, one per endpoint that
        wants it (its types and filter), with the order's codes only for its own tenant."""
        event_type = EVENT_FOR_STATUS[order.status]
        messages = []
        for subscription in subscriptions:
            data = order_view(order, owner=subscription.tenant == order.tenant)
            if subscription.wants(event_type, data):
                payload = envelope(event_type, data, now)
                values = (subscription.id, subscription.tenant, event_type, order.id, payload)
                messages.append(new_message(self.sealer, *values, now, order.traceparent))
        return messages

    async def foreign_event(
        self, tx: Transaction, account: str, currency: str | None, event: ProviderOrder
    ) -> int:
        event_type = EVENT_FOR_STATUS[event.status]
        written = 0
        data = foreign_order_view(account, currency, event)
        for subscription in await subscribers(tx, account, None):
            if subscription.wants(event_type, data):
                await self._write(
                    tx, subscription, event_type, f"provider:{event.provider_order_id}", data
                )
                written += 1
        return written

    async def backfill(
        self, tx: Transaction, subscription: Subscription, orders: list[OrderRecord]
    ) -> int:
        """A new endpoint's catch-up: each order's event for its current status, oldest
        first, to this endpoint alone (its types and filter apply)."""
        written = 0
        for order in orders:
            for values in self.order_messages(order, [subscription], self.clock.now()):
                await tx.execute(INSERT_MESSAGE, *values)
                written += 1
        return written

    async def ping(self, tx: Transaction, subscription: Subscription) -> str:
        return await self._write(
            tx, subscription, TEST_EVENT, None, {"subscription_id": subscription.id}
        )

    async def _write(
        self,
        tx: Transaction,
        subscription: Subscription,
        event_type: str,
        order_id: str | None,
        data: dict[str, Any],
        trace: str | None = None,
    ) -> str:
        """`trace`: the order's own trace context, where its events are delivered (else the
        current one: a test send, a foreign order's event)."""
        now = self.clock.now()
        payload = envelope(event_type, data, now)
        return await self.messages.enqueue(
            tx, subscription.id, subscription.tenant, event_type, order_id, payload, now, trace
        )
