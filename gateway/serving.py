"""Running aiohttp apps on real ports until the process is told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
from collections.abc import Callable

from aiohttp import web


class AddressInUse(OSError):
    """The port is taken: the command says so in one line, with the way out."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"{host}:{port} is in use")
        self.host = host
        self.port = port


async def start(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start an app; returns its runner and the port it bound (useful with port 0)."""
    runner = web.AppRunner(app, shutdown_timeout=5, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUse(host, port) from None
        raise
    except BaseException:
        await runner.cleanup()
        raise
    return runner, int(runner.addresses[0][1]) if runner.addresses else port


async def serve(
    app: web.Application, host: str, port: int, announce: Callable[[int], None]
) -> None:
    """Serve one app until SIGINT or SIGTERM; `announce` gets the bound port first."""
    runner, bound = await start(app, host, port)
    announce(bound)
    try:
        await until_stopped()
    finally:
        await runner.cleanup()


async def until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
