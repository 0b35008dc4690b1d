"""The built-in `routing` plugin on `gateway_select_account`: among a tenant's accounts, one
that can pay, the cheapest or the first preferred, with its reason in the decision trace."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from gateway.config import PluginsConfig
from gateway.hooks.host import PluginHost
from gateway.plugin_api import SettingsError
from tests.conftest import Gateway, GatewayFactory

ITEM = 1001


def routing(**settings: Any) -> dict[str, Any]:
    return {"enabled": ["validation", "limits", "audit", "routing"], "routing": settings}


async def price(gateway: Gateway, account: str) -> Decimal:
    answer = await gateway.call("GET", f"/v1/catalog/items/{ITEM}?account={account}")
    assert answer.status == 200, answer.body
    return Decimal(answer.body["price"])


async def selection(gateway: Gateway, order_id: str) -> dict[str, Any]:
    trace = (await gateway.call("GET", f"/v1/orders/{order_id}/decisions")).body["data"]
    (chose,) = [d for d in trace if d["hook"] == "gateway_select_account"]
    return chose  # type: ignore[no-any-return]


async def test_the_cheapest_account_that_can_pay_with_its_reason(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(plugins=routing())
    prices = {a: await price(gateway, a) for a in ("main", "partner")}
    cheap = min(prices, key=lambda a: prices[a])
    placed = (await gateway.place(item_id=ITEM)).body
    assert placed["account"] == cheap
    chose = await selection(gateway, placed["id"])
    assert chose["outcome"] == "selected"
    assert chose["message"].startswith(f"account {cheap!r}: cheapest that can pay")
    assert str(prices[cheap]) in chose["message"]


async def test_an_account_that_cannot_pay_is_passed_over(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(plugins=routing())
    prices = {a: await price(gateway, a) for a in ("main", "partner")}
    cheap = min(prices, key=lambda a: prices[a])
    dear = "main" if cheap == "partner" else "partner"
    gateway.provider.sandbox.account(cheap).balance = prices[cheap] / 2  # cannot pay one
    placed = (await gateway.place(item_id=ITEM)).body
    assert placed["account"] == dear
    chose = await selection(gateway, placed["id"])
    assert f"{cheap}: " in chose["message"] and "needed" in chose["message"]


async def test_what_is_in_flight_counts_against_the_balance(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(plugins=routing(strategy="preference", preference=["main"]))
    cost = await price(gateway, "main")
    gateway.provider.sandbox.account("main").balance = cost * Decimal("1.5")  # one, not two
    first = (await gateway.place(item_id=ITEM)).body
    assert first["account"] == "main" and first["status"] == "pending"
    # the first is placed (pending, its money in flight at the provider or here): the balance
    # read in the cache still shows 1.5x, less the 1x in flight, so main cannot pay again
    second = (await gateway.place(item_id=ITEM)).body
    assert second.get("account") == "partner", second


async def test_a_named_account_is_the_tenants_choice(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(plugins=routing(strategy="preference", preference=["partner"]))
    named = (await gateway.place(item_id=ITEM, account="main")).body
    assert named["account"] == "main"
    trace = (await gateway.call("GET", f"/v1/orders/{named['id']}/decisions")).body["data"]
    assert not [d for d in trace if d["outcome"] == "selected"]
    preferred = (await gateway.place(item_id=ITEM)).body
    assert preferred["account"] == "partner"
    assert "first preferred that can pay" in (await selection(gateway, preferred["id"]))["message"]


async def test_when_none_can_pay_the_default_account_decides(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(plugins=routing())
    for account in ("main", "partner"):
        gateway.provider.sandbox.account(account).balance = Decimal("0.01")
    refused = await gateway.place(item_id=ITEM)
    assert refused.status == 402  # the provider's own answer on the default account
    placed_on = refused.body["error"].get("details", {})
    assert placed_on.get("account", "main") == "main"


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"strategy": "random"}, "strategy"),
        ({"preference": "main"}, "preference"),
        ({"balance_cache_seconds": -1}, "balance_cache_seconds"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_settings_name_their_key(settings: dict[str, Any], key: str) -> None:
    from order_gateway_plugins.routing import RoutingPlugin

    with pytest.raises(SettingsError) as refused:
        RoutingPlugin(settings)
    assert refused.value.key == key


def test_routing_is_installed_but_not_on_by_default() -> None:
    host = PluginHost(PluginsConfig())
    assert "routing" not in [p.name for p in host.plugins]
