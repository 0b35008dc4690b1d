"""The provider's first answer to an order: on PostgreSQL one statement with its messages and
no transaction, and still every endpoint that should hear of it does, whichever replica
changed the endpoints (gateway.orders.answers)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from gateway.sandbox import Faults
from gateway.state import DATABASE, DESK, LEDGER, SESSIONS
from tests.conftest import Gateway, GatewayFactory
from tests.test_gateway_resolution import spent
from tests.test_webhooks_delivery import messages, subscribe

URL = "http://127.0.0.1:9/hook"  # never called: these tests read the outbox


def count_transactions(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Transactions opened to conclude an order (not the audit trail's and the decision
    trace's batches, which are written off the request path)."""
    db = gateway.app[DATABASE]
    opened: list[int] = []
    original = db.transaction

    async def counted(work: Any, **options: Any) -> Any:
        if getattr(work, "__qualname__", "").startswith("Outcomes."):
            opened.append(1)
        return await original(work, **options)

    monkeypatch.setattr(db, "transaction", counted)
    return lambda: len(opened)


async def events_of(gateway: Gateway, order_id: str) -> list[tuple[str, str]]:
    return [
        (m["subscription_id"], m["event_type"])
        for m in await messages(gateway)
        if m["order_id"] == order_id
    ]


async def test_the_first_answer_is_one_statement_with_its_messages_on_postgresql(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = await subscribe(gateway, url=URL)
    two = await subscribe(gateway, url=URL + "2", event_types=["order.completed"])
    await gateway.place(item_id=1001)  # the process learns who hears about shop's orders
    transactions = count_transactions(gateway, monkeypatch)
    placed = await gateway.place(item_id=1001)
    assert placed.status == 201 and placed.body["status"] == "pending"
    engine = gateway.app[DATABASE].engine
    assert transactions() == (0 if engine == "postgresql" else 1)
    assert await events_of(gateway, placed.body["id"]) == [(one["id"], "order.accepted")]
    assert two["id"] not in {s for s, _ in await events_of(gateway, placed.body["id"])}


async def test_an_endpoint_added_on_another_replica_hears_the_next_order(
    make_gateway: GatewayFactory,
) -> None:
    first, second = await make_gateway(), await make_gateway()
    before = await first.place(item_id=1001)  # first knows: nobody listens
    assert await events_of(first, before.body["id"]) == []
    added = await subscribe(second, url=URL)
    after = await first.place(item_id=1001)
    assert await events_of(first, after.body["id"]) == [(added["id"], "order.accepted")]


async def test_a_filter_changed_on_another_replica_applies_to_the_next_order(
    make_gateway: GatewayFactory,
) -> None:
    first, second = await make_gateway(), await make_gateway()
    only_1002 = {"data.item_id": 1002}
    made = await subscribe(first, url=URL, filter=only_1002)
    skipped = await first.place(item_id=1001)
    assert await events_of(first, skipped.body["id"]) == []
    changed = await second.call(
        "PATCH", f"/v1/subscriptions/{made['id']}", "shop", json={"filter": {}}
    )
    assert changed.status == 200, changed.body
    heard = await first.place(item_id=1001)
    assert await events_of(first, heard.body["id"]) == [(made["id"], "order.accepted")]


async def test_an_endpoint_deleted_on_another_replica_hears_no_more(
    make_gateway: GatewayFactory,
) -> None:
    first, second = await make_gateway(), await make_gateway()
    made = await subscribe(first, url=URL)
    heard = await first.place(item_id=1001)
    assert await events_of(first, heard.body["id"]) == [(made["id"], "order.accepted")]
    gone = await second.call("DELETE", f"/v1/subscriptions/{made['id']}", "shop")
    assert gone.status in (200, 204), gone.body
    unheard = await first.place(item_id=1001)
    assert await events_of(first, unheard.body["id"]) == []


async def test_a_budgeted_tenant_settles_in_the_ledgers_transaction(
    make_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    budgets = {"shop": {"EUR": {"daily": "100.00"}}}
    gateway = await make_gateway(plugins={"enabled": ["limits"], "limits": {"budgets": budgets}})
    await gateway.place(item_id=1001)
    transactions = count_transactions(gateway, monkeypatch)
    placed = await gateway.place(item_id=1001)
    assert placed.status == 201
    assert transactions() >= 1  # the limits plugin writes the charge with the order
    assert await spent(gateway) == Decimal("19.80")  # both orders, 9.90 each


async def test_answers_that_arrive_together_share_a_statement_on_postgresql(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = await subscribe(gateway, url=URL)
    await gateway.place(item_id=1001)  # warm: the token, the catalog, who listens
    db = gateway.app[DATABASE]
    sizes: list[int] = []  # the orders each answers' statement wrote
    original = db.fetch

    async def counted(sql: str, *args: Any) -> Any:
        if "WITH answer AS" in sql:
            sizes.append(len(args[0]))
        return await original(sql, *args)

    monkeypatch.setattr(db, "fetch", counted)
    placed = await asyncio.gather(*(gateway.place(item_id=1001) for _ in range(20)))
    assert {p.status for p in placed} == {201}
    for order in placed:  # each with its own message, whichever statement wrote it
        assert await events_of(gateway, order.body["id"]) == [(made["id"], "order.accepted")]
    if db.engine == "postgresql":
        assert sum(sizes) == 20 and max(sizes) > 1
    else:
        assert sizes == []


async def test_a_failed_answers_statement_leaves_each_order_to_its_transaction(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = await subscribe(gateway, url=URL)
    await gateway.place(item_id=1001)
    answers = gateway.app[DESK].outcomes.answers

    async def broken(parts: list[Any]) -> list[Any]:
        raise RuntimeError("two answers named the same provider order")

    monkeypatch.setattr(answers._batch, "_write_all", broken)
    placed = await asyncio.gather(*(gateway.place(item_id=1001) for _ in range(3)))
    for order in placed:
        assert order.status == 201 and order.body["status"] == "pending"
        assert await events_of(gateway, order.body["id"]) == [(made["id"], "order.accepted")]


async def test_an_order_answered_twice_at_once_is_written_once(
    make_gateway: GatewayFactory,
) -> None:
    """Its request and the resender can conclude one order in the same statement's round
    trip: one part writes it and its event, the other takes the transaction."""
    gateway = await make_gateway(timeout_seconds=0.3)
    made = await subscribe(gateway, url=URL)
    await gateway.call("GET", "/v1/accounts/main/balance")  # token and catalog first
    assert (await gateway.call("GET", "/v1/catalog/items")).status == 200
    gateway.provider.sandbox.set_faults("main", Faults(hang_rate=1.0))
    lost = await gateway.place(item_id=1001)
    assert lost.status == 202  # placed at the provider; its answer lost
    gateway.provider.sandbox.set_faults("main", Faults())
    intent = await gateway.app[LEDGER].get(lost.body["id"])
    assert intent is not None
    seen = await gateway.app[SESSIONS]["main"].get_order(
        next(iter(gateway.provider.sandbox.orders))
    )
    answers = gateway.app[DESK].outcomes.answers
    postgresql = gateway.app[DATABASE].engine == "postgresql"
    if postgresql:  # who listens, known first: the two answers then go out together
        await answers.outbox.known.get(gateway.app[DATABASE], "main", "shop")
    said = await asyncio.gather(answers.alone(intent, seen), answers.alone(intent, seen))
    assert len([s for s in said if s is not None]) == (1 if postgresql else 0)
    accepted = [e for e in await events_of(gateway, intent.id) if e[1] == "order.accepted"]
    assert accepted == ([(made["id"], "order.accepted")] if postgresql else [])
