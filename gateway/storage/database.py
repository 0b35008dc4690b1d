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

import asyncio
import contextvars
import functools
import re
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlparse

import asyncpg
import structlog

log = structlog.get_logger()

Row = dict[str, Any]
T = TypeVar("T")
_PARAM = re.compile(r"\$(\d+)")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


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
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class AwaitedInsideTransaction(RuntimeError):
    """A transaction's work awaited something other than its own statements (SQLite)."""


# --- SQLite ------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _sqlite_sql(sql: str) -> str:
    return _PARAM.sub(r"?\1", sql)


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


class SqliteDatabase:
    engine = "sqlite"

    def __init__(
        self, conn: sqlite3.Connection, worker: ThreadPoolExecutor, timeout: float
    ) -> None:
        self._conn = conn
        self._worker = worker
        self._tx = _SqliteTx(conn)
        self._timeout = timeout

    @classmethod
    async def open(cls, path: str, limit: float = DEFAULT_TIMEOUT) -> SqliteDatabase:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
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
        return cls(conn, worker, limit)

    async def _call(self, job: Callable[[], T], bounded: bool = True) -> T:
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

        future = asyncio.get_running_loop().run_in_executor(self._worker, run)
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
        return await self._call(lambda: self._tx.fetchrow_now(sql, args))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
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

        return await self._call(run, bounded)

    async def ping(self) -> None:
        await self.fetchrow("SELECT 1 AS ok")

    async def close(self) -> None:
        await self._call(self._conn.close)
        self._worker.shutdown(wait=True)


# --- PostgreSQL --------------------------------------------------------------------


# Driver errors that mean "the database is not answering", not "the statement is wrong".
_PG_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


class _PgTx:
    def __init__(self, conn: asyncpg.Connection, timeout: float | None) -> None:
        self._conn = conn
        self._timeout = timeout

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row = await self._conn.fetchrow(sql, *args, timeout=self._timeout)
        return dict(row) if row is not None else None

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [dict(row) for row in await self._conn.fetch(sql, *args, timeout=self._timeout)]

    async def execute(self, sql: str, *args: Any) -> int:
        status: str = await self._conn.execute(sql, *args, timeout=self._timeout)
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows, timeout=self._timeout)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Released connections skip asyncpg's reset query (`RESET ALL; UNLISTEN *; ...`):
    the gateway never changes session state (its advisory locks are transaction-scoped),
    and the reset cost one more round trip for every statement outside a transaction.
    asyncpg still rolls back a transaction left open."""


class PostgresDatabase:
    engine = "postgresql"

    def __init__(self, pool: asyncpg.Pool, timeout: float) -> None:
        self._pool = pool
        self._timeout = timeout

    @classmethod
    async def open(
        cls, url: str, min_size: int = 2, max_size: int = 10, limit: float = DEFAULT_TIMEOUT
    ) -> PostgresDatabase:
        """`?schema=NAME` in the URL keeps the gateway's tables in their own schema."""
        parsed = urlparse(url)
        query = parse_qs(parsed.query)
        schema = query.pop("schema", [None])[0]
        dsn = parsed._replace(query="&".join(f"{k}={v[0]}" for k, v in query.items())).geturl()
        settings: dict[str, str] = {}
        if schema is not None:
            if not _SCHEMA.match(schema):
                raise ValueError("schema: lower-case letters, digits and _")
            conn = await asyncpg.connect(dsn, timeout=limit)
            try:  # under the migration lock: replicas starting together race on it too
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            finally:
                await conn.close()
            settings["search_path"] = schema
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            server_settings=settings,
            reset=_keep_session,
            timeout=limit,  # to connect
        )
        return cls(pool, limit)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self._run(lambda tx: tx.fetchrow(sql, *args), begin=False)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._run(lambda tx: tx.fetch(sql, *args), begin=False)

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._run(lambda tx: tx.execute(sql, *args), begin=False)

    async def transaction(self, work: Work[T], *, bounded: bool = True) -> T:
        return await self._run(work, begin=True, bounded=bounded)

    async def _run(self, work: Work[T], *, begin: bool, bounded: bool = True) -> T:
        timeout = self._timeout if bounded else None
        try:
            async with self._pool.acquire(timeout=timeout) as conn:
                if not begin:
                    return await work(_PgTx(conn, timeout))
                async with conn.transaction():
                    return await work(_PgTx(conn, timeout))
        except _PG_UNAVAILABLE as exc:
            raise StorageUnavailable(f"PostgreSQL: {type(exc).__name__}: {exc}") from exc

    async def ping(self) -> None:
        await self.fetchrow("SELECT 1 AS ok")

    async def close(self) -> None:
        await self._pool.close()


# --- opening and migrating ---------------------------------------------------------


async def open_database(url: str, limit: float = DEFAULT_TIMEOUT) -> Database:
    """Open the database the URL names and bring its schema up to date. `limit` (seconds) bounds
    every statement, pool acquisition and hand-off (migrations excepted)."""
    db: Database
    if url.startswith("sqlite:///"):
        db = await SqliteDatabase.open(url.removeprefix("sqlite:///"), limit)
    elif url.startswith(("postgresql://", "postgres://")):
        try:
            db = await PostgresDatabase.open(url, limit=limit)
        except _PG_UNAVAILABLE as exc:
            raise StorageUnavailable(f"PostgreSQL: {type(exc).__name__}: {exc}") from exc
    else:
        raise ValueError(f"unsupported storage URL scheme: {url.split(':', 1)[0]}")
    try:
        await migrate(db)
    except BaseException:
        await db.close()
        raise
    return db


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("gateway.storage.migrations").iterdir():
        match = re.match(r"^(\d{4})_(\w+)\.sql$", entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text()))
    return sorted(found)


def split_statements(sql: str) -> Sequence[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


async def create_locked(db: Database, ddl: str) -> None:
    """A `CREATE ... IF NOT EXISTS` under the migration lock: on PostgreSQL two such
    statements racing each other fail on the catalog's unique index."""

    async def work(tx: Transaction) -> None:
        if db.engine == "postgresql":
            await tx.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await tx.execute(ddl)

    await db.transaction(work, bounded=False)


async def migrate(db: Database) -> list[int]:
    """Apply the migrations not yet applied, each in its own transaction; returns their versions."""
    await create_locked(
        db,
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    applied: list[int] = []
    for version, name, sql in migrations():
        if await apply_once(
            db,
            sql,
            ("SELECT version FROM schema_migrations WHERE version = $1", version),
            (
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                version,
                name,
                _now_text(),
            ),
        ):
            applied.append(version)
            log.info("migration_applied", version=version, name=name, engine=db.engine)
    return applied


async def apply_once(
    db: Database, sql: str, done: tuple[Any, ...], record: tuple[Any, ...]
) -> bool:
    """Run one migration script unless `done` (a query and its arguments) finds it applied,
    and `record` it, all in one transaction; False when it was already applied. On
    PostgreSQL several gateway processes may start at once: one migrates, the others wait."""

    async def work(tx: Transaction) -> bool:
        if db.engine == "postgresql":
            await tx.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        if await tx.fetchrow(*done) is not None:
            return False
        for statement in split_statements(sql):
            await tx.execute(statement)
        await tx.execute(*record)
        return True

    return await db.transaction(work, bounded=False)


def _now_text() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()
