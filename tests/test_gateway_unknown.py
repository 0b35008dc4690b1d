"""A lost provider answer leaves an order `unknown`; a webhook or a later read settles it."""

from __future__ import annotations

import hashlib
import hmac
import json

from gateway.sandbox import Faults
from tests.conftest import Gateway, GatewayFactory


async def test_timeout_on_place_is_202_unknown_then_the_webhook_settles_it(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(timeout_seconds=0.3)
    await gateway.call("GET", "/v1/accounts/main/balance")  # token first, so only place hangs
    # and the catalog (the price estimate): on a loaded machine its first load can itself
    # take longer than this test's 0.3 s, which is then a 504 for a call that placed nothing
    assert (await gateway.call("GET", "/v1/catalog/items")).status == 200
    gateway.provider.sandbox.set_faults("main", Faults(hang_rate=1.0))
    answer = await gateway.place(item_id=1001, quantity=2, merchant_order_id="lost")
    assert answer.status == 202
    order = answer.body
    assert order["status"] == "unknown" and order["provider_order_id"] is None
    assert order["id"] and order["merchant_order_id"] == "lost"
    gateway.provider.sandbox.set_faults("main", Faults())
    assert len(gateway.provider.sandbox.orders) == 1  # it was placed, and not placed again

    await gateway.provider.sandbox.advance(10)  # fulfilled; the webhook reaches the gateway
    settled = await gateway.call("GET", f"/v1/orders/{order['id']}")
    assert settled.body["status"] == "completed"
    assert settled.body["provider_order_id"] == next(iter(gateway.provider.sandbox.orders))
    assert len(settled.body["codes"]) == 2 and settled.body["price"] == "19.80"


async def test_a_lasting_5xx_on_place_leaves_the_order_unknown_for_the_resolver(
    gateway: Gateway,
) -> None:
    await gateway.call("GET", "/v1/accounts/main/balance")
    gateway.provider.sandbox.set_faults("main", Faults(error_rate=1.0))
    answer = await gateway.place(item_id=1001)
    assert answer.status == 202 and answer.body["status"] == "unknown"
    listed = await gateway.call("GET", "/v1/orders?status=unknown")
    assert [o["id"] for o in listed.body["data"]] == [answer.body["id"]]


async def test_a_pending_order_is_settled_by_a_later_read(gateway: Gateway) -> None:
    gateway.provider.sandbox.account("main").webhook_url = None
    placed = (await gateway.place(item_id=1002, quantity=5)).body  # 3 in stock
    await gateway.provider.sandbox.advance(10)
    read = (await gateway.call("GET", f"/v1/orders/{placed['id']}")).body
    assert read["status"] == "partial"
    assert read["delivered_quantity"] == 3 and read["refund_amount"] == "39.00"


async def test_a_forged_webhook_changes_nothing(gateway: Gateway) -> None:
    gateway.provider.sandbox.account("main").webhook_url = None
    placed = (await gateway.place(item_id=1001)).body
    (provider_order,) = gateway.provider.sandbox.orders.values()
    body = json.dumps(
        {
            "order_id": provider_order.id, "merchant_order_id": provider_order.merchant_order_id,
            "status": "completed", "item_id": 1001, "item_name": "x", "quantity": 1,
            "total_price": 0, "delivered_quantity": 1, "refund_amount": 0, "fields": {},
            "codes": ["FAKE"], "error": "", "error_message": "",
            "created_at": "2026-01-01T12:00:00Z", "completed_at": "2026-01-01T12:00:01Z",
        },
        separators=(",", ":"), sort_keys=True,
    ).encode()  # fmt: skip
    wrong = "sha256=" + hmac.new(b"guess", body, hashlib.sha256).hexdigest()
    for headers in ({}, {"X-Webhook-Signature": wrong}, {"X-Webhook-Signature": "sha256=zz"}):
        answer = await gateway.call(
            "POST", "/provider-webhooks/main", tenant=None, data=body, headers=headers
        )
        assert answer.status == 401
    read = (await gateway.call("GET", f"/v1/orders/{placed['id']}")).body
    assert read["status"] == "pending" and read["codes"] == []


async def test_a_terminal_status_is_never_overwritten(gateway: Gateway) -> None:
    placed = (await gateway.place(item_id=1001)).body
    await gateway.provider.sandbox.advance(10)
    secret = gateway.provider.sandbox.account("main").webhook_secret
    (provider_order,) = gateway.provider.sandbox.orders.values()
    late = json.dumps(
        {
            "order_id": provider_order.id, "merchant_order_id": provider_order.merchant_order_id,
            "status": "failed", "item_id": 1001, "item_name": "x", "quantity": 1,
            "total_price": 9.9, "delivered_quantity": 0, "refund_amount": 9.9, "fields": {},
            "codes": [], "error": "OUT_OF_STOCK", "error_message": "late",
            "created_at": "2026-01-01T12:00:00Z", "completed_at": "2026-01-01T12:00:01Z",
        },
        separators=(",", ":"), sort_keys=True,
    ).encode()  # fmt: skip
    signature = "sha256=" + hmac.new(secret.encode(), late, hashlib.sha256).hexdigest()
    answer = await gateway.call(
        "POST", "/provider-webhooks/main", tenant=None, data=late,
        headers={"X-Webhook-Signature": signature},
    )  # fmt: skip
    assert answer.status == 200
    read = (await gateway.call("GET", f"/v1/orders/{placed['id']}")).body
    assert read["status"] == "completed" and len(read["codes"]) == 1
