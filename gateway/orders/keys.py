"""Idempotency keys: the first answer stored and replayed, one owner while in flight.

`Idempotency-Key` follows the IETF httpapi draft and Stripe: the first response
is stored and replayed; the same key with another body is a mismatch; while
the first request runs, the key is in flight, held by its process (its
`owner`), and a key whose process died is taken over by exactly one retry.
The table is `idempotency_keys`; the ledger is what uses it.

A key stores only what a replay needs and its order cannot give (`stored_answer`):
the answer's status, its order's id, and of the order's fields that change after an
answer (status, price, codes and the like) those no longer as a new order has them.
The rest (id, tenant, item, `fields`) is read back from the order, so a replay is the
first answer byte for byte, from less than half the bytes. An answer that is no order
(a refusal) is stored whole. What is stored is sealed (`gateway.sealing`): an answer
may carry codes. Keys past their TTL answer nothing (a reuse starts afresh) and are
deleted in batches (`gateway.retention`).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.clock import Clock, stamp, unstamp
from gateway.orders.rows import record_of
from gateway.sealing import Sealer
from gateway.storage import Database, Row, Transaction
from gateway.views import order_view

# What an order's answer shares with its order for good: read back from it on a replay.
FROM_ORDER = (
    "id", "tenant", "account", "item_id", "currency", "fields", "merchant_order_id", "created_at",
)  # fmt: skip
# The rest of an answer as a new order has it: a key stores only what differs.
INITIAL: dict[str, Any] = {
    "provider_order_id": None, "item_name": None, "product_type": None, "quantity": None,
    "price": None, "refund_amount": "0.00", "delivered_quantity": 0, "error": None,
    "error_message": None, "codes": [], "completed_at": None,
}  # fmt: skip


class Claim(enum.Enum):
    NEW = "new"
    REPLAY = "replay"
    IN_FLIGHT = "in_flight"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class KeyClaim:
    outcome: Claim
    status: int | None = None
    body: Any = None
    order_id: str | None = None
    created_at: datetime | None = None
    owner: str | None = None  # the process that took the key (in flight only)


class IdempotencyKeys:
    db: Database
    clock: Clock
    sealer: Sealer

    async def claim_key(
        self, tenant: str, key: str, request_hash: str, ttl: timedelta, owner: str
    ) -> KeyClaim:
        """Take a key for this request, or say why not. Exactly one concurrent caller gets NEW."""
        now = self.clock.now()

        async def claim(tx: Transaction) -> Row | None:
            await tx.execute(
                "DELETE FROM idempotency_keys"
                " WHERE tenant = $1 AND idem_key = $2 AND created_at < $3",
                tenant,
                key,
                stamp(now - ttl),
            )
            inserted = await tx.fetchrow(
                "INSERT INTO idempotency_keys (tenant, idem_key, request_hash, state, created_at,"
                " owner) VALUES ($1, $2, $3, 'in_flight', $4, $5)"
                " ON CONFLICT DO NOTHING RETURNING tenant",
                tenant,
                key,
                request_hash,
                stamp(now),
                owner,
            )
            if inserted is not None:
                return None
            return await tx.fetchrow(
                "SELECT * FROM idempotency_keys WHERE tenant = $1 AND idem_key = $2", tenant, key
            )

        row = await self.db.transaction(claim)
        if row is None:
            return KeyClaim(Claim.NEW)
        created = unstamp(row["created_at"])
        if row["request_hash"] != request_hash:
            return KeyClaim(Claim.MISMATCH, created_at=created)
        if row["state"] == "in_flight":
            return KeyClaim(
                Claim.IN_FLIGHT, order_id=row["order_id"], created_at=created, owner=row["owner"]
            )
        return KeyClaim(
            Claim.REPLAY,
            status=row["response_status"],
            body=await self._answer(
                row["order_id"], json.loads(self.sealer.open(row["response_body"]))
            ),
            order_id=row["order_id"],
            created_at=created,
        )

    async def _answer(self, order_id: str | None, stored: Any) -> Any:
        """The first answer again: what the key kept, over its order as it is now (in the
        order's own key order, which is the answer's)."""
        partial = isinstance(stored, dict) and "status" in stored and "id" not in stored
        if order_id is None or not partial:
            return stored  # stored whole: a refusal, or a key written before keys kept less
        row = await self.db.fetchrow("SELECT * FROM orders WHERE id = $1", order_id)
        if row is None:
            return stored
        order = order_view(record_of(row, self.sealer), owner=True)
        return {
            name: stored[name] if name in stored else INITIAL.get(name, now)
            for name, now in order.items()
        }

    async def attach_key(self, tenant: str, key: str, order_id: str) -> None:
        await self.db.execute(
            "UPDATE idempotency_keys SET order_id = $3 WHERE tenant = $1 AND idem_key = $2",
            tenant,
            key,
            order_id,
        )

    async def finish_key(
        self, tenant: str, key: str, status: int, body: Any, order_id: str | None
    ) -> None:
        await self.db.execute(
            "UPDATE idempotency_keys SET state = 'done', response_status = $3, response_body = $4,"
            " order_id = COALESCE($5, order_id) WHERE tenant = $1 AND idem_key = $2",
            tenant,
            key,
            status,
            self.sealer.seal(json.dumps(stored_answer(body, order_id), separators=(",", ":"))),
            order_id,
        )

    async def take_over_key(
        self, tenant: str, key: str, request_hash: str, dead: str | None, owner: str
    ) -> bool:
        """Take a key whose request died before writing any order: exactly one of several
        retries wins it (a delete-then-claim would let two of them place)."""
        taken = await self.db.execute(
            "UPDATE idempotency_keys SET owner = $5, created_at = $6 WHERE tenant = $1"
            " AND idem_key = $2 AND request_hash = $3 AND state = 'in_flight'"
            " AND order_id IS NULL AND COALESCE(owner, '') = $4",
            tenant,
            key,
            request_hash,
            dead or "",
            owner,
            stamp(self.clock.now()),
        )
        return taken == 1

    async def release_key(self, tenant: str, key: str) -> None:
        """Forget a key whose request failed in a way worth retrying (the provider was busy)."""
        await self.db.execute(
            "DELETE FROM idempotency_keys WHERE tenant = $1 AND idem_key = $2", tenant, key
        )


def stored_answer(body: Any, order_id: str | None) -> Any:
    """What a key keeps of its answer: of an answer that is the order `order_id`, only
    what its order may no longer say (the order's later changes are not the answer's);
    anything else whole."""
    if order_id is None or not isinstance(body, dict) or body.get("id") != order_id:
        return body
    kept = {
        name: value
        for name, value in body.items()
        if name not in FROM_ORDER and not (name in INITIAL and value == INITIAL[name])
    }
    fields = body.get("fields")
    if json.dumps(fields) != json.dumps(fields, sort_keys=True):
        kept["fields"] = fields  # the order stores them sorted: the answer's order is kept
    return kept
