"""The fault suite: real `gateway serve` processes under provider faults and kill -9.

One run per engine: a sandbox answering 10 % of calls with a 503, losing 8 %
of place-order answers after placing the order, and dropping 30 % of its
webhooks; a gateway killed with SIGKILL in the middle of the load and started
again on the same database; tenants retrying what got no answer with the same
Idempotency-Key; an operator resolving what the gateway hands over. At the
end, checked against the provider's own list of orders:

- every order at the provider is in the ledger, with the provider's status;
- no order is placed twice, and none is left `unknown`;
- the budget counts exactly what was charged: nothing is held for an order
  known not placed.

The counts are printed (`pytest -s tests/test_faults.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import signal
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from gateway.cli import main
from gateway.testing import serve_config
from tests.processes import GATEWAY, ROOT, running_gateway, sandbox_process, url_in

TOKEN = "gwt_fault_suite_token_0000000000000000000000"
ORDERS = 90  # at 9.90 each: within the account's 1000.00
KILL_AFTER = 40  # answers, then SIGKILL
EXTRA = (
    "[gateway]\nresend_window_seconds = 600\n"
    '[plugins.limits.budgets.shop]\nEUR = { daily = "100000.00", monthly = "1000000.00" }\n'
)
WEBHOOKS = {"reconcile_after_seconds": 2, "reconcile_interval_seconds": 0.5}


async def place(http: aiohttp.ClientSession, base: str, n: int, answers: dict[int, Any]) -> None:
    try:
        async with http.post(
            f"{base}/v1/orders",
            json={"item_id": 1001, "merchant_order_id": f"m{n}"},
            headers={"Idempotency-Key": f"k{n}"},
        ) as response:
            answers[n] = (response.status, await response.json())
    except (aiohttp.ClientError, TimeoutError) as exc:
        answers[n] = (None, type(exc).__name__)


async def retry_until_answered(http: aiohttp.ClientSession, base: str, n: int) -> int:
    """What a tenant does without an answer: the same request, the same key, until one."""
    seen: list[Any] = []
    try:
        async with asyncio.timeout(30):
            while True:
                answers: dict[int, Any] = {}
                await place(http, base, n, answers)
                status = answers[n][0]
                if status in (200, 201, 202):
                    return int(status)
                seen.append(answers[n])
                assert status in (None, 409, 502, 503), answers[n]
                await asyncio.sleep(0.5)
    except TimeoutError:
        raise AssertionError(f"order {n} got no answer in 30 s: {seen[-3:]}") from None


def cli(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(list(argv)) == 0
    return out.getvalue()


async def test_kill_9_provider_faults_and_dropped_webhooks_lose_nothing(
    storage_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = storage_url
    counts: Counter[str] = Counter()
    with sandbox_process(
        "--seed", "0", "--fulfilment-delay", "0.3", "--webhook-interval", "0.5"
    ) as provider:
        text, env = serve_config(
            provider, storage, TOKEN, webhooks=WEBHOOKS, extra=EXTRA, timeout_seconds=1.0
        )
        config = tmp_path / "gateway.toml"
        config.write_text(text)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=aiohttp.ClientTimeout(total=15)
        ) as http:
            faults = {"error_rate": 0.1, "hang_rate": 0.08, "drop_webhook_rate": 0.3}
            answers: dict[int, Any] = {}
            with running_gateway("serve", "--config", str(config), env=env) as (first, printed):
                base = url_in(printed[0])
                await point_webhooks(http, provider, base)
                await set_faults(http, provider, faults)
                pending = {
                    asyncio.create_task(place(http, base, n, answers)) for n in range(ORDERS)
                }
                async with asyncio.timeout(60):
                    while len(answers) < KILL_AFTER:  # noqa: ASYNC110 - another process
                        await asyncio.sleep(0.01)
                os.kill(first.pid, signal.SIGKILL)
                first.wait()
                await asyncio.gather(*pending)
            counts["answered before the kill"] = sum(1 for s, _ in answers.values() if s)
            counts["cut by the kill"] = sum(1 for s, _ in answers.values() if s is None)

            with running_gateway("serve", "--config", str(config), env=env) as (_, printed):
                base = url_in(printed[0])
                await point_webhooks(http, provider, base)
                retried = await asyncio.gather(
                    *(retry_until_answered(http, base, n) for n, (s, _) in answers.items() if not s)
                )
                counts.update(f"retry answered {status}" for status in retried)
                await set_faults(http, provider, {})  # the provider recovers
                await settle(http, provider, config, counts)
                await check(http, provider, base, storage, counts)
    print(f"\nfault suite ({storage.split(':')[0]}): {dict(sorted(counts.items()))}")


async def point_webhooks(http: aiohttp.ClientSession, provider: str, base: str) -> None:
    url = f"{base}/provider-webhooks/main"
    async with http.patch(f"{provider}/sandbox/accounts/main", json={"webhook_url": url}) as r:
        assert r.status == 200, await r.text()


async def set_faults(http: aiohttp.ClientSession, provider: str, faults: dict[str, float]) -> None:
    async with http.put(f"{provider}/sandbox/accounts/main/faults", json=faults) as response:
        assert response.status == 200, await response.text()


async def provider_orders(http: aiohttp.ClientSession, provider: str) -> list[dict[str, Any]]:
    async with http.get(f"{provider}/sandbox/orders") as response:
        orders: list[dict[str, Any]] = (await response.json())["orders"]
    return orders


async def settle(
    http: aiohttp.ClientSession, provider: str, config: Path, counts: Counter[str]
) -> None:
    """Until nothing is left for the gateway to find out; then the operator's turn."""
    async with asyncio.timeout(60):
        while True:
            rows = [
                json.loads(line)
                for line in (
                    await asyncio.to_thread(
                        cli, "orders", "unresolved", "--config", str(config), "--json"
                    )
                ).splitlines()
            ]
            open_at_provider = [
                o for o in await provider_orders(http, provider)
                if o["status"] not in ("completed", "partial", "failed")
            ]  # fmt: skip
            if not open_at_provider and all(r["state"] == "operator" for r in rows):
                break
            await asyncio.sleep(0.5)
    by_reference = {o["merchant_order_id"]: o for o in await provider_orders(http, provider)}
    for row in rows:  # an operator looks each up in the provider's dashboard
        found = by_reference.get(row["reference"])
        how = ["--provider-order-id", found["id"]] if found else ["--not-placed"]
        await asyncio.to_thread(
            cli,
            "orders",
            "resolve",
            row["id"],
            *how,
            "--operator",
            "suite",
            "--config",
            str(config),
        )
        counts["resolved by the operator"] += 1


