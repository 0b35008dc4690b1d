"""Running aiohttp apps on real ports until the process is told to stop.

The server bounds what one client can hold (`[server]` in docs/configuration.md):
a connection whose request head trickles in is closed, an idle keep-alive
connection is closed, and past the connection cap a new connection is refused
with a 503 it can read. Without these, 50 slow-header connections were held for
half a minute each and 2,000 idle ones held a descriptor apiece.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import signal
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from yarl import URL

from gateway.config import ServerConfig
from gateway.connections import Gate

log = structlog.get_logger()

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


class AddressInUse(OSError):
    """The port is taken: the command says so in one line, with the way out."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"{host}:{port} is in use")
        self.host = host
        self.port = port


async def start(
    app: web.Application,
    host: str,
    port: int,
    limits: ServerConfig | None = None,
    reuse_port: bool = False,
) -> tuple[web.AppRunner, int]:
    """Start an app; returns its runner and the port it bound (useful with port 0).

    `limits` defaults to `ServerConfig()`'s bounds, so that nothing this module
    serves (the sandbox, the demo) is left unbounded.
    """
    limits = limits or ServerConfig()
    # aiohttp's keep-alive timer is the idle timeout: it closes a connection whose handler
    # is waiting for a request. Bytes arriving do not push it back, so it also bounds what
    # the head timer does not see (a partial head pipelined behind a request still in the
    # app); and it may cut a head that starts just before the connection would have timed
    # out, the race every keep-alive client already meets with any server.
    runner = web.AppRunner(
        app, shutdown_timeout=5, access_log=None, keepalive_timeout=limits.idle_timeout_seconds
    )
    await runner.setup()
    try:
        site = LimitedSite(runner, host, port, limits, reuse_port)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUse(host, port) from None
        raise
    except BaseException:
        await runner.cleanup()
        raise
    return runner, site.port


def pin_mmap_threshold() -> None:
    """Keep glibc's malloc from growing the heap with freed socket buffers.

    glibc raises its mmap threshold to the size of any mmapped block freed; from then on
    asyncio's 256 KiB read buffers (one per socket read, shrunk to what arrived) are cut
    from the heap, and their small survivors pin the freed pages around them. On
    PostgreSQL (a socket read per query) RSS grew ~7 MB per 100k orders, all of it free
    heap (mallinfo2) and none of it Python objects (tracemalloc), and malloc_trim gave
    it all back. Pinned at glibc's default of 128 KiB, large buffers stay in mmap and
    return to the system when freed. The environment's MALLOC_MMAP_THRESHOLD_ does the
    same; where the C library is not glibc, nothing is done."""
    try:
        ctypes.CDLL(None).mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


async def serve(
    app: web.Application,
    host: str,
    port: int,
    announce: Callable[[int], None],
    limits: ServerConfig | None = None,
    reuse_port: bool = False,
) -> None:
    """Serve one app until SIGINT or SIGTERM; `announce` gets the bound port first.
    `reuse_port`: one of `gateway serve --workers` (gateway/workers.py)."""
    pin_mmap_threshold()
    runner, bound = await start(app, host, port, limits, reuse_port)
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


class LimitedSite(web.BaseSite):
    """A TCP site whose connections go through a `_Gate`.

    Its own site rather than `web.TCPSite` because the gate must stand between the
    listening socket and aiohttp's protocol, and `TCPSite` hands the socket straight
    to `runner.server`; everything else (`runner.addresses`, `BaseSite.stop`) works
    unchanged because the listening server is kept in `self._server`.
    """

    __slots__ = ("_bound_port", "_gate", "_host", "_limits", "_port", "_reuse_port")

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        limits: ServerConfig,
        reuse_port: bool = False,
    ) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self._reuse_port = reuse_port
        self._bound_port: int | None = None
        self._limits = limits
        self._gate: Gate | None = None

    @property
    def port(self) -> int:
        return self._port if self._bound_port is None else self._bound_port

    @property
    def name(self) -> str:
        return str(URL.build(scheme="http", host=self._host, port=self.port))

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None  # BaseSite.__init__ refuses a runner not set up
        self._gate = Gate(server, self._limits, asyncio.get_running_loop())
        self._server = await asyncio.get_running_loop().create_server(
            self._gate, self._host, self._port, reuse_address=True, reuse_port=self._reuse_port
        )
        sockets = self._server.sockets
        self._bound_port = int(sockets[0].getsockname()[1]) if sockets else self._port

    async def stop(self) -> None:
        await super().stop()
        if self._gate is not None:
            self._gate.close()
