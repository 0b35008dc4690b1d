"""Idempotency keys: the first answer stored and replayed, one owner while in flight.

`Idempotency-Key` follows the IETF httpapi draft and Stripe: the first response
is stored and replayed; the same key with another body is a mismatch; while
the first request runs, the key is in flight, held by its process (its
`owner`), and a key whose process died is taken over by exactly one retry.
The table is `idempotency_keys`; the ledger is what uses it. A stored answer is
sealed (`gateway.sealing`): it is an order, codes included.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.clock import Clock, stamp, unstamp
from gateway.sealing import Sealer
from gateway.storage import Database, Row, Transaction


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
            body=json.loads(self.sealer.open(row["response_body"])),
            order_id=row["order_id"],
            created_at=created,
        )

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
            self.sealer.seal(json.dumps(body)),
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
