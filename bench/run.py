"""What the gateway costs: one command, separate processes on loopback, a table and a JSON file.

    python bench/run.py                      # full run (a few minutes on 2 cores)
    python bench/run.py --smoke              # tiny numbers: proves the script works (CI)
    python bench/run.py --json bench/results.json --engines sqlite postgresql
    python bench/run.py --plots docs/figures  # also draws the figures as PNG (bench/plots.py)
    python bench/run.py --wrk-concurrency 1 8 32 64 128 --wrk-seconds 5

It starts the sandbox provider (no added latency), a bare aiohttp pass-through
proxy, and the gateway (`gateway serve`, once per storage engine and plugin
setting) as their own processes, and drives them from this process:

1. place order through the gateway, directly against the sandbox and through
   the pass-through proxy, interleaved, at concurrency 16 and 128: orders/s,
   p50/p99, the gateway's CPU time per order and peak RSS; then the same from
   wrk at each of --wrk-concurrency (bench/loadgen.py: a C load generator takes
   little of the two cores from the servers it measures, where this Python
   client takes about as much as they do); then the latency the gateway adds
   over direct at half of its saturation throughput;
2. the generated client's httpx transports (bench/transports.py);
3. provider webhooks ingested per second (acknowledgement p50/p99);
   deliveries per second from the outbox to 1, 10 and 100 subscriber
   endpoints; provider webhook to subscriber receipt p50/p95.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import loadgen  # noqa: E402

from gateway.sandbox import demo_accounts  # noqa: E402
from gateway.testing import serve_config  # noqa: E402

PG_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
TOKEN = "gwt_benchmark_tenant_token_0000000000000000000"
ACCOUNT = demo_accounts(0)[0]


# --- processes ----------------------------------------------------------------------------


class Proc:
    """A child process that prints its URL on its first line; CPU and RSS read from /proc."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **(env or {})},
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.popen.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(30)
        match = re.search(r"on (http://\S+)", line[0] if line else "")
        if match is None:
            self.stop()
            raise RuntimeError(f"{argv} did not start: {line}")
        self.url = match.group(1)

    def cpu_seconds(self) -> float:
        return sum(loadgen.cpu_times([self.popen.pid]))

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        if self.popen.stdout:
            self.popen.stdout.close()


PY = [sys.executable]
LOOP = "uvloop"  # the gateway's [server] event_loop and the pass-through's (--loop)


def start_sandbox() -> Proc:
    return Proc(
        [*PY, "-m", "gateway.cli", "--log-level", "error", "sandbox", "--port", "0",
         "--seed", "0", "--fulfilment-delay", "36000", "--balance", "1000000000"]
    )  # fmt: skip


def start_gateway(workdir: Path, sandbox: str, storage: str, plugins: bool) -> Proc:
    config = workdir / f"gateway-{uuid.uuid4().hex[:6]}.toml"
    text, env = serve_config(
        sandbox,
        storage,
        TOKEN,
        role="admin",
        plugins=["validation", "limits", "audit"] if plugins else [],
        server={"event_loop": LOOP},
        webhooks={
            "poll_interval_seconds": 0.05,
            "reconcile_after_seconds": 86400,
            "attempt_timeout_seconds": 5,
        },
    )
    config.write_text(text)
    return Proc(
        [*PY, "-m", "gateway.cli", "--log-level", "info", "serve", "--config", str(config)],
        env=env,
    )


def start_passthrough(sandbox: str) -> Proc:
    return Proc(
        [*PY, str(ROOT / "bench" / "passthrough.py"), "--upstream", sandbox, "--loop", LOOP]
    )


# --- load ----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else float("nan")


async def closed_loop(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], body: bytes, n: int, c: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[int, int] = defaultdict(int)
    remaining = iter(range(n))

    async def worker() -> None:
        for _ in remaining:
            started = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as answer:
                await answer.read()
                if answer.status not in (200, 201, 202):
                    errors[answer.status] += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(c)))
    elapsed = time.perf_counter() - started
    return {
        "orders_per_s": n / elapsed,
        "p50_ms": pct(latencies, 0.5),
        "p99_ms": pct(latencies, 0.99),
        "errors": dict(errors),
    }


