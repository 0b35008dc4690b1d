"""The console reads and acts through the tenant API's own handlers, in process.

A page asks `Api.get("/v1/orders", {...})`; the request goes through the router to the very
handler a bearer token's request reaches, with the session's credential in place of the
header, so the same authorisation, validation, rate limits and service functions apply:
what a token may do in the console is exactly what it may do through the API. No HTTP
round trip and no second log line: the console page's own request is the one logged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from gateway.api.edge import SESSION_CREDENTIAL
from gateway.errors import GatewayError
from gateway.tenants import Credential

# what of the browser's request the API may see: nothing that authenticates or shapes a body
PASSED_HEADERS = {"x-request-id", "traceparent", "tracestate", "user-agent", "accept-language"}


def seg(value: str) -> str:
    """One path segment from the page's own URL, escaped: an id holding `/`, `?` or `#`
    names that id (and is not found), never another route."""
    return quote(value, safe="")


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def error(self) -> dict[str, Any]:
        """The API's error object (`code`, `message`, `details`), or {} on success."""
        if self.ok or not isinstance(self.body, dict):
            return {}
        return self.body.get("error", {})  # type: ignore[no-any-return]


class Api:
    def __init__(self, request: web.Request) -> None:
        # cloned before the console reads its own form: aiohttp clones only unread requests
        self._base = request.clone()
        self.app = request.app
        self.credential: Credential | None = None  # the session's, once it is checked

    async def get(self, path: str, query: dict[str, str] | None = None) -> Answer:
        return await self.call("GET", path, query=query)

    async def call(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
    ) -> Answer:
        headers = CIMultiDict(
            (name, value)
            for name, value in self._base.headers.items()
            if name.lower() in PASSED_HEADERS
        )
        if body is not None:
            headers["Content-Type"] = "application/json"
        url = URL(path).with_query({k: v for k, v in (query or {}).items() if v not in ("", None)})
        inner = self._base.clone(method=method, rel_url=url, headers=headers)
        if self.credential is not None:
            inner[SESSION_CREDENTIAL] = self.credential
        inner._read_bytes = b"" if body is None else json.dumps(body).encode()
        match = await self.app.router.resolve(inner)
        match.add_app(self.app)
        match.freeze()
        inner._match_info = match
        try:
            response = await match.handler(inner)
        except GatewayError as exc:
            error: dict[str, Any] = {"code": exc.code, "message": exc.message}
            if exc.details:
                error["details"] = exc.details
            return Answer(exc.status, {"error": error})
        except web.HTTPException as exc:
            return Answer(exc.status, {"error": {"code": "http_error", "message": exc.reason}})
        raw = getattr(response, "body", None)
        if not raw:
            return Answer(response.status, None)
        return Answer(response.status, json.loads(bytes(raw)))
