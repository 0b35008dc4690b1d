"""Two real gateway processes on one PostgreSQL share the outbox: each message is sent once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx

from gateway.testing import serve_config
from tests.conftest import PG_URL, Endpoint
from tests.processes import gateway_process, sandbox_process, url_in

TOKEN = "gwt_two_processes_token_000000000000000000000"


def config(path: Path, provider: str, storage: str) -> tuple[Path, dict[str, str]]:
    text, env = serve_config(provider, storage, TOKEN, webhooks={"poll_interval_seconds": 0.05})
    path.write_text(text)
    return path, env


async def test_two_gateway_processes_deliver_each_message_once(
    tmp_path: Path, endpoint_factory: Callable[..., Awaitable[Endpoint]]
) -> None:
    schema = "t_" + uuid.uuid4().hex[:16]
    storage = f"{PG_URL}?schema={schema}"
    endpoint = await endpoint_factory()
    try:
        with sandbox_process("--seed", "0", "--fulfilment-delay", "3600") as provider:
            one_config, env = config(tmp_path / "one.toml", provider, storage)
            two_config, _ = config(tmp_path / "two.toml", provider, storage)
            with (
                gateway_process("serve", "--config", str(one_config), env=env) as one,
                gateway_process("serve", "--config", str(two_config), env=env) as two,
            ):
                bases = [url_in(one[0]), url_in(two[0])]
                headers = {"Authorization": f"Bearer {TOKEN}"}
                async with httpx.AsyncClient(headers=headers, timeout=10) as http:
                    made = await http.post(
                        f"{bases[0]}/v1/subscriptions", json={"url": endpoint.url}
                    )
                    assert made.status_code == 201, made.text
                    for n in range(30):  # orders through both processes
                        placed = await http.post(
                            f"{bases[n % 2]}/v1/orders", json={"item_id": 1001}
                        )
                        assert placed.status_code == 201, placed.text
                await endpoint.wait_for(30)
                conn = await asyncpg.connect(PG_URL, server_settings={"search_path": schema})
                try:
                    async with asyncio.timeout(10):  # both processes record, then fall idle
                        while await conn.fetchval(  # noqa: ASYNC110 - two other processes
                            "SELECT count(*) FROM messages WHERE state != 'delivered'"
                        ):
                            await asyncio.sleep(0.05)
                    attempts = await conn.fetchval("SELECT count(*) FROM delivery_attempts")
                finally:
                    await conn.close()
        ids = [hook.headers["webhook-id"] for hook in endpoint.hooks]
        assert len(ids) == 30 and len(set(ids)) == 30
        assert attempts == 30
    finally:
        conn = await asyncpg.connect(PG_URL)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()
