"""The sandbox provider over HTTP: the provider's API and its catalog downloads (the
`/sandbox/...` control surface is `gateway.sandbox.admin`).

`/api/v1/...` and the two `*.lmdb.zst` downloads are the provider's surface as
`openapi.yaml` describes it. `/sandbox/...` is the sandbox's own control
surface (what the provider's dashboard and its bad days would do): dashboard
orders, keys, balances, faults, scripted outcomes, stock, the webhook log, and
the manual clock.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog
from aiohttp import web

from gateway.clock import Clock, ManualClock, SystemClock
from gateway.sandbox import admin
from gateway.sandbox.model import Account, order_json
from gateway.sandbox.provider import (
    AuthFailure,
    Sandbox,
    SandboxSettings,
)
from gateway.sandbox.rules import ProviderError
from gateway.sandbox.web import SANDBOX, json_body, parse_json

log = structlog.get_logger()

_RELEASE = web.AppKey("release_hung_requests", asyncio.Event)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_sandbox_app(settings: SandboxSettings, clock: Clock | None = None) -> web.Application:
    app = web.Application(middlewares=[_errors], client_max_size=1024 * 1024)
    app[SANDBOX] = Sandbox(settings, clock or SystemClock())
    app[_RELEASE] = asyncio.Event()
    app.cleanup_ctx.append(_lifecycle)
    app.on_shutdown.append(_release_hung)
    app.router.add_routes(
        [
            web.post("/api/v1/auth/token/client", exchange_token),
            web.get("/api/v1/account/balance", get_balance),
            web.post("/api/v1/orders", place_order),
            web.get("/api/v1/orders/{order_id}", get_order),
            web.get("/catalog.lmdb.zst", download_catalog),
            web.get(r"/{client_id:[A-Za-z0-9_-]+}.lmdb.zst", download_personal_catalog),
        ]
    )
    app.router.add_routes(admin.routes)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    sandbox = app[SANDBOX]
    await sandbox.start()
    loop_task = None
    if not isinstance(sandbox.clock, ManualClock):
        loop_task = asyncio.create_task(sandbox.timeline.run_forever())
    yield
    if loop_task is not None:
        loop_task.cancel()
        await asyncio.gather(loop_task, return_exceptions=True)
    await sandbox.close()


async def _release_hung(app: web.Application) -> None:
    app[_RELEASE].set()


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ProviderError as exc:
        return web.json_response(
            {"detail": exc.detail, "code": exc.code}, status=exc.status, headers=exc.headers
        )
    except AuthFailure as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "validation_error"}.get(
            exc.status, "error"
        )
        return web.json_response(
            {"detail": exc.reason, "code": code}, status=exc.status, headers=_allow(exc)
        )
    except Exception:
        log.exception("sandbox_unhandled_error", path=request.path)
        return web.json_response({"detail": "Internal error", "code": "server_error"}, status=500)


def _allow(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}


# --- the provider's API ---------------------------------------------------------


async def _faults_before(request: web.Request, account: Account) -> None:
    """Latency, then a share of 429s, then a share of 5xx: all before the request takes effect."""
    sandbox = request.app[SANDBOX]
    faults = account.faults
    if faults.latency_ms > 0:
        await asyncio.sleep(faults.latency_ms / 1000)
    if sandbox.roll(faults.rate_limit_rate):
        raise ProviderError(
            429, "rate_limited", "Too many requests", {"Retry-After": str(faults.retry_after)}
        )
    if sandbox.roll(faults.error_rate):
        raise ProviderError(503, "server_error", "Service temporarily unavailable")


async def _maybe_hang(request: web.Request, account: Account) -> None:
    """After the request took effect: maybe never answer (until the sandbox shuts down)."""
    if request.app[SANDBOX].roll(account.faults.hang_rate):
        log.info("sandbox_response_withheld", path=request.path, account=account.name)
        await request.app[_RELEASE].wait()
        raise ProviderError(503, "server_error", "Service shutting down")


async def _authenticated(request: web.Request) -> Account:
    account = request.app[SANDBOX].authenticate(request.headers.get("Authorization"))
    await _faults_before(request, account)
    return account


async def exchange_token(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    try:
        body = await parse_json(request)
    except ValueError:
        body = None
    api_key = body.get("api_key") if isinstance(body, dict) else None
    account = sandbox.account_for_key(api_key)
    if account is not None:
        await _faults_before(request, account)
    token = sandbox.exchange_token(api_key)
    if account is not None:
        await _maybe_hang(request, account)
    return web.json_response({"access_token": token, "token_type": "Bearer"})


async def get_balance(request: web.Request) -> web.Response:
    account = await _authenticated(request)
    await _maybe_hang(request, account)
    return web.json_response({"balance": float(account.balance)})


async def place_order(request: web.Request) -> web.Response:
    account = await _authenticated(request)
    body = await json_body(request)
    order = request.app[SANDBOX].place_order(account, body)
    await _maybe_hang(request, account)
    return web.json_response(order_json(order), status=201)


async def get_order(request: web.Request) -> web.Response:
    account = await _authenticated(request)
    raw_id = request.match_info["order_id"]
    try:
        order_id = str(uuid.UUID(raw_id))
    except ValueError:
        raise ProviderError(404, "not_found", "Order not found") from None
    order = request.app[SANDBOX].get_order(account, order_id)
    await _maybe_hang(request, account)
    return web.json_response(order_json(order))


async def download_catalog(request: web.Request) -> web.Response:
    data = request.app[SANDBOX].snapshot(None)
    assert data is not None
    return web.Response(body=data, content_type="application/zstd")


async def download_personal_catalog(request: web.Request) -> web.Response:
    data = request.app[SANDBOX].snapshot(request.match_info["client_id"])
    if data is None:
        return web.Response(status=404, text="Not Found")
    return web.Response(body=data, content_type="application/zstd")
