"""Rows written off the request path: queued in memory, inserted by one task in batches.

For records a request produces but need not wait for (the audit trail, the decision
trace): the request only appends to a list; one writer task inserts whatever is
queued in one statement (an idle gateway writes each row as it comes, a busy one
many per round trip, with no BEGIN and COMMIT around it). A row is in its table a
few milliseconds after it was queued; only a crash in that window loses it. The
queue survives a database outage (retried every second, up to `limit` rows, the
oldest dropped first and logged), and `stop()` writes what is queued. `flush()`
waits for the rows queued before it, so a read after it sees them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import structlog

from gateway.storage.base import Database, StorageUnavailable

log = structlog.get_logger()

RETRY_SECONDS = 1.0


class QueuedWriter:
    def __init__(self, name: str, insert: str, limit: int = 100_000) -> None:
        self.name = name
        self._insert = insert
        self._limit = limit
        self._db: Database | None = None
        self._queued: list[Sequence[Any]] = []
        self._counted = 0  # rows ever queued
        self._settled = 0  # of those, the first ones written (or dropped past the limit)
        self._readers: list[tuple[int, asyncio.Future[None]]] = []  # (count, done)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self, db: Database) -> None:
        self._db = db
        self._task = asyncio.create_task(self._write_queued(), name=f"{self.name}-writer")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    def add(self, row: Sequence[Any]) -> None:
        self._queued.append(row)
        self._counted += 1
        self._wake.set()

    async def flush(self) -> None:
        if self._settled >= self._counted or self._task is None or self._task.done():
            return
        done = asyncio.get_running_loop().create_future()
        self._readers.append((self._counted, done))
        self._wake.set()
        await done

    async def _write_queued(self) -> None:
        assert self._db is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queued:
                batch, self._queued = self._queued, []
                try:
                    await self._db.executemany(self._insert, batch)
                except StorageUnavailable as exc:  # an outage: kept and retried, one line
                    log.warning(f"{self.name}_write_deferred", rows=len(batch), error=str(exc))
                    failed = True
                except Exception:
                    log.exception(f"{self.name}_write_failed", rows=len(batch))
                    failed = True
                else:
                    failed = False
                if failed:
                    self._queued = batch + self._queued
                    if len(self._queued) > self._limit:
                        dropped = len(self._queued) - self._limit
                        log.error(f"{self.name}_rows_dropped", rows=dropped)
                        self._queued = self._queued[dropped:]
                        self._settle(dropped)
                    if self._stopping:
                        return
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                self._settle(len(batch))
            if self._stopping:
                return

    def _settle(self, rows: int) -> None:
        self._settled += rows
        still = []
        for count, done in self._readers:
            if count <= self._settled:
                if not done.done():
                    done.set_result(None)
            else:
                still.append((count, done))
        self._readers = still
