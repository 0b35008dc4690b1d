"""The connections a server admits, and how long a request head may take to arrive.

aiohttp bounds neither the number of connections nor the time a request head may
trickle in, and it answers a request it cannot parse with a text body quoting the
offending bytes (and logs them with a traceback): a token with a stray control
character in `Authorization` would be echoed into both. This module puts a small
protocol in front of each aiohttp connection for the first two, and a handler
class that answers unparseable requests in the gateway's JSON error shape,
quoting nothing, for the third.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any, cast

import structlog
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from gateway.config import ServerConfig

log = structlog.get_logger()

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]

# A refused client has usually sent its request already; closing with those bytes unread
# makes the kernel answer with a reset, which can destroy the 503 before the client reads
# it. So a refusal reads and discards for at most this long, or until the client closes.
REFUSAL_LINGER_SECONDS = 1.0
# Warnings about refusals and slow heads come in floods under attack: one line per kind
# per this many seconds, carrying how many it stands for.
WARNING_PERIOD_SECONDS = 1.0


class _Warnings:
    """One warning line per kind per period, with how many events it stands for.

    Under a flood a line per event would be the flood again, in the logs; counting keeps
    the size of it visible. Held-back events are written when the period ends, so none
    goes unreported. No field ever carries what the client sent.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, event: str, **fields: object) -> None:
        self._loop = loop
        self._event = event
        self._fields = fields
        self._pending = 0
        self._last = -math.inf
        self._flush: asyncio.TimerHandle | None = None

    def count(self) -> None:
        self._pending += 1
        if self._flush is not None:
            return
        wait = self._last + WARNING_PERIOD_SECONDS - self._loop.time()
        if wait <= 0:
            self._write()
        else:
            self._flush = self._loop.call_later(wait, self._write)

    def close(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._write()

    def _write(self) -> None:
        self._flush = None
        self._last = self._loop.time()
        if self._pending:
            log.warning(self._event, count=self._pending, **self._fields)
            self._pending = 0


class Gate:
    """The protocol factory: admits connections up to the cap, and times request heads.

    Each connection gets a `_Connection` in front of aiohttp's `RequestHandler`
    (whose `__slots__` leave no way to wrap its methods on the instance). To know when
    a request has reached the app, the gate wraps `web.Server.request_handler`, the
    public attribute every new `RequestHandler` copies: it sits outside every middleware,
    so the whole time the app holds a request counts, and the app object is left as the
    caller made it.
    """

    def __init__(
        self, server: web.Server, limits: ServerConfig, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.server = server
        self.limits = limits
        self.loop = loop
        self.admitted: dict[web.RequestHandler, _Connection] = {}
        self.lingering: set[_Connection] = set()
        self.refusals = _Warnings(
            loop, "connections_refused", max_connections=limits.max_connections
        )
        self.slow_heads = _Warnings(
            loop, "request_heads_timed_out", header_timeout_seconds=limits.header_timeout_seconds
        )
        self.slow_reads = _Warnings(
            loop, "clients_not_reading", header_timeout_seconds=limits.header_timeout_seconds
        )
        server.request_handler = self._in_app(server.request_handler)

    def __call__(self) -> _Connection:
        return _Connection(self)

    def close(self) -> None:
        """Drop lingering refusals (aiohttp's own shutdown closes admitted connections)."""
        for refused in list(self.lingering):
            refused.abort()
        self.refusals.close()
        self.slow_heads.close()
        self.slow_reads.close()

    def _in_app(self, handler: Handler) -> Handler:
        async def in_app(request: web.BaseRequest) -> web.StreamResponse:
            connection = self.admitted.get(request.protocol)
            if connection is None:
                return await handler(request)
            connection.busy()
            try:
                return await handler(request)
            finally:
                connection.idle()

        return in_app


class _Connection(asyncio.Protocol):
    """One accepted connection: refused at once past the cap, else aiohttp's, head-timed.

    The head timer starts at the first byte that arrives while no request is in the app,
    which is the first byte of the next request head (on a new connection or between
    keep-alive requests), and stops when that request reaches the app. Heads that were
    buffered while the previous request was in the app (pipelining) start no timer; the
    keep-alive timer, which data does not reset, still closes such a connection
    `idle_timeout_seconds` after its last response.

    The decision to admit is made in `connection_made`, together with the count, so that
    no accepted-but-not-yet-made connection slips past the cap and a transport that fails
    before `connection_made` holds no slot.
    """

    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self._transport: asyncio.Transport | None = None
        self._handler: web.RequestHandler | None = None
        self._in_app = False
        self._timer: asyncio.TimerHandle | None = None
        self._stall: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport: no isinstance check
        transport = cast(asyncio.Transport, transport)
        self._transport = transport
        gate = self._gate
        if len(gate.admitted) >= gate.limits.max_connections:
            self._refuse(transport)
            return
        handler = gate.server()
        # the same object with one method changed; `__slots__` leave no other way in
        handler.__class__ = QuietHandler
        self._handler = handler
        gate.admitted[handler] = self
        handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._handler is None:
            return  # a refused client's request: read only so that closing sends no reset
        if not self._in_app and self._timer is None and data:
            self._timer = self._gate.loop.call_later(
                self._gate.limits.header_timeout_seconds, self._head_timed_out
            )
        self._handler.data_received(data)

    def eof_received(self) -> None:
        # Either way the transport then closes: aiohttp's handler keeps no half-open
        # connections, and a refused client that has finished sending is done with.
        if self._handler is not None:
            self._handler.eof_received()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_timer()
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        self._gate.lingering.discard(self)
        self._transport = None
        if self._handler is not None:
            self._gate.admitted.pop(self._handler, None)
            self._handler.connection_lost(exc)

    def pause_writing(self) -> None:
        # The client has stopped reading what we send: past the head timeout it is cut
        # off, or a client that pipelines requests and never reads holds the connection.
        if self._stall is None:
            self._stall = self._gate.loop.call_later(
                self._gate.limits.header_timeout_seconds, self._write_stalled
            )
        if self._handler is not None:
            self._handler.pause_writing()

    def resume_writing(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        if self._handler is not None:
            self._handler.resume_writing()

    def _write_stalled(self) -> None:
        self._stall = None
        self._gate.slow_reads.count()
        self.abort()

    # --- the gate's side ----------------------------------------------------------------

    def busy(self) -> None:
        self._in_app = True
        self._stop_timer()

    def idle(self) -> None:
        self._in_app = False

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _head_timed_out(self) -> None:
        self._timer = None
        if self._in_app or self._transport is None:
            return
        self._gate.slow_heads.count()
        self._transport.close()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _refuse(self, transport: asyncio.Transport) -> None:
        gate = self._gate
        gate.refusals.count()
        transport.write(_refusal())
        # Lingering refusals are bounded too, or a flood of refused connections would hold
        # the descriptors the cap is there to save; past the bound, close without lingering.
        if len(gate.lingering) >= gate.limits.max_connections or not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        gate.lingering.add(self)
        self._timer = gate.loop.call_later(REFUSAL_LINGER_SECONDS, transport.close)


def _refusal() -> bytes:
    """A whole HTTP/1.1 503 in the gateway's error shape, to be sent before any request.

    Written by hand because no aiohttp request exists for a connection that is never
    handed to aiohttp; the request id lets an operator match a client's report to the log.
    """
    request_id = "req_" + secrets.token_hex(8)
    body = json.dumps(
        {
            "error": {
                "code": "too_many_connections",
                "message": "the gateway has as many connections open as it allows; retry in"
                " a second, and reuse a keep-alive connection rather than opening new ones",
                "request_id": request_id,
            }
        }
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Date: {formatdate(usegmt=True)}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Retry-After: 1\r\n"
        "Connection: close\r\n"
        f"X-Request-Id: {request_id}\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


class QuietHandler(RequestHandler):
    """aiohttp's handler, but a request it cannot parse is answered in the gateway's
    JSON error shape and logged in one line, never quoting the client's bytes."""

    __slots__ = ()

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        request_id = "req_" + secrets.token_hex(8)
        if status >= 500:
            code, text = "internal_error", "the gateway failed unexpectedly; quote the request id"
        else:
            code = "bad_request"
            text = (
                "the request is not valid HTTP/1.1 (a header, the request line or the body"
                " framing has a character or a length it may not); nothing was done"
            )
        log.warning(
            "http_request_unparseable",
            status=status,
            error=type(exc).__name__ if exc is not None else None,
            request_id=request_id,
        )
        body = {"error": {"code": code, "message": text, "request_id": request_id}}
        response = web.Response(
            status=status,
            text=json.dumps(body),
            content_type="application/json",
            headers={"X-Request-Id": request_id},
        )
        response.force_close()
        return response
