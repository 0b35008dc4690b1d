"""Opening the database a URL names; the interface itself is `gateway.storage.base`.

Everything storage offers is importable from here (and from `gateway.storage`).
"""

from __future__ import annotations

from gateway.storage.base import (
    DEFAULT_TIMEOUT,
    MIGRATION_LOCK,
    AwaitedInsideTransaction,
    Database,
    Row,
    StorageUnavailable,
    Transaction,
    Work,
)
from gateway.storage.migrate import apply_once, create_locked, migrate, migrations
from gateway.storage.postgres import _PG_UNAVAILABLE, PostgresDatabase
from gateway.storage.sqlite import SqliteDatabase

__all__ = [
    "DEFAULT_TIMEOUT",
    "MIGRATION_LOCK",
    "AwaitedInsideTransaction",
    "Database",
    "PostgresDatabase",
    "Row",
    "SqliteDatabase",
    "StorageUnavailable",
    "Transaction",
    "Work",
    "apply_once",
    "create_locked",
    "migrate",
    "migrations",
    "open_database",
]


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