async def check(
    http: aiohttp.ClientSession, provider: str, base: str, storage: str, counts: Counter[str]
) -> None:
    at_provider = await provider_orders(http, provider)
    references = Counter(o["merchant_order_id"] for o in at_provider)
    assert max(references.values()) == 1, "an order was placed twice"
    ledger: dict[str, dict[str, Any]] = {}
    cursor = ""
    while True:
        async with http.get(f"{base}/v1/orders?limit=200{cursor}") as response:
            page = await response.json()
        ledger.update({o["merchant_order_id"]: o for o in page["data"]})
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert len(ledger) == ORDERS, "every order asked for is in the ledger"
    by_provider_id = {o["provider_order_id"]: o for o in ledger.values() if o["provider_order_id"]}
    for order in at_provider:
        mine = by_provider_id.get(order["id"])
        assert mine is not None, f"provider order {order['id']} is missing from the ledger"
        assert mine["status"] == order["status"], (mine, order)
    statuses = Counter(o["status"] for o in ledger.values())
    assert statuses["unknown"] == 0
    not_placed = [o for o in ledger.values() if o["error"] == "NOT_PLACED"]
    assert len(at_provider) + len(not_placed) == ORDERS
    charged = sum(
        (Decimal(o["price"]) - Decimal(o["refund_amount"]) for o in ledger.values() if o["price"]),
        Decimal(0),
    )
    assert charged == sum(
        (Decimal(str(o["price"])) - Decimal(str(o["refund_amount"])) for o in at_provider),
        Decimal(0),
    )
    assert await budget_spent(storage) == charged, "the budget holds exactly what was charged"
    counts.update(f"ledger {status}" for status in statuses.elements())
    counts["at the provider"] = len(at_provider)
    counts["not placed"] = len(not_placed)


async def budget_spent(storage: str) -> Decimal:
    if storage.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(storage.removeprefix("sqlite:///"))) as conn:
            rows = conn.execute(
                "SELECT amount FROM limits_spend WHERE period LIKE 'D:%'"
            ).fetchall()
        return sum((Decimal(r[0]) for r in rows), Decimal(0))
    url, schema = storage.split("?schema=")
    conn = await asyncpg.connect(url, server_settings={"search_path": schema})
    try:
        rows = await conn.fetch("SELECT amount FROM limits_spend WHERE period LIKE 'D:%'")
    finally:
        await conn.close()
    return sum((Decimal(r["amount"]) for r in rows), Decimal(0))


async def test_replicas_started_together_on_an_empty_database_all_serve(
    tmp_path: Path, pg_url: str
) -> None:
    storage = pg_url
    with sandbox_process("--seed", "0") as provider:
        text, env = serve_config(provider, storage, TOKEN)
        config = tmp_path / "gateway.toml"
        config.write_text(text)
        procs = [
            await asyncio.create_subprocess_exec(
                *GATEWAY, "--log-level", "warning", "serve", "--config", str(config),
                cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                env={**os.environ, **env},
            )
            for _ in range(3)
        ]  # fmt: skip
        try:  # all three migrate the empty schema at once
            for proc in procs:
                assert proc.stdout is not None and proc.stderr is not None
                line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
                if "Gateway on http://" not in line:
                    raise AssertionError((await proc.stderr.read()).decode()[-2000:])
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                await asyncio.wait_for(proc.wait(), 10)
