"""Tenant webhooks out: signed (Standard Webhooks), retried on schedule, ordered, never lost."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from gateway.clock import unstamp
from gateway.sandbox import Faults, Outcome, Status
from gateway.state import DATABASE, DISPATCHER, RECONCILER
from tests.conftest import Endpoint, Gateway, GatewayFactory

EndpointFactory = Callable[..., Awaitable[Endpoint]]
NO_JITTER = {"jitter": 0}


async def subscribe(gateway: Gateway, tenant: str = "shop", **body: Any) -> dict[str, Any]:
    answer = await gateway.call("POST", "/v1/subscriptions", tenant, json=body)
    assert answer.status == 201, answer.body
    return answer.body  # type: ignore[no-any-return]


async def messages(gateway: Gateway) -> list[dict[str, Any]]:
    return await gateway.app[DATABASE].fetch("SELECT * FROM messages ORDER BY ordering")


async def test_events_are_signed_so_the_standardwebhooks_library_verifies_them(
    gateway: Gateway, endpoint_factory: EndpointFactory
) -> None:
    endpoint = await endpoint_factory()
    subscription = await subscribe(gateway, url=endpoint.url)
    assert subscription["secret"].startswith("whsec_")
    placed = (await gateway.place(item_id=1001, quantity=2)).body
    await gateway.app[DISPATCHER].run_due()
    await gateway.provider.sandbox.advance(10)
    await gateway.app[DISPATCHER].run_due()
    assert endpoint.events() == [
        ("order.accepted", placed["id"]),
        ("order.completed", placed["id"]),
    ]
    for hook in endpoint.hooks:
        payload = hook.verify(subscription["secret"], gateway.provider.clock)
        assert payload["type"].startswith("order.") and payload["timestamp"]
        assert hook.headers["webhook-id"].startswith("msg_")
    completed = endpoint.hooks[1].json["data"]
    assert completed["status"] == "completed" and len(completed["codes"]) == 2
    assert completed["price"] == "19.80"  # money as decimal strings
    with pytest.raises(Exception, match="signature"):
        endpoint.hooks[0].verify("whsec_" + "A" * 32, gateway.provider.clock)


async def test_codes_go_only_to_the_owning_tenant(
    gateway: Gateway, endpoint_factory: EndpointFactory
) -> None:
    own, watcher = await endpoint_factory(), await endpoint_factory()
    await subscribe(gateway, url=own.url)
    await subscribe(gateway, "watch", url=watcher.url, scope="account:main")
    await gateway.place(item_id=1001)
    await gateway.provider.sandbox.advance(10)
    await gateway.app[DISPATCHER].run_due()
    assert len(own.hooks[-1].json["data"]["codes"]) == 1
    assert watcher.hooks[-1].json["data"]["codes"] is None
    assert [h.json["type"] for h in watcher.hooks] == ["order.accepted", "order.completed"]


async def test_event_type_filter(gateway: Gateway, endpoint_factory: EndpointFactory) -> None:
    endpoint = await endpoint_factory()
    await subscribe(gateway, url=endpoint.url, event_types=["order.failed"])
    gateway.provider.sandbox.script("main", [Outcome(Status.COMPLETED), Outcome(Status.FAILED)])
    await gateway.place(item_id=1001)
    failed = (await gateway.place(item_id=1001)).body
    await gateway.provider.sandbox.advance(10)
    await gateway.app[DISPATCHER].run_due()
    assert endpoint.events() == [("order.failed", failed["id"])]


async def test_the_retry_schedule_with_an_injected_clock(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(
        webhooks={"retry_schedule_seconds": [5, 300, 1800], **NO_JITTER}, plugins={}
    )
    endpoint = await endpoint_factory([500])
    await subscribe(gateway, url=endpoint.url, event_types=["order.accepted"])
    await gateway.place(item_id=1001)
    dispatcher = gateway.app[DISPATCHER]
    start = gateway.provider.clock.now()
    assert await dispatcher.run_due() == 1  # at once
    for offset in [5, 305, 2105]:  # then 5 s, 5 min and 30 min after each failure
        gateway.provider.clock.set(start + timedelta(seconds=offset) - timedelta(seconds=1))
        assert await dispatcher.run_due() == 0  # not a second early
        gateway.provider.clock.set(start + timedelta(seconds=offset))
        assert await dispatcher.run_due() == 1
    (message,) = await messages(gateway)
    assert message["state"] == "failed" and message["attempts"] == 4
    gateway.provider.clock.advance(10**6)
    assert await dispatcher.run_due() == 0  # dead-lettered: no fifth attempt
    log = (
        await gateway.call("GET", f"/v1/subscriptions/{message['subscription_id']}/deliveries")
    ).body
    assert [e["attempt"] for e in log["data"]] == [4, 3, 2, 1]
    assert {e["status_code"] for e in log["data"]} == {500}
    assert log["data"][0]["response_excerpt"] == "answered 500"


async def test_the_default_schedule_is_eight_attempts_over_about_a_day() -> None:
    from gateway.config import WebhooksConfig

    schedule = WebhooksConfig().retry_schedule_seconds
    assert len(schedule) + 1 == 8
    assert 20 * 3600 <= sum(schedule) <= 30 * 3600


async def test_jitter_spreads_retries(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks={"retry_schedule_seconds": [100], "jitter": 0.2})
    endpoint = await endpoint_factory([500])
    await subscribe(gateway, url=endpoint.url, event_types=["order.accepted"])
    for _ in range(5):
        await gateway.place(item_id=1001)
    await gateway.app[DISPATCHER].run_due()
    now = gateway.provider.clock.now()
    delays = {
        (unstamp(m["next_attempt_at"]) - now).total_seconds() for m in await messages(gateway)
    }
    assert all(80 <= d <= 120 for d in delays) and len(delays) > 1


async def test_retry_after_is_honoured(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks={"retry_schedule_seconds": [5], **NO_JITTER})
    endpoint = await endpoint_factory([503, 200])
    endpoint.headers["Retry-After"] = "120"
    await subscribe(gateway, url=endpoint.url, event_types=["order.accepted"])
    await gateway.place(item_id=1001)
    await gateway.app[DISPATCHER].run_due()
    gateway.provider.clock.advance(60)
    assert await gateway.app[DISPATCHER].run_due() == 0
    gateway.provider.clock.advance(60)
    assert await gateway.app[DISPATCHER].run_due() == 1
    assert (await messages(gateway))[0]["state"] == "delivered"


async def test_410_disables_the_endpoint_and_tells_the_plugins(
    gateway: Gateway, endpoint_factory: EndpointFactory
) -> None:
    endpoint = await endpoint_factory([410])
    subscription = await subscribe(gateway, url=endpoint.url)
    await gateway.place(item_id=1001)
    await gateway.app[DISPATCHER].run_due()
    await gateway.place(item_id=1001)
    await gateway.app[DISPATCHER].run_due()
    assert len(endpoint.hooks) == 1  # nothing more goes to a disabled endpoint
    seen = (await gateway.call("GET", f"/v1/subscriptions/{subscription['id']}")).body
    assert seen["state"] == "disabled" and "410" in seen["disabled_reason"]
    audit = (await gateway.call("GET", "/v1/audit?decision=delivery_exhausted", "ops")).body
    assert audit["data"][0]["details"]["subscription_id"] == subscription["id"]
    endpoint.statuses[:] = [200]
    again = await gateway.call(
        "PATCH", f"/v1/subscriptions/{subscription['id']}", json={"state": "active"}
    )
    assert again.body["state"] == "active"
    await gateway.app[DISPATCHER].run_due()
    assert len(endpoint.hooks) == 2  # the waiting message goes once re-enabled


async def test_a_subscriber_down_and_back_up_gets_everything_in_order(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks={"retry_schedule_seconds": [5, 5, 5, 5], **NO_JITTER})
    endpoint = await endpoint_factory([503])
    await subscribe(gateway, url=endpoint.url)
    ids = [(await gateway.place(item_id=1001)).body["id"] for _ in range(3)]
    dispatcher = gateway.app[DISPATCHER]
    await dispatcher.run_due()
    await gateway.provider.sandbox.advance(10)  # completed while the endpoint is down
    await dispatcher.run_due()
    endpoint.statuses[:] = [200]  # back up
    gateway.provider.clock.advance(5)
    await dispatcher.run_due()
    gateway.provider.clock.advance(5)
    await dispatcher.run_due()
    delivered = endpoint.events()
    assert all(m["state"] == "delivered" for m in await messages(gateway))
    for order_id in ids:
        successes = [e for e in delivered if e[1] == order_id]
        assert successes[-2:] == [("order.accepted", order_id), ("order.completed", order_id)]
        first_completed = next(
            i for i, e in enumerate(delivered) if e == ("order.completed", order_id)
        )
        first_accepted = next(
            i for i, e in enumerate(delivered) if e == ("order.accepted", order_id)
        )
        assert first_accepted < first_completed  # never the completion before the acceptance


async def test_a_slow_endpoint_does_not_delay_a_healthy_one(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(
        webhooks={"per_endpoint_concurrency": 2, "attempt_timeout_seconds": 30}
    )
    slow = await endpoint_factory(slow=True)
    healthy = await endpoint_factory()
    await subscribe(gateway, url=slow.url)
    await subscribe(gateway, url=healthy.url)
    worker = asyncio.create_task(gateway.app[DISPATCHER].run_forever())
    try:
        for _ in range(6):
            await gateway.place(item_id=1001)
        await healthy.wait_for(6)  # all six while the slow endpoint holds its first two
        assert slow.hooks == []
        slow.release.set()
        await slow.wait_for(6)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks={"secret_overlap_hours": 1})
    endpoint = await endpoint_factory()
    first = await subscribe(gateway, url=endpoint.url)
    rotated = (await gateway.call("POST", f"/v1/subscriptions/{first['id']}/rotate-secret")).body
    assert rotated["secret"] != first["secret"] and rotated["previous_secret_expires_at"]
    await gateway.call("POST", f"/v1/subscriptions/{first['id']}/test")
    await gateway.app[DISPATCHER].run_due()
    ping = endpoint.hooks[0]
    assert ping.json["type"] == "ping"
    assert len(ping.headers["webhook-signature"].split(" ")) == 2
    ping.verify(first["secret"], gateway.provider.clock)
    ping.verify(rotated["secret"], gateway.provider.clock)
    gateway.provider.clock.advance(3601)
    await gateway.call("POST", f"/v1/subscriptions/{first['id']}/test")
    await gateway.app[DISPATCHER].run_due()
    assert len(endpoint.hooks[1].headers["webhook-signature"].split(" ")) == 1
    assert "secret" not in (await gateway.call("GET", f"/v1/subscriptions/{first['id']}")).body


async def test_replays_one_message_an_order_and_failures_since(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks={"retry_schedule_seconds": [1], **NO_JITTER})
    endpoint = await endpoint_factory([500])
    subscription = await subscribe(gateway, url=endpoint.url, event_types=["order.accepted"])
    placed = [(await gateway.place(item_id=1001)).body["id"] for _ in range(2)]
    dispatcher = gateway.app[DISPATCHER]
    await dispatcher.run_due()
    gateway.provider.clock.advance(1)
    await dispatcher.run_due()
    assert {m["state"] for m in await messages(gateway)} == {"failed"}
    endpoint.statuses[:] = [200]
    one = (await messages(gateway))[0]["id"]
    base = f"/v1/subscriptions/{subscription['id']}"
    assert (await gateway.call("POST", f"{base}/deliveries/{one}/replay")).status == 202
    await dispatcher.run_due()
    assert [m["state"] for m in await messages(gateway)] == ["delivered", "failed"]
    since = (gateway.provider.clock.now() - timedelta(hours=1)).isoformat()
    replayed = await gateway.call("POST", f"{base}/replay", json={"since": since})
    assert replayed.body == {"replayed": 1}
    await dispatcher.run_due()
    again = await gateway.call("POST", f"/v1/orders/{placed[0]}/replay-events")
    assert again.body == {"replayed": 1}
    await dispatcher.run_due()
    # two failed attempts, the message replay, the order replay: one webhook-id throughout
    assert [h.headers["webhook-id"] for h in endpoint.hooks].count(one) == 4
    assert (
        await gateway.call("POST", f"/v1/orders/{placed[0]}/replay-events", "games")
    ).status == 404


async def test_an_endpoint_failing_too_long_is_disabled(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(
        webhooks={
            "retry_schedule_seconds": [600, 600, 600],
            "disable_after_hours": 0.25,
            **NO_JITTER,
        }
    )
    endpoint = await endpoint_factory([500])
    subscription = await subscribe(gateway, url=endpoint.url, event_types=["order.accepted"])
    await gateway.place(item_id=1001)
    dispatcher = gateway.app[DISPATCHER]
    await dispatcher.run_due()
    gateway.provider.clock.advance(600)
    await dispatcher.run_due()
    assert (await gateway.call("GET", f"/v1/subscriptions/{subscription['id']}")).body[
        "state"
    ] == "active"
    gateway.provider.clock.advance(600)
    await dispatcher.run_due()  # failing for 20 min > 15 min
    seen = (await gateway.call("GET", f"/v1/subscriptions/{subscription['id']}")).body
    assert seen["state"] == "disabled" and "failing since" in seen["disabled_reason"]


async def test_a_gateway_restart_delivers_what_was_pending(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    first = await make_gateway(webhooks={"retry_schedule_seconds": [5], **NO_JITTER})
    endpoint = await endpoint_factory([500])
    await subscribe(first, url=endpoint.url)
    placed = (await first.place(item_id=1001)).body
    await first.app[DISPATCHER].run_due()  # one failed attempt: pending, retry in 5 s
    first.provider.clock.advance(5)
    claimed = await first.app[DISPATCHER].claim(10)  # the retry is claimed; then the process dies
    assert [row["state"] for row in claimed] == ["pending"] and len(await messages(first)) == 1
    await first.server.close()
    await first.http.close()
    endpoint.statuses[:] = [200]
    second = await make_gateway(webhooks={"retry_schedule_seconds": [5], **NO_JITTER})
    await second.provider.sandbox.advance(10)  # completed; the webhook reaches the new gateway
    await second.app[DISPATCHER].run_due()
    # only the first, failed attempt so far: the completion waits behind the claimed acceptance
    assert endpoint.events() == [("order.accepted", placed["id"])]
    second.provider.clock.advance(60)  # past the dead process's lease
    await second.app[DISPATCHER].run_due()
    assert endpoint.events()[1:] == [
        ("order.accepted", placed["id"]),
        ("order.completed", placed["id"]),
    ]
    assert {m["state"] for m in await messages(second)} == {"delivered"}


async def test_two_gateways_on_one_postgresql_deliver_each_message_once(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory, storage_url: str
) -> None:
    if not storage_url.startswith("postgresql"):
        pytest.skip("several gateway processes share PostgreSQL; SQLite is one process's store")
    one = await make_gateway()
    two = await make_gateway()  # same database, its own pool and dispatcher
    endpoint = await endpoint_factory()
    await subscribe(one, url=endpoint.url)
    for gateway in (one, two) * 15:
        await gateway.place(item_id=1001)
    workers = [asyncio.create_task(g.app[DISPATCHER].run_forever()) for g in (one, two)]
    try:
        await endpoint.wait_for(30)
        async with asyncio.timeout(5):  # both workers record their attempts, then fall idle
            # two independent workers: the shared table is the only thing to watch
            while await one.app[DATABASE].fetchrow(  # noqa: ASYNC110
                "SELECT 1 AS open FROM messages WHERE state != 'delivered' LIMIT 1"
            ):
                await asyncio.sleep(0.01)
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    ids = [h.headers["webhook-id"] for h in endpoint.hooks]
    assert len(ids) == 30 and len(set(ids)) == 30
    attempts = await one.app[DATABASE].fetch("SELECT message_id FROM delivery_attempts")
    assert len(attempts) == 30


async def test_reconciliation_settles_an_order_whose_webhook_was_lost(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks={"reconcile_after_seconds": 300})
    endpoint = await endpoint_factory()
    await subscribe(gateway, url=endpoint.url)
    gateway.provider.sandbox.set_faults("main", Faults(drop_webhook_rate=1.0))
    placed = (await gateway.place(item_id=1001)).body
    await gateway.provider.sandbox.advance(10)  # completed, webhook lost
    reconciler = gateway.app[RECONCILER]
    assert (await reconciler.run_once())["read"] == 0  # not stale yet
    gateway.provider.clock.advance(300)
    counts = await reconciler.run_once()
    assert counts["settled"] == 1
    await gateway.app[DISPATCHER].run_due()
    assert endpoint.events()[-1] == ("order.completed", placed["id"])
    stored = await gateway.app[DATABASE].fetchrow(
        "SELECT status FROM orders WHERE id = $1", placed["id"]
    )
    assert stored is not None and stored["status"] == "completed"


async def test_a_dead_endpoints_waiting_messages_do_not_hold_up_other_tenants(
    gateway: Gateway, endpoint_factory: EndpointFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.outbox import queue

    monkeypatch.setattr(queue, "WINDOW", 5)  # the claim looks at 5 due messages at a time
    dead = await endpoint_factory(statuses=[503])
    await subscribe(gateway, url=dead.url)
    for _ in range(6):
        await gateway.place(item_id=1001)
    await gateway.app[DISPATCHER].run_due()  # the accepted events fail: retried later
    await gateway.provider.sandbox.advance(10)  # completed events wait behind them
    healthy = await endpoint_factory()
    await subscribe(gateway, "games", url=healthy.url)
    placed = (await gateway.place("games", item_id=1001)).body
    await gateway.app[DISPATCHER].run_due()
    assert healthy.events() == [("order.accepted", placed["id"])]
    rows = await messages(gateway)
    waiting = [r for r in rows if r["event_type"] == "order.completed" and r["tenant"] == "shop"]
    accepted = [r for r in rows if r["event_type"] == "order.accepted" and r["tenant"] == "shop"]
    assert len(waiting) == 6 and all(r["state"] == "pending" for r in waiting)
    # not due before the retry of the message each waits behind
    retry_at = min(unstamp(r["next_attempt_at"]) for r in accepted)
    assert all(unstamp(r["next_attempt_at"]) >= retry_at for r in waiting)
