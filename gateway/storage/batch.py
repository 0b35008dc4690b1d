"""One statement for many callers: what arrives while a statement is in flight goes in the next.

Under load dozens of orders write their intent within the same millisecond, each
paying a round trip to PostgreSQL, a commit and the statement's parse and plan
on both sides. `Batch(write).submit(item)` returns what `write` says of that
item, as if it had been written alone; `write` gets every item queued by the time
the previous statement returns, and writes them with one statement (an INSERT or
UPDATE over `unnest` arrays: one prepared statement whatever the batch's size).
Nothing waits for a batch to fill: an idle gateway writes each item at once.
Unlike `GroupCommit`, which shares one transaction among several works that each
still run their own statements, this shares the statement itself.

A batch that fails fails for each of its callers, with the same error: it is one
statement, and a storage fault would have met each of them alone too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batch(Generic[Item, Result]):
    def __init__(
        self, write: Callable[[list[Item]], Awaitable[list[Result]]], limit: int = 200
    ) -> None:
        self._write_all = write
        self._limit = limit
        self._queued: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queued.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="batch-writer")
        return await done

    async def _write(self) -> None:
        while self._queued:
            batch, self._queued = self._queued[: self._limit], self._queued[self._limit :]
            try:
                results = await self._write_all([item for item, _ in batch])
            except asyncio.CancelledError:
                for _, done in batch + self._queued:
                    done.cancel()
                self._queued = []
                raise
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if not done.done():
                    done.set_result(result)
