"""Versioned migrations, applied once each under a lock that replicas share."""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

import structlog

from gateway.storage.base import MIGRATION_LOCK, Database, Transaction

log = structlog.get_logger()


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
