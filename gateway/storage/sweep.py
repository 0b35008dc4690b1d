"""Deleting rows past their retention a batch at a time, beside a running gateway.

One DELETE of a whole backlog (the first run after an upgrade, or after an
outage) would hold its locks, and on SQLite the one writer, for as long as it
takes, and every order would wait behind it. A few hundred rows per statement
keeps each one short: other writes run between two batches.

Short batches are not enough on SQLite, where one thread does every write: a
backlog's batches queued back to back took most of that thread's turns, and
placement at a million-order history fell from hundreds of orders a second to
34 (p50 0.93 s) for as long as the first sweep ran. So a sweep rests after
each full batch as long as the batch took (`pace`): it takes at most half of
the writer, and a backlog is gone in twice the time instead of stalling orders.

The statements look alike: `DELETE FROM t WHERE <past> AND key IN (SELECT key
FROM t WHERE <past> ORDER BY <indexed time> LIMIT n)`. The inner SELECT walks
the time index from the oldest row, so a batch reads what it deletes and no
more; the outer condition is checked again on the row itself, so that a row
changed meanwhile (a replayed message, a reused key) is kept.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from gateway.storage.base import Database


@dataclass(frozen=True)
class Swept:
    """What one sweep of one table did: rows deleted, in how many statements."""

    rows: int = 0
    batches: int = 0

    def __add__(self, other: Swept) -> Swept:
        return Swept(self.rows + other.rows, self.batches + other.batches)


MAX_REST = 1.0  # seconds: a batch slowed by something else does not stall the sweep for long


async def pace(started: float) -> None:
    """Rest as long as the batch begun at `started` (time.monotonic()) took."""
    await asyncio.sleep(min(time.monotonic() - started, MAX_REST))


async def in_batches(db: Database, sql: str, *args: Any, batch: int) -> Swept:
    """Run `sql` (a DELETE, or an UPDATE that empties a column) whose last parameter is
    the batch size, each run a transaction of its own, until one run changes fewer than
    `batch` rows."""
    if batch < 1:
        raise ValueError("a batch is at least one row")
    rows = batches = 0
    while True:
        started = time.monotonic()
        count = await db.execute(sql, *args, batch)
        rows, batches = rows + count, batches + 1
        if count < batch:
            return Swept(rows, batches)
        await pace(started)
