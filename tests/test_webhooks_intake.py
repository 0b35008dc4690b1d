"""Provider webhooks in: verified on raw bytes, stored once, applied, answered 200 only after."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.sandbox import Faults
from gateway.sandbox.webhooks import webhook_payload
from gateway.state import DATABASE, DISPATCHER, LEDGER
from tests.conftest import Endpoint, Gateway


def signed(secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Webhook-Signature": signature, "Content-Type": "application/json"}


async def events(gateway: Gateway) -> list[dict[str, Any]]:
    return await gateway.app[DATABASE].fetch("SELECT * FROM provider_events ORDER BY received_at")


async def a_real_payload(gateway: Gateway) -> tuple[str, dict[str, Any]]:
    """Place an order and let the sandbox fulfil it without telling the gateway."""
    gateway.provider.sandbox.account("main").webhook_url = None
    placed = (await gateway.place(item_id=1001)).body
    await gateway.provider.sandbox.advance(10)
    (order,) = gateway.provider.sandbox.orders.values()
    return placed["id"], webhook_payload(order)


async def test_forged_and_tampered_webhooks_are_401_and_store_nothing(gateway: Gateway) -> None:
    order_id, payload = await a_real_payload(gateway)
    secret = gateway.provider.sandbox.account("main").webhook_secret
    body, headers = signed(secret, payload)
    tampered = body.replace(b'"status":"completed"', b'"status":"failed"')
    for sent_body, sent_headers in [
        (body, {}),  # no signature
        (body, signed("not-the-secret", payload)[1]),  # forged
        (tampered, headers),  # tampered after signing
        (body, {"X-Webhook-Signature": headers["X-Webhook-Signature"].upper()}),
    ]:
        answer = await gateway.call(
            "POST", "/provider-webhooks/main", None, data=sent_body, headers=sent_headers
        )
        assert answer.status == 401
    assert await events(gateway) == []
    stored = await gateway.app[LEDGER].get(order_id)
    assert stored is not None and stored.status.value == "pending" and stored.codes == []


async def test_a_signature_for_another_account_is_refused(gateway: Gateway) -> None:
    _, payload = await a_real_payload(gateway)
    partner_secret = gateway.provider.sandbox.account("partner").webhook_secret
    body, headers = signed(partner_secret, payload)
    answer = await gateway.call("POST", "/provider-webhooks/main", None, data=body, headers=headers)
    assert answer.status == 401


async def test_a_replayed_or_duplicated_webhook_is_stored_and_delivered_once(
    gateway: Gateway, endpoint_factory: Callable[..., Awaitable[Endpoint]]
) -> None:
    endpoint = await endpoint_factory()
    await gateway.call("POST", "/v1/subscriptions", json={"url": endpoint.url})
    order_id, payload = await a_real_payload(gateway)
    body, headers = signed(gateway.provider.sandbox.account("main").webhook_secret, payload)
    for _ in range(3):
        answer = await gateway.call(
            "POST", "/provider-webhooks/main", None, data=body, headers=headers
        )
        assert answer.status == 200
    assert len(await events(gateway)) == 1
    await gateway.app[DISPATCHER].run_due()
    assert endpoint.events() == [("order.accepted", order_id), ("order.completed", order_id)]


async def test_the_providers_own_duplicates_change_nothing(
    gateway: Gateway, endpoint_factory: Callable[..., Awaitable[Endpoint]]
) -> None:
    endpoint = await endpoint_factory()
    await gateway.call("POST", "/v1/subscriptions", json={"url": endpoint.url})
    gateway.provider.sandbox.set_faults("main", Faults(duplicate_webhook_rate=1.0))
    placed = (await gateway.place(item_id=1001, quantity=2)).body
    await gateway.provider.sandbox.advance(10)
    assert sum(1 for a in gateway.provider.sandbox.webhook_attempts if a.status == 200) == 2
    assert len(await events(gateway)) == 1
    await gateway.app[DISPATCHER].run_due()
    order_id = placed["id"]
    assert endpoint.events() == [("order.accepted", order_id), ("order.completed", order_id)]


async def test_a_valid_signature_on_a_malformed_body_is_400(gateway: Gateway) -> None:
    body, headers = signed(gateway.provider.sandbox.account("main").webhook_secret, {"x": 1})
    answer = await gateway.call("POST", "/provider-webhooks/main", None, data=body, headers=headers)
    assert answer.status == 400 and answer.body["error"]["code"] == "bad_request"
    assert await events(gateway) == []


async def test_an_unknown_account_is_401_as_a_bad_signature_is(gateway: Gateway) -> None:
    answer = await gateway.call("POST", "/provider-webhooks/nobody", None, data=b"{}")
    assert answer.status == 401  # names that exist are not given away


async def test_a_dashboard_orders_event_reaches_only_account_wide_subscribers(
    gateway: Gateway, endpoint_factory: Callable[..., Awaitable[Endpoint]]
) -> None:
    own = await endpoint_factory()
    watcher = await endpoint_factory()
    await gateway.call("POST", "/v1/subscriptions", "shop", json={"url": own.url})
    created = await gateway.call(
        "POST", "/v1/subscriptions", "watch", json={"url": watcher.url, "scope": "account:main"}
    )
    assert created.status == 201, created.body
    sandbox = gateway.provider.sandbox
    dashboard = sandbox.place_order(sandbox.account("main"), {"item_id": 1001}, source="dashboard")
    # the provider sends no webhook for dashboard orders; an older API order's webhook
    # (one the gateway never placed) arrives the same way:
    await gateway.provider.sandbox.advance(10)
    body, headers = signed(sandbox.account("main").webhook_secret, webhook_payload(dashboard))
    answer = await gateway.call("POST", "/provider-webhooks/main", None, data=body, headers=headers)
    assert answer.status == 200
    (stored,) = await events(gateway)
    assert stored["order_id"] is None and stored["provider_order_id"] == dashboard.id
    await gateway.app[DISPATCHER].run_due()
    assert own.hooks == []
    (event,) = watcher.hooks
    assert event.json["type"] == "order.completed"
    assert event.json["data"]["provider_order_id"] == dashboard.id
    assert event.json["data"]["codes"] is None  # no tenant owns it: nobody gets its codes
