"""Load one gateway and, optionally, profile it: where its CPU per order goes.

    python bench/profile.py sqlite                      # orders/s and CPU ms/order at c64
    python bench/profile.py postgresql --py-spy out.txt # the same, with a py-spy raw profile
    python bench/profile.py sqlite --reads /v1/orders   # CPU ms per read of a list page
    python bench/profile.py postgresql --wrk            # the load from wrk; where the CPU goes

With --wrk, `wrk` (a C load generator) drives the orders for `--seconds`, and the
CPU of every process on the order's path is printed per order: the gateway's own
(user and system time apart), the sandbox's, PostgreSQL's server processes' and
wrk's. On a machine where all of them share the cores, their sum per order is
what bounds the throughput: cores / sum.

It starts the sandbox and `gateway serve` as bench/run.py does (plugins on
unless --plugins-off), warms up, then places `--orders` orders at
`--concurrency`, with `py-spy record` attached for `--seconds` when asked.
py-spy must be installed (pip install py-spy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen
import run


async def read_loop(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], n: int
) -> dict[str, Any]:
    """`n` GETs of `url`, one at a time."""
    latencies: list[float] = []
    errors: dict[int, int] = {}
    started = time.perf_counter()
    for _ in range(n):
        sent = time.perf_counter()
        async with http.get(url, headers=headers) as answer:
            await answer.read()
            if answer.status != 200:
                errors[answer.status] = errors.get(answer.status, 0) + 1
        latencies.append(time.perf_counter() - sent)
    elapsed = time.perf_counter() - started
    return {
        "orders_per_s": n / elapsed,
        "p50_ms": run.pct(latencies, 0.5),
        "p99_ms": run.pct(latencies, 0.99),
        "errors": errors,
    }


def postgres_pids() -> list[int]:
    """PostgreSQL's server processes (its backends do the statements' work)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


async def commits() -> int:
    """PostgreSQL's count of committed transactions in the test database (every statement in
    autocommit is one; its backends report them within PGSTAT_IDLE_INTERVAL, 10 s)."""
    conn = await asyncpg.connect(run.PG_URL)
    try:
        count: int = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        return count
    finally:
        await conn.close()


async def wrk_split(
    args: argparse.Namespace, url: str, gateway: run.Proc, sandbox: run.Proc
) -> None:
    """`wrk` places orders for `--seconds`; the CPU per order of each process on the path,
    and on PostgreSQL the transactions it committed per order."""
    postgres = args.engine == "postgresql"
    committed = await commits() if postgres else 0
    loadgen.require()
    script = Path(args.workdir) / "place.lua"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {run.TOKEN}"}
    script.write_text(loadgen.lua_script("POST", json.dumps({"item_id": 1001}).encode(), headers))
    parts = {"gateway": [gateway.popen.pid], "sandbox": [sandbox.popen.pid]}
    parts["postgresql"] = postgres_pids() if postgres else []
    before = {name: loadgen.cpu_times(pids) for name, pids in parts.items()}
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk's CPU: the only child reaped
    result = await asyncio.to_thread(loadgen.run, url, script, args.concurrency, args.seconds)
    after = {name: loadgen.cpu_times(pids) for name, pids in parts.items()}
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    before["wrk"] = (reaped.ru_utime, reaped.ru_stime)
    after["wrk"] = (ended.ru_utime, ended.ru_stime)
    done = result["requests"]
    print(f"{args.engine}, plugins {'off' if args.plugins_off else 'on'}, wrk c{args.concurrency}:"
          f" {result['orders_per_s']:.0f} orders/s, p50 {result['p50_ms']:.1f} ms,"
          f" p99 {result['p99_ms']:.1f} ms, errors {result['errors']}")  # fmt: skip
    total = 0.0
    for name in before:
        user = (after[name][0] - before[name][0]) / done * 1000
        system = (after[name][1] - before[name][1]) / done * 1000
        total += user + system
        print(f"  {name:<11} {user + system:6.3f} ms of CPU per order"
              f" (user {user:.3f}, system {system:.3f})")  # fmt: skip
    cores = os.cpu_count() or 1
    print(f"  {'sum':<11} {total:6.3f} ms: these {cores} cores place at most"
          f" {cores / total * 1000:.0f} orders/s")  # fmt: skip
    if postgres:
        await asyncio.sleep(11)  # until the gateway's idle connections have reported
        per_order = (await commits() - committed - 2) / done  # less this script's own two
        print(f"  PostgreSQL committed {per_order:.2f} transactions per order")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="gateway-profile-") as tmp:
        sandbox = run.start_sandbox()
        storage, cleanup = await run.storage_url(args.engine, Path(tmp))
        gateway = run.start_gateway(Path(tmp), sandbox.url, storage, not args.plugins_off)
        args.workdir = tmp
        spy = None
        try:
            headers = {"Authorization": f"Bearer {run.TOKEN}", "Content-Type": "application/json"}
            body = json.dumps({"item_id": 1001}).encode()
            url = f"{gateway.url}/v1/orders"
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                await run.closed_loop(http, url, headers, body, 300, 8)
                if args.py_spy:
                    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
                    spy = await asyncio.create_subprocess_exec(
                        binary, "record", "-p", str(gateway.popen.pid), "-r", "250",
                        "-d", str(args.seconds), "-f", "raw", "-o", str(args.py_spy),
                        "--nonblocking",
                    )  # fmt: skip
                    await asyncio.sleep(0.5)
                if args.wrk:
                    await wrk_split(args, url, gateway, sandbox)
                    if spy is not None:
                        await spy.wait()
                    return
                before = gateway.cpu_seconds()
                if args.reads:  # one client reading, as the growth run's poller does
                    result = await read_loop(http, gateway.url + args.reads, headers, args.orders)
                else:
                    result = await run.closed_loop(
                        http, url, headers, body, args.orders, args.concurrency
                    )
                cpu = (gateway.cpu_seconds() - before) / args.orders * 1000
                what = f"GET {args.reads}, c1" if args.reads else f"c{args.concurrency}"
                print(
                    f"{args.engine}, plugins {'off' if args.plugins_off else 'on'}, {what}: "
                    f"{result['orders_per_s']:.0f} requests/s, "
                    f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
                    f"CPU {cpu:.2f} ms/request, errors {result['errors']}"
                )
                if spy is not None:
                    await spy.wait()
        finally:
            gateway.stop()
            sandbox.stop()
            await cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("engine", choices=["sqlite", "postgresql"])
    parser.add_argument("--plugins-off", action="store_true")
    parser.add_argument("--reads", metavar="PATH", help="read PATH one at a time instead")
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--seconds", type=int, default=8, help="how long py-spy records, or wrk loads"
    )
    parser.add_argument("--py-spy", type=Path, help="write a raw py-spy profile here")
    parser.add_argument("--wrk", action="store_true", help="load from wrk for --seconds")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default=run.LOOP)
    arguments = parser.parse_args()
    run.LOOP = arguments.loop
    asyncio.run(main(arguments))
