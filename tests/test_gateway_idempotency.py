"""Idempotency-Key: replay, mismatch, in-flight; concurrent duplicates reach the provider once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

from gateway.clock import stamp
from gateway.domain import OrderRecord, OrderStatus, PlaceRequest
from gateway.orders.instances import STALE_AFTER
from gateway.orders.intents import request_hash
from gateway.sandbox import Faults
from gateway.state import DATABASE, LEDGER
from tests.conftest import Gateway


async def place(gateway: Gateway, key: str, tenant: str = "shop", **body: object) -> object:
    return await gateway.call(
        "POST", "/v1/orders", tenant, json=body, headers={"Idempotency-Key": key}
    )


async def test_same_key_replays_the_first_response(gateway: Gateway) -> None:
    first = await gateway.call(
        "POST", "/v1/orders", json={"item_id": 1001}, headers={"Idempotency-Key": "k-1"}
    )
    again = await gateway.call(
        "POST", "/v1/orders", json={"item_id": 1001}, headers={"Idempotency-Key": "k-1"}
    )
    assert (first.status, again.status) == (201, 201)
    assert again.body == first.body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(gateway.provider.sandbox.orders) == 1


async def test_same_key_with_another_body_is_422(gateway: Gateway) -> None:
    headers = {"Idempotency-Key": "k-2"}
    await gateway.call("POST", "/v1/orders", json={"item_id": 1001}, headers=headers)
    other = await gateway.call(
        "POST", "/v1/orders", json={"item_id": 1001, "quantity": 3}, headers=headers
    )
    assert other.status == 422 and other.body["error"]["code"] == "idempotency_key_reused"
    assert len(gateway.provider.sandbox.orders) == 1


async def test_keys_belong_to_their_tenant(gateway: Gateway) -> None:
    headers = {"Idempotency-Key": "shared"}
    shop = await gateway.call("POST", "/v1/orders", "shop", json={"item_id": 1001}, headers=headers)
    games = await gateway.call(
        "POST", "/v1/orders", "games", json={"item_id": 1001}, headers=headers
    )
    assert (shop.status, games.status) == (201, 201)
    assert shop.body["id"] != games.body["id"]


async def test_fifty_concurrent_identical_requests_make_one_provider_order(
    gateway: Gateway,
) -> None:
    gateway.provider.sandbox.set_faults("main", Faults(latency_ms=50))
    headers = {"Idempotency-Key": "burst"}
    answers = await asyncio.gather(
        *(
            gateway.call("POST", "/v1/orders", json={"item_id": 1001}, headers=headers)
            for _ in range(50)
        )
    )
    assert len(gateway.provider.sandbox.orders) == 1
    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= 1
    ids = {a.body["id"] for a in answers if a.status == 201}
    assert len(ids) == 1
    busy = [a for a in answers if a.status == 409]
    assert all(a.body["error"]["code"] == "idempotency_key_in_use" for a in busy)
    assert all(a.headers["Retry-After"] == "1" for a in busy)
    later = await gateway.call("POST", "/v1/orders", json={"item_id": 1001}, headers=headers)
    assert later.status == 201 and later.body["id"] in ids


async def test_a_refusal_is_replayed_too(gateway: Gateway) -> None:
    headers = {"Idempotency-Key": "bad-item"}
    first = await gateway.call("POST", "/v1/orders", json={"item_id": 999999}, headers=headers)
    again = await gateway.call("POST", "/v1/orders", json={"item_id": 999999}, headers=headers)
    assert first.status == again.status == 422
    assert again.body["error"]["code"] == first.body["error"]["code"]
    assert again.body["error"]["message"] == first.body["error"]["message"]
    assert again.body["error"]["request_id"] == again.headers["X-Request-Id"]


async def test_a_retryable_failure_is_not_stored(gateway: Gateway) -> None:
    headers = {"Idempotency-Key": "busy"}
    gateway.provider.sandbox.set_faults("main", Faults(rate_limit_rate=1.0, retry_after=3))
    busy = await gateway.call("POST", "/v1/orders", json={"item_id": 1001}, headers=headers)
    assert busy.status == 503 and busy.headers["Retry-After"] == "3"
    gateway.provider.sandbox.set_faults("main", Faults())
    placed = await gateway.call("POST", "/v1/orders", json={"item_id": 1001}, headers=headers)
    assert placed.status == 201
    assert len(gateway.provider.sandbox.orders) == 1


async def test_bad_idempotency_keys_are_refused(gateway: Gateway) -> None:
    answer = await gateway.call(
        "POST", "/v1/orders", json={"item_id": 1001}, headers={"Idempotency-Key": "x" * 256}
    )
    assert answer.status == 400
    assert answer.body["error"]["details"]["field"] == "Idempotency-Key"


async def test_keys_expire_after_the_configured_period(gateway: Gateway) -> None:
    headers = {"Idempotency-Key": "old"}
    first = await gateway.call("POST", "/v1/orders", json={"item_id": 1001}, headers=headers)
    gateway.provider.clock.advance(24 * 3600 + 1)
    second = await gateway.call("POST", "/v1/orders", json={"item_id": 1001}, headers=headers)
    assert (first.status, second.status) == (201, 201)
    assert first.body["id"] != second.body["id"]


async def another_process(gateway: Gateway) -> str:
    """A second gateway process on the same database, alive as of now (its heartbeat)."""
    now = stamp(gateway.provider.clock.now())
    await gateway.app[DATABASE].execute(
        "INSERT INTO gateway_instances (id, pid, host, started_at, seen_at)"
        " VALUES ('gwi_other', 1, 'elsewhere', $1, $1)",
        now,
    )
    return "gwi_other"


async def test_a_key_left_in_flight_by_a_dead_process_answers_with_its_order_in_seconds(
    gateway: Gateway,
) -> None:
    """A crash after the intent was written: the retry gets that order, never a second one."""
    ledger = gateway.app[LEDGER]
    other = await another_process(gateway)
    digest = request_hash("main", PlaceRequest(1001, None, None, {}, None))
    await ledger.claim_key("shop", "crashed", digest, timedelta(hours=24), other)
    now = gateway.provider.clock.now()
    intent = OrderRecord(
        id=str(uuid.uuid4()), reference="gw_" + uuid.uuid4().hex, tenant="shop", account="main",
        merchant_order_id=None, request_hash=digest, item_id=1001, quantity=None, fields={},
        currency="EUR", status=OrderStatus.UNKNOWN, created_at=now, updated_at=now, owner=other,
    )  # fmt: skip
    assert await ledger.record_intent(intent) is None
    await ledger.attach_key("shop", "crashed", intent.id)
    headers = {"Idempotency-Key": "crashed"}
    busy = await gateway.call("POST", "/v1/orders", json={"item_id": 1001}, headers=headers)
    assert busy.status == 409  # its process is alive: the request may still be running
    gateway.provider.clock.advance(STALE_AFTER.total_seconds() + 1)  # it stopped beating
    answer = await gateway.call("POST", "/v1/orders", json={"item_id": 1001}, headers=headers)
    assert answer.status == 202 and answer.body["id"] == intent.id
    assert answer.body["status"] == "unknown"
    assert gateway.provider.sandbox.orders == {}  # not placed again


async def test_a_key_left_in_flight_before_any_intent_runs_afresh(gateway: Gateway) -> None:
    ledger = gateway.app[LEDGER]
    other = await another_process(gateway)
    digest = request_hash("main", PlaceRequest(1001, None, None, {}, None))
    await ledger.claim_key("shop", "early", digest, timedelta(hours=24), other)
    gateway.provider.clock.advance(STALE_AFTER.total_seconds() + 1)
    headers = {"Idempotency-Key": "early"}
    answer = await gateway.call("POST", "/v1/orders", json={"item_id": 1001}, headers=headers)
    assert answer.status == 201 and answer.body["status"] == "pending"
    assert len(gateway.provider.sandbox.orders) == 1


async def test_a_key_of_a_cleanly_stopped_process_is_taken_over_at_once(
    gateway: Gateway,
) -> None:
    ledger = gateway.app[LEDGER]
    digest = request_hash("main", PlaceRequest(1001, None, None, {}, None))
    await ledger.claim_key("shop", "stopped", digest, timedelta(hours=24), "gwi_retired")
    headers = {"Idempotency-Key": "stopped"}
    answer = await gateway.call("POST", "/v1/orders", json={"item_id": 1001}, headers=headers)
    assert answer.status == 201
