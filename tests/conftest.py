"""Shared fixtures: a sandbox provider on a real port, a manual clock, the generated client."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.clock import ManualClock
from gateway.sandbox import (
    SANDBOX,
    Sandbox,
    SandboxSettings,
    create_sandbox_app,
)
from gateway.testing import (
    GatewayClient,
    sandbox_settings,
    start_gateway,
)
from generated.api.auth import exchange_token
from generated.client import AuthenticatedClient, Client
from generated.models import TokenRequest, TokenResponse

AiohttpServer = Callable[..., Awaitable[TestServer]]


@dataclass
class Provider:
    """A running sandbox provider and what a test needs to talk to it."""

    server: TestServer
    sandbox: Sandbox
    clock: ManualClock
    _clients: list[Client | AuthenticatedClient] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def key(self, account: str) -> str:
        return next(k for k, active in self.sandbox.account(account).api_keys.items() if active)

    def anonymous(self) -> Client:
        client = Client(base_url=self.url, raise_on_unexpected_status=True)
        self._clients.append(client)
        return client

    def bearer(self, token: str) -> AuthenticatedClient:
        client = AuthenticatedClient(
            base_url=self.url, token=token, raise_on_unexpected_status=True
        )
        self._clients.append(client)
        return client

    async def token(self, account: str) -> str:
        answer = await exchange_token.asyncio(
            client=self.anonymous(), body=TokenRequest(api_key=self.key(account))
        )
        assert isinstance(answer, TokenResponse), answer
        return answer.access_token

    async def client(self, account: str = "main") -> AuthenticatedClient:
        return self.bearer(await self.token(account))

    async def close(self) -> None:
        for client in self._clients:
            await client.get_async_httpx_client().aclose()


@pytest.fixture(autouse=True)
def _uncached_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CLI test configures logging in this process; cached loggers would then bypass
    `capture_logs` in every later test of the same worker."""
    monkeypatch.setattr("gateway.logs.CACHE_LOGGERS", False)


# The tests' "now": a fixed instant, mid-month and mid-day, so that no test depends on the
# date it runs (a budget test that moves a day on must not cross a month end by chance).
TEST_START = datetime(2026, 3, 11, 9, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    """Starts at `TEST_START`; from there it moves only when told."""
    return ManualClock(TEST_START)


@pytest.fixture
def settings() -> SandboxSettings:
    return sandbox_settings()


@pytest.fixture
async def provider(
    aiohttp_server: AiohttpServer, clock: ManualClock, settings: SandboxSettings
) -> AsyncIterator[Provider]:
    app = create_sandbox_app(settings, clock)
    server = await aiohttp_server(app)
    provider = Provider(server=server, sandbox=app[SANDBOX], clock=clock)
    yield provider
    await provider.close()


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


@dataclass
class WebhookReceiver:
    """A local HTTP endpoint that records every request and answers with a chosen status."""

    server: TestServer
    received: list[Received]
    statuses: list[int]  # answered in turn; the last one repeats
    arrived: asyncio.Event

    @property
    def url(self) -> str:
        return str(self.server.make_url("/hook"))


@pytest.fixture
async def receiver(aiohttp_server: AiohttpServer) -> WebhookReceiver:
    received: list[Received] = []
    statuses = [200]
    arrived = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append(Received(await request.read(), dict(request.headers)))
        arrived.set()
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        return web.Response(status=status, text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    return WebhookReceiver(server, received, statuses, arrived)


# --- the gateway in front of the sandbox ------------------------------------------------

PG_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


@asynccontextmanager
async def pg_schema() -> AsyncIterator[str]:
    """A PostgreSQL schema of one test's own (its name), dropped afterwards."""
    schema = "t_" + uuid.uuid4().hex[:16]
    try:
        yield schema
    finally:
        conn = await asyncpg.connect(PG_URL)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """The test PostgreSQL database, in an empty schema of this test's own."""
    async with pg_schema() as schema:
        yield f"{PG_URL}?schema={schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
async def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every gateway test runs on both engines; each PostgreSQL test in a schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.sqlite3'}"
        return
    async with pg_schema() as schema:
        yield f"{PG_URL}?schema={schema}"


@dataclass
class Gateway(GatewayClient):
    """A gateway on a real port in front of the sandbox provider, sharing its manual clock."""

    provider: Provider


GatewayFactory = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def make_gateway(
    provider: Provider, storage_url: str, clock: ManualClock
) -> AsyncIterator[GatewayFactory]:
    """Build a gateway in front of the sandbox; keyword arguments change its config."""
    made: list[tuple[TestServer, aiohttp.ClientSession]] = []

    async def make(**options: Any) -> Gateway:
        server, app = await start_gateway(provider.server, storage_url, clock, **options)
        http = aiohttp.ClientSession()
        made.append((server, http))
        return Gateway(server, app, http, provider)

    yield make
    for server, http in made:
        await http.close()
        await server.close()


@pytest.fixture
async def gateway(make_gateway: GatewayFactory) -> Gateway:
    return await make_gateway()


@dataclass
class Hook:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def verify(self, secret: str, clock: ManualClock) -> Any:
        """The Standard Webhooks check, at the injected clock's time: the library's own
        `verify` compares `webhook-timestamp` with the wall clock, which tests do not use.
        The signature itself is the library's (`Webhook.sign`)."""
        sent = datetime.fromtimestamp(int(self.headers["webhook-timestamp"]), UTC)
        if abs((clock.now() - sent).total_seconds()) > 300:
            raise WebhookVerificationError("Message timestamp too old or too new")
        expected = Webhook(secret).sign(self.headers["webhook-id"], sent, self.body.decode())
        if expected not in self.headers["webhook-signature"].split(" "):
            raise WebhookVerificationError("No matching signature found")
        return self.json


@dataclass
class Endpoint:
    """A tenant's webhook endpoint: records what arrives, answers `statuses` in turn."""

    server: TestServer
    hooks: list[Hook]
    statuses: list[int]
    headers: dict[str, str]
    arrived: asyncio.Condition
    release: asyncio.Event  # a slow endpoint waits for this before answering

    @property
    def url(self) -> str:
        return str(self.server.make_url("/hook"))

    def events(self) -> list[tuple[str, str | None]]:
        return [(h.json["type"], h.json["data"].get("id")) for h in self.hooks]

    async def wait_for(self, count: int) -> None:
        """Until `count` requests arrived; bounded, so a missing one fails the test in 5 s."""
        async with asyncio.timeout(5), self.arrived:
            await self.arrived.wait_for(lambda: len(self.hooks) >= count)


EndpointFactory = Callable[..., Awaitable[Endpoint]]


@pytest.fixture
def endpoint_factory(aiohttp_server: AiohttpServer) -> Callable[..., Awaitable[Endpoint]]:
    async def make(statuses: list[int] | None = None, slow: bool = False) -> Endpoint:
        release = asyncio.Event()
        if not slow:
            release.set()
        endpoint: Endpoint

        async def hook(request: web.Request) -> web.Response:
            body = await request.read()
            await release.wait()
            endpoint.hooks.append(Hook(dict(request.headers), body))
            async with endpoint.arrived:
                endpoint.arrived.notify_all()
            statuses = endpoint.statuses
            status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            return web.Response(status=status, text=f"answered {status}", headers=endpoint.headers)

        app = web.Application()
        app.router.add_post("/hook", hook)
        server = await aiohttp_server(app)
        endpoint = Endpoint(server, [], statuses or [200], {}, asyncio.Condition(), release)
        return endpoint

    return make
