"""This gateway process as the others see it: an id, and a heartbeat in the database.

Work a request takes on (an in-flight Idempotency-Key, an order still being
placed) is written with its process's id. A process that dies with such work
stops beating, and within `STALE_AFTER` every other process, or its own
successor, sees the work as abandoned and takes it over: seconds, not the
minutes a fixed timeout would have to allow for the slowest request.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from datetime import timedelta

import structlog

from gateway.clock import Clock, stamp
from gateway.storage import Database, StorageUnavailable

log = structlog.get_logger()

BEAT_EVERY = 2.0
STALE_AFTER = timedelta(seconds=10)


class Instance:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.id = "gwi_" + uuid.uuid4().hex[:16]

    async def register(self) -> None:
        now = stamp(self.clock.now())
        await self.db.execute(
            "INSERT INTO gateway_instances (id, pid, host, started_at, seen_at)"
            " VALUES ($1, $2, $3, $4, $4)",
            self.id,
            os.getpid(),
            socket.gethostname(),
            now,
        )

    async def beat(self) -> None:
        now = self.clock.now()
        await self.db.execute(
            "UPDATE gateway_instances SET seen_at = $2 WHERE id = $1", self.id, stamp(now)
        )
        # Rows of processes long gone: kept a while for the operators, then dropped.
        await self.db.execute(
            "DELETE FROM gateway_instances WHERE seen_at < $1", stamp(now - timedelta(days=1))
        )

    async def retire(self) -> None:
        """A clean stop: what this process still held is abandoned at once."""
        await self.db.execute("DELETE FROM gateway_instances WHERE id = $1", self.id)

    async def live(self) -> set[str]:
        """The ids of the processes seen recently, this one included."""
        rows = await self.db.fetch(
            "SELECT id FROM gateway_instances WHERE seen_at >= $1",
            stamp(self.clock.now() - STALE_AFTER),
        )
        return {row["id"] for row in rows} | {self.id}

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(BEAT_EVERY)
            try:
                await self.beat()
            except StorageUnavailable as exc:
                log.warning("heartbeat_storage_unavailable", error=str(exc))
            except Exception:
                log.exception("heartbeat_failed")
