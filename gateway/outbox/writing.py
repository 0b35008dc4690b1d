"""A new message's row: written one at a time in the transaction of the change it reports
(`Messages.enqueue`), or several at once in the statement that records the provider's
first answer to an order (`gateway.orders.answers`)."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

from gateway.clock import stamp
from gateway.sealing import Sealer
from gateway.tracing import origin

_counter = itertools.count()

# A new message, pending from the moment it is written; `new_message` gives the values.
MESSAGE_COLUMNS = (
    "id", "subscription_id", "tenant", "event_type", "order_id", "ordering", "payload",
    "created_at", "request_id", "traceparent",
)  # fmt: skip
INSERT_MESSAGE = (
    f"INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)}, state, next_attempt_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $8)"
)


def new_message(
    sealer: Sealer,
    subscription_id: str,
    tenant: str,
    event_type: str,
    order_id: str | None,
    payload: str,
    now: datetime,
    trace: str | None = None,
) -> tuple[Any, ...]:
    """A new message's values in `MESSAGE_COLUMNS` order. `ordering` keeps the order in
    which one process wrote messages of the same instant."""
    request_id, current = origin()  # of the work that caused it; the order's trace first
    return (
        "msg_" + uuid.uuid4().hex,
        subscription_id,
        tenant,
        event_type,
        order_id,
        f"{stamp(now)}:{next(_counter):012d}",
        sealer.seal(payload),
        stamp(now),
        request_id,
        trace or current,
    )
