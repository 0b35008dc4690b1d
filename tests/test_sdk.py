"""The tenant SDK (`gateway_client`, generated from the gateway's own document) against a real
gateway: over HTTP on 127.0.0.1, through httpx, with the SDK's `asyncio` functions, on
SQLite and on PostgreSQL.

What a tenant does with it: place an order, find it in the list, read it again once the
provider has delivered it; page through orders; read errors as the `Error` model; read the
catalog and accounts; subscribe an endpoint. Every answer is parsed by the SDK's models, so
a field the document marks required but the gateway leaves out fails here.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

from gateway_client import AuthenticatedClient
from gateway_client.api.accounts import get_account_balance, list_accounts
from gateway_client.api.catalog import get_catalog_item, list_catalog_items
from gateway_client.api.orders import get_order, list_orders, place_order
from gateway_client.api.subscriptions import (
    create_subscription,
    delete_subscription,
    list_subscriptions,
)
from gateway_client.models import (
    AccountList,
    Balance,
    CatalogItem,
    CatalogItemPage,
    Error,
    EventType,
    NewSubscription,
    Order,
    OrderPage,
    OrderStatus,
    PlaceOrder,
    ProductType,
    Subscription,
    SubscriptionList,
)
from gateway_client.types import UNSET

from gateway.testing import TOKENS
from tests.conftest import EndpointFactory, Gateway


@asynccontextmanager
async def sdk(gateway: Gateway, token: str) -> AsyncIterator[AuthenticatedClient]:
    """The SDK's client for a tenant token. `trust_env=False`: no proxy variable of the
    environment can send this anywhere but the gateway on 127.0.0.1."""
    assert gateway.url.startswith("http://127.0.0.1:")
    client = AuthenticatedClient(
        base_url=gateway.url,
        token=token,
        raise_on_unexpected_status=True,
        httpx_args={"trust_env": False},
    )
    async with client:
        yield client


async def test_a_tenant_places_lists_and_reads_an_order(gateway: Gateway) -> None:
    async with sdk(gateway, TOKENS["shop"]) as shop:
        placed = await place_order.asyncio_detailed(
            client=shop,
            body=PlaceOrder(item_id=1001, quantity=2, merchant_order_id="sdk-1"),
            idempotency_key="sdk-key-1",
        )
        assert placed.status_code == HTTPStatus.CREATED
        order = placed.parsed
        assert isinstance(order, Order), order
        assert order.status is OrderStatus.PENDING
        assert (order.tenant, order.account, order.item_id) == ("shop", "main", 1001)
        assert (order.price, order.refund_amount, order.currency) == ("19.80", "0.00", "EUR")
        assert order.quantity == "2" and order.merchant_order_id == "sdk-1"
        assert order.product_type is ProductType.KEY and order.provider_order_id
        assert order.codes == [] and order.completed_at is None
        assert isinstance(order.id, uuid.UUID)
        assert placed.headers["Location"] == f"/v1/orders/{order.id}"
        assert order.provider_order_id in gateway.provider.sandbox.orders

        # the same Idempotency-Key answers with the same order, replayed
        again = await place_order.asyncio_detailed(
            client=shop,
            body=PlaceOrder(item_id=1001, quantity=2, merchant_order_id="sdk-1"),
            idempotency_key="sdk-key-1",
        )
        assert again.headers["Idempotent-Replayed"] == "true"
        assert isinstance(again.parsed, Order) and again.parsed.id == order.id

        page = await list_orders.asyncio(client=shop, merchant_order_id="sdk-1")
        assert isinstance(page, OrderPage), page
        assert [o.id for o in page.data] == [order.id] and page.next_cursor is None
        assert page.data[0].status is OrderStatus.PENDING

        await gateway.provider.sandbox.advance(10)  # the provider delivers
        gateway.provider.clock.advance(3)  # and the gateway's copy is stale: read through
        done = await get_order.asyncio(client=shop, order_id=order.id)
        assert isinstance(done, Order), done
        assert done.id == order.id and done.status is OrderStatus.COMPLETED
        assert done.delivered_quantity == 2 and done.codes is not None and len(done.codes) == 2
        assert done.completed_at is not None and done.completed_at >= done.created_at
        assert done.error is None and done.price == "19.80"

        completed = await list_orders.asyncio(client=shop, status=OrderStatus.COMPLETED)
        assert isinstance(completed, OrderPage)
        assert [(o.id, o.codes) for o in completed.data] == [(order.id, done.codes)]


async def test_pages_of_orders_newest_first_through_the_cursor(gateway: Gateway) -> None:
    async with sdk(gateway, TOKENS["shop"]) as shop:
        placed = []
        for n in range(3):
            order = await place_order.asyncio(
                client=shop, body=PlaceOrder(item_id=1001, merchant_order_id=f"page-{n}")
            )
            assert isinstance(order, Order) and order.status is OrderStatus.PENDING
            placed.append(order.id)
            gateway.provider.clock.advance(1)
        first = await list_orders.asyncio(client=shop, limit=2)
        assert isinstance(first, OrderPage) and isinstance(first.next_cursor, str)
        rest = await list_orders.asyncio(client=shop, limit=2, cursor=first.next_cursor)
        assert isinstance(rest, OrderPage) and rest.next_cursor is None
        assert [o.id for o in first.data + rest.data] == placed[::-1]


async def test_refusals_arrive_as_the_error_model(gateway: Gateway) -> None:
    async with sdk(gateway, TOKENS["shop"]) as shop, sdk(gateway, TOKENS["games"]) as games:
        mine = await place_order.asyncio(client=shop, body=PlaceOrder(item_id=1001))
        assert isinstance(mine, Order)

        hidden = await get_order.asyncio_detailed(client=games, order_id=mine.id)
        assert hidden.status_code == HTTPStatus.NOT_FOUND
        assert isinstance(hidden.parsed, Error)
        assert hidden.parsed.error.code == "not_found"
        assert hidden.parsed.error.request_id == hidden.headers["X-Request-Id"]

        elsewhere = await place_order.asyncio_detailed(
            client=games, body=PlaceOrder(item_id=1001, account="partner")
        )
        assert elsewhere.status_code == HTTPStatus.FORBIDDEN
        assert isinstance(elsewhere.parsed, Error)
        assert elsewhere.parsed.error.code == "account_not_allowed"

    async with sdk(gateway, "gwt_not_a_token") as stranger:
        refused = await list_orders.asyncio_detailed(client=stranger)
        assert refused.status_code == HTTPStatus.UNAUTHORIZED
        assert isinstance(refused.parsed, Error)
        assert refused.parsed.error.code == "unauthenticated"
    assert len(gateway.provider.sandbox.orders) == 1  # only the one order placed


async def test_catalog_and_accounts(gateway: Gateway) -> None:
    async with sdk(gateway, TOKENS["shop"]) as shop:
        page = await list_catalog_items.asyncio(client=shop, product_type=ProductType.KEY)
        assert isinstance(page, CatalogItemPage), page
        assert page.data and all(i.product_type is ProductType.KEY for i in page.data)
        assert all(i.account == "main" and i.currency == "EUR" for i in page.data)
        item = await get_catalog_item.asyncio(client=shop, item_id=1001, account="partner")
        assert isinstance(item, CatalogItem), item
        assert (item.id, item.account, item.price) == (1001, "partner", "8.75")

        accounts = await list_accounts.asyncio(client=shop)
        assert isinstance(accounts, AccountList), accounts
        assert [(a.name, a.default) for a in accounts.data] == [("main", True), ("partner", False)]
        balance = await get_account_balance.asyncio(client=shop, name="main")
        assert isinstance(balance, Balance), balance
        assert (balance.account, balance.currency) == ("main", "EUR")
        assert balance.balance == "1000.00"


async def test_a_subscription_shows_its_secret_once(
    gateway: Gateway, endpoint_factory: EndpointFactory
) -> None:
    endpoint = await endpoint_factory()
    async with sdk(gateway, TOKENS["shop"]) as shop:
        created = await create_subscription.asyncio(
            client=shop,
            body=NewSubscription(url=endpoint.url, event_types=[EventType.ORDER_COMPLETED]),
        )
        assert isinstance(created, Subscription), created
        assert created.url == endpoint.url and created.scope == "own"
        assert created.event_types == [EventType.ORDER_COMPLETED]
        assert isinstance(created.secret, str) and created.secret.startswith("whsec_")
        listed = await list_subscriptions.asyncio(client=shop)
        assert isinstance(listed, SubscriptionList), listed
        assert [(s.id, s.secret) for s in listed.data] == [(created.id, UNSET)]
        deleted = await delete_subscription.asyncio_detailed(client=shop, id=created.id)
        assert deleted.status_code == HTTPStatus.NO_CONTENT
        empty = await list_subscriptions.asyncio(client=shop)
        assert isinstance(empty, SubscriptionList) and empty.data == []
