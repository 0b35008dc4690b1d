"""Place order and get order: every rule of the provider's reference page."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest

from generated.api.account import get_balance
from generated.api.orders import get_order, place_order
from generated.client import AuthenticatedClient
from generated.models import Balance, Error, Order, OrderStatus, PlaceOrderRequest
from generated.types import Response
from tests.conftest import Provider

PLAYER = {"player_id": "77123456", "region": 2}
LEVELLING = {"account_login": "hero", "server": 10}


def request(item_id: int, **body: Any) -> PlaceOrderRequest:
    return PlaceOrderRequest.from_dict({"item_id": item_id, **body})


async def place(client: AuthenticatedClient, item_id: int, **body: Any) -> Response[Error | Order]:
    return await place_order.asyncio_detailed(client=client, body=request(item_id, **body))


async def refused(client: AuthenticatedClient, item_id: int, **body: Any) -> Error:
    answer = await place(client, item_id, **body)
    assert answer.status_code == HTTPStatus.BAD_REQUEST, answer.content
    assert isinstance(answer.parsed, Error)
    return answer.parsed


async def balance(client: AuthenticatedClient) -> float:
    answer = await get_balance.asyncio(client=client)
    assert isinstance(answer, Balance)
    return answer.balance


async def test_key_order_is_201_pending_and_charges_at_once(provider: Provider) -> None:
    client = await provider.client()
    answer = await place(client, 1001, quantity=2, merchant_order_id="ref-1")
    assert answer.status_code == HTTPStatus.CREATED
    order = answer.parsed
    assert isinstance(order, Order)
    assert order.status is OrderStatus.PENDING
    assert (order.item, order.item_product_type.value, order.quantity) == (1001, "key", 2)
    assert order.price == 19.8
    assert (order.delivered_quantity, order.refund_amount, order.codes) == (0, 0, [])
    assert (order.error, order.error_message) == ("", "")
    assert order.merchant_order_id == "ref-1"
    assert order.source.value == "api" and order.created_by is None
    assert order.completed_at is None
    assert await balance(client) == pytest.approx(1000 - 19.8)


async def test_key_quantity_defaults_to_one(provider: Provider) -> None:
    answer = await place(await provider.client(), 1001)
    assert isinstance(answer.parsed, Order)
    assert answer.parsed.quantity == 1 and answer.parsed.price == 9.9


async def test_key_quantity_must_be_whole(provider: Provider) -> None:
    error = await refused(await provider.client(), 1001, quantity=1.5)
    assert error.code == "validation_error" and "quantity" in error.detail


async def test_key_items_take_no_fields(provider: Provider) -> None:
    error = await refused(await provider.client(), 1001, fields={"player_id": "x"})
    assert error.code == "validation_error" and "fields" in error.detail


async def test_topup_takes_a_decimal_amount_and_echoes_choices_by_name(provider: Provider) -> None:
    answer = await place(await provider.client(), 2001, quantity=12.5, fields=PLAYER)
    order = answer.parsed
    assert isinstance(order, Order), answer.content
    assert order.quantity == 12.5
    assert order.price == 13.13  # 1.05 x 12.5 = 13.125, rounded half up
    assert order.fields.to_dict() == {"player_id": "77123456", "region": "North America"}


async def test_topup_requires_quantity_and_fields(provider: Provider) -> None:
    client = await provider.client()
    assert "quantity" in (await refused(client, 2001, fields=PLAYER)).detail
    assert "fields" in (await refused(client, 2001, quantity=10)).detail


async def test_service_omits_quantity_and_requires_fields(provider: Provider) -> None:
    client = await provider.client()
    answer = await place(client, 3001, fields=LEVELLING)
    assert isinstance(answer.parsed, Order)
    assert answer.parsed.quantity == 1 and answer.parsed.price == 25
    assert answer.parsed.fields.to_dict() == {"account_login": "hero", "server": "EU West"}
    assert "quantity" in (await refused(client, 3001, quantity=1, fields=LEVELLING)).detail
    assert "fields" in (await refused(client, 3001)).detail


@pytest.mark.parametrize(
    ("item_id", "body", "names"),
    [
        (1001, {"quantity": 11}, "between 1 and 10"),
        (1001, {"quantity": 0}, "between 1 and 10"),
        (2001, {"quantity": 4.99, "fields": PLAYER}, "between 5 and 500"),
        (2001, {"quantity": 500.01, "fields": PLAYER}, "between 5 and 500"),
    ],
)
async def test_quantity_must_lie_within_the_items_bounds(
    provider: Provider, item_id: int, body: dict[str, Any], names: str
) -> None:
    error = await refused(await provider.client(), item_id, **body)
    assert error.code == "validation_error" and names in error.detail


@pytest.mark.parametrize(
    ("fields", "names"),
    [
        ({"region": 2}, "fields.player_id: this field is required"),
        ({"player_id": 77, "region": 2}, "fields.player_id: must be a string"),
        ({"player_id": "p", "region": 9}, "fields.region: 9 is not one of the choice ids 1, 2, 3"),
        ({"player_id": "p", "region": "Europe"}, "fields.region: must be a numeric choice id"),
        ({"player_id": "p", "region": 1, "colour": "red"}, "fields.colour: unknown field"),
    ],
)
async def test_fields_are_checked_by_type(
    provider: Provider, fields: dict[str, Any], names: str
) -> None:
    error = await refused(await provider.client(), 2001, quantity=10, fields=fields)
    assert names in error.detail


async def test_optional_text_field_may_be_left_out(provider: Provider) -> None:
    answer = await place(await provider.client(), 3001, fields={**LEVELLING, "notes": "asap"})
    assert isinstance(answer.parsed, Order)
    assert answer.parsed.fields.to_dict()["notes"] == "asap"


@pytest.mark.parametrize(
    ("item_id", "names"),
    [(999_999, "does not exist"), (1004, "not available"), (1003, "out of stock")],
)
async def test_unknown_unavailable_and_out_of_stock_items_are_refused(
    provider: Provider, item_id: int, names: str
) -> None:
    client = await provider.client()
    error = await refused(client, item_id)
    assert error.code == "validation_error" and names in error.detail
    assert await balance(client) == 1000


async def test_duplicate_merchant_order_id_is_a_plain_validation_error(provider: Provider) -> None:
    client = await provider.client()
    first = await place(client, 1001, merchant_order_id="same")
    assert first.status_code == HTTPStatus.CREATED
    error = await refused(client, 1001, merchant_order_id="same")
    assert error.code == "validation_error" and "merchant_order_id" in error.detail
    assert await balance(client) == pytest.approx(1000 - 9.9)  # charged once


async def test_merchant_order_id_is_unique_per_account_only(provider: Provider) -> None:
    assert (await place(await provider.client("main"), 1001, merchant_order_id="x")).parsed
    other = await place(await provider.client("partner"), 1001, merchant_order_id="x")
    assert other.status_code == HTTPStatus.CREATED


async def test_merchant_order_id_is_at_most_100_characters(provider: Provider) -> None:
    client = await provider.client()
    assert "100" in (await refused(client, 1001, merchant_order_id="m" * 101)).detail
    assert (await place(client, 1001, merchant_order_id="m" * 100)).status_code == 201


async def test_insufficient_balance_charges_nothing(provider: Provider) -> None:
    provider.sandbox.account("main").balance = provider.sandbox.account("main").balance / 100
    client = await provider.client()
    error = await refused(client, 1001, quantity=2)
    assert error.code == "insufficient_balance"
    assert await balance(client) == 10


async def test_personal_prices_apply_to_their_account(provider: Provider) -> None:
    main = await place(await provider.client("main"), 1001, quantity=2)
    partner = await place(await provider.client("partner"), 1001, quantity=2)
    assert isinstance(main.parsed, Order) and isinstance(partner.parsed, Order)
    assert (main.parsed.price, partner.parsed.price) == (19.8, 17.5)


async def test_get_order_reads_the_current_state(provider: Provider) -> None:
    client = await provider.client()
    placed = (await place(client, 1001)).parsed
    assert isinstance(placed, Order)
    read = await get_order.asyncio(order_id=placed.id, client=client)
    assert isinstance(read, Order)
    assert read.to_dict() == placed.to_dict()


async def test_another_accounts_order_is_not_found(provider: Provider) -> None:
    placed = (await place(await provider.client("main"), 1001)).parsed
    assert isinstance(placed, Order)
    answer = await get_order.asyncio_detailed(
        order_id=placed.id, client=await provider.client("partner")
    )
    assert answer.status_code == HTTPStatus.NOT_FOUND
    assert isinstance(answer.parsed, Error) and answer.parsed.code == "not_found"


async def test_malformed_bodies_are_validation_errors(provider: Provider) -> None:
    client = await provider.client()
    http = client.get_async_httpx_client()
    for content in (b"{not json", b"[1, 2]", b'{"item_id": "1001"}', b'{"quantity": NaN}'):
        answer = await http.post("/api/v1/orders", content=content)
        assert answer.status_code == 400, content
        assert answer.json()["code"] == "validation_error"
