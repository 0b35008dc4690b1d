"""The HTTP edge: request ids, the canonical log line, metrics, errors as JSON, auth, bodies.

Errors are raised deep as `GatewayError` types and rendered here, once, in the
shape the tenant API fixes: `{"error": {"code", "message", "request_id",
"details"?}}`. Anything else that escapes a handler is a bug: it is logged
with its traceback and answered as a 500 that leaks nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from gateway.clock import isoformat_z
from gateway.errors import (
    BadRequest,
    GatewayError,
    InvalidField,
    InvalidJson,
    PayloadTooLarge,
    RequestTimeout,
    TenantDisabled,
    Unauthenticated,
    UnsupportedMediaType,
)
from gateway.metrics import Metrics
from gateway.provider.transport import provider_statuses
from gateway.ratelimit import RateLimits
from gateway.storage import StorageUnavailable
from gateway.tenants import Credential, Tenant, TenantDirectory
from gateway.tracing import NO_TRACER, extract, span

log = structlog.get_logger()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_DEPTH = 32  # deeper JSON than any request of ours needs; refused before any handler
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}")

METRICS = web.AppKey("metrics", Metrics)
TENANTS = web.AppKey("tenants", TenantDirectory)
MAX_BODY = web.AppKey("max_body_bytes", int)
BODY_TIMEOUT = web.AppKey("body_timeout_seconds", float)
TRACER = web.AppKey("tracer", Tracer)
REQUEST_ID = web.RequestKey("request_id", str)
TENANT = web.RequestKey("tenant", Tenant)
# Set by the console alone, from a session cookie it has opened and checked: the console's
# calls then meet the same checks as a bearer token's, below (no back door).
SESSION_CREDENTIAL = web.RequestKey("session_credential", Credential)
CREDENTIAL = web.RequestKey("credential", Credential)  # the token this request came with
RATE_LIMITS = web.AppKey("rate_limits", RateLimits)
LIMIT_HEADERS = web.RequestKey("limit_headers", dict)


def error_response(
    request_id: str,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details:
        error["details"] = details
    return web.json_response(
        {"error": error}, status=status, headers={**(headers or {}), "X-Request-Id": request_id}
    )


def _route(request: web.Request) -> str:
    info = request.match_info
    resource = info.route.resource if info.route is not None else None
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, context for every log line, one canonical line per request, and metrics;
    the request's span, continuing the trace of the client's `traceparent` if it sent one."""
    incoming = request.headers.get("X-Request-Id", "")
    # a client's id is kept only when it is a plain token: it goes into every log line and
    # answer, where a quote, a control character or a megabyte would do harm
    request_id = incoming if _CLIENT_ID.fullmatch(incoming) else "req_" + secrets.token_hex(8)
    request[REQUEST_ID] = request_id
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    route = _route(request)
    if route in ("/healthz", "/metrics"):  # probes: no trace of their own
        return await _measured(request, handler, request_id, route)
    tracer = request.app.get(TRACER, NO_TRACER)
    with span(
        tracer,
        f"{request.method} {route}",
        context=extract(request.headers),
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": request.method,
            "http.route": route,
            "gateway.request_id": request_id,
        },
    ) as server:
        response = await _measured(request, handler, request_id, route)
        if server.is_recording():
            server.set_attribute("http.response.status_code", response.status)
            tenant = request.get(TENANT)
            if tenant is not None:
                server.set_attribute("gateway.tenant", tenant.name)
            if response.status >= 500:
                server.set_status(Status(StatusCode.ERROR))
        return response


async def _measured(
    request: web.Request, handler: Handler, request_id: str, route: str
) -> web.StreamResponse:
    statuses: list[int] = []
    token = provider_statuses.set(statuses)
    started = time.perf_counter()
    try:
        response = await _render_errors(request, handler, request_id)
    finally:
        provider_statuses.reset(token)
    elapsed = time.perf_counter() - started
    response.headers["X-Request-Id"] = request_id
    for name, value in request.get(LIMIT_HEADERS, {}).items():
        # a handler's own limit (a test send, a replay) joins the list: the draft allows several
        present = response.headers.get(name)
        alone = present is None or present == value
        response.headers[name] = value if alone else f"{value}, {present}"
    metrics = request.app[METRICS]
    metrics.requests.labels(method=request.method, route=route, status=str(response.status)).inc()
    metrics.request_latency.labels(route=route).observe(elapsed)
    if route not in ("/healthz", "/metrics"):
        bound = structlog.contextvars.get_contextvars()
        log.info(
            "request",
            request_id=request_id,
            tenant=bound.get("tenant"),
            account=bound.get("account"),
            method=request.method,
            route=route,
            status=response.status,
            duration_ms=round(elapsed * 1000, 2),
            provider_status=statuses[-1] if statuses else None,
        )
    return response


