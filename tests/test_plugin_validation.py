"""The validation plugin: the provider's rules, checked before any provider call, by field."""

from __future__ import annotations

from typing import Any
from unittest.mock import ANY

import pytest

from tests.conftest import Gateway

PLAYER = {"player_id": "p-1", "region": 2}
LEVELLING = {"account_login": "hero", "server": 10}
TOPUP = {"item_id": 2001, "quantity": 10}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"item_id": 424242}, "item_id", "has no item 424242"),
        ({"item_id": 1004}, "item_id", "not available"),
        ({"item_id": 1003}, "item_id", "out of stock"),
        ({"item_id": 1001, "quantity": 1.5}, "quantity", "whole number"),
        ({"item_id": 1001, "quantity": 11}, "quantity", "between 1 and 10"),
        ({"item_id": 1001, "fields": {"x": "y"}}, "fields", "key items take no fields"),
        ({"item_id": 2001, "fields": PLAYER}, "quantity", "amount to top up"),
        ({"item_id": 2001, "quantity": 4, "fields": PLAYER}, "quantity", "between 5 and 500"),
        ({"item_id": 2001, "quantity": 10}, "fields.player_id", "required"),
        (TOPUP | {"fields": {"player_id": "p"}}, "fields.region", "required"),
        (TOPUP | {"fields": {**PLAYER, "region": 7}}, "fields.region", "1 (Europe)"),
        (TOPUP | {"fields": {**PLAYER, "player_id": 5}}, "fields.player_id", "string"),
        (TOPUP | {"fields": {**PLAYER, "vip": "yes"}}, "fields.vip", "unknown field"),
        ({"item_id": 3001, "quantity": 1, "fields": LEVELLING}, "quantity", "no quantity"),
        ({"item_id": 3001, "fields": {"server": 10}}, "fields.account_login", "required"),
    ],
)  # fmt: skip
async def test_each_rule_names_its_field_and_nothing_reaches_the_provider(
    gateway: Gateway, body: dict[str, Any], field: str, words: str
) -> None:
    answer = await gateway.place(**body)
    assert answer.status == 422, answer.body
    error = answer.body["error"]
    assert error["code"] == "invalid_order"
    assert error["details"] == {"plugin": "validation", "field": field, "order_id": ANY}
    assert words in error["message"] and error["message"].startswith(field)
    assert gateway.provider.sandbox.orders == {}


@pytest.mark.parametrize(
    "body",
    [
        {"item_id": 1001},
        {"item_id": 1001, "quantity": 3},
        {"item_id": 2001, "quantity": "12.5", "fields": PLAYER},
        {"item_id": 3001, "fields": LEVELLING},
        {"item_id": 3001, "fields": {**LEVELLING, "notes": "asap"}},
    ],
)
async def test_valid_orders_pass(gateway: Gateway, body: dict[str, Any]) -> None:
    answer = await gateway.place(**body)
    assert answer.status == 201, answer.body


async def test_the_catalog_of_the_chosen_account_is_the_one_checked(gateway: Gateway) -> None:
    await gateway.call("GET", "/v1/catalog/items")  # main's snapshot: item 1003 out of stock
    gateway.provider.sandbox.update_item(1003, stock=5)
    await gateway.call("GET", "/v1/catalog/items?account=partner")  # partner's: 5 in stock
    assert (await gateway.place(item_id=1003, account="partner")).status == 201
    on_main = await gateway.place(item_id=1003)
    assert on_main.status == 422 and "out of stock" in on_main.body["error"]["message"]
