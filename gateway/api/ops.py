"""Operators' routes: liveness, readiness, metrics, and the gateway's own OpenAPI document."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import time
from importlib import resources
from typing import Any

import yaml
from aiohttp import web

from gateway.api.edge import METRICS
from gateway.clock import isoformat_z
from gateway.outbox import log as outbox_log
from gateway.state import CATALOGS, DATABASE, DISPATCHER, SESSIONS
from gateway.storage import StorageUnavailable


async def healthz(request: web.Request) -> web.Response:
    # which process answered: with `serve --workers`, each is one of several
    return web.json_response({"status": "ok", "process": os.getpid()})


# /readyz answers within 2 s, whatever storage does: a probe that hangs is no answer.
STORAGE_PROBE_SECONDS = 1.5


async def readyz(request: web.Request) -> web.Response:
    """Ready when storage answers and at least one account can take orders."""
    checks: dict[str, Any] = {}
    try:
        async with asyncio.timeout(STORAGE_PROBE_SECONDS):
            await request.app[DATABASE].ping()
        checks["storage"] = {"ok": True}
    except TimeoutError:
        checks["storage"] = {
            "ok": False,
            "error": f"no answer within {STORAGE_PROBE_SECONDS:g} s",
        }
    except Exception as exc:  # any failure here is the answer, not a crash
        checks["storage"] = {"ok": False, "error": type(exc).__name__}
    accounts = {}
    for name, session in request.app[SESSIONS].items():
        catalog = request.app[CATALOGS][name]
        state = session.state
        accounts[name] = {
            "ok": state.available,
            "token": {
                "state": "valid" if state.token_expires_at else "not yet exchanged",
                "expires_at": isoformat_z(state.token_expires_at)
                if state.token_expires_at
                else None,
            }
            if state.available
            else {"state": "unavailable", "error": state.last_error},
            "catalog": {
                "loaded": catalog.snapshot is not None,
                "items": len(catalog.snapshot.items) if catalog.snapshot else 0,
                "price_list": catalog.snapshot.source if catalog.snapshot else None,
                "fetched_at": isoformat_z(catalog.snapshot.fetched_at)
                if catalog.snapshot
                else None,
                "error": catalog.last_error,
            },
        }
    ready = checks["storage"]["ok"] and any(a["ok"] for a in accounts.values())
    return web.json_response(
        {"ready": ready, "storage": checks["storage"], "accounts": accounts},
        status=200 if ready else 503,
    )


OUTBOX_EVERY = 5.0  # seconds: scrapes in between read the last figures


async def metrics(request: web.Request) -> web.Response:
    gauges = request.app[METRICS]
    if time.monotonic() - gauges.outbox_read_at >= OUTBOX_EVERY and DISPATCHER in request.app:
        gauges.outbox_read_at = time.monotonic()
        dispatcher = request.app[DISPATCHER]
        with contextlib.suppress(StorageUnavailable):  # the last figures stay; /readyz says why
            counts, oldest = await outbox_log.backlog(dispatcher.db)
            for state, count in counts.items():
                gauges.outbox_messages.labels(state=state).set(count)
            now = dispatcher.clock.now()
            gauges.outbox_oldest.set((now - oldest).total_seconds() if oldest else 0.0)
    return web.Response(
        body=gauges.render(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


@functools.cache
def tenant_openapi() -> str:
    text = resources.files("gateway.api").joinpath("tenant-api.yaml").read_text()
    return json.dumps(yaml.safe_load(text))


async def openapi(request: web.Request) -> web.Response:
    return web.Response(text=tenant_openapi(), content_type="application/json")


routes = [
    web.get("/healthz", healthz),
    web.get("/readyz", readyz),
    web.get("/metrics", metrics),
    web.get("/openapi.json", openapi),
]