async def _render_errors(
    request: web.Request, handler: Handler, request_id: str
) -> web.StreamResponse:
    try:
        _check_url_text(request)
        return await handler(request)
    except GatewayError as exc:
        return error_response(
            request_id, exc.status, exc.code, exc.message, exc.details, exc.headers
        )
    except ConnectionResetError:  # the client left mid-request: nobody to answer
        log.info("client_disconnected", route=_route(request))
        return web.Response(status=499)
    except StorageUnavailable as exc:  # an outage, not a bug: one line, no traceback
        log.warning("storage_unavailable", error=str(exc), route=_route(request))
        return error_response(
            request_id,
            503,
            "storage_unavailable",
            "the gateway's database is not answering; nothing was lost. "
            "Retry after the delay in Retry-After, with the same Idempotency-Key",
            headers={"Retry-After": "2"},
        )
    except web.HTTPRequestEntityTooLarge as exc:
        limit = request.app.get(MAX_BODY, 0)
        error = PayloadTooLarge(f"the request body is larger than {limit} bytes; send less")
        return error_response(request_id, exc.status, error.code, error.message)
    except web.HTTPNotFound:
        return error_response(
            request_id,
            404,
            "not_found",
            f"no such route: {request.method} {request.path}; the API is at /openapi.json",
        )
    except web.HTTPMethodNotAllowed as exc:
        return error_response(
            request_id,
            405,
            "method_not_allowed",
            f"{request.method} is not allowed on {request.path}; "
            f"allowed: {', '.join(sorted(exc.allowed_methods))}",
            headers={"Allow": ", ".join(sorted(exc.allowed_methods))},
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(request_id, exc.status, "http_error", exc.reason)
    except Exception:
        log.exception("unhandled_error", method=request.method, path=request.path)
        return error_response(
            request_id,
            500,
            "internal_error",
            "the gateway failed unexpectedly; quote the request id to the operators",
        )


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_url_text(request: web.Request) -> None:
    """A NUL or a lone surrogate in the path or query reaches no handler: no database
    stores a NUL in text, and no encoder writes a lone surrogate."""
    for name, value in (("path", request.path), *request.query.items()):
        if _BAD_TEXT.search(value) or _BAD_TEXT.search(name):
            raise BadRequest(
                f"{name}: contains a NUL or an unpaired surrogate; send UTF-8 text without them"
            )


def check_text(value: Any, where: str = "body") -> None:
    """No string in a JSON document holds a NUL or a lone surrogate, and it nests at most
    MAX_DEPTH deep. Checked once, here, so that no handler meets either."""
    stack: list[tuple[Any, str, int]] = [(value, where, 1)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidJson(f"{path}: nested more than {MAX_DEPTH} levels deep; flatten it")
        if isinstance(item, str):
            if _BAD_TEXT.search(item):
                raise InvalidField(path, "contains a NUL (\\u0000) or an unpaired surrogate")
        elif isinstance(item, dict):
            for key, child in item.items():
                if _BAD_TEXT.search(key):
                    raise InvalidField(path, "a key contains a NUL or an unpaired surrogate")
                stack.append((child, f"{path}.{key}" if path != "body" else key, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))


def parse_json(raw: bytes) -> Any:
    if not raw:
        raise InvalidJson("the request body is empty; send a JSON object")
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except RecursionError:
        raise InvalidJson(f"nested more than {MAX_DEPTH} levels deep; flatten it") from None
    except UnicodeDecodeError:
        raise InvalidJson("the request body is not UTF-8 text; send JSON") from None
    except ValueError as exc:
        raise InvalidJson(f"the request body is not valid JSON: {exc}") from None
    check_text(value)
    return value


async def read_body(request: web.Request) -> bytes:
    """The whole body, within the head timeout: a body sent a byte at a time would hold a
    connection (and a slot under the connection cap) for as long as its sender likes."""
    limit = request.app.get(BODY_TIMEOUT, 10.0)
    try:
        async with asyncio.timeout(limit):
            return await request.read()
    except TimeoutError:
        raise RequestTimeout(
            f"the request body did not arrive within {limit:g} s; send it whole"
        ) from None
    except web.RequestPayloadError:
        raise InvalidJson(
            "the request body could not be read (a Content-Encoding it does not have, or a"
            " broken chunked encoding); send it as plain JSON"
        ) from None


async def read_json(request: web.Request) -> Any:
    if request.content_type != "application/json" or "Content-Type" not in request.headers:
        raise UnsupportedMediaType(
            "send the body as JSON, with the header 'Content-Type: application/json'"
        )
    return parse_json(await read_body(request))


def authenticate(request: web.Request) -> Tenant:
    challenge = {"WWW-Authenticate": 'Bearer realm="gateway"'}
    directory = request.app[TENANTS]
    found = request.get(SESSION_CREDENTIAL) or _bearer(request, directory, challenge)
    now = directory.clock.now()
    if found.expires_at is not None and now >= found.expires_at:
        raise Unauthenticated(
            f"this token (id {found.token_id}) expired at {isoformat_z(found.expires_at)}; "
            "ask the operators for a new one",
            headers=challenge,
        )
    tenant = found.tenant
    if tenant.disabled:
        raise TenantDisabled(f"tenant {tenant.name!r} is disabled; ask the operators to enable it")
    directory.used[found.token_id] = now
    request[TENANT] = tenant
    request[CREDENTIAL] = found
    structlog.contextvars.bind_contextvars(tenant=tenant.name)
    limits = request.app.get(RATE_LIMITS)
    kind = "read" if request.method in ("GET", "HEAD") else "write"
    own = tenant.rate(kind)  # set at run time for this tenant, else [server]'s
    if limits is not None and (limits.bounded(kind) if own is None else own > 0):
        request[LIMIT_HEADERS] = limits.take(tenant.name, kind, own)
    return tenant


def _bearer(
    request: web.Request, directory: TenantDirectory, challenge: dict[str, str]
) -> Credential:
    sent = request.headers.getall("Authorization", [])
    if len(sent) > 1:
        # which one would a proxy in front of us have checked? refuse rather than guess
        raise BadRequest("send one Authorization header, not several")
    header = sent[0] if sent else ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "send your tenant token as 'Authorization: Bearer <token>'", headers=challenge
        )
    found = directory.credential(token.strip())
    if found is None:
        raise Unauthenticated(
            "this tenant token is not recognised (wrong, revoked or rotated out); "
            "ask the operators for a new one",
            headers=challenge,
        )
    return found
