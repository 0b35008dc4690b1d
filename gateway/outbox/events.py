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

import itertools
import json
import uuid
from datetime import datetime
from typing import Any

from gateway.clock import Clock, isoformat_z, stamp
from gateway.domain import OrderRecord, OrderStatus, ProviderOrder, money_text, quantity_text
from gateway.outbox.subscriptions import TEST_EVENT, Subscription, subscription_from_row
from gateway.storage import Database, Row, Transaction
from gateway.views import order_view

_counter = itertools.count()

# Back to pending, as if never tried; `$2` is now (stamped).
_REPLAY = (
    "UPDATE messages SET state = 'pending', attempts = 0, next_attempt_at = $2,"
    " claimed_until = NULL"
)

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
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def _subscribers(
        self, tx: Transaction, account: str, tenant: str | None
    ) -> list[Subscription]:
        rows = await tx.fetch(
            "SELECT * FROM subscriptions WHERE state IN ('active', 'disabled')"
            " AND ((scope = 'own' AND tenant = $1) OR scope = $2)"
            " ORDER BY created_at, id",
            tenant or "",
            f"account:{account}",
        )
        return [subscription_from_row(r) for r in rows]

    async def order_event(self, tx: Transaction, order: OrderRecord) -> int:
        """Enqueue the event for this order's current status; returns the messages written."""
        event_type = EVENT_FOR_STATUS[order.status]
        written = 0
        for subscription in await self._subscribers(tx, order.account, order.tenant):
            if subscription.wants(event_type):
                data = order_view(order, show_codes=subscription.tenant == order.tenant)
                await self._write(tx, subscription, event_type, order.id, data)
                written += 1
        return written

    async def foreign_event(
        self, tx: Transaction, account: str, currency: str | None, event: ProviderOrder
    ) -> int:
        event_type = EVENT_FOR_STATUS[event.status]
        written = 0
        for subscription in await self._subscribers(tx, account, None):
            if subscription.wants(event_type):
                data = foreign_order_view(account, currency, event)
                await self._write(
                    tx, subscription, event_type, f"provider:{event.provider_order_id}", data
                )
                written += 1
        return written

    # --- sending again, and the operators' view ------------------------------------------
    # Every statement on `messages` outside the dispatcher's claims and attempts is here.

    async def replay_order(self, db: Database, order_id: str) -> int:
        """Send an order's delivered and failed messages again, from their first attempt."""
        return await db.execute(
            _REPLAY + " WHERE order_id = $1 AND state IN ('delivered', 'failed')",
            order_id,
            stamp(self.clock.now()),
        )

    async def replay_message(
        self, db: Database, message_id: str, subscription_id: str | None = None
    ) -> int:
        """One message again (any state but cancelled); of that subscription, when given."""
        if subscription_id is None:
            return await db.execute(
                _REPLAY + " WHERE id = $1 AND state != 'cancelled'",
                message_id,
                stamp(self.clock.now()),
            )
        return await db.execute(
            _REPLAY.replace("$2", "$3")
            + " WHERE id = $1 AND subscription_id = $2 AND state != 'cancelled'",
            message_id,
            subscription_id,
            stamp(self.clock.now()),
        )

    async def replay_failed_since(self, db: Database, subscription_id: str, since: datetime) -> int:
        """A subscription's failed messages created since `since`, again."""
        return await db.execute(
            _REPLAY.replace("$2", "$3")
            + " WHERE subscription_id = $1 AND state = 'failed' AND created_at >= $2",
            subscription_id,
            stamp(since),
            stamp(self.clock.now()),
        )

    async def attempts(
        self, db: Database, subscription_id: str, limit: int, after: tuple[str, str] | None
    ) -> list[Row]:
        """A subscription's delivery attempts, newest first, with their message's state;
        `after` is the (at, id) of the last one already shown."""
        args: list[Any] = [subscription_id]
        where = "a.subscription_id = $1"
        if after is not None:
            args += list(after)
            where += " AND (a.at < $2 OR (a.at = $2 AND a.id < $3))"
        args.append(limit)
        return await db.fetch(
            "SELECT a.*, m.event_type, m.order_id, m.state AS message_state, m.next_attempt_at"
            " FROM delivery_attempts a JOIN messages m ON m.id = a.message_id"
            f" WHERE {where} ORDER BY a.at DESC, a.id DESC LIMIT ${len(args)}",
            *args,
        )

    async def list_messages(
        self,
        db: Database,
        state: str | None,
        tenant: str | None,
        subscription: str | None,
        limit: int,
    ) -> list[Row]:
        """Messages, newest first, for the operators' `gateway deliveries list`."""
        where: list[str] = []
        args: list[Any] = []
        for column, value in (
            ("state", state),
            ("tenant", tenant),
            ("subscription_id", subscription),
        ):
            if value is not None:
                args.append(value)
                where.append(f"{column} = ${len(args)}")
        args.append(max(1, min(limit, 1000)))
        return await db.fetch(
            "SELECT id, state, attempts, last_status, next_attempt_at, event_type, order_id,"
            " tenant, subscription_id FROM messages"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY created_at DESC, id DESC LIMIT ${len(args)}",
            *args,
        )

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
    ) -> str:
        now = self.clock.now()
        message_id = "msg_" + uuid.uuid4().hex
        await tx.execute(
            "INSERT INTO messages (id, subscription_id, tenant, event_type, order_id, ordering,"
            " payload, state, next_attempt_at, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)",
            message_id,
            subscription.id,
            subscription.tenant,
            event_type,
            order_id,
            f"{stamp(now)}:{next(_counter):012d}",
            envelope(event_type, data, now),
            stamp(now),
        )
        return message_id
