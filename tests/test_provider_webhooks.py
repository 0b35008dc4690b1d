"""The provider's webhooks: terminal only, api orders only, signed, retried on its schedule."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
from typing import Any

import pytest
from aiohttp import web

from gateway.sandbox import Faults, Outcome, Status
from gateway.testing import sandbox_settings
from generated.api.orders import place_order
from generated.models import Order, PlaceOrderRequest, WebhookPayload
from tests.conftest import AiohttpServer, Provider, WebhookReceiver

PAYLOAD_KEYS = {
    "order_id", "merchant_order_id", "status", "item_id", "item_name", "quantity",
    "total_price", "delivered_quantity", "refund_amount", "fields", "codes", "error",
    "error_message", "created_at", "completed_at",
}  # fmt: skip


def verify(body: bytes, header: str | None, secret: str) -> bool:
    """An independent verifier, written from the provider's documentation alone."""
    if header is None or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.removeprefix("sha256="), expected)


async def order(provider: Provider, item_id: int = 1001, **body: Any) -> Order:
    placed = await place_order.asyncio(
        client=await provider.client(),
        body=PlaceOrderRequest.from_dict({"item_id": item_id, **body}),
    )
    assert isinstance(placed, Order)
    return placed


@pytest.fixture
def hooked(provider: Provider, receiver: WebhookReceiver) -> Provider:
    provider.sandbox.account("main").webhook_url = receiver.url
    return provider


async def test_one_webhook_at_the_terminal_status_only(
    hooked: Provider, receiver: WebhookReceiver
) -> None:
    placed = await order(hooked, quantity=2, merchant_order_id="m-1")
    await hooked.sandbox.advance(9)  # pending, then processing: no webhook
    assert receiver.received == []
    await hooked.sandbox.advance(1)
    assert len(receiver.received) == 1
    body = json.loads(receiver.received[0].body)
    assert set(body) == PAYLOAD_KEYS
    assert body["order_id"] == str(placed.id) and body["item_id"] == 1001
    assert body["status"] == "completed" and body["total_price"] == 19.8
    assert body["merchant_order_id"] == "m-1" and len(body["codes"]) == 2
    payload = WebhookPayload.from_dict(body)  # the contract's schema parses it
    assert payload.delivered_quantity == 2
    await hooked.sandbox.advance(600)
    assert len(receiver.received) == 1  # a 200 ends it


async def test_body_is_compact_sorted_json_signed_over_the_raw_bytes(
    hooked: Provider, receiver: WebhookReceiver
) -> None:
    await order(hooked, 2001, quantity=10, fields={"player_id": "p", "region": 3})
    await hooked.sandbox.advance(10)
    (hit,) = receiver.received
    body = json.loads(hit.body)
    assert hit.body == json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    assert body["fields"] == {"player_id": "p", "region": "Asia"}
    secret = hooked.sandbox.account("main").webhook_secret
    assert verify(hit.body, hit.headers.get("X-Webhook-Signature"), secret)
    assert not verify(hit.body + b" ", hit.headers.get("X-Webhook-Signature"), secret)
    assert not verify(hit.body, hit.headers.get("X-Webhook-Signature"), secret + "x")
    assert hit.headers["Content-Type"] == "application/json"


async def test_failed_and_partial_orders_send_their_refunds(
    hooked: Provider, receiver: WebhookReceiver
) -> None:
    hooked.sandbox.script("main", [Outcome(Status.PARTIAL, delivered_quantity=1)])
    await order(hooked, quantity=3)
    await order(hooked, 1002, quantity=5)
    await hooked.sandbox.advance(10)
    bodies = sorted((json.loads(r.body) for r in receiver.received), key=lambda b: b["item_id"])
    assert [(b["status"], b["delivered_quantity"], b["refund_amount"]) for b in bodies] == [
        ("partial", 1, 19.8),
        ("partial", 3, 39.0),
    ]


async def test_dashboard_orders_send_no_webhook(
    hooked: Provider, receiver: WebhookReceiver
) -> None:
    http = hooked.anonymous().get_async_httpx_client()
    answer = await http.post(
        "/sandbox/accounts/main/dashboard-orders",
        json={"item_id": 1001, "created_by": {"id": 5, "name": "Ana"}},
    )
    assert answer.status_code == 201
    placed = Order.from_dict(answer.json())
    assert placed.source.value == "dashboard"
    assert placed.created_by is not None and placed.created_by.name == "Ana"
    await hooked.sandbox.advance(10)
    assert hooked.sandbox.get_order(hooked.sandbox.account("main"), str(placed.id)).status.terminal
    assert receiver.received == []


async def test_only_a_200_counts_and_three_attempts_come_60s_apart(
    hooked: Provider, receiver: WebhookReceiver
) -> None:
    receiver.statuses[:] = [201, 500, 204]
    placed = await order(hooked)
    await hooked.sandbox.advance(10 + 60 * 5)
    assert len(receiver.received) == 3
    attempts = [a for a in hooked.sandbox.webhook_attempts if a.order_id == str(placed.id)]
    assert [a.status for a in attempts] == [201, 500, 204]
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert gaps == [60, 60]


async def test_a_later_attempt_that_gets_200_ends_the_retries(
    hooked: Provider, receiver: WebhookReceiver
) -> None:
    receiver.statuses[:] = [503, 200]
    await order(hooked)
    await hooked.sandbox.advance(10)
    assert len(receiver.received) == 1
    await hooked.sandbox.advance(60)
    assert len(receiver.received) == 2
    await hooked.sandbox.advance(600)
    assert len(receiver.received) == 2


@pytest.mark.parametrize("settings", [sandbox_settings(webhook_interval=5, webhook_attempts=3)])
async def test_retry_interval_is_configurable(hooked: Provider, receiver: WebhookReceiver) -> None:
    receiver.statuses[:] = [500]
    await order(hooked)
    await hooked.sandbox.advance(10 + 10)
    assert len(receiver.received) == 3


@pytest.mark.parametrize("settings", [sandbox_settings(webhook_timeout=0.2)])
async def test_an_endpoint_that_never_answers_is_a_failed_attempt(
    provider: Provider, aiohttp_server: AiohttpServer
) -> None:
    release = asyncio.Event()
    calls = 0

    async def stuck(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        await release.wait()
        return web.Response(text="too late")

    app = web.Application()
    app.router.add_post("/hook", stuck)
    server = await aiohttp_server(app)
    provider.sandbox.account("main").webhook_url = str(server.make_url("/hook"))
    placed = await order(provider)
    await provider.sandbox.advance(10)
    (attempt,) = [a for a in provider.sandbox.webhook_attempts if a.order_id == str(placed.id)]
    assert attempt.status is None and attempt.error is not None
    await provider.sandbox.advance(60)
    assert calls == 2
    release.set()


async def test_dropped_webhooks_never_arrive(hooked: Provider, receiver: WebhookReceiver) -> None:
    hooked.sandbox.set_faults("main", Faults(drop_webhook_rate=1.0))
    await order(hooked)
    await hooked.sandbox.advance(600)
    assert receiver.received == []


async def test_duplicated_webhooks_arrive_twice_identical(
    hooked: Provider, receiver: WebhookReceiver
) -> None:
    hooked.sandbox.set_faults("main", Faults(duplicate_webhook_rate=1.0))
    await order(hooked)
    await hooked.sandbox.advance(10)
    first, second = receiver.received
    assert first.body == second.body
    assert first.headers["X-Webhook-Signature"] == second.headers["X-Webhook-Signature"]
