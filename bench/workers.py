"""Orders per second with `gateway serve --workers N`, driven by wrk (a C load generator).

    python bench/workers.py                        # 1 and 2 workers, 3 interleaved rounds
    python bench/workers.py --workers 1 2 4 --seconds 20

PostgreSQL (workers need it), plugins on, the sandbox provider as its own process (no
added latency, fulfilment far in the future). Each round starts `gateway serve --workers
N`, warms it up, then `wrk -t2 -c32` POSTs orders for `--seconds`; the table is the median
round per worker count, with the CPU the gateway's processes spent per order (from /proc,
supervisor and workers) and how busy the whole machine was. On a machine whose cores the
load generator and the sandbox share with the gateway, the second worker competes with
them: the JSON keeps the machine's busy CPUs so that a reader can see it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import loadgen  # noqa: E402

from gateway.testing import serve_config  # noqa: E402
from tests.conftest import PG_URL  # noqa: E402
from tests.processes import GATEWAY, url_in  # noqa: E402

TOKEN = "gwt_bench_workers_token_000000000000000000"


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its children that it waited for, and of its
    live children (the workers)."""
    return sum(loadgen.cpu_times([pid, *children(pid)]))


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(c) for c in text.split()]


def machine() -> tuple[int, int]:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]


def wrk(url: str, seconds: float, script: Path) -> dict[str, Any]:
    done = loadgen.run(f"{url}/v1/orders", script, 32, int(seconds))
    return {"orders_per_s": done["requests_per_s"], "non_2xx": done["errors"].get("non_2xx", 0)}


def one_round(config: Path, env: dict[str, str], workers: int, args: argparse.Namespace,
              script: Path) -> dict[str, Any]:  # fmt: skip
    proc = subprocess.Popen(
        [*GATEWAY, "--log-level", "warning", "serve", "--config", str(config),
         "--workers", str(workers)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, **env},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = url_in(proc.stdout.readline())
        wrk(url, 2, script)  # warm: tokens, catalogs, connection pools
        cpu0, (total0, idle0) = cpu_seconds(proc.pid), machine()
        result = wrk(url, args.seconds, script)
        cpu1, (total1, idle1) = cpu_seconds(proc.pid), machine()
        orders = result["orders_per_s"] * args.seconds
        result["cpu_ms_per_order"] = (cpu1 - cpu0) * 1000 / orders if orders else None
        result["machine_busy_cpus"] = (
            ((total1 - total0) - (idle1 - idle0)) / loadgen.TICK / args.seconds
        )
        return result
    finally:
        proc.terminate()
        proc.wait(20)


async def drop(schema: str) -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def main(args: argparse.Namespace) -> dict[str, Any]:
    loadgen.require()
    schema = "bench_" + uuid.uuid4().hex[:12]
    sandbox = subprocess.Popen(
        [*GATEWAY, "--log-level", "warning", "sandbox", "--port", "0", "--seed", "0",
         "--fulfilment-delay", "36000", "--balance", "1000000000"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    rounds: dict[int, list[dict[str, Any]]] = {w: [] for w in args.workers}
    try:
        assert sandbox.stdout is not None
        provider = url_in(sandbox.stdout.readline())
        text, env = serve_config(
            provider,
            f"{PG_URL}?schema={schema}",
            TOKEN,
            plugins=["validation", "limits", "audit"],
            server={"tenant_reads_per_second": 0, "tenant_writes_per_second": 0},
            webhooks={"reconcile_after_seconds": 86400},
        )
        with tempfile.TemporaryDirectory() as folder:
            config = Path(folder) / "gateway.toml"
            config.write_text(text)
            script = Path(folder) / "post.lua"
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
            script.write_text(loadgen.lua_script("POST", b'{"item_id": 1001}', headers))
            for n in range(args.rounds):
                for workers in args.workers:
                    result = one_round(config, env, workers, args, script)
                    rounds[workers].append(result)
                    print(
                        f"round {n + 1}, {workers} worker(s): {result['orders_per_s']:.0f}"
                        f" orders/s, {result['cpu_ms_per_order']:.2f} ms CPU per order,"
                        f" machine {result['machine_busy_cpus']:.1f} CPUs busy,"
                        f" {result['non_2xx']} non-2xx",
                        flush=True,
                    )
    finally:
        sandbox.terminate()
        sandbox.wait(10)
        asyncio.run(drop(schema))
    summary = {}
    for workers, results in rounds.items():
        rate = statistics.median(r["orders_per_s"] for r in results)
        summary[workers] = {
            "orders_per_s": rate,
            "rounds": [round(r["orders_per_s"]) for r in results],
            "cpu_ms_per_order": statistics.median(r["cpu_ms_per_order"] for r in results),
            "machine_busy_cpus": statistics.median(r["machine_busy_cpus"] for r in results),
            "non_2xx": sum(r["non_2xx"] for r in results),
        }
    print("\nworkers  orders/s (median; rounds)        CPU ms/order  machine CPUs busy")
    for workers, s in summary.items():
        print(
            f"{workers:7}  {s['orders_per_s']:8.0f} ({', '.join(map(str, s['rounds']))})"
            f"  {s['cpu_ms_per_order']:12.2f}  {s['machine_busy_cpus']:.1f} of {os.cpu_count()}"
        )
    given = {k: v for k, v in vars(args).items() if k != "json"}
    return {"machine": {"cpus": os.cpu_count()}, "args": given, "workers": summary}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    arguments = parser.parse_args()
    out = main(arguments)
    if arguments.json:
        arguments.json.write_text(json.dumps(out, indent=2) + "\n")
