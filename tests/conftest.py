"""Shared fixtures: a sandbox provider on a real port, a manual clock, the generated client."""

from __future__ import annotations

import asyncio
import json as _json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from gateway.app import AccountSecrets, Settings, create_app
from gateway.clock import ManualClock
from gateway.config import Config, parse
from gateway.sandbox import (
    SANDBOX,
    Sandbox,
    SandboxSettings,
    create_sandbox_app,
    demo_accounts,
    demo_items,
)
from gateway.tenants import token_hash
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


def sandbox_settings(**overrides: Any) -> SandboxSettings:
    values: dict[str, Any] = {
        "accounts": demo_accounts(0),
        "items": demo_items(),
        "seed": 7,
        "fulfilment_delay": 10.0,
        "webhook_interval": 60.0,
        "webhook_timeout": 2.0,
    }
    values.update(overrides)
    return SandboxSettings(**values)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


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
TOKENS = {
    "shop": "gwt_shop_token_for_tests_only",
    "games": "gwt_games_token_for_tests_only",
    "watch": "gwt_watch_token_for_tests_only",
    "ops": "gwt_ops_token_for_tests_only",
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every gateway test runs on both engines; each PostgreSQL test in a schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.sqlite3'}"
        return
    schema = "t_" + uuid.uuid4().hex[:16]
    yield f"{PG_URL}?schema={schema}"
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def gateway_config(
    provider_url: str,
    storage_url: str,
    timeout_seconds: float = 2.0,
    plugins: dict[str, Any] | None = None,
    **gateway: Any,
) -> Config:
    def account(client_id: str) -> dict[str, Any]:
        return {
            "base_url": provider_url,
            "client_id": client_id,
            "currency": "EUR",
            "api_key": {"env": "UNUSED"},
            "webhook_secret": {"env": "UNUSED"},
            "timeout_seconds": timeout_seconds,
        }

    def tenant(name: str, accounts: list[str], role: str = "tenant") -> dict[str, Any]:
        return {"token_hashes": [token_hash(TOKENS[name])], "accounts": accounts, "role": role}

    return parse(
        {
            "storage": {"url": storage_url},
            "gateway": gateway,
            "plugins": plugins if plugins is not None else {},
            "accounts": {"main": account("client_main"), "partner": account("client_partner")},
            "tenants": {
                "shop": tenant("shop", ["main", "partner"]),
                "games": tenant("games", ["main"]),
                "watch": tenant("watch", ["main"], "observer"),
                "ops": tenant("ops", ["main", "partner"], "admin"),
            },
        }
    )


@dataclass
class Answer:
    status: int
    body: Any
    headers: CIMultiDict[str]


@dataclass
class Gateway:
    """A gateway on a real port in front of the sandbox provider, sharing its manual clock."""

    server: TestServer
    app: web.Application
    provider: Provider
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def call(
        self,
        method: str,
        path: str,
        tenant: str | None = "shop",
        json: Any = None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        if tenant is not None:
            sent["Authorization"] = f"Bearer {TOKENS[tenant]}"
        async with self.http.request(
            method, self.url + path, json=json, data=data, headers=sent
        ) as response:
            raw = await response.read()
            try:
                body = _json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode()
            return Answer(response.status, body, CIMultiDict(response.headers))

    async def place(self, tenant: str = "shop", **body: Any) -> Answer:
        return await self.call("POST", "/v1/orders", tenant, json=body)


GatewayFactory = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def make_gateway(
    aiohttp_server: AiohttpServer, provider: Provider, storage_url: str, clock: ManualClock
) -> AsyncIterator[GatewayFactory]:
    """Build a gateway in front of the sandbox; keyword arguments change its config."""
    sessions: list[aiohttp.ClientSession] = []

    async def make(
        timeout_seconds: float = 2.0,
        plugins: dict[str, Any] | None = None,
        plugin_factories: dict[str, Any] | None = None,
        **gateway: Any,
    ) -> Gateway:
        config = gateway_config(provider.url, storage_url, timeout_seconds, plugins, **gateway)
        secrets = {
            name: AccountSecrets(provider.key(name), provider.sandbox.account(name).webhook_secret)
            for name in ("main", "partner")
        }
        app = create_app(
            Settings(
                config, secrets, clock, background=False, plugin_factories=plugin_factories or {}
            )
        )
        server = await aiohttp_server(app)
        for name in ("main", "partner"):
            provider.sandbox.account(name).webhook_url = str(
                server.make_url(f"/provider-webhooks/{name}")
            )
        http = aiohttp.ClientSession()
        sessions.append(http)
        return Gateway(server, app, provider, http)

    yield make
    for http in sessions:
        await http.close()


@pytest.fixture
async def gateway(make_gateway: GatewayFactory) -> Gateway:
    return await make_gateway()
