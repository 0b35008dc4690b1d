"""One small database interface over aiosqlite and asyncpg.

Queries are written once, in PostgreSQL's `$1` style; SQLite gets them as
`?1`, which it understands natively. Both engines run the same schema and the
same migrations. SQLite is one connection in WAL mode: every statement and
transaction takes a lock, since statements of two coroutines on one
connection would otherwise mix into one transaction. PostgreSQL uses a pool.

Chosen over SQLAlchemy Core: the gateway's queries are few and known, both
drivers are thin and fast, and each awaited aiosqlite call already costs a
thread hand-off; a second layer of translation would add work on the
place-order path without removing any.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

import aiosqlite
import asyncpg
import structlog

log = structlog.get_logger()

Row = dict[str, Any]
_PARAM = re.compile(r"\$(\d+)")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Transaction(Protocol):
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def execute(self, sql: str, *args: Any) -> int: ...


class Database(Protocol):
    engine: str

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def execute(self, sql: str, *args: Any) -> int: ...
    def transaction(self) -> Any: ...  # async context manager yielding a Transaction
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


# --- SQLite ------------------------------------------------------------------------


class _SqliteTx:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._conn.execute(_PARAM.sub(r"?\1", sql), args) as cursor:
            row = await cursor.fetchone()
            return dict(row) if row is not None else None

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._conn.execute(_PARAM.sub(r"?\1", sql), args) as cursor:
            return [dict(row) for row in await cursor.fetchall()]

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._conn.execute(_PARAM.sub(r"?\1", sql), args) as cursor:
            return cursor.rowcount


class SqliteDatabase:
    engine = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._tx = _SqliteTx(conn)

    @classmethod
    async def open(cls, path: str) -> SqliteDatabase:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA busy_timeout=5000",
            "PRAGMA foreign_keys=ON",
        ):
            await conn.execute(pragma)
        return cls(conn)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._lock:
            return await self._tx.fetchrow(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._lock:
            return await self._tx.fetch(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._lock:
            return await self._tx.execute(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._tx
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def ping(self) -> None:
        await self.fetchrow("SELECT 1 AS ok")

    async def close(self) -> None:
        await self._conn.close()


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
            dsn, min_size=min_size, max_size=max_size, server_settings=settings
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

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _PgTx(conn)

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
    async with db.transaction() as tx:
        if db.engine == "postgresql":
            await tx.execute("SELECT pg_advisory_xact_lock(727274)")
        if await tx.fetchrow(*done) is not None:
            return False
        for statement in split_statements(sql):
            await tx.execute(statement)
        await tx.execute(*record)
        return True


def _now_text() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()
