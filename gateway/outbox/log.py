"""What people read of the outbox: a subscription's delivery log, the operators' list of
messages, and the backlog the metrics show. Every statement here is a read on an index;
the writes, and the dispatcher's own reads, are `gateway.outbox.queue`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.clock import unstamp
from gateway.storage import Database, Row


async def backlog(db: Database) -> tuple[dict[str, int], datetime | None]:
    """Undelivered messages by state, and when the oldest pending one was written: on
    `messages_claim` (state first), so the cost follows the backlog, not the table."""
    counts = dict.fromkeys(("pending", "delivering", "failed"), 0)
    for row in await db.fetch(
        "SELECT state, count(*) AS n FROM messages WHERE state IN ($1, $2, $3) GROUP BY state",
        *counts,
    ):
        counts[row["state"]] = int(row["n"])
    oldest = await db.fetchrow(
        "SELECT min(created_at) AS at FROM messages WHERE state = $1", "pending"
    )
    return counts, unstamp(oldest["at"]) if oldest and oldest["at"] else None


async def attempts(
    db: Database, subscription_id: str, limit: int, after: tuple[str, str] | None
) -> list[Row]:
    """A subscription's delivery attempts, newest first, with their message's state;
    `after` is the (at, id) of the last one already shown."""
    args: list[Any] = [subscription_id]
    where = "a.subscription_id = $1"
    if after is not None:
        args += list(after)
        where += " AND (a.at, a.id) < ($2, $3)"  # a row value: an index range
    args.append(limit)
    return await db.fetch(
        "SELECT a.*, m.event_type, m.order_id, m.state AS message_state, m.next_attempt_at"
        " FROM delivery_attempts a JOIN messages m ON m.id = a.message_id"
        f" WHERE {where} ORDER BY a.at DESC, a.id DESC LIMIT ${len(args)}",
        *args,
    )


async def order_attempts(db: Database, order_id: str, subscription_ids: list[str]) -> list[Row]:
    """An order's messages to these subscriptions, each with its attempts (one row with no
    attempt while none was made), in the order the events were written. On
    `messages_order` (subscription, order, ordering) and `delivery_attempts_message`: an
    order has a handful of messages, whatever the ledger's size, so sorting them is
    sorting a handful."""
    marks = ", ".join(f"${i + 2}" for i in range(len(subscription_ids)))
    return await db.fetch(
        "SELECT m.id AS message_id, m.subscription_id, m.event_type, m.state,"
        " m.next_attempt_at, m.created_at, a.attempt, a.at, a.status, a.latency_ms, a.error"
        " FROM messages m LEFT JOIN delivery_attempts a ON a.message_id = m.id"
        f" WHERE m.subscription_id IN ({marks}) AND m.order_id = $1"
        " ORDER BY m.ordering, a.attempt LIMIT 1000",
        order_id,
        *subscription_ids,
    )


async def dead_letters(
    db: Database, tenants: list[str], limit: int, after: tuple[str, str] | None
) -> list[Row]:
    """Messages that exhausted their attempts, the last given up first, of these tenants:
    on `messages_claim` (state, next_attempt_at, ordering), walked backwards from the
    newest; `after` is the (next_attempt_at, ordering) of the last one already shown."""
    marks = ", ".join(f"${i + 1}" for i in range(len(tenants)))
    args: list[Any] = list(tenants)
    where = f"state = 'failed' AND tenant IN ({marks})"
    if after is not None:
        args += list(after)
        n = len(args)
        where += f" AND (next_attempt_at, ordering) < (${n - 1}, ${n})"  # an index range
    args.append(limit)
    return await db.fetch(
        "SELECT id, tenant, subscription_id, event_type, order_id, attempts, last_status,"
        f" created_at, next_attempt_at, ordering FROM messages WHERE {where}"
        f" ORDER BY next_attempt_at DESC, ordering DESC LIMIT ${len(args)}",
        *args,
    )


async def messages(
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