async def open_loop(
    http: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    body: bytes,
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    """Requests at a fixed rate, whatever the answers: latency at a given load."""
    latencies: list[float] = []

    async def one() -> None:
        started = time.perf_counter()
        async with http.post(url, data=body, headers=headers) as answer:
            await answer.read()
        latencies.append(time.perf_counter() - started)

    tasks = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return {"rate": rate, "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99)}


async def provider_token(http: aiohttp.ClientSession, sandbox: str) -> str:
    async with http.post(
        f"{sandbox}/api/v1/auth/token/client", json={"api_key": ACCOUNT.api_keys[0]}
    ) as answer:
        return str((await answer.json())["access_token"])


# --- 1. place order --------------------------------------------------------------------------


async def place_orders(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    body = json.dumps({"item_id": 1001}).encode()
    sandbox = start_sandbox()
    proxy = start_passthrough(sandbox.url)
    results: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            bearer = {"Authorization": f"Bearer {await provider_token(http, sandbox.url)}",
                      "Content-Type": "application/json"}  # fmt: skip
            tenant = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
            for engine in args.engines:
                for plugins in (True, False):
                    storage, cleanup = await storage_url(engine, workdir)
                    gateway = start_gateway(workdir, sandbox.url, storage, plugins)
                    targets = {
                        "direct": (f"{sandbox.url}/api/v1/orders", bearer, None),
                        "passthrough": (f"{proxy.url}/api/v1/orders", bearer, None),
                        "gateway": (f"{gateway.url}/v1/orders", tenant, gateway),
                    }
                    key = f"{engine}, plugins {'on' if plugins else 'off'}"
                    try:
                        for url, headers, _ in targets.values():
                            await closed_loop(http, url, headers, body, args.warmup, 8)
                        runs: dict[str, Any] = {}
                        for c in (16, 128):
                            samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
                            cpu: list[float] = []
                            for _ in range(args.rounds):  # interleaved, same requests
                                for name, (url, headers, proc) in targets.items():
                                    before = proc.cpu_seconds() if proc else 0.0
                                    samples[name].append(
                                        await closed_loop(http, url, headers, body, args.orders, c)
                                    )
                                    if proc:
                                        cpu.append((proc.cpu_seconds() - before) / args.orders)
                            runs[f"c{c}"] = {name: median_run(rs) for name, rs in samples.items()}
                            runs[f"c{c}"]["gateway"]["cpu_ms_per_order"] = (
                                statistics.median(cpu) * 1000
                            )
                        runs["wrk"] = await asyncio.to_thread(
                            loadgen.rounds,
                            {name: (url, headers, proc.cpu_seconds if proc else None)
                             for name, (url, headers, proc) in targets.items()},
                            body, args.wrk_concurrency, args.rounds, args.wrk_seconds, workdir,
                        )  # fmt: skip
                        runs["wrk_gateway_over_passthrough"] = loadgen.ratios(runs["wrk"])
                        saturation = runs["c128"]["gateway"]["orders_per_s"]
                        half = max(10.0, saturation / 2)
                        runs["half_saturation"] = {
                            name: await open_loop(http, url, headers, body, half, args.seconds)
                            for name, (url, headers, _) in targets.items()
                            if name in ("direct", "gateway")
                        }
                        runs["added_latency_ms"] = {
                            q: runs["half_saturation"]["gateway"][f"{q}_ms"]
                            - runs["half_saturation"]["direct"][f"{q}_ms"]
                            for q in ("p50", "p99")
                        }
                        runs["gateway_peak_rss_mb"] = gateway.peak_rss_mb()
                        results[key] = runs
                    finally:
                        gateway.stop()
                        await cleanup()
    finally:
        proxy.stop()
        sandbox.stop()
    return results


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    middle = sorted(runs, key=lambda r: r["orders_per_s"])[len(runs) // 2]
    errors: dict[int, int] = defaultdict(int)
    for run in runs:
        for status, count in run["errors"].items():
            errors[status] += count
    return {**middle, "errors": dict(errors)}


async def storage_url(engine: str, workdir: Path) -> tuple[str, Any]:
    if engine == "sqlite":

        async def nothing() -> None:
            return None

        return f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.sqlite3'}", nothing
    schema = "bench_" + uuid.uuid4().hex[:10]

    async def drop() -> None:
        conn = await asyncpg.connect(PG_URL)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    return f"{PG_URL}?schema={schema}", drop


# --- 3. webhooks ------------------------------------------------------------------------------


class Subscribers:
    """Local subscriber endpoints (one path each) in this process, counting what arrives."""

    def __init__(self) -> None:
        self.count = 0
        self.expected = 0
        self.done = asyncio.Event()
        self.receipts: dict[str, float] = {}
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        async def hook(request: web.Request) -> web.Response:
            body = await request.json()
            self.count += 1
            if body["type"] == "order.completed":
                self.receipts[body["data"]["id"]] = time.perf_counter()
            if self.count >= self.expected > 0:
                self.done.set()
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/hook/{n}", hook)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


async def webhooks(args: argparse.Namespace, workdir: Path, engine: str) -> dict[str, Any]:
    sandbox = start_sandbox()
    storage, cleanup = await storage_url(engine, workdir)
    gateway = start_gateway(workdir, sandbox.url, storage, plugins=True)
    subscribers = Subscribers()
    await subscribers.start()
    tenant = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    results: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            api = gateway.url + "/v1"

            async def place(n: int) -> None:
                body = json.dumps({"item_id": 1001}).encode()
                await closed_loop(http, f"{api}/orders", tenant, body, n, 16)

            sent_before: set[str] = set()

            async def provider_webhooks() -> list[tuple[str, bytes, dict[str, str]]]:
                """A signed completion for every order not yet reported to the gateway."""
                async with http.get(f"{sandbox.url}/sandbox/orders") as answer:
                    orders = (await answer.json())["orders"]
                signed = []
                for order in orders:
                    if order["id"] in sent_before:
                        continue
                    sent_before.add(order["id"])
                    payload = {
                        "order_id": order["id"], "merchant_order_id": order["merchant_order_id"],
                        "status": "completed", "item_id": order["item"],
                        "item_name": order["item_name"], "quantity": order["quantity"],
                        "total_price": order["price"], "delivered_quantity": 1,
                        "refund_amount": 0, "fields": {}, "codes": ["BENC-HMAR-KCOD-E000"],
                        "error": "", "error_message": "", "created_at": order["created_at"],
                        "completed_at": order["created_at"],
                    }  # fmt: skip
                    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
                    digest = hmac.new(ACCOUNT.webhook_secret.encode(), raw, hashlib.sha256)
                    signed.append((order["id"], raw, {
                        "X-Webhook-Signature": "sha256=" + digest.hexdigest(),
                        "Content-Type": "application/json",
                    }))  # fmt: skip
                return signed

            # provider webhooks ingested per second, acknowledgement latency
            await place(args.webhooks)
            events = await provider_webhooks()
            latencies: list[float] = []
            queue = iter(events)

            async def deliver(raw: bytes, headers: dict[str, str], into: list[float]) -> None:
                """One provider webhook to the gateway; its acknowledgement time into `into`."""
                sent = time.perf_counter()
                async with http.post(
                    f"{gateway.url}/provider-webhooks/main", data=raw, headers=headers
                ) as answer:
                    assert answer.status == 200, answer.status
                into.append(time.perf_counter() - sent)

            async def ingest() -> None:
                for _, raw, headers in queue:
                    await deliver(raw, headers, latencies)

            started = time.perf_counter()
            await asyncio.gather(*(ingest() for _ in range(16)))
            saturation = len(events) / (time.perf_counter() - started)
            results["ingest"] = {
                "webhooks_per_s": saturation,
                "ack_p50_ms": pct(latencies, 0.5),
                "ack_p99_ms": pct(latencies, 0.99),
            }

            # acknowledgement latency at a fixed rate, half of that saturation (open loop,
            # as for the place-order latency): a latency target is about a load the
            # gateway sustains, not about a queue of 16 senders waiting on each other
            half = max(10.0, saturation / 2)
            await place(int(half * args.seconds))
            paced = await provider_webhooks()
            acks: list[float] = []
            tasks = []
            begin = time.perf_counter()
            for i, (_, raw, headers) in enumerate(paced):
                delay = begin + i / half - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(deliver(raw, headers, acks)))
            await asyncio.gather(*tasks)
            results["ingest"]["half_saturation"] = {
                "rate": half,
                "webhooks": len(paced),
                "ack_p50_ms": pct(acks, 0.5),
                "ack_p99_ms": pct(acks, 0.99),
            }

            # deliveries per second from the outbox to 1, 10 and 100 endpoints
            results["deliveries"] = {}
            for endpoints in (1, 10, 100):
                ids = []
                for n in range(endpoints):
                    url = f"{subscribers.url}/hook/{n}"
                    wanted = {"url": url, "event_types": ["order.accepted"]}
                    async with http.post(
                        f"{api}/subscriptions", headers=tenant, json=wanted
                    ) as made:
                        ids.append((await made.json())["id"])
                for sid in ids:  # messages written while disabled wait in the outbox
                    async with http.patch(f"{api}/subscriptions/{sid}", headers=tenant,
                                          json={"state": "disabled"}):  # fmt: skip
                        pass
                orders = max(1, args.deliveries // endpoints)
                await place(orders)
                subscribers.count, subscribers.expected = 0, orders * endpoints
                subscribers.done.clear()
                started = time.perf_counter()
                for sid in ids:
                    async with http.patch(f"{api}/subscriptions/{sid}", headers=tenant,
                                          json={"state": "active"}):  # fmt: skip
                        pass
                await asyncio.wait_for(subscribers.done.wait(), 300)
                elapsed = time.perf_counter() - started
                results["deliveries"][str(endpoints)] = {
                    "messages": orders * endpoints,
                    "deliveries_per_s": orders * endpoints / elapsed,
                }
                for sid in ids:
                    async with http.delete(f"{api}/subscriptions/{sid}", headers=tenant):
                        pass

            # provider webhook -> subscriber receipt, one subscriber, at a modest rate
            async with http.post(f"{api}/subscriptions", headers=tenant,
                                 json={"url": f"{subscribers.url}/hook/e2e",
                                       "event_types": ["order.completed"]}):  # fmt: skip
                pass
            await place(args.e2e)
            events = await provider_webhooks()
            subscribers.count, subscribers.expected = 0, len(events)
            subscribers.receipts.clear()
            subscribers.done.clear()
            sent: dict[str, float] = {}
            gateway_ids = await order_ids_by_provider(http, api, tenant)
            for provider_id, raw, headers in events:
                sent[gateway_ids[provider_id]] = time.perf_counter()
                async with http.post(
                    f"{gateway.url}/provider-webhooks/main", data=raw, headers=headers
                ):
                    pass
                await asyncio.sleep(0.01)
            await asyncio.wait_for(subscribers.done.wait(), 60)
            spans = [
                subscribers.receipts[k] - v for k, v in sent.items() if k in subscribers.receipts
            ]
            results["end_to_end"] = {
                "webhooks": len(spans),
                "p50_ms": pct(spans, 0.5),
                "p95_ms": pct(spans, 0.95),
            }
            results["gateway_peak_rss_mb"] = gateway.peak_rss_mb()
    finally:
        await subscribers.stop()
        gateway.stop()
        sandbox.stop()
        await cleanup()
    return results


async def order_ids_by_provider(
    http: aiohttp.ClientSession, api: str, headers: dict[str, str]
) -> dict[str, str]:
    found: dict[str, str] = {}
    cursor = None
    while True:
        url = f"{api}/orders?limit=200" + (f"&cursor={cursor}" if cursor else "")
        async with http.get(url, headers=headers) as answer:
            page = await answer.json()
        for order in page["data"]:
            if order["provider_order_id"]:
                found[order["provider_order_id"]] = order["id"]
        cursor = page["next_cursor"]
        if not cursor:
            return found


# --- report ---------------------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    lines = ["", "Place order, Python client (orders/s, p50/p99 ms)"]
    lines.append(f"{'setting':<28}{'target':<13}{'c16 o/s':>9}{'p50':>8}{'p99':>8}"
                 f"{'c128 o/s':>10}{'p50':>8}{'p99':>8}{'cpu ms/o':>10}")  # fmt: skip
    for key, runs in results.get("place_order", {}).items():
        for target in ("direct", "passthrough", "gateway"):
            a, b = runs["c16"][target], runs["c128"][target]
            cpu = f"{b.get('cpu_ms_per_order', float('nan')):>10.2f}" if target == "gateway" else ""
            lines.append(
                f"{key:<28}{target:<13}{a['orders_per_s']:>9.0f}{a['p50_ms']:>8.2f}"
                f"{a['p99_ms']:>8.2f}{b['orders_per_s']:>10.0f}{b['p50_ms']:>8.2f}"
                f"{b['p99_ms']:>8.2f}{cpu}"
            )
        ratio = (
            runs["c128"]["gateway"]["orders_per_s"] / runs["c128"]["passthrough"]["orders_per_s"]
        )
        added = runs["added_latency_ms"]
        lines.append(
            f"{'':<28}gateway/passthrough at c128: {ratio:.0%}; added latency at "
            f"{runs['half_saturation']['gateway']['rate']:.0f}/s: p50 {added['p50']:.2f} ms, "
            f"p99 {added['p99']:.2f} ms; peak RSS {runs['gateway_peak_rss_mb']:.0f} MB"
        )
    lines += loadgen.table(results.get("place_order", {}))
    if results.get("transports"):
        lines += ["", "Generated client transports (GET balance, req/s, p50/p99 ms)"]
        for name, r in results["transports"].items():
            lines.append(
                f"  {name:<28}{r['req_per_s_median']:>8.0f}{r['p50_ms']:>8.2f}{r['p99_ms']:>8.2f}"
            )
    for engine, hooks in results.get("webhooks", {}).items():
        ingest, e2e = hooks["ingest"], hooks["end_to_end"]
        lines += [
            "",
            f"Webhooks on {engine}",
            f"  provider webhooks ingested: {ingest['webhooks_per_s']:.0f}/s, "
            f"ack p50 {ingest['ack_p50_ms']:.2f} ms, p99 {ingest['ack_p99_ms']:.2f} ms "
            f"(16 senders); at {ingest['half_saturation']['rate']:.0f}/s: "
            f"p50 {ingest['half_saturation']['ack_p50_ms']:.2f} ms, "
            f"p99 {ingest['half_saturation']['ack_p99_ms']:.2f} ms",
        ]
        for endpoints, d in hooks["deliveries"].items():
            lines.append(
                f"  deliveries to {endpoints:>3} endpoint(s): {d['deliveries_per_s']:.0f}/s "
                f"({d['messages']} messages)"
            )
        lines.append(
            f"  provider webhook -> subscriber: p50 {e2e['p50_ms']:.2f} ms, "
            f"p95 {e2e['p95_ms']:.2f} ms ({e2e['webhooks']} webhooks); "
            f"peak RSS {hooks['gateway_peak_rss_mb']:.0f} MB"
        )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "args": vars(args).copy()}
    results["args"]["json"] = str(args.json) if args.json else None
    if "place" in args.parts:
        loadgen.require()
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        workdir = Path(tmp)
        if "place" in args.parts:
            results["place_order"] = await place_orders(args, workdir)
        if "transports" in args.parts and not args.smoke:
            from transports import main as transports

            results["transports"] = await transports(
                argparse.Namespace(requests=1000, concurrency=32, rounds=2)
            )
        if "webhooks" in args.parts:
            results["webhooks"] = {
                engine: await webhooks(args, workdir, engine) for engine in args.engines
            }
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="tiny numbers, to prove it runs")
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--orders", type=int, default=1500, help="orders per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0, help="open-loop run length")
    parser.add_argument("--webhooks", type=int, default=1000)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--e2e", type=int, default=200)
    parser.add_argument(
        "--wrk-concurrency",
        type=int,
        nargs="+",
        default=[1, 8, 32, 64, 128],
        help="wrk's open connections, one run each per target and round",
    )
    parser.add_argument("--wrk-seconds", type=int, default=5, help="one wrk run's length")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--loop", choices=["uvloop", "asyncio"], default=LOOP,
        help="the event loop of the gateway and of the pass-through alike",
    )  # fmt: skip
    parser.add_argument("--plots", type=Path, help="draw the figures as PNG files here")
    parser.add_argument(
        "--parts", nargs="+", default=["place", "transports", "webhooks"],
        choices=["place", "transports", "webhooks"],
    )  # fmt: skip
    args = parser.parse_args()
    LOOP = args.loop
    if args.smoke:
        args.orders, args.rounds, args.warmup, args.seconds = 40, 1, 10, 0.5
        args.webhooks, args.deliveries, args.e2e = 20, 100, 10
        args.wrk_concurrency, args.wrk_seconds = [4, 32], 1
    results = asyncio.run(main(args))
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
        print(f"\nwritten to {args.json}")
    if args.plots:
        from plots import draw

        print("\nfigures:", *(str(f) for f in draw(results, args.plots)), sep="\n  ")
