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
    async def transaction(self, work: Work[T]) -> T: ...
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


class SqliteDatabase:
    engine = "sqlite"

    def __init__(self, conn: sqlite3.Connection, worker: ThreadPoolExecutor) -> None:
        self._conn = conn
        self._worker = worker
        self._tx = _SqliteTx(conn)

    @classmethod
    async def open(cls, path: str) -> SqliteDatabase:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.row_factory = _dict_row
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=NORMAL",
                "PRAGMA busy_timeout=5000",
                "PRAGMA foreign_keys=ON",
            ):
                conn.execute(pragma).close()
            return conn

        try:
            conn = await asyncio.get_running_loop().run_in_executor(worker, connect)
        except BaseException:
            worker.shutdown(wait=False)
            raise
        return cls(conn, worker)

    async def _call(self, job: Callable[[], T]) -> T:
        """One hand-off to the worker, in the caller's context (its log fields)."""
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, context.run, job)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self._call(lambda: self._tx.fetchrow_now(sql, args))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._call(lambda: self._tx.fetch_now(sql, args))

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._call(lambda: self._tx.execute_now(sql, args))

    async def transaction(self, work: Work[T]) -> T:
        def run() -> T:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = _drive(work(self._tx))
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return result

        return await self._call(run)

    async def ping(self) -> None:
        await self.fetchrow("SELECT 1 AS ok")

    async def close(self) -> None:
        await self._call(self._conn.close)
        self._worker.shutdown(wait=True)


# --- PostgreSQL --------------------------------------------------------------------


class _PgTx:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row = await self._conn.fetchrow(sql, *args)
        return dict(row) if row is not None else None

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [dict(row) for row in await self._conn.fetch(sql, *args)]

    async def execute(self, sql: str, *args: Any) -> int:
        status: str = await self._conn.execute(sql, *args)
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Released connections skip asyncpg's reset query (`RESET ALL; UNLISTEN *; ...`):
    the gateway never changes session state (its advisory locks are transaction-scoped),
    and the reset cost one more round trip for every statement outside a transaction.
    asyncpg still rolls back a transaction left open."""


class PostgresDatabase:
    engine = "postgresql"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, url: str, min_size: int = 2, max_size: int = 10) -> PostgresDatabase:
        """`?schema=NAME` in the URL keeps the gateway's tables in their own schema."""
        parsed = urlparse(url)
        query = parse_qs(parsed.query)
        schema = query.pop("schema", [None])[0]
        dsn = parsed._replace(query="&".join(f"{k}={v[0]}" for k, v in query.items())).geturl()
        settings: dict[str, str] = {}
        if schema is not None:
            if not _SCHEMA.match(schema):
                raise ValueError("schema: lower-case letters, digits and _")
            conn = await asyncpg.connect(dsn)
            try:
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
        )
        return cls(pool)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._pool.acquire() as conn:
            return await _PgTx(conn).fetchrow(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._pool.acquire() as conn:
            return await _PgTx(conn).fetch(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._pool.acquire() as conn:
            return await _PgTx(conn).execute(sql, *args)

    async def transaction(self, work: Work[T]) -> T:
        async with self._pool.acquire() as conn, conn.transaction():
            return await work(_PgTx(conn))

    async def ping(self) -> None:
        await self.fetchrow("SELECT 1 AS ok")

    async def close(self) -> None:
        await self._pool.close()


# --- opening and migrating ---------------------------------------------------------


async def open_database(url: str) -> Database:
    """Open the database the URL names and bring its schema up to date."""
    db: Database
    if url.startswith("sqlite:///"):
        db = await SqliteDatabase.open(url.removeprefix("sqlite:///"))
    elif url.startswith(("postgresql://", "postgres://")):
        db = await PostgresDatabase.open(url)
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


async def migrate(db: Database) -> list[int]:
    """Apply the migrations not yet applied, each in its own transaction; returns their versions."""
    await db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
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
            await tx.execute("SELECT pg_advisory_xact_lock(727274)")
        if await tx.fetchrow(*done) is not None:
            return False
        for statement in split_statements(sql):
            await tx.execute(statement)
        await tx.execute(*record)
        return True

    return await db.transaction(work)


def _now_text() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()
