"""The generated client's transport: one aiohttp session per provider account.

The generated client sends its async requests through any `AsyncSender` (the
project's generator templates add `Client.set_async_sender`); this is the
gateway's. It exists because of measurement (`bench/transports.py` alone, GET
balance through the generated client, 2 cores, concurrency 32): httpx's
default transport made 538 requests/s, httpx over the `httpx-aiohttp`
transport 2,864, and this sender 8,590. httpx builds a request object, a URL
object, header objects and a cookie jar pass for every call; under load that
was about a third of the gateway's own CPU per order.

aiohttp's errors come back as httpx's, as the generated client documents, and
the mapping keeps the one distinction money depends on: `httpx.ConnectError`
and `httpx.ConnectTimeout` only when the request cannot have been sent (the
connection was never made); a connection that breaks after that is a
`httpx.ReadError`, and a slow answer a `httpx.ReadTimeout`, so that a
place-order in either case is treated as possibly placed.
"""

from __future__ import annotations

import contextvars
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import structlog
from multidict import CIMultiDict

from gateway.tracing import inject

# Statuses the provider answered during the current request, for the canonical log line.
provider_statuses: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "provider_statuses", default=None
)


@dataclass(frozen=True, slots=True)
class ProviderAnswer:
    status_code: int
    content: bytes
    headers: CIMultiDict[str]

    def json(self) -> Any:
        return json.loads(self.content)


class ProviderHttp:
    """An `AsyncSender` for one account: keep-alive connections, the account's token in
    `headers`, and a total timeout per request."""

    def __init__(self, base_url: str, timeout_seconds: float, max_connections: int = 200) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers: dict[str, str] = {}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=self._timeout,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __call__(
        self,
        *,
        method: str,
        url: str,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        **unsupported: Any,
    ) -> ProviderAnswer:
        if unsupported:
            raise TypeError(f"ProviderHttp cannot send {', '.join(sorted(unsupported))}")
        body = _dumps(json) if json is not None else content
        sent = {**self.headers, **headers} if headers else dict(self.headers)
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        if request_id:  # the provider's support can find the call the tenant's id names
            sent["X-Request-Id"] = request_id
        inject(sent)  # traceparent: the provider call's span, in the tenant's trace if it sent one
        try:
            async with self._open().request(
                method.upper(),
                self.base_url + url,
                params=params,
                data=body,
                headers=sent,
                allow_redirects=False,
            ) as answer:
                content = await answer.read()
                return ProviderAnswer(answer.status, content, CIMultiDict(answer.headers))
        except aiohttp.ConnectionTimeoutError as exc:  # before the socket was open
            raise httpx.ConnectTimeout(str(exc) or "connect timeout") from exc
        except aiohttp.ClientConnectorError as exc:  # refused, unreachable, DNS
            raise httpx.ConnectError(str(exc) or "cannot connect") from exc
        except TimeoutError as exc:  # aiohttp's read timeouts are TimeoutErrors too
            raise httpx.ReadTimeout(str(exc) or "read timeout") from exc
        except aiohttp.ClientError as exc:  # disconnected, reset, malformed answer
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
