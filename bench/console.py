"""How fast the console's pages answer with a ledger of 10,000 orders.

    python bench/console.py                  # 10,000 orders, both engines
    python bench/console.py --orders 2000 --engines sqlite

A gateway in process in front of the sandbox (the test harness, plugins on), filled
through its own API (`--orders` placed, a tenant's subscription delivering each event),
then each page fetched `--samples` times, one at a time, as a signed-in browser would
(its cookie, the redirect not followed); p50 and p99 per page. The target
(docs/console.md): every page under 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from gateway.logs import configure_logging  # noqa: E402
from gateway.state import DISPATCHER  # noqa: E402
from gateway.testing import TOKENS, plugin_harness  # noqa: E402
from tests.conftest import PG_URL, pg_schema  # noqa: E402

PAGES = [
    ("shop", "/console/orders"),
    ("shop", "/console/orders?status=completed"),
    ("shop", "/console/orders?item_id=1001"),
    ("shop", "/console/orders?merchant_order_id=bench-5000"),
    ("shop", "/console/orders/{order}"),
    ("shop", "/console/catalog"),
    ("shop", "/console/subscriptions"),
    ("shop", "/console/subscriptions/{subscription}"),
    ("ops", "/console/orders"),
    ("ops", "/console/admin/tenants"),
    ("ops", "/console/admin/accounts"),
    ("ops", "/console/admin/unresolved"),
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def receiver() -> tuple[web.AppRunner, str]:
    async def hook(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/hook"


async def one_engine(storage: str, args: argparse.Namespace) -> dict[str, Any]:
    hooks, url = await receiver()
    plugins = {"enabled": ["validation", "limits", "audit"]}
    server = {"tenant_reads_per_second": 0, "tenant_writes_per_second": 0}
    async with plugin_harness(plugins, storage_url=storage, server=server) as gw:
        gw.sandbox.account("main").balance = Decimal(10**9)  # 10,000 orders and more
        made = await gw.call("POST", "/v1/subscriptions", "shop", json={"url": url})
        subscription = made.body["id"]
        started = time.perf_counter()
        placed: list[str] = []

        async def place(n: int) -> None:
            answer = await gw.place("shop", item_id=1001, merchant_order_id=f"bench-{n}")
            placed.append(answer.body["id"])

        for first in range(0, args.orders, 50):
            await asyncio.gather(*(place(n) for n in range(first, min(first + 50, args.orders))))
            await gw.app[DISPATCHER].run_due()
        fill = time.perf_counter() - started
        jars = {}
        for tenant in ("shop", "ops"):
            http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
            await http.post(f"{gw.url}/console/sign-in", data={"token": TOKENS[tenant]})
            jars[tenant] = http
        results: dict[str, Any] = {}
        try:
            for tenant, path in PAGES:
                url_path = path.format(order=placed[len(placed) // 2], subscription=subscription)
                times: list[float] = []
                status, rows = 0, 0
                for _ in range(args.samples):
                    t0 = time.perf_counter()
                    async with jars[tenant].get(gw.url + url_path, allow_redirects=False) as r:
                        html = await r.text()
                        status = r.status
                    times.append(time.perf_counter() - t0)
                    rows = html.count("<tr") - html.count("<thead><tr")
                results[f"{tenant} {path}"] = {
                    "status": status,
                    "rows": rows,
                    "p50_ms": round(pct(times, 0.5), 1),
                    "p99_ms": round(pct(times, 0.99), 1),
                    "mean_ms": round(statistics.mean(times) * 1000, 1),
                }
        finally:
            for http in jars.values():
                await http.close()
    await hooks.cleanup()
    return {"orders": args.orders, "fill_seconds": round(fill, 1), "pages": results}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for engine in args.engines:
        if engine == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                out[engine] = await one_engine(f"sqlite:///{folder}/console.sqlite3", args)
        else:
            async with pg_schema() as schema:
                out[engine] = await one_engine(f"{PG_URL}?schema={schema}", args)
        print(f"{engine}: {args.orders} orders filled in {out[engine]['fill_seconds']} s")
        for name, r in out[engine]["pages"].items():
            p50, p99 = r["p50_ms"], r["p99_ms"]
            print(
                f"  {name:52} {r['status']} {r['rows']:3} rows  p50 {p50:6.1f}  p99 {p99:6.1f} ms"
            )
        worst = max(r["p99_ms"] for r in out[engine]["pages"].values())
        print(
            f"  every page under 300 ms (p99): {'yes' if worst < 300 else 'NO'} (worst {worst} ms)"
        )
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--json", type=Path)
    arguments = parser.parse_args()
    configure_logging("warning")
    result = asyncio.run(main(arguments))
    if arguments.json:
        arguments.json.write_text(json.dumps(result, indent=2) + "\n")
