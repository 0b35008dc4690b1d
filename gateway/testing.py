"""Test helpers that ship with the gateway, for its own tests and for plugin authors.

A plugin's test needs a few lines:

    from gateway.testing import plugin_harness

    async def test_refuses_items_off_the_list():
        async with plugin_harness({"enabled": ["allowlist"], "allowlist": {"shop": [1001]}}) as gw:
            assert (await gw.place("shop", item_id=1001)).status == 201
            refused = await gw.place("shop", item_id=1002)
            assert refused.body["error"]["details"]["plugin"] == "allowlist"

It starts the sandbox provider and a gateway in front of it, in this process,
on real loopback ports, with SQLite in a temporary folder and a manual clock
(`await gw.advance(seconds)` runs fulfilments and webhooks due meanwhile).
Tenants: `shop` (tenant; accounts main, partner), `games` (tenant; main),
`watch` (observer; main), `ops` (admin; main, partner), `clerk` (admin; partner);
their tokens are in
`TOKENS`. A plugin that is not installed can be given as `factories`.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict
from opentelemetry.trace import TracerProvider

from gateway.app import AccountSecrets, Settings, create_app
from gateway.clock import ManualClock
from gateway.config import Config, parse
from gateway.outbox.destinations import StaticResolver
from gateway.sandbox import (
    SANDBOX,
    Sandbox,
    SandboxSettings,
    create_sandbox_app,
    demo_accounts,
    demo_items,
)
from gateway.state import DESTINATIONS
from gateway.tenants import token_hash

TOKENS = {
    "shop": "gwt_shop_token_for_tests_only",
    "games": "gwt_games_token_for_tests_only",
    "watch": "gwt_watch_token_for_tests_only",
    "ops": "gwt_ops_token_for_tests_only",
    "clerk": "gwt_clerk_token_for_tests_only",
}
TENANTS = {
    "shop": ("tenant", ["main", "partner"]),
    "games": ("tenant", ["main"]),
    "watch": ("observer", ["main"]),
    "ops": ("admin", ["main", "partner"]),
    "clerk": ("admin", ["partner"]),  # an admin of one account only
}


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


def gateway_config(
    provider_url: str,
    storage_url: str,
    timeout_seconds: float = 2.0,
    plugins: dict[str, Any] | None = None,
    webhooks: dict[str, Any] | None = None,
    storage: dict[str, Any] | None = None,
    server: dict[str, Any] | None = None,
    alerts: dict[str, Any] | None = None,
    **gateway: Any,
) -> Config:
    """The test gateway's config: accounts main and partner on the sandbox, the four tenants."""

    def account(client_id: str) -> dict[str, Any]:
        return {
            "base_url": provider_url,
            "client_id": client_id,
            "currency": "EUR",
            "api_key": {"env": "UNUSED"},
            "webhook_secret": {"env": "UNUSED"},
            "timeout_seconds": timeout_seconds,
        }

    return parse(
        {
            "storage": {"url": storage_url, **(storage or {})},
            "server": server or {},
            "gateway": gateway,
            "plugins": plugins if plugins is not None else {},
            "alerts": alerts or {},
            "webhooks": {"destinations": TEST_DESTINATIONS, **(webhooks or {})},
            "accounts": {"main": account("client_main"), "partner": account("client_partner")},
            "tenants": {
                name: {"token_hashes": [token_hash(TOKENS[name])], "accounts": accts, "role": role}
                for name, (role, accts) in TENANTS.items()
            },
        }
    )


SECRET_ENV = {"api_key": "GATEWAY_MAIN_API_KEY", "webhook_secret": "GATEWAY_MAIN_WEBHOOK_SECRET"}
# Tests' receivers listen on loopback, which a real gateway refuses by default, and no
# test may send anywhere else: public addresses are refused too. Port 9 (discard) is the
# tests' endpoint that is never there.
LOOPBACK = ["127.0.0.0/8", "::1/128"]
TEST_DESTINATIONS: dict[str, Any] = {
    "allow": LOOPBACK,
    "allow_public": False,
    "allowed_ports": [9, 80, 443, "1024-65535"],
}
# A fixed sealing key for tests only (a real one comes from `gateway seal new-key`).
TEST_SEAL_KEY = "dGVzdHMtb25seS1zZWFsLWtleS1ub3QtZm9yLXVzZSE="


