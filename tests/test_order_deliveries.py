"""`GET /v1/orders/{id}/deliveries`: each event of one order sent to the caller's endpoints,
and every attempt, so that "why did my webhook for this order not arrive?" has an answer."""

from __future__ import annotations

import re

from gateway.state import DATABASE, DISPATCHER
from tests.conftest import Gateway, GatewayFactory
from tests.test_query_plans import Recorder, plan, unindexed_filters
from tests.test_webhooks_delivery import EndpointFactory, subscribe


async def test_an_orders_attempts_to_its_tenants_endpoints_oldest_first(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks={"retry_schedule_seconds": [5], "jitter": 0})
    failing = await endpoint_factory([500, 200])
    fine = await endpoint_factory()
    first = await subscribe(gateway, url=failing.url, event_types=["order.accepted"])
    await subscribe(gateway, url=fine.url, event_types=["order.accepted"])
    await subscribe(gateway, "watch", url=fine.url, scope="account:main")  # not shop's
    placed = (await gateway.place(item_id=1001)).body
    path = f"/v1/orders/{placed['id']}/deliveries"

    queued = await gateway.call("GET", path)
    assert queued.status == 200
    assert [(d["attempt"], d["state"]) for d in queued.body["data"]] == [
        (None, "pending"),
        (None, "pending"),
    ]  # written with the order, not tried yet
    assert all(d["next_attempt_at"] for d in queued.body["data"])

    await gateway.app[DISPATCHER].run_due()
    gateway.provider.clock.advance(5)
    await gateway.app[DISPATCHER].run_due()
    sent = (await gateway.call("GET", path)).body["data"]
    to_failing = [d for d in sent if d["subscription_id"] == first["id"]]
    assert [(d["attempt"], d["status_code"]) for d in to_failing] == [(1, 500), (2, 200)]
    assert {d["url"] for d in sent} == {failing.url, fine.url}
    assert {d["event_type"] for d in sent} == {"order.accepted"}


async def test_another_tenants_order_is_404_and_no_endpoint_is_an_empty_list(
    gateway: Gateway,
) -> None:
    placed = (await gateway.place(item_id=1001)).body
    assert (await gateway.call("GET", f"/v1/orders/{placed['id']}/deliveries")).body == {
        "data": [],
        "next_cursor": None,
    }
    other = await gateway.call("GET", f"/v1/orders/{placed['id']}/deliveries", "games")
    assert other.status == 404 and other.body["error"]["code"] == "not_found"
    bad = await gateway.call("GET", "/v1/orders/not-an-id/deliveries")
    assert bad.status == 404


async def test_an_orders_deliveries_are_read_on_indexes(gateway: Gateway) -> None:
    await subscribe(gateway, url="http://127.0.0.1:9/h")
    placed = (await gateway.place(item_id=1001)).body
    db = gateway.app[DATABASE]
    recorder = Recorder(db)
    db.fetch = recorder.fetch  # type: ignore[method-assign]
    try:
        assert (await gateway.call("GET", f"/v1/orders/{placed['id']}/deliveries")).status == 200
    finally:
        db.fetch = recorder._fetch  # type: ignore[method-assign]
    (sql, args), *_ = [(s, a) for s, a in recorder.calls if "LEFT JOIN delivery_attempts" in s]
    # a handful of rows (one order's messages): sorting them is fine, walking a
    # subscription's every message for them is not
    explained = await plan(db, sql, args, sorts=True)
    assert "messages_order" in explained, explained
    assert unindexed_filters(db, sql.replace("m.", ""), explained) == [], explained
    assert "Seq Scan" not in explained and not re.search(r"^SCAN", explained, re.M), explained
