"""Provider accounts: one long-lived generated client each, with its token kept fresh.

This is the only module that imports `generated/`. It turns the provider's
answers into the gateway's own types and errors:

- the API key is exchanged for a token on first use; the token is cached,
  renewed `renew_margin` before its `exp`, and once after a 401; concurrent
  callers share one exchange;
- a refused key marks the account unavailable (502 `account_unavailable`),
  leaving other accounts alone; it is tried again after `retry_unavailable`;
- a place-order whose answer is lost (timeout, 5xx, broken connection) raises
  `OutcomeUnknown`: it may have been placed, so it is never retried blindly.

Transport: the generated client sends through `ProviderHttp`, an aiohttp
session per account (`gateway.provider.transport` says why, with the numbers).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import jwt
import structlog

from gateway.clock import Clock
from gateway.config import AccountConfig
from gateway.domain import PlaceRequest, ProviderOrder, decimal_from_provider
from gateway.errors import (
    AccountUnavailable,
    Conflict,
    DuplicateReference,
    InsufficientBalance,
    NotFound,
    ProviderBusy,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)
from gateway.metrics import Metrics
from gateway.provider.convert import checked_before_duplicates, from_order, refuses_duplicate
from gateway.provider.transport import ProviderHttp, provider_statuses
from gateway.tracing import NO_TRACER, provider_span
from generated.api.account import get_balance
from generated.api.auth import exchange_token
from generated.api.catalog import download_catalog, download_personal_catalog
from generated.api.orders import get_order, place_order
from generated.client import Client
from generated.models import (
    Balance,
    Error,
    Order,
    PlaceOrderRequest,
    PlaceOrderRequestFields,
    TokenRequest,
    TokenResponse,
)
from generated.types import File, Response

log = structlog.get_logger()

T = TypeVar("T")


DEFAULT_TOKEN_LIFETIME = timedelta(hours=2)


class OutcomeUnknown(Exception):
    """The place-order call may or may not have reached the provider."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class AccountState:
    available: bool = True
    token_expires_at: datetime | None = None
    last_error: str | None = None
    unavailable_since: datetime | None = None
    token_exchanges: int = 0


