"""The server's own bounds on what one client can hold, over real loopback sockets.

A tiny app stands in for the gateway: the limits live in `gateway.serving`, which
serves every app the same way. The bounds are small (a 0.3 s head timeout) so that
each test waits for the server to close a socket, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from structlog.testing import capture_logs

from gateway.config import ServerConfig
from gateway.serving import start

HEAD_TIMEOUT = 0.3
LONG_IDLE = 5.0  # far beyond every test, so that only the head timer can close
SLACK = 0.5  # a loaded CI machine runs timers late, never early
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
# Never completes: header lines go on and on. Its marker must never reach the logs.
SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Marker: slowloris-" + b"a" * 200

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def tiny_app() -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(HEAD_TIMEOUT + 0.2)
        return web.json_response({"ok": True})

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 1_000_000)

    app = web.Application()
    app.router.add_get("/big", big)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/slow", slow)
    return app


Serve = Callable[..., Awaitable[int]]
Connect = Callable[[int], Awaitable[Connection]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start the tiny app with the real serving code on a free loopback port."""
    runners: list[web.AppRunner] = []

    async def serve(**limits: float) -> int:
        config = ServerConfig(
            **{
                "header_timeout_seconds": HEAD_TIMEOUT,
                "idle_timeout_seconds": LONG_IDLE,
                "max_connections": 3,
                **limits,
            }
        )
        runner, port = await start(tiny_app(), "127.0.0.1", 0, config)
        runners.append(runner)
        return port

    yield serve
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    writers: list[asyncio.StreamWriter] = []

    async def connect(port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writers.append(writer)
        return reader, writer

    yield connect
    for writer in writers:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    status_line, *lines = head.decode("ascii").split("\r\n")[:-2]
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 2)
    return int(status_line.split()[1]), headers, body


async def closed_after(reader: asyncio.StreamReader, since: float, within: float) -> float:
    """Seconds from `since` until the server closed the connection; fails past `within`."""
    with contextlib.suppress(ConnectionResetError):
        async with asyncio.timeout(within):
            while await reader.read(4096):
                pass
    return time.monotonic() - since


