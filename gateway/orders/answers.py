"""The provider's first answer to a sending, on PostgreSQL: one statement for many orders.

It is the commonest write of all: the intent becomes the provider's order, and
every endpoint that hears about it gets its message. As a transaction that is
BEGIN, the UPDATE, the endpoints' SELECT, an INSERT per endpoint and COMMIT,
each a round trip; here the answers that arrive together are written by one
statement in autocommit (`gateway.storage.batch`), which PostgreSQL applies whole
or not at all. An order's part changes it only when

- the order is still the `unknown` intent, and the provider's id is no other
  order's (the conditions of `Ledger.apply_to_intent`);
- the endpoints that hear about the order are still those its messages were
  made for: `KnownSubscribers` keeps them per process, and the statement
  compares their fingerprint with the database's own;
- and no plugin settles through the transaction (`gateway_settle_needs_transaction`).

An order whose part changed nothing, or whose statement failed (two answers in
one batch that name the same provider order id, say), takes the transaction,
which reads and locks what it needs and decides as before; a stale fingerprint
is forgotten.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from gateway.domain import OrderRecord, OrderStatus, ProviderOrder
from gateway.hooks.host import PluginHost
from gateway.orders.ledger import Ledger, update_args
from gateway.orders.rows import advanced
from gateway.outbox.events import Outbox
from gateway.outbox.known import fingerprint
from gateway.outbox.writing import MESSAGE_COLUMNS
from gateway.plugin_api import Settlement
from gateway.storage import StorageUnavailable
from gateway.storage.batch import Batch

log = structlog.get_logger()

# An answer's values: `update_args` (14), then the tenant, the account's scope, the print.
_ANSWER = (
    "id", "provider_order_id", "status", "item_name", "product_type", "price",
    "refund_amount", "delivered_quantity", "codes", "error", "error_message", "completed_at",
    "updated_at", "quantity", "tenant", "scope", "print",
)  # fmt: skip
_SET = ", ".join(f"{c} = a.{c}" for c in _ANSWER[1:13])
_COLUMNS = ", ".join(MESSAGE_COLUMNS)
_FIRST = len(_ANSWER) + 1  # the first message array's parameter
_ANSWERS = ", ".join(
    f"${n}::{'int' if c == 'delivered_quantity' else 'text'}[]" for n, c in enumerate(_ANSWER, 1)
)
_MESSAGES = ", ".join(f"${_FIRST + i}::text[]" for i in range(len(MESSAGE_COLUMNS)))

_WRITE = f"""
WITH answer AS (
    SELECT * FROM unnest({_ANSWERS}) AS a({", ".join(_ANSWER)})
),
heard AS (
    SELECT a.id, ({fingerprint("a.tenant", "a.scope")}) AS print FROM answer a
),
changed AS (
    UPDATE orders SET {_SET}, quantity = COALESCE(orders.quantity, a.quantity),
        owner = NULL, resend_at = NULL, unresolved = NULL
    FROM answer a JOIN heard h ON h.id = a.id
    WHERE orders.id = a.id AND orders.status = 'unknown' AND h.print = a.print
        AND NOT EXISTS (SELECT 1 FROM orders other
            WHERE other.provider_order_id = a.provider_order_id AND other.id <> a.id)
    RETURNING orders.id
),
sent AS (
    INSERT INTO messages ({_COLUMNS}, state, next_attempt_at)
    SELECT {_COLUMNS}, 'pending', created_at FROM unnest({_MESSAGES}) AS m({_COLUMNS})
    WHERE m.order_id IN (SELECT id FROM changed)
    RETURNING order_id
)
SELECT h.id, h.print, h.id IN (SELECT id FROM changed) AS changed,
    (SELECT count(*) FROM sent WHERE sent.order_id = h.id) AS sent
FROM heard h
"""

# what one order's part says: changed, messages written, the database's fingerprint
Said = tuple[bool, int, str]


def settlement_of(order: OrderRecord, kind: str, **values: Any) -> Settlement:
    return Settlement(
        kind=kind,
        order_id=order.id,
        tenant=order.tenant,
        account=order.account,
        currency=order.currency,
        **values,
    )


class Answers:
    def __init__(self, ledger: Ledger, outbox: Outbox, plugins: PluginHost) -> None:
        self.ledger = ledger
        self.outbox = outbox
        self.plugins = plugins
        self._batch: Batch[tuple[tuple[Any, ...], list[tuple[Any, ...]]], Said] = Batch(
            self._write_all
        )

    async def alone(
        self, intent: OrderRecord, seen: ProviderOrder
    ) -> tuple[OrderRecord, bool, int] | None:
        """What `Outcomes.conclude` does with the provider's first word on an intent, less
        the round trips: the order as stored, False (not terminal), the messages written;
        None when nothing was written (then take the transaction)."""
        if (
            self.ledger.db.engine != "postgresql"
            or intent.status is not OrderStatus.UNKNOWN
            or seen.status.terminal
        ):
            return None
        now = self.ledger.clock.now()
        stored = advanced(intent, seen, now)
        settlement = settlement_of(stored, "placed", charged=seen.price)
        if self.plugins.settle_needs_transaction(stored.tenant, settlement):
            return None
        written = await self._write(intent, stored, seen, now)
        if written is None:
            return None
        await self.plugins.notify(
            "gateway_settle", stored.tenant, settlement=settlement, transaction=None
        )
        return stored, False, written

    async def _write(
        self, intent: OrderRecord, stored: OrderRecord, seen: ProviderOrder, now: datetime
    ) -> int | None:
        db, account, tenant = self.ledger.db, intent.account, intent.tenant
        print_, subscriptions = await self.outbox.known.get(db, account, tenant)
        answer = (*update_args(intent, seen, now, self.ledger.sealer), tenant)
        answer += (f"account:{account}", print_)
        with db.traced():  # this order's part: its messages' trace names this span
            messages = self.outbox.order_messages(stored, subscriptions, now)
            try:
                changed, sent, print_now = await self._batch.submit((answer, messages))
            except StorageUnavailable:
                raise
            except Exception as exc:  # the transaction finds out, order by order
                log.warning("order_answers_statement_failed", error=repr(exc))
                return None
        if changed:
            return sent
        if print_now != print_:
            self.outbox.known.forget(account, tenant)
        return None

    async def _write_all(
        self, parts: list[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]
    ) -> list[Said]:
        # An order answered twice at once (its request and the resender) is written once:
        # the first part; the others change nothing and take the transaction, which finds
        # the order settled and writes no second event.
        first: dict[str, tuple[tuple[Any, ...], list[tuple[Any, ...]]]] = {}
        for answer, messages in parts:
            first.setdefault(answer[0], (answer, messages))
        answers = [list(c) for c in zip(*(a for a, _ in first.values()), strict=True)]
        messages = [m for _, ms in first.values() for m in ms]
        columns = [[m[i] for m in messages] for i in range(len(MESSAGE_COLUMNS))]
        rows = await self.ledger.db.fetch(_WRITE, *answers, *columns)
        said = {r["id"]: (bool(r["changed"]), int(r["sent"]), r["print"]) for r in rows}
        return [
            said[answer[0]] if first[answer[0]][0] is answer else (False, 0, answer[-1])
            for answer, _ in parts
        ]