class AccountSession:
    tracer = NO_TRACER  # a span per provider call: the app sets its own

    def __init__(
        self,
        config: AccountConfig,
        api_key: str,
        clock: Clock,
        metrics: Metrics,
        *,
        renew_margin: float = 300.0,
        retry_unavailable: float = 30.0,
    ) -> None:
        self.config = config
        self.name = config.name
        self._api_key = api_key
        self._clock = clock
        self._metrics = metrics
        self._renew_margin = timedelta(seconds=renew_margin)
        self._retry_unavailable = timedelta(seconds=retry_unavailable)
        self._token: str | None = None
        self._lock = asyncio.Lock()
        self.state = AccountState()
        self._http = ProviderHttp(config.base_url, config.timeout_seconds)
        self._catalog_http = ProviderHttp(config.catalog_url, config.timeout_seconds)
        self._api: Client | None = None
        self._downloads: Client | None = None

    # --- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        self._api = Client(base_url=self.config.base_url).set_async_sender(self._http)
        self._downloads = Client(base_url=self.config.catalog_url).set_async_sender(
            self._catalog_http
        )

    async def close(self) -> None:
        await self._http.close()
        await self._catalog_http.close()

    # --- tokens -------------------------------------------------------------------

    def _fresh(self) -> bool:
        expires = self.state.token_expires_at
        return (
            self._token is not None
            and expires is not None
            and self._clock.now() < expires - self._renew_margin
        )

    async def _ensure_token(self, stale: str | None = None) -> str:
        """A usable token; `stale` is one the provider just refused, to be replaced once."""
        if self._fresh() and self._token != stale:
            assert self._token is not None
            return self._token
        async with self._lock:
            if self._fresh() and self._token != stale:
                assert self._token is not None
                return self._token
            if (
                not self.state.available
                and self.state.unavailable_since is not None
                and self._clock.now() - self.state.unavailable_since < self._retry_unavailable
            ):
                raise self._unavailable_error()
            reason = (
                "expiry"
                if self._token is not None and stale is None
                else ("rejected" if stale is not None else "first_use")
            )
            token = await self._exchange()
            self._metrics.token_renewals.labels(account=self.name, reason=reason).inc()
            return token

    async def _exchange(self) -> str:
        assert self._api is not None, "AccountSession.start() was not awaited"
        api = self._api
        answer = await self._guard(
            "token",
            lambda: exchange_token.asyncio_detailed(
                client=api, body=TokenRequest(api_key=self._api_key)
            ),
            place=False,
        )
        parsed = answer.parsed
        if answer.status_code == 200 and isinstance(parsed, TokenResponse):
            self._token = parsed.access_token
            self.state = AccountState(
                available=True,
                token_expires_at=_expiry(parsed.access_token, self._clock.now()),
                token_exchanges=self.state.token_exchanges + 1,
            )
            self._http.headers["Authorization"] = f"Bearer {parsed.access_token}"
            log.info("provider_token_exchanged", account=self.name)
            return parsed.access_token
        if answer.status_code in (401, 403):
            why = (
                "the provider refused its API key (revoked or wrong)"
                if answer.status_code == 401
                else "API access is disabled for it at the provider"
            )
            self._token = None
            self._mark_unavailable(why)
            self.state.unavailable_since = self._clock.now()  # retried after retry_unavailable
            log.error("provider_account_unavailable", account=self.name, reason=why)
            raise self._unavailable_error()
        raise self._error(answer, place=False)

    def _mark_unavailable(self, why: str) -> None:
        if self.state.available:
            self.state.unavailable_since = self._clock.now()
        self.state.available = False
        self.state.last_error = why

    def _mark_answered(self) -> None:
        """The provider took a call with the current token: whatever failed before is over."""
        if not self.state.available or self.state.last_error is not None:
            log.info("provider_account_available", account=self.name)
        self.state.available = True
        self.state.last_error = None
        self.state.unavailable_since = None

    def _unavailable_error(self) -> AccountUnavailable:
        return AccountUnavailable(
            f"provider account {self.name!r} is unavailable: {self.state.last_error}. "
            "Use another account or ask the operators to fix its API key.",
            details={"account": self.name},
        )

    # --- calls ---------------------------------------------------------------------

    async def _guard(
        self,
        operation: str,
        call: Callable[[], Awaitable[Response[T]]],
        *,
        place: bool,
    ) -> Response[T]:
        """One provider call, bounded in time, measured, with transport failures mapped."""
        start = time.perf_counter()
        outcome = "error"
        try:
            with provider_span(self.tracer, self.name, operation) as span:
                async with asyncio.timeout(self.config.timeout_seconds):
                    answer = await call()
                span.set_attribute("http.response.status_code", int(answer.status_code))
            outcome = str(answer.status_code)
            statuses = provider_statuses.get()
            if statuses is not None:
                statuses.append(int(answer.status_code))
            return answer
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            outcome = "connect_error"
            raise ProviderUnavailable(
                f"cannot reach the provider for account {self.name!r}; nothing was sent",
                details={"account": self.name},
            ) from exc
        except (TimeoutError, httpx.TimeoutException) as exc:
            outcome = "timeout"
            if place:
                raise OutcomeUnknown("timeout") from exc
            raise ProviderTimeout(
                f"the provider did not answer within {self.config.timeout_seconds:g} s",
                details={"account": self.name},
            ) from exc
        except httpx.TransportError as exc:
            outcome = "transport_error"
            if place:
                raise OutcomeUnknown(type(exc).__name__) from exc
            raise ProviderUnavailable(
                "the connection to the provider broke", details={"account": self.name}
            ) from exc
        finally:
            self._metrics.provider_latency.labels(
                account=self.name, operation=operation, outcome=outcome
            ).observe(time.perf_counter() - start)
            if not outcome.startswith("2"):
                self._metrics.provider_errors.labels(account=self.name, code=outcome).inc()

    async def _authed(
        self, operation: str, call: Callable[[], Awaitable[Response[T]]], *, place: bool = False
    ) -> Response[T]:
        token = await self._ensure_token()
        answer = await self._guard(operation, call, place=place)
        if answer.status_code == 401:  # refused before it did anything: safe to repeat once
            await self._ensure_token(stale=token)
            answer = await self._guard(operation, call, place=place)
            if answer.status_code == 401:
                self._mark_unavailable("the provider keeps refusing fresh tokens")
                raise self._unavailable_error()
        if answer.status_code == 403:
            self._mark_unavailable("API access is disabled for it at the provider")
        elif answer.status_code < 500 and answer.status_code != 429:
            self._mark_answered()
        return answer

    def _error(self, answer: Response[Any], *, place: bool) -> Exception:
        parsed = answer.parsed
        detail = parsed.detail if isinstance(parsed, Error) else ""
        code = parsed.code if isinstance(parsed, Error) else ""
        status = int(answer.status_code)
        details = {"account": self.name}
        if status == 400 and code == "insufficient_balance":
            return InsufficientBalance(
                f"account {self.name!r} has too little balance for this order; "
                "top it up or use another account",
                details=details,
            )
        if status == 400 and refuses_duplicate(detail):
            return DuplicateReference(
                "the provider already has an order with this reference", details=details
            )
        if status == 400:
            rejected = ProviderRejected(
                f"the provider refused the order: {detail}", details={**details, "provider": detail}
            )
            rejected.may_hide_duplicate = checked_before_duplicates(detail)
            return rejected
        if status == 403:
            return self._unavailable_error()
        if status == 404:
            return NotFound("the provider has no such order", details=details)
        if status == 409:
            return Conflict(f"the provider reported a conflict: {detail}", details=details)
        if status == 429:
            retry = answer.headers.get("Retry-After", "1")
            return ProviderBusy(
                "the provider is rate-limiting this account; retry after the given delay",
                details=details,
                headers={"Retry-After": retry if retry.isascii() and retry.isdigit() else "1"},
            )
        if status >= 500 and place:
            return OutcomeUnknown(f"provider answered {status}")
        return ProviderUnavailable(
            f"the provider answered {status} for account {self.name!r}", details=details
        )

    async def place_order(self, reference: str, request: PlaceRequest) -> ProviderOrder:
        assert self._api is not None
        api = self._api
        body = PlaceOrderRequest(item_id=request.item_id, merchant_order_id=reference)
        if request.quantity is not None:
            body.quantity = float(request.quantity)
        if request.fields:
            body.fields = PlaceOrderRequestFields.from_dict(dict(request.fields))
        answer = await self._authed(
            "place_order", lambda: place_order.asyncio_detailed(client=api, body=body), place=True
        )
        if answer.status_code == 201 and isinstance(answer.parsed, Order):
            return from_order(answer.parsed)
        raise self._error(answer, place=True)

    async def get_order(self, provider_order_id: str) -> ProviderOrder:
        assert self._api is not None
        api = self._api
        answer = await self._authed(
            "get_order",
            lambda: get_order.asyncio_detailed(order_id=uuid.UUID(provider_order_id), client=api),
        )
        if answer.status_code == 200 and isinstance(answer.parsed, Order):
            return from_order(answer.parsed)
        raise self._error(answer, place=False)

    async def balance(self) -> Decimal:
        assert self._api is not None
        api = self._api
        answer = await self._authed("balance", lambda: get_balance.asyncio_detailed(client=api))
        if answer.status_code == 200 and isinstance(answer.parsed, Balance):
            return decimal_from_provider(answer.parsed.balance)
        raise self._error(answer, place=False)

    async def download_catalog(self) -> tuple[str, bytes]:
        """The personal snapshot when the account has one, else the global one."""
        assert self._downloads is not None
        downloads = self._downloads
        personal = await self._guard(
            "catalog",
            lambda: download_personal_catalog.asyncio_detailed(
                self.config.client_id, client=downloads
            ),
            place=False,
        )
        if personal.status_code == 200 and isinstance(personal.parsed, File):
            return "personal", personal.parsed.payload.read()
        if personal.status_code != 404:
            raise ProviderUnavailable(
                f"personal catalog download answered {personal.status_code}",
                details={"account": self.name},
            )
        answer = await self._guard(
            "catalog", lambda: download_catalog.asyncio_detailed(client=downloads), place=False
        )
        if answer.status_code == 200 and isinstance(answer.parsed, File):
            return "global", answer.parsed.payload.read()
        raise ProviderUnavailable(
            f"catalog download answered {answer.status_code}", details={"account": self.name}
        )


def _expiry(token: str, now: datetime) -> datetime:
    """The token's own `exp` when it carries one; the documented two hours otherwise."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        exp = claims.get("exp")
        if isinstance(exp, int | float):
            return datetime.fromtimestamp(exp, UTC)
    except jwt.InvalidTokenError:
        pass
    return now + DEFAULT_TOKEN_LIFETIME
