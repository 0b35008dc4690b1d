"""Group commit: many small transactions that arrive together, committed as one.

Each delivery attempt is recorded in a transaction of its own (the attempt,
the message's new state, perhaps its endpoint's). Under load hundreds finish
per second, and each paid its own BEGIN and COMMIT (on PostgreSQL two round
trips of about four; on SQLite one hand-off to the database thread each).
`GroupCommit.run(work)` queues the work and returns when it is committed, as
`db.transaction(work)` would; whatever is queued when the writer gets to it
runs in one transaction. Nothing waits for a batch to fill: an idle gateway
commits each alone, at once.

If the shared transaction fails, each work in it runs again alone, so that
one bad record neither loses the others nor gets their error.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from gateway.storage.database import Database, Transaction, Work


class GroupCommit:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._queued: list[tuple[Work[Any], asyncio.Future[Any]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def run(self, work: Work[Any]) -> Any:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queued.append((work, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="group-commit")
        return await done

    async def close(self) -> None:
        """Commit what is queued, then return."""
        if self._writer is not None:
            await self._writer

    async def _write(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                results = await self._db.transaction(functools.partial(_together, batch))
            except asyncio.CancelledError:
                for _, done in batch + self._queued:
                    done.cancel()
                raise
            except Exception:
                for work, done in batch:
                    try:
                        result = await self._db.transaction(work)
                    except Exception as exc:
                        if not done.done():
                            done.set_exception(exc)
                    else:
                        if not done.done():
                            done.set_result(result)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if not done.done():
                    done.set_result(result)


async def _together(
    batch: list[tuple[Work[Any], asyncio.Future[Any]]], tx: Transaction
) -> list[Any]:
    return [await work(tx) for work, _ in batch]
