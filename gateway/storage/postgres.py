"""PostgreSQL: a pool of asyncpg connections, every wait bounded."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import parse_qs, urlparse

import asyncpg
from opentelemetry.trace import SpanKind, Tracer

from gateway.storage.base import (
    DEFAULT_TIMEOUT,
    MIGRATION_LOCK,
    Row,
    StorageUnavailable,
    T,
    Work,
)
from gateway.tracing import NO_TRACER, span

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


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


_SPAN_ATTRIBUTES = {"db.system.name": "postgresql"}


class PostgresDatabase:
    engine = "postgresql"
    # a span per transaction; the app sets its own tracer (gateway.tracing)
    tracer: Tracer = NO_TRACER

    def __init__(
        self,
        pool: asyncpg.Pool,
        timeout: float,
        dsn: str = "",
        settings: dict[str, str] | None = None,
    ) -> None:
        self._pool = pool
        self._timeout = timeout
        self._dsn = dsn
        self._settings = settings or {}

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
        return cls(pool, limit, dsn, settings)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self._run(lambda tx: tx.fetchrow(sql, *args), begin=False)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._run(lambda tx: tx.fetch(sql, *args), begin=False)

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._run(lambda tx: tx.execute(sql, *args), begin=False)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """asyncpg's executemany is atomic by itself: no BEGIN and COMMIT round trips."""
        await self._run(lambda tx: tx.executemany(sql, rows), begin=False)

    async def transaction(self, work: Work[T], *, bounded: bool = True) -> T:
        with self.traced():
            return await self._run(work, begin=True, bounded=bounded)

    def traced(self) -> AbstractContextManager[object]:
        return span(
            self.tracer, "storage transaction", kind=SpanKind.CLIENT, attributes=_SPAN_ATTRIBUTES
        )

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

    async def listen(self, channel: str, callback: Callable[[str], None]) -> asyncpg.Connection:
        """A connection of its own, LISTENing on `channel` (a pooled one would be handed to
        others); `callback(payload)` runs on each NOTIFY. Close it to stop."""
        try:
            conn = await asyncpg.connect(
                self._dsn, timeout=self._timeout, server_settings=self._settings
            )
            await conn.add_listener(channel, lambda _c, _pid, _ch, payload: callback(payload))
        except _PG_UNAVAILABLE as exc:
            raise StorageUnavailable(f"PostgreSQL: {type(exc).__name__}: {exc}") from exc
        return conn

    async def close(self) -> None:
        await self._pool.close()
