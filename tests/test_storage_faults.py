"""A database that stops or freezes: bounded waits, retryable 503s, replicas that start together."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

import aiohttp
import pytest
from structlog.testing import capture_logs

from gateway.storage import StorageUnavailable, open_database
from gateway.testing import GatewayClient, start_gateway
from tests.conftest import PG_URL, Provider, pg_schema
from tests.tcp_proxy import TcpProxy

TIMEOUT = 0.5  # the storage timeout these tests configure
# A request on a frozen or locked database answers within a few timeouts (pool, statement,
# the retry of a background writer), on a loaded two-core machine too.
BOUNDED = 12 * TIMEOUT


@pytest.fixture
async def proxied_pg() -> AsyncIterator[tuple[str, TcpProxy]]:
    """A PostgreSQL URL (a schema of its own) that reaches the server through a proxy."""
    target = urlparse(PG_URL)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    url = target._replace(netloc=f"{target.username + '@' if target.username else ''}"
                                 f"127.0.0.1:{proxy.port}").geturl()  # fmt: skip
    async with pg_schema() as schema:
        yield f"{url}?schema={schema}", proxy
        await proxy.close()


async def gateway_on(provider: Provider, url: str) -> AsyncIterator[GatewayClient]:
    server, app = await start_gateway(
        provider.server, url, provider.clock, storage={"timeout_seconds": TIMEOUT}
    )
    async with aiohttp.ClientSession() as http:
        yield GatewayClient(server, app, http)
    await server.close()


@pytest.fixture
async def pg_gateway(
    provider: Provider, proxied_pg: tuple[str, TcpProxy]
) -> AsyncIterator[tuple[GatewayClient, TcpProxy]]:
    async for gateway in gateway_on(provider, proxied_pg[0]):
        yield gateway, proxied_pg[1]


async def test_a_stopped_database_is_a_retryable_503_with_one_line_and_no_traceback(
    pg_gateway: tuple[GatewayClient, TcpProxy],
) -> None:
    gateway, proxy = pg_gateway
    assert (await gateway.place(item_id=1001)).status == 201
    proxy.cut()
    with capture_logs() as logs:
        for _ in range(3):
            answer = await gateway.place(item_id=1001)
            assert answer.status == 503, answer.body
            assert answer.body["error"]["code"] == "storage_unavailable"
            assert answer.headers["Retry-After"] == "2"
            assert "Retry-After" in answer.body["error"]["message"]
    assert not [e for e in logs if e.get("exc_info") or e["log_level"] in ("error", "critical")]
    assert [e["event"] for e in logs].count("storage_unavailable") == 3
    ready = await gateway.call("GET", "/readyz", tenant=None)
    assert ready.status == 503 and ready.body["storage"]["ok"] is False
    proxy.restore()
    assert (await gateway.place(item_id=1001)).status == 201
    assert (await gateway.call("GET", "/readyz", tenant=None)).status == 200


async def test_a_frozen_database_answers_503_in_bounded_time_and_readyz_within_two_seconds(
    pg_gateway: tuple[GatewayClient, TcpProxy],
) -> None:
    gateway, proxy = pg_gateway
    assert (await gateway.call("GET", "/v1/orders")).status == 200
    proxy.freeze()
    started = time.monotonic()
    ready = await gateway.call("GET", "/readyz", tenant=None)
    assert time.monotonic() - started < 2.0
    assert ready.status == 503 and ready.body["storage"]["ok"] is False
    async with asyncio.timeout(BOUNDED):  # not for as long as it stays frozen
        listed = await gateway.call("GET", "/v1/orders")
    assert listed.status == 503 and listed.body["error"]["code"] == "storage_unavailable"
    proxy.restore()
    assert (await gateway.call("GET", "/v1/orders")).status == 200
    assert (await gateway.call("GET", "/readyz", tenant=None)).status == 200


async def test_a_locked_sqlite_database_answers_503_and_loses_nothing(
    provider: Provider, tmp_path: Path
) -> None:
    path = tmp_path / "gateway.sqlite3"
    async for gateway in gateway_on(provider, f"sqlite:///{path}"):
        placed = await gateway.place(item_id=1001, merchant_order_id="before")
        assert placed.status == 201
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            async with asyncio.timeout(BOUNDED):  # not for as long as the lock is held
                answer = await gateway.place(item_id=1001, merchant_order_id="during")
            assert answer.status == 503 and answer.body["error"]["code"] == "storage_unavailable"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        again = await gateway.place(item_id=1001, merchant_order_id="during")
        assert again.status in (200, 201), again.body
        listed = await gateway.call("GET", "/v1/orders")
        assert sorted(o["merchant_order_id"] for o in listed.body["data"]) == ["before", "during"]


async def test_replicas_starting_together_on_an_empty_database_all_migrate(pg_url: str) -> None:
    opened = await asyncio.gather(*(open_database(pg_url) for _ in range(6)))
    for db in opened:
        row = await db.fetchrow("SELECT count(*) AS n FROM schema_migrations")
        assert row is not None and row["n"] >= 3
        await db.close()


async def test_a_database_that_cannot_be_reached_at_all_is_storage_unavailable() -> None:
    proxy = TcpProxy("127.0.0.1", 9)
    await proxy.start()
    proxy.cut()
    try:
        with pytest.raises(StorageUnavailable):
            await open_database(f"postgresql://127.0.0.1:{proxy.port}/test", limit=TIMEOUT)
    finally:
        await proxy.close()
