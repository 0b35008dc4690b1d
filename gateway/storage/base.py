"""One small database interface over SQLite and asyncpg.

Queries are written once, in PostgreSQL's `$1` style; SQLite gets them as
`?1`, which it understands natively. Both engines run the same schema and the
same migrations.

A transaction is a function: `await db.transaction(work)` runs
`async def work(tx)` and commits what it wrote, or rolls it all back when it
raises. Inside it, await only `tx`'s own methods (and plain coroutines that
do the same): no network, no sleeps.

That rule is what makes SQLite fast. SQLite is one connection owned by one
worker thread, so the event loop never blocks on it (a commit or a
checkpoint can take milliseconds). Every call is one hand-off to that thread,
and a whole transaction is one hand-off too: `work` runs to its end inside
the thread, since none of its awaits suspend. The thread runs one job at a
time, so transactions never interleave and need no lock of their own. With a
hand-off per statement, other orders waited behind a lock held across all of
a transaction's hand-offs, and the gateway topped out near 200 orders/s
(docs/performance.md). PostgreSQL uses a pool and real round trips.

Every wait is bounded. A statement, a pool acquisition or a SQLite hand-off
that takes longer than the storage timeout, and every failure to reach the
database, raises `StorageUnavailable`: the HTTP edge answers it with a
retryable 503, never a 500, and a request never hangs on a frozen database.
Migrations are the exception (a long index build is no outage) and hold a
lock, so that any number of replicas may start together on an empty database.

Chosen over SQLAlchemy Core: the gateway's queries are few and known, both
drivers are thin and fast, and a second layer of translation would add work
on the place-order path without removing any. The SQLite side is the
standard library's `sqlite3` behind a one-thread executor (what aiosqlite
does per call, without its per-statement hand-offs inside a transaction).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

Row = dict[str, Any]
T = TypeVar("T")


DEFAULT_TIMEOUT = 5.0
# Serialises migrations between processes (PostgreSQL advisory lock key).
MIGRATION_LOCK = 727274


class StorageUnavailable(Exception):
    """The database did not answer in time, or cannot be reached: worth retrying later."""


class Transaction(Protocol):
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def execute(self, sql: str, *args: Any) -> int: ...
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...


Work = Callable[[Transaction], Awaitable[T]]


class Database(Protocol):
    engine: str

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def execute(self, sql: str, *args: Any) -> int: ...
    async def transaction(self, work: Work[T], *, bounded: bool = True) -> T: ...
    # the same statement for every row, all or none (on PostgreSQL one round trip, no BEGIN)
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...
    # the span of a write made as a transaction of its own (a batched statement's part)
    def traced(self) -> AbstractContextManager[object]: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class AwaitedInsideTransaction(RuntimeError):
    """A transaction's work awaited something other than its own statements (SQLite)."""
