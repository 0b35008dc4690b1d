"""SQLite: one connection on one worker thread; a whole transaction is one hand-off.

The database file is created readable by its owner only (0600), before SQLite
opens it: it holds the ledger, and a backup tool or another local user has no
business reading it. SQLite gives its `-wal` and `-shm` files the database
file's own mode. A file that already exists keeps its mode (the operator's
choice), with a warning when others may read it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import re
import sqlite3
import stat
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import structlog
from opentelemetry.trace import SpanKind, Tracer

from gateway.storage.base import (
    DEFAULT_TIMEOUT,
    AwaitedInsideTransaction,
    Row,
    StorageUnavailable,
    T,
    Work,
)
from gateway.tracing import NO_TRACER, span

_PARAM = re.compile(r"\$(\d+)")
FILE_MODE = 0o600

log = structlog.get_logger()


@functools.lru_cache(maxsize=512)
def _sqlite_sql(sql: str) -> str:
    return _PARAM.sub(r"?\1", sql)


def _create_private(path: str) -> None:
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            log.warning(
                "sqlite_file_readable_by_others",
                path=path,
                mode=oct(mode),
                fix=f"chmod 600 {path} (and its -wal and -shm files)",
            )


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


class _SqliteTx:
    """Statements on the worker thread's connection. The methods are coroutines so that
    the same `work` runs on both engines, but here they never suspend."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def run_inline(self, awaitable: Awaitable[T]) -> T:
        """Run a part of the transaction's work (a plugin's hook) to its end here, so that
        its failure to keep to the rule raises where its caller can catch it."""
        return _drive(awaitable)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return self.fetchrow_now(sql, args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return self.fetch_now(sql, args)

    async def execute(self, sql: str, *args: Any) -> int:
        return self.execute_now(sql, args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(_sqlite_sql(sql), rows)

    def fetchrow_now(self, sql: str, args: Sequence[Any]) -> Row | None:
        cursor = self._conn.execute(_sqlite_sql(sql), args)
        try:
            row: Row | None = cursor.fetchone()
            return row
        finally:
            cursor.close()

    def fetch_now(self, sql: str, args: Sequence[Any]) -> list[Row]:
        cursor = self._conn.execute(_sqlite_sql(sql), args)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    def execute_now(self, sql: str, args: Sequence[Any]) -> int:
        cursor = self._conn.execute(_sqlite_sql(sql), args)
        try:
            cursor.fetchall()  # a RETURNING clause's rows, if any, before the count
            return cursor.rowcount
        finally:
            cursor.close()


def _drive(awaitable: Awaitable[T]) -> T:
    """Run an awaitable that never suspends to its end, in this thread."""
    steps = awaitable.__await__()
    try:
        awaited = next(steps)
    except StopIteration as done:
        result: T = done.value
        return result
    close = getattr(steps, "close", None)
    if close is not None:
        close()
    raise AwaitedInsideTransaction(
        f"a SQLite transaction awaited {awaited!r}; inside `db.transaction(work)` await only "
        "the transaction's own statements, and do other I/O before or after it"
    )


# SQLite's result codes that mean "not now" rather than "wrong statement".
_SQLITE_UNAVAILABLE = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PROTOCOL,
    sqlite3.SQLITE_READONLY,
}


def _sqlite_unavailable(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in _SQLITE_UNAVAILABLE


class _Job:
    """A hand-off that the caller may give up on before the worker starts it; once
    started it runs to its end (it is bounded by SQLite's busy timeout), and the caller
    waits for it, so that nothing commits after its caller was told it failed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = False
        self.abandoned = False

    def start(self) -> bool:
        with self._lock:
            self.started = not self.abandoned
            return self.started

    def abandon(self) -> bool:
        """True when the job will now never run."""
        with self._lock:
            self.abandoned = not self.started
            return self.abandoned


READERS = 2  # reader threads, each with its own connection


class _Readers:
    """A connection per reader thread, made on the thread's first read."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        self.pool = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="sqlite-read")

    def tx(self) -> _SqliteTx:
        found: _SqliteTx | None = getattr(self._local, "tx", None)
        if found is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=ON").close()
            with self._lock:
                self._all.append(conn)
            found = self._local.tx = _SqliteTx(conn)
        return found

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:6].upper() in ("SELECT", "EXPLAI")


_SPAN_ATTRIBUTES = {"db.system.name": "sqlite"}


class SqliteDatabase:
    engine = "sqlite"
    # a span per transaction; the app sets its own tracer (gateway.tracing)
    tracer: Tracer = NO_TRACER

    def __init__(
        self,
        conn: sqlite3.Connection,
        worker: ThreadPoolExecutor,
        timeout: float,
        readers: _Readers | None = None,
    ) -> None:
        self._conn = conn
        self._worker = worker
        self._tx = _SqliteTx(conn)
        self._timeout = timeout
        self._readers = readers

    @classmethod
    async def open(cls, path: str, limit: float = DEFAULT_TIMEOUT) -> SqliteDatabase:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _create_private(path)
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.row_factory = _dict_row
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=NORMAL",
                f"PRAGMA busy_timeout={int(limit * 1000)}",
                "PRAGMA foreign_keys=ON",
            ):
                conn.execute(pragma).close()
            return conn

        try:
            conn = await asyncio.get_running_loop().run_in_executor(worker, connect)
        except BaseException:
            worker.shutdown(wait=False)
            raise
        # an in-memory database is one connection's own: it has no readers beside it
        return cls(conn, worker, limit, None if path == ":memory:" else _Readers(connect))

    async def _call(
        self, job: Callable[[], T], bounded: bool = True, pool: ThreadPoolExecutor | None = None
    ) -> T:
        """One hand-off to the worker, in the caller's context (its log fields). A job still
        queued after the timeout (the worker is stuck behind a locked database) is dropped."""
        context = contextvars.copy_context()
        state = _Job()

        def run() -> T:
            if not state.start():
                raise StorageUnavailable("dropped: its caller gave up waiting")
            try:
                return context.run(job)
            except sqlite3.Error as exc:
                if _sqlite_unavailable(exc):
                    raise StorageUnavailable(f"SQLite: {exc}") from exc
                raise

        future = asyncio.get_running_loop().run_in_executor(pool or self._worker, run)
        if not bounded:
            return await future
        try:
            async with asyncio.timeout(self._timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            if state.abandon():
                raise StorageUnavailable(
                    f"SQLite did not take the statement within {self._timeout:g} s"
                ) from None
            return await future  # already running: its own busy timeout bounds it

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        readers = self._readers
        if readers is not None and _is_read(sql):
            return await self._call(lambda: readers.tx().fetchrow_now(sql, args), pool=readers.pool)
        return await self._call(lambda: self._tx.fetchrow_now(sql, args))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        readers = self._readers
        if readers is not None and _is_read(sql):
            return await self._call(lambda: readers.tx().fetch_now(sql, args), pool=readers.pool)
        return await self._call(lambda: self._tx.fetch_now(sql, args))

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._call(lambda: self._tx.execute_now(sql, args))

    async def transaction(self, work: Work[T], *, bounded: bool = True) -> T:
        def run() -> T:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = _drive(work(self._tx))
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return result

        # current while the work runs: the worker thread gets a copy of this context
        with self.traced():
            return await self._call(run, bounded)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.transaction(lambda tx: tx.executemany(sql, rows))

    def traced(self) -> AbstractContextManager[object]:
        return span(
            self.tracer, "storage transaction", kind=SpanKind.CLIENT, attributes=_SPAN_ATTRIBUTES
        )

    async def ping(self) -> None:
        await self.fetchrow("SELECT 1 AS ok")

    async def close(self) -> None:
        if self._readers is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._readers.close)
        await self._call(self._conn.close)
        self._worker.shutdown(wait=True)
