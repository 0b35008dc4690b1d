"""Fulfilment after the order: processing, then completed, partial or failed, with refunds."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from gateway.clock import ManualClock
from gateway.sandbox import Faults, Outcome, Sandbox, Status
from gateway.sandbox.rules import ProviderError
from gateway.testing import sandbox_settings
from generated.api.account import get_balance
from generated.api.orders import get_order, place_order
from generated.client import AuthenticatedClient
from generated.models import Balance, Order, OrderStatus, PlaceOrderRequest
from tests.conftest import Provider


async def place(client: AuthenticatedClient, item_id: int, **body: Any) -> Order:
    order = await place_order.asyncio(
        client=client, body=PlaceOrderRequest.from_dict({"item_id": item_id, **body})
    )
    assert isinstance(order, Order), order
    return order


async def read(client: AuthenticatedClient, order: Order) -> Order:
    answer = await get_order.asyncio(order_id=order.id, client=client)
    assert isinstance(answer, Order)
    return answer


async def balance(client: AuthenticatedClient) -> float:
    answer = await get_balance.asyncio(client=client)
    assert isinstance(answer, Balance)
    return answer.balance


async def test_order_is_processing_briefly_then_completed_with_codes(provider: Provider) -> None:
    client = await provider.client()
    order = await place(client, 1001, quantity=3)
    await provider.sandbox.advance(5)
    assert (await read(client, order)).status is OrderStatus.PROCESSING
    await provider.sandbox.advance(5)
    done = await read(client, order)
    assert done.status is OrderStatus.COMPLETED
    assert done.delivered_quantity == 3 and len(done.codes) == 3
    assert all(len(code) == 19 and code.count("-") == 3 for code in done.codes)
    assert done.refund_amount == 0
    assert done.completed_at is not None
    assert (done.completed_at - done.created_at).total_seconds() == 10


@pytest.mark.parametrize("settings", [sandbox_settings(fulfilment_delay=3, processing_delay=1)])
async def test_fulfilment_delays_are_configurable(provider: Provider) -> None:
    client = await provider.client()
    order = await place(client, 1001)
    await provider.sandbox.advance(1)
    assert (await read(client, order)).status is OrderStatus.PROCESSING
    await provider.sandbox.advance(2)
    assert (await read(client, order)).status is OrderStatus.COMPLETED


async def test_key_order_beyond_stock_is_partial_with_the_rest_refunded(provider: Provider) -> None:
    client = await provider.client()
    order = await place(client, 1002, quantity=5)  # 3 in stock, 19.50 each
    assert await balance(client) == 1000 - 97.5
    await provider.sandbox.advance(10)
    done = await read(client, order)
    assert done.status is OrderStatus.PARTIAL
    assert done.delivered_quantity == 3 and len(done.codes) == 3
    assert done.refund_amount == 39.0
    assert await balance(client) == 1000 - 58.5
    assert provider.sandbox.items[1002].stock == 0


async def test_stock_gone_by_fulfilment_fails_out_of_stock_with_full_refund(
    provider: Provider,
) -> None:
    client = await provider.client()
    first = await place(client, 1002, quantity=3)
    second = await place(client, 1002, quantity=2)
    await provider.sandbox.advance(10)
    assert (await read(client, first)).status is OrderStatus.COMPLETED
    failed = await read(client, second)
    assert failed.status is OrderStatus.FAILED
    assert (failed.error, failed.delivered_quantity, failed.codes) == ("OUT_OF_STOCK", 0, [])
    assert failed.error_message
    assert failed.refund_amount == failed.price == 39.0
    assert await balance(client) == 1000 - 58.5


async def test_supplier_failure_is_another_error_code_with_full_refund(provider: Provider) -> None:
    provider.sandbox.set_faults("main", Faults(fail_order_rate=1.0))
    client = await provider.client()
    order = await place(client, 2001, quantity=10, fields={"player_id": "p", "region": 1})
    await provider.sandbox.advance(10)
    failed = await read(client, order)
    assert failed.status is OrderStatus.FAILED
    assert failed.error == "SUPPLIER_ERROR" and failed.error != "OUT_OF_STOCK"
    assert failed.refund_amount == failed.price == 10.5
    assert await balance(client) == 1000


async def test_scripted_outcomes_apply_in_order(provider: Provider) -> None:
    provider.sandbox.script(
        "main",
        [
            Outcome(Status.PARTIAL, delivered_quantity=1),
            Outcome(Status.FAILED, error="REGION_LOCKED"),
        ],
    )
    client = await provider.client()
    partial = await place(client, 1001, quantity=4)
    failed = await place(client, 1001, quantity=1)
    await provider.sandbox.advance(10)
    partial, failed = await read(client, partial), await read(client, failed)
    assert (partial.status, partial.delivered_quantity) == (OrderStatus.PARTIAL, 1)
    assert partial.refund_amount == pytest.approx(3 * 9.9)
    assert (failed.status, failed.error) == (OrderStatus.FAILED, "REGION_LOCKED")


async def test_topup_and_service_orders_complete_without_codes(provider: Provider) -> None:
    client = await provider.client()
    topup = await place(client, 2002, quantity=100, fields={"player_id": "p"})
    service = await place(client, 3001, fields={"account_login": "a", "server": 11})
    await provider.sandbox.advance(10)
    for order in (await read(client, topup), await read(client, service)):
        assert order.status is OrderStatus.COMPLETED
        assert order.codes == [] and order.delivered_quantity == 1


async def test_same_seed_gives_same_ids_and_codes() -> None:
    """Determinism: replaying the same calls on a same-seed sandbox repeats ids and codes."""

    async def run(sandbox: Sandbox) -> list[tuple[str, list[str]]]:
        await sandbox.start()
        try:
            account = sandbox.account("main")
            orders = [sandbox.place_order(account, {"item_id": 1001, "quantity": 2})]
            try:
                sandbox.place_order(account, {"item_id": 1003})
            except ProviderError:
                pass
            orders.append(sandbox.place_order(account, {"item_id": 1002}))
            await sandbox.advance(10)
            return [(o.id, o.codes) for o in orders]
        finally:
            await sandbox.close()

    first = await run(Sandbox(sandbox_settings(seed=3), ManualClock()))
    second = await run(Sandbox(sandbox_settings(seed=3), ManualClock()))
    other = await run(Sandbox(sandbox_settings(seed=4), ManualClock()))
    assert first == second
    assert first != other


async def test_a_scripted_delivered_quantity_that_cannot_be_met_is_refused(
    provider: Provider,
) -> None:
    async with aiohttp.ClientSession() as http:
        for outcome, says in [
            ({"status": "completed", "delivered_quantity": 99}, "only a partial"),
            ({"status": "partial", "delivered_quantity": 0}, "at least 1"),
        ]:
            async with http.post(
                f"{provider.url}/sandbox/accounts/main/outcomes", json={"outcomes": [outcome]}
            ) as answer:
                assert answer.status == 400
                assert says in (await answer.json())["detail"]
    assert provider.sandbox.account("main").scripted == []