async def trickle(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Send one byte every 50 ms: a head that never completes before the timeout."""
    with contextlib.suppress(ConnectionError):
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.05)


async def assert_closed_for_a_slow_head(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    first_byte = time.monotonic()
    sender = asyncio.create_task(trickle(writer, SLOW_HEAD))
    try:
        elapsed = await closed_after(reader, first_byte, HEAD_TIMEOUT + SLACK)
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    assert HEAD_TIMEOUT - 0.05 <= elapsed < HEAD_TIMEOUT + SLACK


async def test_a_slow_head_is_closed_at_the_head_timeout(serve: Serve, connect: Connect) -> None:
    port = await serve()
    reader, writer = await connect(port)
    await asyncio.sleep(0.1)  # the timer runs from the first byte, not from the connect
    with capture_logs() as logs:
        await assert_closed_for_a_slow_head(reader, writer)
        await asyncio.sleep(0)
    warnings = [line for line in logs if line["event"] == "request_heads_timed_out"]
    assert warnings == [
        {
            "event": "request_heads_timed_out",
            "log_level": "warning",
            "count": 1,
            "header_timeout_seconds": HEAD_TIMEOUT,
        }
    ]
    assert "slowloris" not in repr(logs)


async def test_a_slow_head_on_a_later_keep_alive_request_is_closed(
    serve: Serve, connect: Connect
) -> None:
    port = await serve()
    reader, writer = await connect(port)
    writer.write(REQUEST)
    status, headers, _ = await response(reader)
    assert status == 200 and headers.get("connection", "keep-alive") != "close"
    await asyncio.sleep(HEAD_TIMEOUT)  # idle is no slow head: only bytes start the timer
    await assert_closed_for_a_slow_head(reader, writer)


async def test_a_whole_head_in_quick_pieces_is_served_and_the_connection_kept(
    serve: Serve, connect: Connect
) -> None:
    port = await serve()
    reader, writer = await connect(port)
    for _ in range(2):
        for at in range(0, len(REQUEST), 7):
            writer.write(REQUEST[at : at + 7])
            await writer.drain()
            await asyncio.sleep(0.01)
        status, _, body = await response(reader)
        assert (status, json.loads(body)) == (200, {"ok": True})


async def test_a_request_that_the_app_takes_long_over_is_not_a_slow_head(
    serve: Serve, connect: Connect
) -> None:
    port = await serve()
    reader, writer = await connect(port)
    for path in ("/slow", "/healthz"):  # and the same connection goes on afterwards
        writer.write(REQUEST.replace(b"/healthz", path.encode()))
        status, _, _ = await response(reader)
        assert status == 200


async def test_an_idle_connection_is_closed_at_the_idle_timeout(
    serve: Serve, connect: Connect
) -> None:
    idle = 0.5
    port = await serve(idle_timeout_seconds=idle)
    silent_reader, _ = await connect(port)
    connected = time.monotonic()
    used_reader, used_writer = await connect(port)
    used_writer.write(REQUEST)
    assert (await response(used_reader))[0] == 200
    answered = time.monotonic()
    silent, used = await asyncio.gather(
        closed_after(silent_reader, connected, idle + SLACK),
        closed_after(used_reader, answered, idle + SLACK),
    )
    assert idle - 0.05 <= silent < idle + SLACK
    assert idle - 0.05 <= used < idle + SLACK


async def test_past_the_connection_cap_a_new_connection_gets_a_503_and_is_closed(
    serve: Serve, connect: Connect
) -> None:
    port = await serve(max_connections=3)
    held = []
    for _ in range(3):
        reader, writer = await connect(port)
        writer.write(REQUEST)
        assert (await response(reader))[0] == 200  # admitted, and kept alive
        held.append(writer)

    with capture_logs() as logs:  # refused as it connects, before it has sent a byte
        reader, writer = await connect(port)
        writer.write(REQUEST)
        status, headers, body = await response(reader)
        await closed_after(reader, time.monotonic(), 2)
    assert status == 503
    assert headers["connection"] == "close"
    assert headers["retry-after"] == "1"
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == "too_many_connections"
    assert "retry" in error["message"]
    assert error["request_id"] == headers["x-request-id"]
    assert [line for line in logs if line["event"] == "connections_refused"] == [
        {"event": "connections_refused", "log_level": "warning", "count": 1, "max_connections": 3}
    ]

    held[0].close()
    async with asyncio.timeout(2):  # the server frees the slot once it sees the close
        while True:
            reader, writer = await connect(port)
            writer.write(REQUEST)
            status, _, _ = await response(reader)
            if status == 200:
                break
            await asyncio.sleep(0.02)


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\x01SECRETTOKEN\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\x7fSECRETTOKEN\r\n\r\n",
        b"GET /SECRETTOKEN\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
)
async def test_an_unparseable_request_is_a_json_400_that_quotes_none_of_its_bytes(
    serve: Serve, connect: Connect, raw: bytes
) -> None:
    port = await serve()
    reader, writer = await connect(port)
    with capture_logs() as logs:
        writer.write(raw)
        await writer.drain()
        async with asyncio.timeout(2):
            answer = await reader.read()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400" and b"application/json" in head
    error = json.loads(body)["error"]
    assert error["code"] == "bad_request" and error["request_id"].startswith("req_")
    assert b"SECRETTOKEN" not in answer
    assert [e["event"] for e in logs] == ["http_request_unparseable"]
    assert "SECRETTOKEN" not in repr(logs)


async def test_a_client_that_stops_reading_is_cut_off_at_the_head_timeout(serve: Serve) -> None:
    port = await serve()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    with capture_logs() as logs:
        writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n" * 40)  # 40 MB asked for
        await writer.drain()
        await asyncio.sleep(HEAD_TIMEOUT + SLACK)  # reading nothing meanwhile
        received = 0
        with contextlib.suppress(ConnectionResetError):
            async with asyncio.timeout(5):
                while chunk := await reader.read(1 << 16):
                    received += len(chunk)
    assert received < 40_000_000  # cut off, not served to the end
    assert "clients_not_reading" in [e["event"] for e in logs]
    writer.close()
