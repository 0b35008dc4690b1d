"""No dead ends: an order whose outcome is unknown is re-sent until the provider answers."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from gateway.domain import OrderRecord, OrderStatus, PlaceRequest
from gateway.orders.intents import request_hash
from gateway.orders.resolution import Verdict
from gateway.sandbox import Faults
from gateway.state import DATABASE, DESK, DISPATCHER, LEDGER, RECONCILER, RESOLVER
from gateway.storage import StorageUnavailable
from tests.conftest import Endpoint, EndpointFactory, Gateway, GatewayFactory

BUDGET = {
    "enabled": ["validation", "limits", "audit"],
    "limits": {"budgets": {"shop": {"EUR": {"daily": "100.00"}}}},
}


@pytest.fixture
async def gateway(make_gateway: GatewayFactory) -> Gateway:
    """A lost answer costs the provider timeout: a short one keeps these tests fast."""
    return await make_gateway(timeout_seconds=0.3)


async def spent(gateway: Gateway) -> Decimal:
    period = "D:" + gateway.provider.clock.now().strftime("%Y-%m-%d")
    row = await gateway.app[DATABASE].fetchrow(
        "SELECT amount FROM limits_spend WHERE tenant = 'shop' AND period = $1", period
    )
    return Decimal(row["amount"]) if row else Decimal(0)


async def read(gateway: Gateway, order_id: str) -> dict[str, Any]:
    answer = await gateway.call("GET", f"/v1/orders/{order_id}")
    assert answer.status == 200, answer.body
    return answer.body  # type: ignore[no-any-return]


async def resolve_due(gateway: Gateway, seconds: float = 2) -> dict[str, int]:
    gateway.provider.clock.advance(seconds)
    return await gateway.app[RESOLVER].run_once()


async def lost_answer(gateway: Gateway, **body: Any) -> dict[str, Any]:
    """A place-order whose answer never comes back (the provider may have placed it)."""
    await gateway.call("GET", "/v1/accounts/main/balance")  # the token first: only place hangs
    # and the catalog: on a loaded machine a load can outlast the 0.3 s timeout; the next is
    # read from a warm provider (each try is a real request, bounded by that timeout)
    for _ in range(20):
        if (await gateway.call("GET", "/v1/catalog/items")).status == 200:
            break
    else:
        raise AssertionError("the catalog never loaded within the test's 0.3 s timeout")
    gateway.provider.sandbox.set_faults("main", Faults(hang_rate=1.0))
    answer = await gateway.call(
        "POST", "/v1/orders", json={"item_id": 1001, **body}, headers={"Idempotency-Key": "k1"}
    )
    gateway.provider.sandbox.set_faults("main", Faults())
    assert answer.status == 202 and answer.body["status"] == "unknown", answer.body
    return answer.body  # type: ignore[no-any-return]


async def subscribed(gateway: Gateway, endpoint_factory: EndpointFactory) -> Endpoint:
    endpoint = await endpoint_factory()
    answer = await gateway.call("POST", "/v1/subscriptions", json={"url": endpoint.url})
    assert answer.status == 201
    return endpoint


async def delivered(gateway: Gateway, endpoint: Endpoint) -> list[str]:
    await gateway.app[DISPATCHER].run_due()
    return [event for event, _ in endpoint.events()]


async def test_a_passing_5xx_is_sent_again_at_once_and_answers_201(gateway: Gateway) -> None:
    await gateway.call("GET", "/v1/accounts/main/balance")  # the token first
    gateway.provider.sandbox.set_faults("main", Faults(error_rate=0.5))
    answers = [await gateway.place(item_id=1001) for _ in range(20)]
    gateway.provider.sandbox.set_faults("main", Faults())
    placed = [a for a in answers if a.status == 201]
    unknown = [a for a in answers if a.status == 202]
    assert len(placed) + len(unknown) == 20
    assert len(placed) >= 12  # a 5xx twice in a row is one order in four
    assert len(gateway.provider.sandbox.orders) == len(placed)  # 5xx changed nothing
    await resolve_due(gateway)
    for answer in unknown:
        assert (await read(gateway, answer.body["id"]))["status"] == "pending"
    assert len(gateway.provider.sandbox.orders) == 20


async def test_an_unknown_order_the_provider_never_got_is_placed_by_re_sending(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(plugins=BUDGET)
    endpoint = await subscribed(gateway, endpoint_factory)
    await gateway.call("GET", "/v1/accounts/main/balance")  # the token first
    gateway.provider.sandbox.set_faults("main", Faults(error_rate=1.0))
    headers = {"Idempotency-Key": "503"}
    first = await gateway.call("POST", "/v1/orders", json={"item_id": 1001}, headers=headers)
    assert first.status == 202 and first.body["status"] == "unknown"
    assert gateway.provider.sandbox.orders == {}
    assert await spent(gateway) == Decimal("9.90")  # it may still be spent: held
    assert (await resolve_due(gateway))[Verdict.RETRY.value] == 1  # still failing: later
    gateway.provider.sandbox.set_faults("main", Faults())
    assert (await resolve_due(gateway, 3))[Verdict.PLACED.value] == 1
    order = await read(gateway, first.body["id"])
    assert order["status"] == "pending" and order["provider_order_id"]
    assert await spent(gateway) == Decimal("9.90")
    again = await gateway.call("POST", "/v1/orders", json={"item_id": 1001}, headers=headers)
    assert again.status == 201 and again.body["status"] == "pending"  # the replay says it now
    assert len(gateway.provider.sandbox.orders) == 1
    assert await delivered(gateway, endpoint) == ["order.unknown", "order.accepted"]


async def test_a_lost_answer_of_a_placed_order_is_found_by_the_duplicate_refusal(
    gateway: Gateway, endpoint_factory: EndpointFactory
) -> None:
    endpoint = await subscribed(gateway, endpoint_factory)
    order = await lost_answer(gateway, quantity=2)
    assert len(gateway.provider.sandbox.orders) == 1  # placed; its answer was lost
    assert (await resolve_due(gateway))[Verdict.EXISTS.value] == 1
    pending = await read(gateway, order["id"])
    assert pending["status"] == "pending" and pending["provider_order_id"] is None
    assert len(gateway.provider.sandbox.orders) == 1  # never placed twice
    await gateway.provider.sandbox.advance(10)  # fulfilled; its webhook settles it
    done = await read(gateway, order["id"])
    assert done["status"] == "completed" and len(done["codes"]) == 2
    assert done["product_type"] == "key"  # the webhook has no product type: the intent had it
    assert await delivered(gateway, endpoint) == [
        "order.unknown", "order.accepted", "order.completed",
    ]  # fmt: skip


async def test_an_order_refused_on_re_sending_was_never_placed_and_its_budget_returns(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(plugins=BUDGET)
    endpoint = await subscribed(gateway, endpoint_factory)
    await gateway.call("GET", "/v1/accounts/main/balance")  # the token first
    gateway.provider.sandbox.set_faults("main", Faults(error_rate=1.0))
    first = await gateway.place(item_id=1001)
    assert first.status == 202 and await spent(gateway) == Decimal("9.90")
    gateway.provider.sandbox.set_faults("main", Faults())
    gateway.provider.sandbox.account("main").balance = Decimal("1")
    assert (await resolve_due(gateway))[Verdict.NOT_PLACED.value] == 1
    order = await read(gateway, first.body["id"])
    assert order["status"] == "failed" and order["error"] == "NOT_PLACED"
    assert "insufficient balance" in order["error_message"]
    assert order["price"] is None and order["completed_at"]
    assert await spent(gateway) == Decimal("0")  # known not placed: released
    assert gateway.provider.sandbox.orders == {}
    assert await delivered(gateway, endpoint) == ["order.unknown", "order.failed"]
    audit = await gateway.call("GET", "/v1/audit?decision=resolved", "ops")
    (record,) = audit.body["data"]
    assert record["order_id"] == first.body["id"] and record["plugin"] == "gateway"


async def test_a_refusal_that_may_hide_the_first_order_goes_to_an_operator(
    gateway: Gateway,
) -> None:
    order = await lost_answer(gateway)
    gateway.provider.sandbox.update_item(1001, stock=0)  # as if the first took the last key
    assert (await resolve_due(gateway))[Verdict.AMBIGUOUS.value] == 1
    assert (await read(gateway, order["id"]))["status"] == "unknown"
    listed = await gateway.call("GET", "/v1/admin/orders/unresolved", "ops")
    (row,) = listed.body["data"]
    assert row["id"] == order["id"] and row["state"] == "operator"
    assert "before checking for a duplicate" in row["reason"]
    assert row["reference"].startswith("gw_")
    assert (await resolve_due(gateway, 60))["ambiguous"] == 0  # not sent again
    assert len(gateway.provider.sandbox.orders) == 1


async def test_past_the_window_an_order_is_not_sent_again_and_waits_for_an_operator(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(resend_window_seconds=30)
    await gateway.call("GET", "/v1/accounts/main/balance")  # the token first
    gateway.provider.sandbox.set_faults("main", Faults(error_rate=1.0))
    first = await gateway.place(item_id=1001)
    gateway.provider.sandbox.set_faults("main", Faults())
    counts = await resolve_due(gateway, 31)
    assert counts["expired"] == 1 and counts[Verdict.PLACED.value] == 0
    assert gateway.provider.sandbox.orders == {}
    listed = await gateway.call("GET", "/v1/admin/orders/unresolved", "ops")
    assert [r["state"] for r in listed.body["data"]] == ["operator"]
    assert "within 30 s" in listed.body["data"][0]["reason"]
    resolved = await gateway.call(
        "POST", f"/v1/admin/orders/{first.body['id']}/resolve", "ops", json={"not_placed": True}
    )
    assert resolved.status == 200 and resolved.body["status"] == "failed"
    assert (await gateway.call("GET", "/v1/admin/orders/unresolved", "ops")).body["data"] == []
    audit = await gateway.call("GET", "/v1/audit?decision=resolved", "ops")
    assert sorted(r["plugin"] for r in audit.body["data"]) == ["gateway", "operator:ops"]


async def test_an_operator_resolves_a_placed_order_whose_webhook_never_came(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(timeout_seconds=0.3, webhooks={"reconcile_after_seconds": 60})
    order = await lost_answer(gateway, quantity=2)
    gateway.provider.sandbox.account("main").webhook_url = None  # its webhook is lost
    await resolve_due(gateway)
    await gateway.provider.sandbox.advance(120)  # fulfilled at the provider
    assert (await gateway.app[RECONCILER].run_once())["unreadable"] == 1
    listed = await gateway.call("GET", "/v1/admin/orders/unresolved", "ops")
    (row,) = listed.body["data"]
    assert row["state"] == "operator" and "no webhook came" in row["reason"]
    assert row["status"] == "pending"
    (at_provider,) = gateway.provider.sandbox.orders.values()
    assert at_provider.merchant_order_id == row["reference"]  # what the dashboard shows

    path = f"/v1/admin/orders/{order['id']}/resolve"
    refused = await gateway.call("POST", path, "ops", json={"not_placed": True})
    assert refused.status == 409 and row["reference"] in refused.body["error"]["message"]
    other = (await gateway.place(item_id=1001)).body["provider_order_id"]
    wrong = await gateway.call("POST", path, "ops", json={"provider_order_id": other})
    assert wrong.status == 409 and "reference" in wrong.body["error"]["message"]
    tenant = await gateway.call("POST", path, "shop", json={"provider_order_id": at_provider.id})
    assert tenant.status == 403
    both = await gateway.call(
        "POST", path, "ops", json={"provider_order_id": at_provider.id, "not_placed": True}
    )
    assert both.status == 400
    right = await gateway.call("POST", path, "ops", json={"provider_order_id": at_provider.id})
    assert right.status == 200 and right.body["status"] == "completed"
    done = await read(gateway, order["id"])
    assert done["provider_order_id"] == at_provider.id and len(done["codes"]) == 2
    again = await gateway.call("POST", path, "ops", json={"provider_order_id": at_provider.id})
    assert again.status == 409


async def test_a_webhook_before_the_timeout_makes_the_answer_201_and_no_unknown_event(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(timeout_seconds=0.5)
    endpoint = await subscribed(gateway, endpoint_factory)
    await gateway.call("GET", "/v1/accounts/main/balance")
    gateway.provider.sandbox.set_faults("main", Faults(hang_rate=1.0))
    placing = asyncio.create_task(gateway.place(item_id=1001))
    async with asyncio.timeout(5):  # the sandbox has no event for "an order arrived"
        while not gateway.provider.sandbox.orders:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    gateway.provider.sandbox.set_faults("main", Faults())
    await gateway.provider.sandbox.advance(10)  # completed; its webhook arrives first
    answer = await placing
    assert answer.status == 201 and answer.body["status"] == "completed"
    assert await delivered(gateway, endpoint) == ["order.completed"]


async def test_an_unknown_order_reads_back_with_every_field_it_was_answered_with(
    gateway: Gateway,
) -> None:
    await gateway.call("GET", "/v1/catalog/items")  # the catalog is loaded
    order = await lost_answer(gateway)
    stored = await read(gateway, order["id"])
    for field in ("item_name", "product_type", "quantity", "price", "status", "created_at"):
        assert stored[field] == order[field] and stored[field] is not None, field
    assert stored["quantity"] == "1" and stored["price"] == "9.90"


async def test_the_gauges_count_unresolved_orders_by_state(gateway: Gateway) -> None:
    await gateway.call("GET", "/v1/accounts/main/balance")  # the token first
    gateway.provider.sandbox.set_faults("main", Faults(error_rate=1.0))
    await gateway.place(item_id=1001)
    await gateway.app[RESOLVER].refresh_gauges()
    gateway.provider.clock.advance(30)
    await gateway.app[RESOLVER].refresh_gauges()
    text = (await gateway.call("GET", "/metrics", tenant=None)).body
    assert 'gateway_orders_unresolved{state="resending"} 1.0' in text
    assert 'gateway_orders_unresolved{state="operator"} 0.0' in text
    assert 'gateway_orders_unresolved_oldest_seconds{state="resending"} 30.0' in text


async def test_an_intent_its_dead_process_never_sent_is_not_placed_and_releases_its_budget(
    make_gateway: GatewayFactory,
) -> None:
    """kill -9 between the reservation and the provider call: nothing reached the provider."""
    gateway = await make_gateway(plugins=BUDGET)
    desk = gateway.app[DESK]
    real_mark = desk.ledger.mark_sending

    async def die_before_sending(order_id: str) -> None:
        raise asyncio.CancelledError  # as far as this order goes, the process stops here

    desk.ledger.mark_sending = die_before_sending  # type: ignore[method-assign]
    with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
        await gateway.call(
            "POST", "/v1/orders", json={"item_id": 1001}, headers={"Idempotency-Key": "d"}
        )
    desk.ledger.mark_sending = real_mark  # type: ignore[method-assign]
    (row,) = await gateway.app[DATABASE].fetch("SELECT id, owner, resend_at FROM orders")
    assert row["owner"] and row["resend_at"] is None  # an intent, never sent
    assert await spent(gateway) == Decimal("9.90")
    await gateway.app[DATABASE].execute(  # its process is gone
        "UPDATE orders SET owner = 'gwi_dead' WHERE id = $1", row["id"]
    )
    assert (await resolve_due(gateway))[Verdict.NOT_PLACED.value] == 1
    order = await read(gateway, row["id"])
    assert order["status"] == "failed" and order["error"] == "NOT_PLACED"
    assert "before it was sent" in order["error_message"]
    assert await spent(gateway) == Decimal("0")
    assert gateway.provider.sandbox.orders == {}


async def test_an_operator_read_of_a_finished_order_settles_an_unknown_one_with_its_events(
    gateway: Gateway, endpoint_factory: EndpointFactory
) -> None:
    endpoint = await subscribed(gateway, endpoint_factory)
    order = await lost_answer(gateway, quantity=2)
    gateway.provider.sandbox.update_item(1001, stock=0)
    await resolve_due(gateway)  # an item refusal: the operator's
    gateway.provider.sandbox.update_item(1001, stock=None)
    gateway.provider.sandbox.account("main").webhook_url = None  # and its webhook is lost
    await gateway.provider.sandbox.advance(10)  # the first sending completes at the provider
    (at_provider,) = gateway.provider.sandbox.orders.values()
    resolved = await gateway.call(
        "POST", f"/v1/admin/orders/{order['id']}/resolve", "ops",
        json={"provider_order_id": at_provider.id},
    )  # fmt: skip
    assert resolved.status == 200 and resolved.body["status"] == "completed"
    assert await delivered(gateway, endpoint) == ["order.unknown", "order.completed"]
    audit = await gateway.call("GET", f"/v1/audit?order_id={order['id']}", "ops")
    assert {"settled", "resolved"} <= {r["decision"] for r in audit.body["data"]}


async def test_an_order_still_being_re_sent_cannot_be_declared_not_placed(
    gateway: Gateway,
) -> None:
    await gateway.call("GET", "/v1/accounts/main/balance")
    gateway.provider.sandbox.set_faults("main", Faults(error_rate=1.0))
    first = await gateway.place(item_id=1001)
    refused = await gateway.call(
        "POST", f"/v1/admin/orders/{first.body['id']}/resolve", "ops", json={"not_placed": True}
    )
    assert refused.status == 409 and "still being re-sent" in refused.body["error"]["message"]


async def test_of_two_retries_of_a_dead_processs_key_one_places(gateway: Gateway) -> None:
    ledger = gateway.app[LEDGER]
    digest = request_hash("main", PlaceRequest(1001, None, None, {}, None))
    await ledger.claim_key("shop", "dead", digest, timedelta(hours=24), "gwi_gone")
    headers = {"Idempotency-Key": "dead"}
    answers = await asyncio.gather(
        *(gateway.call("POST", "/v1/orders", json={"item_id": 1001}, headers=headers)
          for _ in range(6))
    )  # fmt: skip
    assert len(gateway.provider.sandbox.orders) == 1
    assert {a.status for a in answers} <= {201, 409}
    assert len({a.body["id"] for a in answers if a.status == 201}) == 1


async def test_an_intent_taken_over_as_never_sent_is_not_sent_by_its_own_request(
    gateway: Gateway,
) -> None:
    desk = gateway.app[DESK]
    now = gateway.provider.clock.now()
    intent = OrderRecord(
        id=str(uuid.uuid4()), reference="gw_" + uuid.uuid4().hex, tenant="shop", account="main",
        merchant_order_id=None, request_hash="h", item_id=1001, quantity=None, fields={},
        currency="EUR", status=OrderStatus.UNKNOWN, created_at=now, updated_at=now,
        owner="gwi_slow",
    )  # fmt: skip
    assert await desk.ledger.record_intent(intent) is None
    assert await desk.outcomes.fail_never_sent(intent)  # another process thought gwi_slow dead
    assert not await desk.ledger.mark_sending(intent.id, "gwi_slow", now)  # so it sends nothing
    assert (await read(gateway, intent.id))["error"] == "NOT_PLACED"


async def test_a_storage_failure_after_sending_answers_202_and_the_resolver_finds_the_order(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = gateway.app[DESK]
    real = desk.outcomes.conclude

    async def storage_fails(*args: Any, **kwargs: Any) -> Any:
        raise StorageUnavailable("PostgreSQL: ConnectionResetError")

    monkeypatch.setattr(desk.outcomes, "conclude", storage_fails)
    answer = await gateway.place(item_id=1001)
    monkeypatch.setattr(desk.outcomes, "conclude", real)
    assert answer.status == 202 and answer.body["status"] == "unknown" and answer.body["id"]
    assert len(gateway.provider.sandbox.orders) == 1  # placed; not recorded
    assert (await resolve_due(gateway, 10))[Verdict.EXISTS.value] == 1  # past the lease
    await gateway.provider.sandbox.advance(10)
    assert (await read(gateway, answer.body["id"]))["status"] == "completed"
    assert len(gateway.provider.sandbox.orders) == 1


async def test_one_order_the_resolver_cannot_handle_does_not_hold_up_the_others(
    gateway: Gateway,
) -> None:
    await gateway.call("GET", "/v1/accounts/main/balance")
    gateway.provider.sandbox.set_faults("main", Faults(error_rate=1.0))
    stray = (await gateway.place(item_id=1001)).body["id"]
    other = (await gateway.place(item_id=1001)).body["id"]
    gateway.provider.sandbox.set_faults("main", Faults())
    await gateway.app[DATABASE].execute(  # an account since removed from the config
        "UPDATE orders SET account = 'retired' WHERE id = $1", stray
    )
    counts = await resolve_due(gateway)
    assert counts["expired"] == 1 and counts[Verdict.PLACED.value] == 1
    assert (await read(gateway, other))["status"] == "pending"


async def test_the_providers_word_overrides_a_wrong_not_placed_and_the_budget_counts_it(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(plugins=BUDGET, timeout_seconds=0.3)
    order = await lost_answer(gateway)  # placed at the provider; its answer lost
    gateway.provider.sandbox.update_item(1001, stock=0)
    await resolve_due(gateway)  # ambiguous: the operator's
    gateway.provider.sandbox.update_item(1001, stock=None)
    wrong = await gateway.call(
        "POST", f"/v1/admin/orders/{order['id']}/resolve", "ops", json={"not_placed": True}
    )  # the operator missed it in the dashboard
    assert wrong.body["error"] == "NOT_PLACED" and await spent(gateway) == Decimal("0")
    await gateway.provider.sandbox.advance(10)  # its webhook: the provider has it
    done = await read(gateway, order["id"])
    assert done["status"] == "completed" and done["error"] is None and len(done["codes"]) == 1
    assert await spent(gateway) == Decimal("9.90")


async def test_a_provider_id_already_held_by_another_order_is_a_conflict_for_an_operator(
    gateway: Gateway,
) -> None:
    await gateway.place(item_id=1001)  # warm: the provider token is in hand
    sandbox = gateway.provider.sandbox
    first = (await gateway.place(item_id=1001)).body
    # the provider's next order gets the same id (its fault): its id draw answers the first
    # order's id, whatever else drew from its generator meanwhile
    place_order, repeated = sandbox.place_order, uuid.UUID(first["provider_order_id"]).int

    def same_id(*args: Any, **kwargs: Any) -> Any:
        draw = sandbox.rng.getrandbits
        sandbox.rng.getrandbits = lambda bits: repeated  # type: ignore[method-assign]
        try:
            return place_order(*args, **kwargs)
        finally:
            sandbox.rng.getrandbits = draw  # type: ignore[method-assign]

    sandbox.place_order = same_id  # type: ignore[method-assign]
    second = await gateway.place(item_id=1001)
    sandbox.place_order = place_order  # type: ignore[method-assign]
    assert second.status < 500, second.body
    assert second.body["status"] == "unknown"
    stored = await gateway.app[LEDGER].get(second.body["id"])
    assert stored is not None and stored.unresolved == "provider_order_id_conflict"
    assert stored.provider_order_id is None
    kept = await gateway.app[LEDGER].get(first["id"])
    assert kept is not None and kept.provider_order_id == first["provider_order_id"]
    unresolved = await gateway.call("GET", "/v1/admin/orders/unresolved", "ops")
    assert second.body["id"] in [o["id"] for o in unresolved.body["data"]]
