"""The generated client's aiohttp transport: answers as read, errors as httpx's, and a
connection that breaks after the request was sent is never 'nothing was sent'."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.provider.transport import ProviderHttp
from generated.api.account import get_balance
from generated.client import Client
from generated.models import Balance

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Serve = Callable[[Handler], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[TestServer] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


async def test_the_generated_client_reads_answers_through_it(serve: Serve) -> None:
    seen: dict[str, str] = {}

    async def balance(request: web.Request) -> web.Response:
        seen.update(request.headers)
        return web.json_response(
            {"balance": 12.5, "currency": "EUR"}, headers={"X-Request-Id": "r1"}
        )

    sender = ProviderHttp(await serve(balance), timeout_seconds=5)
    sender.headers["Authorization"] = "Bearer t0k3n"
    try:
        client = Client(base_url="http://unused").set_async_sender(sender)
        answer = await get_balance.asyncio_detailed(client=client)
    finally:
        await sender.close()
    assert answer.status_code == 200 and isinstance(answer.parsed, Balance)
    assert answer.parsed.balance == 12.5
    assert answer.headers["x-request-id"] == "r1"  # headers are case-insensitive
    assert seen["Authorization"] == "Bearer t0k3n"


async def test_a_json_body_and_its_headers_are_sent_as_given(serve: Serve) -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response(
            {"body": await request.json(), "type": request.headers["Content-Type"]}
        )

    sender = ProviderHttp(await serve(echo), timeout_seconds=5)
    try:
        answer = await sender(
            method="post",
            url="/x",
            json={"a": [1, "b"]},
            headers={"Content-Type": "application/json"},
        )
    finally:
        await sender.close()
    assert answer.json() == {"body": {"a": [1, "b"]}, "type": "application/json"}


async def test_a_refused_connection_is_a_connect_error_nothing_was_sent() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = ProviderHttp(f"http://127.0.0.1:{port}", timeout_seconds=5)
    try:
        with pytest.raises(httpx.ConnectError):
            await sender(method="get", url="/api/v1/balance")
    finally:
        await sender.close()


async def test_a_connection_dropped_after_the_request_is_a_read_error(serve: Serve) -> None:
    async def drop(request: web.Request) -> web.Response:
        await request.read()
        assert request.transport is not None
        request.transport.close()  # the request arrived; its answer never leaves
        await asyncio.sleep(1)
        return web.Response()

    sender = ProviderHttp(await serve(drop), timeout_seconds=5)
    try:
        with pytest.raises(httpx.ReadError) as raised:
            await sender(method="post", url="/api/v1/orders", content=b"{}")
    finally:
        await sender.close()
    assert not isinstance(raised.value, httpx.ConnectError | httpx.ConnectTimeout)


async def test_a_slow_answer_is_a_read_timeout(serve: Serve) -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response()

    sender = ProviderHttp(await serve(slow), timeout_seconds=0.2)
    try:
        with pytest.raises(httpx.ReadTimeout):
            await sender(method="post", url="/api/v1/orders", content=b"{}")
    finally:
        release.set()
        await sender.close()


async def test_what_it_cannot_send_is_refused_by_name() -> None:
    sender = ProviderHttp("http://127.0.0.1:1", timeout_seconds=1)
    with pytest.raises(TypeError, match="files"):
        await sender(method="post", url="/", files=[("a", b"1")])


async def test_the_requests_id_goes_to_the_provider(serve: Serve) -> None:
    seen: list[str | None] = []

    async def anything(request: web.Request) -> web.Response:
        seen.append(request.headers.get("X-Request-Id"))
        return web.json_response({})

    sender = ProviderHttp(await serve(anything), timeout_seconds=5)
    try:
        with structlog.contextvars.bound_contextvars(request_id="req_from_the_tenant"):
            await sender(method="get", url="/x")
        await sender(method="get", url="/x")  # outside a request (a background refresh)
    finally:
        await sender.close()
    assert seen == ["req_from_the_tenant", None]
    assert "X-Request-Id" not in sender.headers  # not left behind for the next call