def serve_config(
    provider_url: str,
    storage_url: str,
    token: str,
    *,
    role: str = "tenant",
    plugins: list[str] | None = None,
    webhooks: dict[str, float] | None = None,
    server: dict[str, float | str] | None = None,
    extra: str = "",
    timeout_seconds: float = 10.0,
) -> tuple[str, dict[str, str]]:
    """A config file's text for `gateway serve` in front of the seed-0 sandbox, one account
    `main` and one tenant `shop` with `token`; and the environment holding its secrets.
    `extra` is more TOML, appended as it is (tables of its own)."""
    account = demo_accounts(0)[0]
    # the benchmark subscribes a hundred endpoints at once
    hooks_set = {"subscription_changes_per_minute": 100000, **(webhooks or {})}
    hooks = "".join(f"{key} = {value}\n" for key, value in hooks_set.items())
    bounds = "".join(f"{key} = {json.dumps(value)}\n" for key, value in (server or {}).items())
    enabled = "" if plugins is None else f"[plugins]\nenabled = {json.dumps(plugins)}\n"
    text = (
        f'[server]\nport = 0\n{bounds}[storage]\nurl = "{storage_url}"\n[webhooks]\n{hooks}'
        f"[webhooks.destinations]\nallow = {json.dumps(LOOPBACK)}\nallow_public = false\n"
        "max_subscriptions_per_tenant = 1000\n"  # the benchmark's 100 endpoints
        f'[accounts.main]\nbase_url = "{provider_url}"\nclient_id = "{account.client_id}"\n'
        f'currency = "EUR"\ntimeout_seconds = {timeout_seconds}\n'
        f'api_key = {{ env = "{SECRET_ENV["api_key"]}" }}\n'
        f'webhook_secret = {{ env = "{SECRET_ENV["webhook_secret"]}" }}\n'
        f'[tenants.shop]\ntoken_hashes = ["{token_hash(token)}"]\naccounts = ["main"]\n'
        f'role = "{role}"\n{enabled}{extra}'
    )
    env = {
        SECRET_ENV["api_key"]: account.api_keys[0],
        SECRET_ENV["webhook_secret"]: account.webhook_secret,
        "GATEWAY_SEAL_KEYS": TEST_SEAL_KEY,
    }
    return text, env


def secrets_for(sandbox: Sandbox) -> dict[str, AccountSecrets]:
    return {
        name: AccountSecrets(
            next(k for k, active in account.api_keys.items() if active), account.webhook_secret
        )
        for name, account in sandbox.accounts.items()
    }


@dataclass
class Answer:
    status: int
    body: Any
    headers: CIMultiDict[str]


@dataclass
class GatewayClient:
    """Calls a gateway over real HTTP as one of the test tenants."""

    server: TestServer
    app: web.Application
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


_json = json


async def start_gateway(
    sandbox_server: TestServer,
    storage_url: str,
    clock: ManualClock,
    *,
    timeout_seconds: float = 2.0,
    plugins: dict[str, Any] | None = None,
    plugin_factories: dict[str, Callable[[dict[str, Any]], Any]] | None = None,
    webhooks: dict[str, Any] | None = None,
    storage: dict[str, Any] | None = None,
    resolver: AbstractResolver | None = None,
    seal_keys: list[str] | None = None,
    server: dict[str, Any] | None = None,
    tracer_provider: TracerProvider | None = None,
    **gateway: Any,
) -> tuple[TestServer, web.Application]:
    """A gateway in front of a running sandbox; the sandbox's webhooks are pointed at it.
    Codes are sealed with `seal_keys` (default: `TEST_SEAL_KEY` alone)."""
    sandbox = sandbox_server.app[SANDBOX]
    provider_url = str(sandbox_server.make_url("")).rstrip("/")
    config = gateway_config(
        provider_url, storage_url, timeout_seconds, plugins, webhooks, storage, server, **gateway
    )
    app = create_app(
        Settings(
            config,
            secrets_for(sandbox),
            clock,
            background=False,
            plugin_factories=plugin_factories or {},
            resolver=resolver or StaticResolver(),  # names never leave the machine in tests
            seal_keys=[TEST_SEAL_KEY] if seal_keys is None else seal_keys,
            tracer_provider=tracer_provider,
        )
    )
    test_server = TestServer(app)
    await test_server.start_server()
    app[DESTINATIONS].forbid_own("127.0.0.1", test_server.port or 0)
    for name in sandbox.accounts:
        url = str(test_server.make_url(f"/provider-webhooks/{name}"))
        sandbox.account(name).webhook_url = url
    return test_server, app


@dataclass
class Harness(GatewayClient):
    sandbox: Sandbox
    clock: ManualClock

    async def advance(self, seconds: float) -> None:
        """Move time on: fulfilments, webhooks and token expiries due meanwhile happen."""
        await self.sandbox.advance(seconds)


@asynccontextmanager
async def plugin_harness(
    plugins: dict[str, Any] | None = None,
    *,
    factories: dict[str, Callable[[dict[str, Any]], Any]] | None = None,
    storage_url: str | None = None,
    server: dict[str, Any] | None = None,
) -> AsyncIterator[Harness]:
    """The sandbox and a gateway with these `[plugins]` settings (and `[server]` ones), in
    this process."""
    clock = ManualClock()
    sandbox_app = create_sandbox_app(sandbox_settings(), clock)
    sandbox_server = TestServer(sandbox_app)
    await sandbox_server.start_server()
    with tempfile.TemporaryDirectory(prefix="gateway-test-") as tmp:
        url = storage_url or f"sqlite:///{Path(tmp) / 'gateway.sqlite3'}"
        try:
            gateway_server, app = await start_gateway(
                sandbox_server,
                url,
                clock,
                plugins=plugins,
                plugin_factories=factories,
                server=server,
            )
            try:
                async with aiohttp.ClientSession() as http:
                    yield Harness(gateway_server, app, http, sandbox_app[SANDBOX], clock)
            finally:
                await gateway_server.close()
        finally:
            await sandbox_server.close()
