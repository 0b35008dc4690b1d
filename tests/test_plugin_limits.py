"""The limits plugin: per-order maximum, balance floor, budgets exact under concurrency."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any
from unittest.mock import ANY

import pytest

from gateway.config import ConfigError
from gateway.sandbox import Faults, Outcome, Status
from gateway.state import DATABASE
from tests.conftest import Gateway, GatewayFactory


def limits(**settings: Any) -> dict[str, Any]:
    return {"enabled": ["validation", "limits", "audit"], "limits": settings}


async def spent(gateway: Gateway, period: str) -> Decimal:
    row = await gateway.app[DATABASE].fetchrow(
        "SELECT amount FROM limits_spend WHERE tenant = 'shop' AND period = $1", period
    )
    return Decimal(row["amount"]) if row else Decimal(0)


def today(gateway: Gateway) -> str:
    return "D:" + gateway.provider.clock.now().strftime("%Y-%m-%d")


def this_month(gateway: Gateway) -> str:
    return "M:" + gateway.provider.clock.now().strftime("%Y-%m")


async def test_an_order_over_the_per_order_maximum_is_refused(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(plugins=limits(max_order={"main": "50.00"}))
    assert (await gateway.place(item_id=1001, quantity=5)).status == 201  # 49.50
    over = await gateway.place(item_id=1001, quantity=6)  # 59.40
    assert over.status == 403
    assert over.body["error"]["code"] == "order_limit_exceeded"
    assert over.body["error"]["details"] == {
        "plugin": "limits",
        "field": "quantity",
        "order_id": ANY,
    }
    assert len(gateway.provider.sandbox.orders) == 1
    assert (await gateway.place(item_id=1001, quantity=6, account="partner")).status == 201


async def test_the_balance_floor_is_never_crossed(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(plugins=limits(balance_floor={"main": "980.00"}))
    assert (await gateway.place(item_id=1001)).status == 201  # 990.10 left
    assert (await gateway.place(item_id=1001)).status == 201  # 980.20 left, still cached
    floor = await gateway.place(item_id=1001)
    assert floor.status == 402 and floor.body["error"]["code"] == "balance_floor"
    assert gateway.provider.sandbox.account("main").balance == Decimal("980.20")


@pytest.mark.parametrize(
    ("faults", "status", "code"),
    [
        (Faults(rate_limit_rate=1.0, retry_after=7), 503, "provider_rate_limited"),
        (Faults(error_rate=1.0), 502, "provider_unavailable"),
    ],
)
async def test_a_provider_failure_in_the_balance_floor_keeps_its_meaning(
    make_gateway: GatewayFactory, faults: Faults, status: int, code: str
) -> None:
    gateway = await make_gateway(plugins=limits(balance_floor={"main": "100.00"}))
    await gateway.call("GET", "/v1/catalog/items")  # token and catalog first
    gateway.provider.sandbox.set_faults("main", faults)
    answer = await gateway.place(item_id=1001)
    assert answer.status == status and answer.body["error"]["code"] == code, answer.body
    if code == "provider_rate_limited":
        assert answer.headers["Retry-After"] == "7"
    gateway.provider.sandbox.set_faults("main", Faults())
    assert gateway.provider.sandbox.orders == {}
    assert (await gateway.place(item_id=1001)).status == 201  # nothing was left behind


async def test_an_account_disabled_at_the_provider_is_account_unavailable_not_plugin_failed(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(plugins=limits(balance_floor={"main": "100.00"}))
    await gateway.call("GET", "/v1/catalog/items")
    gateway.provider.sandbox.account("main").api_enabled = False
    answer = await gateway.place(item_id=1001)
    assert answer.status == 502 and answer.body["error"]["code"] == "account_unavailable"


async def test_daily_and_monthly_budgets(make_gateway: GatewayFactory) -> None:
    budgets = {"shop": {"EUR": {"daily": "20.00", "monthly": "30.00"}}}
    gateway = await make_gateway(plugins=limits(budgets=budgets))
    assert (await gateway.place(item_id=1001, quantity=2)).status == 201  # 19.80
    over = await gateway.place(item_id=1001)
    assert over.status == 402 and over.body["error"]["code"] == "budget_exceeded"
    assert "daily" in over.body["error"]["message"] and "0.20" in over.body["error"]["message"]
    assert (await gateway.place("games", item_id=1001)).status == 201  # no budget for games
    gateway.provider.clock.advance(24 * 3600)
    assert (await gateway.place(item_id=1001)).status == 201  # a new day: 29.70 this month
    monthly = await gateway.place(item_id=1001)
    assert monthly.status == 402 and "monthly" in monthly.body["error"]["message"]
    assert await spent(gateway, this_month(gateway)) == Decimal("29.70")


async def test_two_hundred_concurrent_orders_never_pass_the_budget(
    make_gateway: GatewayFactory,
) -> None:
    budgets = {"shop": {"EUR": {"daily": "100.00"}}}
    gateway = await make_gateway(plugins=limits(budgets=budgets))
    answers = await asyncio.gather(*(gateway.place(item_id=1001) for _ in range(200)))
    statuses = Counter(a.status for a in answers)
    assert statuses == {201: 10, 402: 190}, statuses  # 10 x 9.90 = 99.00; an 11th would be 108.90
    assert await spent(gateway, today(gateway)) == Decimal("99.00")
    charged = sum(o.price for o in gateway.provider.sandbox.orders.values())
    assert charged == Decimal("99.00")


async def test_refunds_of_partial_and_failed_orders_are_released(
    make_gateway: GatewayFactory,
) -> None:
    budgets = {"shop": {"EUR": {"daily": "100.00"}}}
    gateway = await make_gateway(plugins=limits(budgets=budgets))
    gateway.provider.sandbox.script(
        "main", [Outcome(Status.PARTIAL, delivered_quantity=1), Outcome(Status.FAILED)]
    )
    partial = (await gateway.place(item_id=1001, quantity=4)).body  # 39.60 reserved
    failed = (await gateway.place(item_id=1001)).body  # 9.90 reserved
    assert await spent(gateway, today(gateway)) == Decimal("49.50")
    await gateway.provider.sandbox.advance(10)  # webhooks settle both
    for order in (partial, failed):
        read = await gateway.call("GET", f"/v1/orders/{order['id']}")
        assert read.body["status"] in ("partial", "failed")
    assert await spent(gateway, today(gateway)) == Decimal("9.90")  # only the delivered key
    assert await spent(gateway, this_month(gateway)) == Decimal("9.90")


async def test_a_provider_refusal_releases_the_reservation(make_gateway: GatewayFactory) -> None:
    budgets = {"shop": {"EUR": {"daily": "100.00"}}}
    gateway = await make_gateway(plugins=limits(budgets=budgets))
    gateway.provider.sandbox.account("main").balance = Decimal("5")
    refused = await gateway.place(item_id=1001)
    assert refused.status == 402 and refused.body["error"]["code"] == "insufficient_balance"
    assert await spent(gateway, today(gateway)) == Decimal("0")


async def test_settled_at_the_providers_actual_price(make_gateway: GatewayFactory) -> None:
    budgets = {"shop": {"EUR": {"daily": "100.00"}}}
    gateway = await make_gateway(plugins=limits(budgets=budgets))
    await gateway.call("GET", "/v1/catalog/items")  # snapshot says 9.90
    gateway.provider.sandbox.update_item(1001, price=Decimal("9.00"))  # the provider charges 9.00
    placed = await gateway.place(item_id=1001, quantity=2)
    assert placed.body["price"] == "18.00"
    assert await spent(gateway, today(gateway)) == Decimal("18.00")


async def test_bad_limits_settings_stop_the_start_naming_the_key(
    make_gateway: GatewayFactory,
) -> None:
    for settings, key in [
        ({"max_order": {"main": 5.5}}, "plugins.limits.max_order.main"),
        ({"budgets": {"shop": {"EUR": {"weekly": "1"}}}}, "plugins.limits.budgets.shop.EUR"),
        ({"balance_floor": {"main": "lots"}}, "plugins.limits.balance_floor.main"),
        ({"speed": 1}, "plugins.limits.speed"),
    ]:
        with pytest.raises(ConfigError) as caught:
            await make_gateway(plugins=limits(**settings))
        assert caught.value.key == key
