"""A bare aiohttp pass-through proxy: no auth, no storage, no hooks. The benchmark's yardstick.

python bench/passthrough.py --upstream http://127.0.0.1:8081 --port 0 [--loop asyncio]

It runs on the event loop the gateway is compared on (`--loop`, uvloop by default as
the gateway's `[server] event_loop`), so that the loop is never the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiohttp
from aiohttp import web

HOP = {"host", "content-length", "transfer-encoding", "connection"}


def make_app(upstream: str) -> web.Application:
    app = web.Application()
    session_key = web.AppKey("session", aiohttp.ClientSession)

    async def session(app: web.Application):  # type: ignore[no-untyped-def]
        app[session_key] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        yield
        await app[session_key].close()

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        async with request.app[session_key].request(
            request.method, upstream + request.rel_url.path_qs, data=body, headers=headers
        ) as answer:
            return web.Response(
                status=answer.status,
                body=await answer.read(),
                content_type=answer.content_type,
            )

    app.cleanup_ctx.append(session)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


async def main(upstream: str, port: int) -> None:
    runner = web.AppRunner(make_app(upstream), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"Pass-through proxy on http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--loop", choices=["uvloop", "asyncio"], default="uvloop", help="as the gateway's"
    )
    args = parser.parse_args()
    factory = None
    if args.loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(main(args.upstream.rstrip("/"), args.port))
    except KeyboardInterrupt:
        sys.exit(0)
