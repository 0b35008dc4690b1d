"""Placing and reading orders through the gateway, on SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.conftest import Gateway


async def test_place_order_returns_the_gateways_order(gateway: Gateway) -> None:
    answer = await gateway.place(item_id=1001, quantity=2, merchant_order_id="shop-1")
    assert answer.status == 201, answer.body
    order = answer.body
    assert order["status"] == "pending" and order["tenant"] == "shop"
    assert order["account"] == "main" and order["provider_order_id"]
    assert order["price"] == "19.80" and order["refund_amount"] == "0.00"
    assert order["quantity"] == "2" and order["currency"] == "EUR"
    assert order["merchant_order_id"] == "shop-1"
    assert answer.headers["Location"] == f"/v1/orders/{order['id']}"
    read = await gateway.call("GET", f"/v1/orders/{order['id']}")
    assert read.status == 200 and read.body == order
