"""Load one gateway and, optionally, profile it: where its CPU per order goes.

    python bench/profile.py sqlite                      # orders/s and CPU ms/order at c64
    python bench/profile.py postgresql --py-spy out.txt # the same, with a py-spy raw profile
    python bench/profile.py sqlite --reads /v1/orders   # CPU ms per read of a list page

It starts the sandbox and `gateway serve` as bench/run.py does (plugins on
unless --plugins-off), warms up, then places `--orders` orders at
`--concurrency`, with `py-spy record` attached for `--seconds` when asked.
py-spy must be installed (pip install py-spy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

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


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="gateway-profile-") as tmp:
        sandbox = run.start_sandbox()
        storage, cleanup = await run.storage_url(args.engine, Path(tmp))
        gateway = run.start_gateway(Path(tmp), sandbox.url, storage, not args.plugins_off)
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
    parser.add_argument("--seconds", type=int, default=8, help="how long py-spy records")
    parser.add_argument("--py-spy", type=Path, help="write a raw py-spy profile here")
    asyncio.run(main(parser.parse_args()))
