"""The order ledger the provider lacks, and the idempotency keys that guard it.

Every order is written as an intent (status `unknown`, with the gateway's own
`reference`) before the provider is called, so a crash or a lost answer leaves
a record that a later read or webhook settles. The provider's state only ever
moves an order forward: a terminal status is never overwritten. The
idempotency keys that guard it are `gateway.orders.keys`.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from gateway.clock import Clock, stamp, unstamp
from gateway.domain import OrderRecord, OrderStatus, ProviderOrder
from gateway.errors import ProviderIdConflict
from gateway.orders.keys import IdempotencyKeys
from gateway.orders.pages import OrderFilters as OrderFilters
from gateway.orders.pages import OrderPages
from gateway.orders.pages import OrderScope as OrderScope
from gateway.orders.rows import advanced, record_of, sealed_codes, to_micros
from gateway.sealing import Sealer
from gateway.storage import Database, Transaction
from gateway.storage.batch import Batch
from gateway.tracing import traceparent

_INSERT_ORDER = """
INSERT INTO orders (
    id, reference, tenant, account, merchant_order_id, request_hash, item_id, quantity,
    fields, currency, status, created_at, updated_at, item_name, product_type, price,
    owner, traceparent
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
ON CONFLICT DO NOTHING
RETURNING id
"""

_ORDER_TYPES = ["text"] * 6 + ["bigint"] + ["text"] * 11  # item_id, the 7th, is a number
_INSERT_ORDERS = (
    _INSERT_ORDER.split("VALUES", 1)[0]
    + "SELECT * FROM unnest("
    + ", ".join(f"${n}::{t}[]" for n, t in enumerate(_ORDER_TYPES, 1))
    + ")\nON CONFLICT DO NOTHING\nRETURNING id"
)
_MARK_SENDING = (
    "UPDATE orders SET resend_at = m.lease"
    " FROM unnest($1::text[], $2::text[], $3::text[]) AS m(id, owner, lease)"
    " WHERE orders.id = m.id AND orders.owner = m.owner AND orders.status = 'unknown'"
    " AND orders.resend_at IS NULL RETURNING orders.id"
)


class Ledger(IdempotencyKeys, OrderPages):
    def __init__(self, db: Database, clock: Clock, sealer: Sealer) -> None:
        self.db = db
        self.clock = clock
        self.sealer = sealer
        # PostgreSQL: concurrent orders' intents and marks, one statement each batch
        self._intents: Batch[tuple[Any, ...], bool] = Batch(self._insert_intents)
        self._marks: Batch[tuple[str, str, str], bool] = Batch(self._mark_sending)

    # --- orders -----------------------------------------------------------------------

    async def record_intent(self, order: OrderRecord) -> OrderRecord | None:
        """Write the intent. None on success; the existing order when the tenant's
        merchant_order_id is already taken."""
        values = (
            order.id,
            order.reference,
            order.tenant,
            order.account,
            order.merchant_order_id,
            order.request_hash,
            order.item_id,
            None if order.quantity is None else str(order.quantity),
            json.dumps(order.fields, sort_keys=True),
            order.currency,
            order.status.value,
            stamp(order.created_at),
            stamp(order.updated_at),
            order.item_name,
            order.product_type,
            None if order.price is None else str(order.price),
            order.owner,
            order.traceparent or traceparent(),  # the place-order's span, current here
        )
        if self.db.engine == "postgresql":
            inserted = await self._intents.submit(values)
        else:
            inserted = await self.db.fetchrow(_INSERT_ORDER, *values) is not None
        if inserted:
            return None
        existing = await self.db.fetchrow(
            "SELECT * FROM orders WHERE tenant = $1 AND merchant_order_id = $2",
            order.tenant,
            order.merchant_order_id,
        )
        if existing is None:  # pragma: no cover - uuids and references do not collide
            raise RuntimeError("order intent conflicted with nothing")
        return record_of(existing, self.sealer)

    async def discard(self, order_id: str) -> None:
        """The provider refused the order: the intent never became an order."""
        await self.db.execute(
            "DELETE FROM orders WHERE id = $1 AND provider_order_id IS NULL", order_id
        )

    async def get(self, order_id: str) -> OrderRecord | None:
        row = await self.db.fetchrow("SELECT * FROM orders WHERE id = $1", order_id)
        return record_of(row, self.sealer) if row else None

    async def by_reference(self, reference: str) -> OrderRecord | None:
        row = await self.db.fetchrow("SELECT * FROM orders WHERE reference = $1", reference)
        return record_of(row, self.sealer) if row else None

    async def lock(self, tx: Transaction, order_id: str) -> OrderRecord | None:
        """Read an order inside a transaction, holding it against concurrent changes."""
        lock = " FOR UPDATE" if self.db.engine == "postgresql" else ""  # SQLite: tx is exclusive
        row = await tx.fetchrow(f"SELECT * FROM orders WHERE id = $1{lock}", order_id)
        return record_of(row, self.sealer) if row else None

    async def lock_by_reference(self, tx: Transaction, reference: str) -> OrderRecord | None:
        lock = " FOR UPDATE" if self.db.engine == "postgresql" else ""
        row = await tx.fetchrow(f"SELECT * FROM orders WHERE reference = $1{lock}", reference)
        return record_of(row, self.sealer) if row else None

    async def apply_in(
        self, tx: Transaction, current: OrderRecord, seen: ProviderOrder
    ) -> OrderRecord:
        """Bring a locked order up to what the provider says, never backwards. The one
        exception: an order the gateway concluded was never placed (`NOT_PLACED`) that the
        provider shows it has: the provider's word beats the gateway's inference."""
        inferred = current.error == "NOT_PLACED" and current.provider_order_id is None
        if current.status.terminal and not seen.status.terminal and not inferred:
            return current
        if (
            current.status.terminal
            and seen.status.terminal
            and current.status != seen.status
            and not inferred
        ):
            return current  # the first terminal word stands
        now = self.clock.now()
        await self._unclaimed(tx, current, seen)
        await tx.execute(_UPDATE_ORDER, *update_args(current, seen, now, self.sealer))
        return advanced(current, seen, now)

    async def _unclaimed(self, tx: Transaction, order: OrderRecord, seen: ProviderOrder) -> None:
        """The provider's order id must not be another order's already (a provider fault):
        said plainly, as a conflict, instead of a unique-index failure."""
        if order.provider_order_id == seen.provider_order_id:
            return
        other = await tx.fetchrow(
            "SELECT id FROM orders WHERE provider_order_id = $1", seen.provider_order_id
        )
        if other is not None and other["id"] != order.id:
            raise ProviderIdConflict(order.id, other["id"], seen.provider_order_id)

    async def apply_to_intent(
        self, tx: Transaction, intent: OrderRecord, seen: ProviderOrder
    ) -> OrderRecord | None:
        """The provider's answer to the gateway's own place-order call, in one statement with
        no lock: it applies only while the order is still the `unknown` intent that was
        written, so `intent` is what it replaces. None when something else got there first
        (the order's webhook): then lock the order and `apply_in`."""
        now = self.clock.now()
        # the provider id is checked in the statement itself (a round trip fewer per order);
        # only when nothing changed is it asked why: another order's id, or a webhook first
        changed = await tx.execute(
            _UPDATE_ORDER + " AND status = 'unknown'" + _NOT_ANOTHERS,
            *update_args(intent, seen, now, self.sealer),
        )
        if changed:
            return advanced(intent, seen, now)
        await self._unclaimed(tx, intent, seen)
        return None

    async def created_since(
        self, column: str, value: str, since: datetime, limit: int
    ) -> list[OrderRecord]:
        """A tenant's (`column` "tenant") or an account's orders created since `since`,
        oldest first, on orders_tenant_created / orders_account_created."""
        assert column in ("tenant", "account")
        rows = await self.db.fetch(
            f"SELECT * FROM orders WHERE {column} = $1 AND created_at >= $2"
            " ORDER BY created_at, id LIMIT $3",
            value,
            stamp(since),
            limit,
        )
        return [record_of(r, self.sealer) for r in rows]

    async def touch(self, order_id: str) -> None:
        await self.db.execute(
            "UPDATE orders SET updated_at = $2 WHERE id = $1", order_id, stamp(self.clock.now())
        )

    async def mark_sending(self, order_id: str, owner: str, lease: datetime) -> bool:
        """Just before the provider is asked: from now on the order may exist there, so
        whoever takes it over re-sends it (after `lease`, by which this request has ended).
        An intent without this mark was never sent. False when another process has already
        taken the intent over (it thought this one dead): then it must not be sent."""
        if self.db.engine == "postgresql":
            return await self._marks.submit((order_id, owner, stamp(lease)))
        marked = await self.db.execute(
            "UPDATE orders SET resend_at = $3 WHERE id = $1 AND owner = $2"
            " AND status = 'unknown' AND resend_at IS NULL",
            order_id,
            owner,
            stamp(lease),
        )
        return marked == 1

    async def _insert_intents(self, intents: list[tuple[Any, ...]]) -> list[bool]:
        """Several orders' intents in one statement (PostgreSQL): whether each was written
        (not: its tenant's merchant_order_id is taken)."""
        # rows in one order everywhere (tenant, merchant_order_id): two replicas' batches
        # that share keys then wait for each other instead of deadlocking
        ordered = sorted(intents, key=lambda i: (i[2], i[4] or "", i[0]))
        columns = [list(c) for c in zip(*ordered, strict=True)]
        rows = await self.db.fetch(_INSERT_ORDERS, *columns)
        written = {r["id"] for r in rows}
        return [intent[0] in written for intent in intents]

    async def _mark_sending(self, marks: list[tuple[str, str, str]]) -> list[bool]:
        """`mark_sending` for several orders in one statement (PostgreSQL)."""
        columns = [list(c) for c in zip(*sorted(marks), strict=True)]  # rows in id order
        rows = await self.db.fetch(_MARK_SENDING, *columns)
        marked = {r["id"] for r in rows}
        return [order_id in marked for order_id, _, _ in marks]

    async def due_resends(self, now: datetime, limit: int) -> list[OrderRecord]:
        """`unknown` orders due to be sent again, and intents that never were (their request
        ended, or its process died, before the provider was asked: no `resend_at`)."""
        rows = await self.db.fetch(
            "SELECT * FROM orders WHERE status = 'unknown' AND unresolved IS NULL"
            " AND (resend_at <= $1 OR (resend_at IS NULL AND owner IS NOT NULL))"
            " ORDER BY COALESCE(resend_at, created_at) LIMIT $2",
            stamp(now),
            limit,
        )
        return [record_of(r, self.sealer) for r in rows]

    async def claim_resend(self, order: OrderRecord, owner: str, until: datetime) -> bool:
        """Take an `unknown` order to re-send it: exactly one process wins it; the lease
        `until` lets another take it over if this one dies while sending."""
        taken = await self.db.execute(
            "UPDATE orders SET owner = $2, resend_at = $3 WHERE id = $1 AND status = 'unknown'"
            " AND unresolved IS NULL AND COALESCE(owner, '') = $4 AND resend_attempts = $5"
            " AND COALESCE(resend_at, '') = $6",
            order.id,
            owner,
            stamp(until),
            order.owner or "",
            order.resend_attempts,
            stamp(order.resend_at) if order.resend_at else "",
        )
        return taken == 1

    async def set_resolution(
        self,
        tx: Transaction,
        order: OrderRecord,
        *,
        status: OrderStatus | None = None,
        resend_at: datetime | None = None,
        attempts: int | None = None,
        unresolved: str | None = None,
        error: tuple[str, str] | None = None,
    ) -> OrderRecord:
        """Record what became of an `unknown` order that the provider has not described:
        re-send later, placed (awaiting the provider's word), not placed, or an operator's
        to decide. The caller holds the order's lock."""
        now = self.clock.now()
        new_status = status or order.status
        done = new_status.terminal
        await tx.execute(
            "UPDATE orders SET status = $2, owner = NULL, resend_at = $3, resend_attempts = $4,"
            " unresolved = $5, error = COALESCE($6, error), error_message = COALESCE($7,"
            " error_message), completed_at = COALESCE($8, completed_at), updated_at = $9,"
            " price = CASE WHEN $10 THEN NULL ELSE price END WHERE id = $1",
            order.id,
            new_status.value,
            stamp(resend_at) if resend_at else None,
            order.resend_attempts if attempts is None else attempts,
            unresolved,
            error[0] if error else None,
            error[1] if error else None,
            stamp(now) if done else None,
            stamp(now),
            done,
        )
        return dataclasses.replace(
            order,
            status=new_status,
            owner=None,
            resend_attempts=order.resend_attempts if attempts is None else attempts,
            unresolved=unresolved,
            error=error[0] if error else order.error,
            error_message=error[1] if error else order.error_message,
            completed_at=to_micros(now) if done else order.completed_at,
            updated_at=unstamp(stamp(now)),
            price=None if done else order.price,
        )

    async def unresolved(self, limit: int = 500) -> list[OrderRecord]:
        """Orders the gateway cannot settle by itself yet, oldest first: still being re-sent,
        placed without a provider id and no webhook yet, or waiting for an operator. One
        query per set, each on its partial index, so the cost follows the sets, not the
        ledger."""
        found: dict[str, OrderRecord] = {}
        for where in _UNRESOLVED.values():
            rows = await self.db.fetch(
                f"SELECT * FROM orders WHERE {where} ORDER BY created_at LIMIT $1", limit
            )
            found.update((row["id"], record_of(row, self.sealer)) for row in rows)
        return sorted(found.values(), key=lambda o: (o.created_at, o.id))[:limit]

    async def unresolved_counts(self) -> dict[str, tuple[int, datetime | None]]:
        """Per state of `unresolved_state`: how many, and when the oldest was asked for."""
        counts: dict[str, tuple[int, datetime | None]] = {}
        for state, where in _UNRESOLVED.items():
            row = await self.db.fetchrow(
                f"SELECT count(*) AS n, min(created_at) AS oldest FROM orders WHERE {where}"
            )
            assert row is not None
            oldest = unstamp(row["oldest"]) if row["oldest"] else None
            counts[state] = (int(row["n"]), oldest)
        return counts

    async def open_orders(self, older_than: datetime, limit: int = 100) -> list[OrderRecord]:
        rows = await self.db.fetch(
            "SELECT * FROM orders WHERE status IN ('pending', 'processing')"
            " AND updated_at < $1 AND unresolved IS NULL ORDER BY updated_at LIMIT $2",
            stamp(older_than),
            limit,
        )
        return [record_of(r, self.sealer) for r in rows]


# The sets of `domain.unresolved_state`, each matching one partial index of migration 0003.
_UNRESOLVED = {
    "resending": "status = 'unknown' AND unresolved IS NULL",
    "awaiting_webhook": "provider_order_id IS NULL AND status IN ('pending', 'processing')"
    " AND unresolved IS NULL",
    "operator": "unresolved IS NOT NULL",
}

_UPDATE_ORDER = """
UPDATE orders SET
    provider_order_id = $2, status = $3, item_name = $4, product_type = $5,
    price = $6, refund_amount = $7, delivered_quantity = $8, codes = $9,
    error = $10, error_message = $11, completed_at = $12, updated_at = $13,
    quantity = COALESCE(quantity, $14), owner = NULL, resend_at = NULL, unresolved = NULL
WHERE id = $1"""

_NOT_ANOTHERS = (
    " AND NOT EXISTS (SELECT 1 FROM orders other"
    " WHERE other.provider_order_id = $2 AND other.id <> $1)"
)


def update_args(
    current: OrderRecord, seen: ProviderOrder, now: datetime, sealer: Sealer
) -> tuple[Any, ...]:
    return (
        current.id,
        seen.provider_order_id,
        seen.status.value,
        seen.item_name,
        seen.product_type or current.product_type,
        str(seen.price),
        str(seen.refund_amount),
        seen.delivered_quantity,
        sealed_codes(sealer, seen.codes),
        seen.error or None,
        seen.error_message or None,
        stamp(seen.completed_at) if seen.completed_at else None,
        stamp(now),
        str(seen.quantity),
    )
