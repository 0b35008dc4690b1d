"""The catalog as JSON, per account, with that account's prices; the last good snapshot survives."""

from __future__ import annotations

import pytest

from gateway.state import CATALOGS
from tests.conftest import Gateway


async def test_items_carry_each_accounts_own_prices(gateway: Gateway) -> None:
    main = await gateway.call("GET", "/v1/catalog/items/1001")
    partner = await gateway.call("GET", "/v1/catalog/items/1001?account=partner")
    assert (main.body["price"], main.body["price_list"]) == ("9.90", "global")
    assert (partner.body["price"], partner.body["price_list"]) == ("8.75", "personal")
    assert partner.body["currency"] == "EUR" and partner.body["account"] == "partner"


async def test_item_detail_has_fields_options_and_bounds(gateway: Gateway) -> None:
    item = (await gateway.call("GET", "/v1/catalog/items/2001")).body
    assert item["product_type"] == "topup"
    assert (item["min_quantity"], item["max_quantity"]) == ("5", "500")
    region = next(f for f in item["fields"] if f["name"] == "region")
    assert region["type"] == "choice" and region["options"][1] == {"id": 2, "name": "North America"}
    player = next(f for f in item["fields"] if f["name"] == "player_id")
    assert player["type"] == "text" and player["options"] is None


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("", [1001, 1002, 1003, 1004, 2001, 2002, 3001]),
        ("?product_type=topup", [2001, 2002]),
        ("?q=GIFT", [1001, 1004]),
        ("?available=false", [1004]),
        ("?product_type=key&available=true", [1001, 1002, 1003]),
    ],
)
async def test_list_and_search(gateway: Gateway, query: str, ids: list[int]) -> None:
    answer = await gateway.call("GET", f"/v1/catalog/items{query}")
    assert [i["id"] for i in answer.body["data"]] == ids


async def test_list_pages_by_cursor(gateway: Gateway) -> None:
    first = (await gateway.call("GET", "/v1/catalog/items?limit=4")).body
    rest = (
        await gateway.call("GET", f"/v1/catalog/items?limit=4&cursor={first['next_cursor']}")
    ).body
    assert [i["id"] for i in first["data"] + rest["data"]] == [
        1001,
        1002,
        1003,
        1004,
        2001,
        2002,
        3001,
    ]
    assert rest["next_cursor"] is None


async def test_unknown_item_bad_filter_and_foreign_account(gateway: Gateway) -> None:
    assert (await gateway.call("GET", "/v1/catalog/items/42")).status == 404
    bad = await gateway.call("GET", "/v1/catalog/items?product_type=gift")
    assert bad.status == 400 and bad.body["error"]["details"]["field"] == "product_type"
    foreign = await gateway.call("GET", "/v1/catalog/items?account=partner", "games")
    assert foreign.status == 403 and foreign.body["error"]["code"] == "account_not_allowed"


async def test_refresh_sees_changes_and_a_failed_one_keeps_the_last_good(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await gateway.call("GET", "/v1/catalog/items/1002")).body["stock"] == 3
    gateway.provider.sandbox.update_item(1002, stock=1)
    refreshed = await gateway.call("POST", "/v1/catalog/refresh", "ops")
    assert refreshed.status == 200 and refreshed.body["items"] == 7
    assert (await gateway.call("GET", "/v1/catalog/items/1002")).body["stock"] == 1

    def broken(client_id: str | None) -> bytes:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(gateway.provider.sandbox, "snapshot", broken)
    failed = await gateway.call("POST", "/v1/catalog/refresh", "ops")
    assert failed.status == 503 and failed.body["error"]["code"] == "catalog_unavailable"
    still = await gateway.call("GET", "/v1/catalog/items/1002")
    assert still.status == 200 and still.body["stock"] == 1
    ready = (await gateway.call("GET", "/readyz", tenant=None)).body
    assert ready["accounts"]["main"]["catalog"]["loaded"] is True
    assert ready["accounts"]["main"]["catalog"]["error"]
    assert gateway.app[CATALOGS]["main"].snapshot is not None


async def test_only_admins_refresh(gateway: Gateway) -> None:
    answer = await gateway.call("POST", "/v1/catalog/refresh", "shop")
    assert answer.status == 403
