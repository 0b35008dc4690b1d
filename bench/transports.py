"""Provider client transports side by side: the generated client over each transport.

Starts the sandbox provider as its own process, then drives GET balance
through the generated client at a fixed concurrency with each transport, in
interleaved rounds, and prints requests per second and latency percentiles.

    python bench/transports.py [--requests 2000] [--concurrency 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from httpx_aiohttp import AiohttpTransport

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.provider.transport import ProviderHttp
from gateway.sandbox import demo_accounts
from generated.api.account import get_balance
from generated.api.auth import exchange_token
from generated.client import AuthenticatedClient, Client
from generated.models import TokenRequest, TokenResponse
from tests.processes import sandbox_process

Transport = Callable[[str, str], httpx.AsyncClient | ProviderHttp]


def default(base: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"})


def tuned(base: str, token: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    return httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits
    )


def aiohttp_backed(base: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
        transport=AiohttpTransport(),
    )


def sender(base: str, token: str) -> ProviderHttp:
    """The gateway's own: the generated client's async sender over one aiohttp session."""
    http = ProviderHttp(base, timeout_seconds=30)
    http.headers["Authorization"] = f"Bearer {token}"
    return http


TRANSPORTS: dict[str, Transport] = {
    "httpx default": default,
    "httpx tuned limits": tuned,
    "httpx + aiohttp transport": aiohttp_backed,
    "aiohttp sender (gateway)": sender,
}


async def drive(client: AuthenticatedClient, requests: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    remaining = iter(range(requests))

    async def worker() -> None:
        for _ in remaining:
            start = time.perf_counter()
            answer = await get_balance.asyncio_detailed(client=client)
            latencies.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.status_code

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def main(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    key = demo_accounts(0)[0].api_keys[0]
    with sandbox_process("--seed", "0") as base:
        async with Client(base_url=base) as anon:
            answer = await exchange_token.asyncio(client=anon, body=TokenRequest(api_key=key))
            assert isinstance(answer, TokenResponse)
            token = answer.access_token
        samples: dict[str, list[tuple[float, list[float]]]] = {name: [] for name in TRANSPORTS}
        for _ in range(args.rounds):
            for name, make in TRANSPORTS.items():
                client = AuthenticatedClient(base_url=base, token=token)
                transport = make(base, token)
                if isinstance(transport, ProviderHttp):
                    client.set_async_sender(transport)
                else:
                    client.set_async_httpx_client(transport)
                try:
                    await drive(client, 50, 8)  # warm up connections
                    start = time.perf_counter()
                    lat = await drive(client, args.requests, args.concurrency)
                    samples[name].append((time.perf_counter() - start, lat))
                finally:
                    if isinstance(transport, ProviderHttp):
                        await transport.close()
                    else:
                        await transport.aclose()
    results = {}
    for name, runs in samples.items():
        rates = [args.requests / elapsed for elapsed, _ in runs]
        all_lat = sorted(x for _, lat in runs for x in lat)
        results[name] = {
            "req_per_s_median": statistics.median(rates),
            "p50_ms": all_lat[len(all_lat) // 2] * 1000,
            "p99_ms": all_lat[int(len(all_lat) * 0.99)] * 1000,
        }
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = asyncio.run(main(args))
    print(f"{'transport':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, r in results.items():
        print(f"{name:<28} {r['req_per_s_median']:>8.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
