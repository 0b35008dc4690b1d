"""The outbox's two tables, `messages` and `delivery_attempts`: every statement that writes
them, and the dispatcher's reads (what people read of them is `gateway.outbox.log`).

A message is one event for one endpoint. Its life: `pending` (due at
`next_attempt_at`) → `delivering` (claimed under a lease by one process) →
`delivered`, back to `pending` for a retry, or `failed` (dead-lettered);
`cancelled` when its endpoint is deleted. Each try leaves one attempt row;
a replay puts a message back to `pending` as if never tried. One module: one
place to read when the queue's states or indexes change.

A payload is stored sealed (`gateway.sealing`), whatever it carries (codes, or
fields and prices, the tenant's business too): one rule for every row. Once
delivered and `payload_retention_hours` old it is emptied (`purge_payloads`),
and no replay sends an empty one. Delivered and cancelled messages go after
`message_retention_hours` (that statement is with the others: `gateway.retention`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.clock import Clock, stamp
from gateway.outbox.writing import INSERT_MESSAGE, new_message
from gateway.sealing import Sealer, reseal_column
from gateway.storage import Database, Row, Transaction
from gateway.storage.sweep import pace

WINDOW = 1000  # due messages looked at per claim
PURGE_BATCH = 500  # payloads emptied per statement: short transactions beside deliveries

# Back to pending, as if never tried; `$2` is now (stamped).
_REPLAY = (
    "UPDATE messages SET state = 'pending', attempts = 0, next_attempt_at = $2,"
    " claimed_until = NULL"
)
_DUE = (
    "((m.state = 'pending' AND m.next_attempt_at <= $1)"
    " OR (m.state = 'delivering' AND m.claimed_until < $1))"
)
# The two ways a message is due, each read on `messages_claim` in its order (a lease that ran
# out means its process died mid-delivery).
_WAITING = "m.state = 'pending'"
_LEASE_OVER = "m.state = 'delivering' AND m.claimed_until < $1"
_INSERT_ATTEMPT = (
    "INSERT INTO delivery_attempts (id, message_id, subscription_id, attempt, at, status,"
    " latency_ms, response_excerpt, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)
_DELIVERED = (
    "UPDATE messages SET state = 'delivered', attempts = $2, delivered_at = $3,"
    " last_status = $4, last_error = NULL, claimed_until = NULL WHERE id = $1"
)
# A purged message has an empty payload: replays leave it (it would go out empty).
_KEPT = " AND payload != ''"
REPLAYABLE = ("failed", "delivered")  # never pending or delivering (on their way) or cancelled
# what a range replay's `state` names (the API's body, the CLI's --state)
REPLAY_STATES = {"failed": ("failed",), "delivered": ("delivered",), "all": REPLAYABLE}
# Delivered before `$1`, oldest first, `$2` at a time; the state is checked again on the row
# itself, so that a replay committed meanwhile keeps its payload (on the partial index of
# migration 0004, so that the purge reads only what it empties).
_PURGEABLE = "state = 'delivered' AND delivered_at < $1 AND payload != ''"
_PURGE = (
    f"UPDATE messages SET payload = '' WHERE {_PURGEABLE} AND id IN ("
    f"SELECT id FROM messages WHERE {_PURGEABLE} ORDER BY delivered_at LIMIT $2)"
)
# Both at once (PostgreSQL runs data-changing statements in a WITH; SQLite does not).
_DELIVERED_PG = (
    f"WITH attempt AS ({_INSERT_ATTEMPT}) UPDATE messages SET state = 'delivered',"
    " attempts = $4, delivered_at = $5, last_status = $6, last_error = NULL,"
    " claimed_until = NULL WHERE id = $2"
)


def _marks(count: int, first: int = 1) -> str:
    return ", ".join(f"${i}" for i in range(first, first + count))


@dataclass(frozen=True)
class Attempt:
    """One try at one message, as the dispatcher saw it."""

    message_id: str
    subscription_id: str
    number: int
    at: datetime
    status: int | None
    latency_ms: int
    excerpt: str | None
    error: str | None

    def row(self) -> tuple[Any, ...]:
        return (
            "att_" + uuid.uuid4().hex, self.message_id, self.subscription_id, self.number,
            stamp(self.at), self.status, self.latency_ms, self.excerpt, self.error,
        )  # fmt: skip


class Messages:
    def __init__(self, clock: Clock, sealer: Sealer | None = None) -> None:
        """Without `sealer`, for the statements that neither write nor read a payload."""
        self.clock = clock
        self.sealer = sealer

    def _keys(self) -> Sealer:
        if self.sealer is None:
            raise RuntimeError("Messages(clock) was made without a Sealer: it cannot seal")
        return self.sealer

    def open(self, payload: str) -> str:
        """A claimed message's body as it is signed and sent."""
        return self._keys().open(payload)

    # --- writing ------------------------------------------------------------------------

    async def enqueue(
        self,
        tx: Transaction,
        subscription_id: str,
        tenant: str,
        event_type: str,
        order_id: str | None,
        payload: str,
        now: datetime,
        trace: str | None = None,
    ) -> str:
        values = new_message(
            self._keys(), subscription_id, tenant, event_type, order_id, payload, now, trace
        )
        await tx.execute(INSERT_MESSAGE, *values)
        return str(values[0])

    async def cancel_for(self, tx: Transaction, subscription_id: str) -> None:
        """A deleted endpoint's undelivered messages go nowhere."""
        await tx.execute(
            "UPDATE messages SET state = 'cancelled' WHERE subscription_id = $1"
            " AND state IN ('pending', 'delivering')",
            subscription_id,
        )

    # --- the dispatcher's claims ---------------------------------------------------------

    async def claim(
        self,
        tx: Transaction,
        engine: str,
        now: datetime,
        lease_until: datetime,
        per_endpoint: int,
        in_flight: Mapping[str, int],
        limit: int,
    ) -> list[Row]:
        """Take up to `limit` due messages under a lease, at most `per_endpoint` in flight
        for each endpoint counting `in_flight` (this process's own).

        Two steps in one transaction: pick candidates (due, not waiting behind an earlier
        message of the same order, none for endpoints already full), then lock just those,
        skipping any another process holds, and re-check that they are still due.
        """
        # The endpoints that may take more, named: a join would leave PostgreSQL guessing
        # how many messages it keeps, and it then reads and sorts the whole backlog.
        active = await tx.fetch("SELECT id FROM subscriptions WHERE state = 'active'")
        open_ = sorted(r["id"] for r in active if in_flight.get(r["id"], 0) < per_endpoint)
        if not open_:
            return []
        args: list[Any] = [stamp(now), per_endpoint, limit, *open_]
        among = f" AND m.subscription_id IN ({_marks(len(open_), 4)})"

        # The oldest due messages of active endpoints that are not full, a bounded window of
        # them read in index order (pending, then run-out leases), so that a long backlog does
        # not make every claim read all of it; a disabled or saturated endpoint's backlog is
        # outside the window and starves no one.
        def window(due: str) -> str:
            return (
                "SELECT * FROM (SELECT m.id, m.subscription_id, m.next_attempt_at, m.ordering"
                f" FROM messages m WHERE {due} AND m.next_attempt_at <= $1{among}"
                # a message waiting behind an earlier one of its order is not in the window: a
                # thousand of them behind a dead endpoint would otherwise fill it for everyone
                "   AND NOT EXISTS (SELECT 1 FROM messages e"
                "     WHERE e.subscription_id = m.subscription_id"
                "     AND e.order_id = m.order_id AND e.ordering < m.ordering"
                "     AND e.state IN ('pending', 'delivering'))"
                f" ORDER BY m.next_attempt_at, m.ordering LIMIT {WINDOW}) w"
            )

        candidates = (
            "SELECT id, subscription_id FROM ("
            " SELECT id, subscription_id, next_attempt_at, ordering, ROW_NUMBER() OVER ("
            "   PARTITION BY subscription_id ORDER BY next_attempt_at, ordering) AS rank"
            f" FROM ({window(_WAITING)} UNION ALL {window(_LEASE_OVER)}) m"
            ") c WHERE rank <= $2 ORDER BY next_attempt_at, ordering LIMIT $3"
        )
        picked: list[str] = []
        taken: dict[str, int] = {}
        for row in await tx.fetch(candidates, *args):
            sub = row["subscription_id"]
            if in_flight.get(sub, 0) + taken.get(sub, 0) < per_endpoint:
                taken[sub] = taken.get(sub, 0) + 1
                picked.append(row["id"])
        if not picked:
            return []
        skip_locked = " FOR UPDATE SKIP LOCKED" if engine == "postgresql" else ""
        rows: list[Row] = await tx.fetch(
            f"SELECT * FROM messages m WHERE m.id IN ({_marks(len(picked), 2)}) AND {_DUE}"
            f" ORDER BY m.next_attempt_at, m.ordering{skip_locked}",
            stamp(now),
            *picked,
        )
        if rows:
            await tx.execute(
                "UPDATE messages SET state = 'delivering', claimed_until = $1"
                f" WHERE id IN ({_marks(len(rows), 2)})",
                stamp(lease_until),
                *[row["id"] for row in rows],
            )
        return rows

    async def release(self, db: Database, message_id: str, state: str) -> None:
        """Give a claimed message back unsent: `pending` to wait, `cancelled` for good."""
        await db.execute(
            "UPDATE messages SET state = $2, claimed_until = NULL WHERE id = $1",
            message_id,
            state,
        )

    async def postpone(self, db: Database, message_id: str, until: datetime) -> None:
        """Give a claimed message back unsent, due at `until` (its endpoint's rate): no
        attempt is counted."""
        await db.execute(
            "UPDATE messages SET state = 'pending', next_attempt_at = $2, claimed_until = NULL"
            " WHERE id = $1",
            message_id,
            stamp(until),
        )

    async def analyze(self, db: Database) -> None:
        """PostgreSQL plans the claim from table statistics; a queue table that grows from
        empty to thousands of rows within seconds would otherwise be planned as if it
        were empty (measured: 7 deliveries/s instead of hundreds)."""
        if db.engine == "postgresql":
            await db.execute("ANALYZE messages")

    # --- attempts ----------------------------------------------------------------------

    async def delivered(self, tx: Transaction, engine: str, attempt: Attempt) -> None:
        row = attempt.row()
        if engine == "postgresql":  # the common case in one round trip instead of two
            await tx.execute(_DELIVERED_PG, *row)
            return
        await tx.execute(_INSERT_ATTEMPT, *row)
        await tx.execute(
            _DELIVERED, attempt.message_id, attempt.number, stamp(attempt.at), attempt.status
        )

    async def retry_at(self, tx: Transaction, attempt: Attempt, when: datetime) -> None:
        await tx.execute(_INSERT_ATTEMPT, *attempt.row())
        # the order's later messages to this endpoint wait for this one: not due before it
        await tx.execute(
            "UPDATE messages SET next_attempt_at = $2 WHERE state = 'pending'"
            " AND next_attempt_at < $2 AND (subscription_id, order_id) ="
            " (SELECT subscription_id, order_id FROM messages WHERE id = $1)"
            " AND ordering > (SELECT ordering FROM messages WHERE id = $1)",
            attempt.message_id,
            stamp(when),
        )
        await tx.execute(
            "UPDATE messages SET state = 'pending', attempts = $2,"
            " next_attempt_at = $3, last_status = $4, last_error = $5,"
            " claimed_until = NULL WHERE id = $1",
            attempt.message_id, attempt.number, stamp(when), attempt.status, attempt.error,
        )  # fmt: skip

    async def dead(self, tx: Transaction, attempt: Attempt) -> None:
        await tx.execute(_INSERT_ATTEMPT, *attempt.row())
        await tx.execute(
            "UPDATE messages SET state = 'failed', attempts = $2, last_status = $3,"
            " last_error = $4, claimed_until = NULL WHERE id = $1",
            attempt.message_id, attempt.number, attempt.status, attempt.error,
        )  # fmt: skip

    # --- sending again, and the operators' view ------------------------------------------

    async def replay_order(self, db: Database, order_id: str, tenant: str) -> int:
        """Send an order's delivered and failed messages to `tenant`'s endpoints again, from
        their first attempt."""
        return await db.execute(
            _REPLAY.replace("$2", "$3")
            + " WHERE order_id = $1 AND tenant = $2 AND state IN ('delivered', 'failed')"
            + _KEPT,
            *(order_id, tenant, stamp(self.clock.now())),
        )

    async def replay_message(
        self, db: Database, message_id: str, subscription_id: str | None = None
    ) -> int:
        """One message again (any state but cancelled); of that subscription, when given."""
        if subscription_id is None:
            return await db.execute(
                _REPLAY + " WHERE id = $1 AND state != 'cancelled'" + _KEPT,
                message_id,
                stamp(self.clock.now()),
            )
        return await db.execute(
            _REPLAY.replace("$2", "$3")
            + " WHERE id = $1 AND subscription_id = $2 AND state != 'cancelled'"
            + _KEPT,
            message_id,
            subscription_id,
            stamp(self.clock.now()),
        )

    async def replay_failed_since(self, db: Database, subscription_id: str, since: datetime) -> int:
        """A subscription's failed messages created since `since`, again."""
        return await self.replay_range(db, [subscription_id], since, None, ("failed",))

    async def replay_range(
        self,
        db: Database,
        subscription_ids: list[str],
        since: datetime,
        until: datetime | None,
        states: tuple[str, ...],
        dry_run: bool = False,
    ) -> int:
        """These subscriptions' messages created in [since, until) in these states, again
        (or, `dry_run`, how many would be): on `messages_subscription` (subscription,
        created_at), so the cost follows the range. A delivered message whose payload is
        past its retention has nothing left to send and is not counted."""
        if not subscription_ids:  # a tenant with no endpoint: nothing to send
            return 0
        states_in = ", ".join(f"'{s}'" for s in states if s in REPLAYABLE) or "NULL"
        bounds = (stamp(since), stamp(until) if until else "9999")  # stamps sort as text

        def where(first: int) -> str:  # the subscriptions' placeholders from `first` on
            subs = ", ".join(f"${first + i}" for i in range(len(subscription_ids)))
            return (
                f" WHERE subscription_id IN ({subs}) AND created_at >= $1 AND created_at < $2"
                f" AND state IN ({states_in})" + _KEPT
            )

        if dry_run:
            row = await db.fetchrow(
                "SELECT count(*) AS n FROM messages" + where(3), *bounds, *subscription_ids
            )
            return int(row["n"]) if row else 0
        return await db.execute(
            _REPLAY.replace("$2", "$3") + where(4),
            *bounds,
            stamp(self.clock.now()),
            *subscription_ids,
        )

    async def purged(self, db: Database, message_id: str, subscription_id: str) -> bool:
        """Whether that subscription's message is there but emptied (why a replay found
        nothing to send)."""
        row = await db.fetchrow(
            "SELECT 1 AS purged FROM messages WHERE id = $1 AND subscription_id = $2"
            " AND payload = ''",
            message_id,
            subscription_id,
        )
        return row is not None

    # --- retention and keys ----------------------------------------------------------------

    async def purge_payloads(
        self, db: Database, retention: timedelta, batch: int = PURGE_BATCH
    ) -> int:
        """Empty the payloads of messages delivered more than `retention` ago, `batch` per
        statement, until none is left; returns how many. The delivery log (states,
        attempts) stays: only what the tenant was sent, codes included, goes."""
        before = stamp(self.clock.now() - retention)
        purged = 0
        while True:
            started = time.monotonic()
            count = await db.execute(_PURGE, before, batch)
            purged += count
            if count < batch:
                return purged
            await pace(started)  # others write between two batches (gateway.storage.sweep)

    async def reseal(self, db: Database) -> tuple[int, int]:
        """`gateway seal rekey` for the payloads: (re-sealed, already current)."""
        return await reseal_column(db, self._keys(), "messages", ("id",), "payload")
