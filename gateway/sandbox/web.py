"""What the sandbox's provider routes and its admin routes share: the app key that holds
the sandbox, and strict JSON bodies."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from gateway.sandbox.provider import Sandbox
from gateway.sandbox.rules import ProviderError

SANDBOX = web.AppKey("sandbox", Sandbox)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def parse_json(request: web.Request) -> Any:
    """Strict JSON whatever the content type says: NaN and Infinity are not JSON."""
    raw = await request.read()
    return json.loads(raw, parse_constant=_no_constants)


async def json_body(request: web.Request) -> Any:
    try:
        return await parse_json(request)
    except ValueError:
        raise ProviderError(400, "validation_error", "Request body is not valid JSON") from None
