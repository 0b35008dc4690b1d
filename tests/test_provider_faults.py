"""Fault injection per account, at run time: what a client of the provider must survive."""

from __future__ import annotations

import uuid
from http import HTTPStatus

import httpx
import pytest

from gateway.sandbox import Faults
from generated.api.account import get_balance
from generated.api.orders import get_order, place_order
from generated.models import Balance, Error, Order, PlaceOrderRequest
from tests.conftest import Provider


async def test_share_of_5xx_answers_with_the_error_envelope(provider: Provider) -> None:
    client = await provider.client()
    provider.sandbox.set_faults("main", Faults(error_rate=1.0))
    answer = await get_balance.asyncio_detailed(client=client)
    assert answer.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert isinstance(answer.parsed, Error) and answer.parsed.code == "server_error"


async def test_a_5xx_on_place_order_places_nothing(provider: Provider) -> None:
    client = await provider.client()
    provider.sandbox.set_faults("main", Faults(error_rate=1.0))
    answer = await place_order.asyncio_detailed(client=client, body=PlaceOrderRequest(item_id=1001))
    assert answer.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    provider.sandbox.set_faults("main", Faults())
    balance = await get_balance.asyncio(client=client)
    assert isinstance(balance, Balance) and balance.balance == 1000


async def test_429_carries_retry_after(provider: Provider) -> None:
    client = await provider.client()
    provider.sandbox.set_faults("main", Faults(rate_limit_rate=1.0, retry_after=7))
    answer = await get_balance.asyncio_detailed(client=client)
    assert answer.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert answer.headers["Retry-After"] == "7"
    assert isinstance(answer.parsed, Error) and answer.parsed.code == "rate_limited"


async def test_faults_touch_only_their_account(provider: Provider) -> None:
    provider.sandbox.set_faults("main", Faults(error_rate=1.0))
    answer = await get_balance.asyncio_detailed(client=await provider.client("partner"))
    assert answer.status_code == HTTPStatus.OK


async def test_a_share_between_0_and_1_is_honoured_deterministically(provider: Provider) -> None:
    client = await provider.client()
    provider.sandbox.set_faults("main", Faults(error_rate=0.5))
    statuses = [(await get_balance.asyncio_detailed(client=client)).status_code for _ in range(40)]
    failures = statuses.count(HTTPStatus.SERVICE_UNAVAILABLE)
    assert 8 <= failures <= 32 and statuses.count(HTTPStatus.OK) == 40 - failures


async def test_added_latency_trips_a_short_client_timeout(provider: Provider) -> None:
    client = await provider.client()
    provider.sandbox.set_faults("main", Faults(latency_ms=300))
    quick = client.with_timeout(httpx.Timeout(0.05))
    with pytest.raises(httpx.TimeoutException):
        await get_balance.asyncio_detailed(client=quick)


async def test_a_withheld_answer_still_places_the_order(provider: Provider) -> None:
    """The lost-answer case: the client times out, the order exists, the webhook will tell."""
    client = await provider.client()
    provider.sandbox.set_faults("main", Faults(hang_rate=1.0))
    with pytest.raises(httpx.TimeoutException):
        await place_order.asyncio_detailed(
            client=client.with_timeout(httpx.Timeout(0.2)),
            body=PlaceOrderRequest(item_id=1001, merchant_order_id="lost-1"),
        )
    provider.sandbox.set_faults("main", Faults())
    (placed,) = [o for o in provider.sandbox.orders.values() if o.merchant_order_id == "lost-1"]
    read = await get_order.asyncio(order_id=uuid.UUID(placed.id), client=client)
    assert isinstance(read, Order) and read.merchant_order_id == "lost-1"


async def test_faults_are_set_over_http_and_bad_settings_are_refused(provider: Provider) -> None:
    http = provider.anonymous().get_async_httpx_client()
    ok = await http.put("/sandbox/accounts/main/faults", json={"error_rate": 1, "latency_ms": 5})
    assert ok.status_code == 200 and ok.json()["error_rate"] == 1.0
    assert provider.sandbox.account("main").faults.latency_ms == 5
    for bad in ({"error_rate": 2}, {"error_rate": -1}, {"bogus": 1}, {"latency_ms": "slow"}):
        answer = await http.put("/sandbox/accounts/main/faults", json=bad)
        assert answer.status_code == 400 and answer.json()["code"] == "validation_error", bad
    assert (await http.put("/sandbox/accounts/nobody/faults", json={})).status_code == 404
