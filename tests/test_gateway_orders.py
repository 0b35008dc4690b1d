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


async def test_tenants_cannot_read_or_list_each_others_orders(gateway: Gateway) -> None:
    shop = (await gateway.place("shop", item_id=1001)).body
    games = (await gateway.place("games", item_id=1001)).body
    other = await gateway.call("GET", f"/v1/orders/{shop['id']}", "games")
    assert other.status == 404 and other.body["error"]["code"] == "not_found"
    listed = await gateway.call("GET", "/v1/orders", "games")
    assert [o["id"] for o in listed.body["data"]] == [games["id"]]
    assert (await gateway.call("GET", "/v1/orders/not-a-uuid", "games")).status == 404


async def test_observer_reads_its_accounts_orders_without_codes_and_places_none(
    gateway: Gateway,
) -> None:
    on_main = (await gateway.place("shop", item_id=1001)).body
    await gateway.place("shop", item_id=1001, account="partner")
    await gateway.provider.sandbox.advance(10)
    gateway.provider.clock.advance(3)
    own = await gateway.call("GET", f"/v1/orders/{on_main['id']}", "shop")
    assert own.body["status"] == "completed" and len(own.body["codes"]) == 1
    seen = await gateway.call("GET", f"/v1/orders/{on_main['id']}", "watch")
    assert seen.status == 200 and seen.body["codes"] is None
    listed = await gateway.call("GET", "/v1/orders", "watch")
    assert [o["account"] for o in listed.body["data"]] == ["main"]
    refused = await gateway.place("watch", item_id=1001)
    assert refused.status == 403 and refused.body["error"]["code"] == "forbidden"


async def test_admin_sees_every_tenants_orders_and_may_filter_by_tenant(gateway: Gateway) -> None:
    await gateway.place("shop", item_id=1001)
    await gateway.place("games", item_id=1001)
    everything = await gateway.call("GET", "/v1/orders", "ops")
    assert sorted(o["tenant"] for o in everything.body["data"]) == ["games", "shop"]
    only = await gateway.call("GET", "/v1/orders?tenant=games", "ops")
    assert [o["tenant"] for o in only.body["data"]] == ["games"]
    refused = await gateway.call("GET", "/v1/orders?tenant=games", "shop")
    assert refused.status == 403 and refused.body["error"]["details"]["field"] == "tenant"


async def test_an_account_outside_the_tenants_list_is_refused(gateway: Gateway) -> None:
    answer = await gateway.place("games", item_id=1001, account="partner")
    assert answer.status == 403
    assert answer.body["error"]["code"] == "account_not_allowed"
    assert "main" in answer.body["error"]["message"]
    assert gateway.provider.sandbox.orders == {}


async def test_two_accounts_with_different_personal_prices(gateway: Gateway) -> None:
    main = await gateway.place(item_id=1001, quantity=2)
    partner = await gateway.place(item_id=1001, quantity=2, account="partner")
    assert (main.body["price"], partner.body["price"]) == ("19.80", "17.50")
    assert (main.body["account"], partner.body["account"]) == ("main", "partner")


async def test_repeat_merchant_order_id_with_same_body_returns_the_existing_order(
    gateway: Gateway,
) -> None:
    first = await gateway.place(item_id=1001, merchant_order_id="m-7")
    again = await gateway.place(item_id=1001, merchant_order_id="m-7")
    assert (first.status, again.status) == (201, 200)
    assert again.body["id"] == first.body["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(gateway.provider.sandbox.orders) == 1


async def test_repeat_merchant_order_id_with_another_body_is_a_conflict(gateway: Gateway) -> None:
    first = await gateway.place(item_id=1001, merchant_order_id="m-8")
    clash = await gateway.place(item_id=1001, quantity=2, merchant_order_id="m-8")
    assert clash.status == 409 and clash.body["error"]["code"] == "conflict"
    assert clash.body["error"]["details"]["order_id"] == first.body["id"]
    assert len(gateway.provider.sandbox.orders) == 1


async def test_merchant_order_id_is_unique_per_tenant_only(gateway: Gateway) -> None:
    assert (await gateway.place("shop", item_id=1001, merchant_order_id="x")).status == 201
    assert (await gateway.place("games", item_id=1001, merchant_order_id="x")).status == 201


async def test_the_provider_gets_the_gateways_reference_not_the_tenants(gateway: Gateway) -> None:
    placed = await gateway.place(item_id=1001, merchant_order_id="tenant-ref")
    (sent,) = gateway.provider.sandbox.orders.values()
    assert sent.id == placed.body["provider_order_id"]
    assert sent.merchant_order_id is not None and sent.merchant_order_id.startswith("gw_")
    assert sent.merchant_order_id != "tenant-ref"


async def test_list_is_newest_first_with_cursor_pages(gateway: Gateway) -> None:
    ids = []
    for _ in range(5):
        ids.append((await gateway.place(item_id=1001)).body["id"])
        gateway.provider.clock.advance(1)
    first = await gateway.call("GET", "/v1/orders?limit=2")
    assert [o["id"] for o in first.body["data"]] == ids[::-1][:2]
    second = await gateway.call("GET", f"/v1/orders?limit=2&cursor={first.body['next_cursor']}")
    third = await gateway.call("GET", f"/v1/orders?limit=2&cursor={second.body['next_cursor']}")
    assert [o["id"] for o in second.body["data"]] == ids[::-1][2:4]
    assert [o["id"] for o in third.body["data"]] == ids[::-1][4:]
    assert third.body["next_cursor"] is None


async def test_list_filters(gateway: Gateway) -> None:
    key = (await gateway.place(item_id=1001, merchant_order_id="k")).body
    gateway.provider.clock.advance(5)
    topup = (
        await gateway.place(
            item_id=2001, quantity=10, fields={"player_id": "p", "region": 1}, account="partner"
        )
    ).body

    async def ids(query: str) -> list[str]:
        answer = await gateway.call("GET", f"/v1/orders?{query}")
        assert answer.status == 200, answer.body
        return [o["id"] for o in answer.body["data"]]

    assert await ids("account=partner") == [topup["id"]]
    assert await ids("item_id=1001") == [key["id"]]
    assert await ids("merchant_order_id=k") == [key["id"]]
    assert await ids("status=pending") == [topup["id"], key["id"]]
    assert await ids("status=completed") == []
    after = key["created_at"]
    assert await ids(f"created_after={after}") == [topup["id"]]
    assert await ids(f"created_before={topup['created_at']}") == [key["id"]]


async def test_bad_list_parameters_say_what_to_fix(gateway: Gateway) -> None:
    for query, field in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("status=lost", "status"),
        ("item_id=abc", "item_id"),
        ("created_after=yesterday", "created_after"),
        ("cursor=garbage", "cursor"),
        ("colour=red", "colour"),
    ]:
        answer = await gateway.call("GET", f"/v1/orders?{query}")
        assert answer.status == 400, query
        assert answer.body["error"]["details"]["field"] == field
        assert answer.body["error"]["message"]


async def test_a_stale_open_order_is_read_again_from_the_provider(gateway: Gateway) -> None:
    gateway.provider.sandbox.account("main").webhook_url = None  # no webhook: only a read tells
    placed = (await gateway.place(item_id=1001, quantity=2)).body
    await gateway.provider.sandbox.advance(10)  # completed at the provider
    fresh = await gateway.call("GET", f"/v1/orders/{placed['id']}")
    assert fresh.body["status"] == "completed"
    assert len(fresh.body["codes"]) == 2 and fresh.body["delivered_quantity"] == 2
