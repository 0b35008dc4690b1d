"""Retention: every kind of row past its retention is deleted, in batches, and nothing else.

Time moves on the manual clock; a turn of housekeeping is `HOUSEKEEPING.run_once()`, as
the gateway's background loop runs it every few minutes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from order_gateway_plugins import audit, limits

from gateway.config import ConfigError
from gateway.hooks.host import PluginHost
from gateway.orders import keys
from gateway.retention import _OLD_DECISIONS, _OLD_EVENTS, _OLD_KEYS, _OLD_MESSAGES
from gateway.state import DATABASE, DISPATCHER, HOUSEKEEPING, LEDGER, PLUGINS
from gateway.storage import Database, Transaction
from gateway.storage.sweep import Swept
from gateway.testing import TOKENS, gateway_config
from tests.conftest import Endpoint, Gateway, GatewayFactory

EndpointFactory = Callable[..., Awaitable[Endpoint]]
HOUR, DAY = 3600, 24 * 3600
BUDGETS = {"shop": {"EUR": {"daily": "1000.00", "monthly": "5000.00"}}}


async def count(db: Database, table: str, where: str = "TRUE") -> int:
    row = await db.fetchrow(f"SELECT count(*) AS n FROM {table} WHERE {where}")
    assert row is not None
    return int(row["n"])


def plugin(gateway: Gateway, name: str) -> Any:
    return next(p.instance for p in gateway.app[PLUGINS].plugins if p.name == name)


async def sweep(gateway: Gateway) -> dict[str, Swept]:
    """One housekeeping turn, with every audit record queued so far written first."""
    await plugin(gateway, "audit").flush()
    await gateway.app[PLUGINS].decisions.flush()
    return await gateway.app[HOUSEKEEPING].run_once()


async def raw_place(gateway: Gateway, key: str, **body: Any) -> tuple[int, bytes]:
    """A place-order's status and the very bytes of its answer."""
    headers = {"Authorization": f"Bearer {TOKENS['shop']}", "Idempotency-Key": key}
    async with gateway.http.post(gateway.url + "/v1/orders", json=body, headers=headers) as r:
        return r.status, await r.read()


async def subscribe(gateway: Gateway, url: str, tenant: str = "shop") -> str:
    body = {"url": url, "event_types": ["order.accepted"]}
    answer = await gateway.call("POST", "/v1/subscriptions", tenant, json=body)
    assert answer.status == 201, answer.body
    return str(answer.body["id"])


# --- idempotency keys ---------------------------------------------------------------------


async def test_keys_past_their_ttl_are_deleted_and_keys_within_it_stay(gateway: Gateway) -> None:
    clock, db = gateway.provider.clock, gateway.app[DATABASE]
    early = await gateway.call("POST", "/v1/orders", json={"item_id": 1001},
                               headers={"Idempotency-Key": "early"})  # fmt: skip
    clock.advance(23 * HOUR)
    late_status, late = await raw_place(gateway, "late", item_id=1001)
    clock.advance(HOUR - 1)  # `early` is 24 h old less a second: it still replays
    assert (await sweep(gateway))["idempotency_keys"].rows == 0
    clock.advance(2)
    assert (await sweep(gateway))["idempotency_keys"] == Swept(1, 1)
    assert [r["idem_key"] for r in await db.fetch("SELECT idem_key FROM idempotency_keys")] == [
        "late"
    ]
    assert (await raw_place(gateway, "late", item_id=1001)) == (late_status, late)
    again = await gateway.call("POST", "/v1/orders", json={"item_id": 1001},
                               headers={"Idempotency-Key": "early"})  # fmt: skip
    assert again.status == 201 and again.body["id"] != early.body["id"]  # afresh, as before
    assert await count(db, "orders") == 3  # the orders themselves stay


async def test_a_key_stores_only_what_its_order_cannot_give_and_replays_byte_for_byte(
    gateway: Gateway,
) -> None:
    """The first answer again, though the order completed meanwhile; fields sent in an
    order other than the order row's own are kept as sent."""
    ledger, db = gateway.app[LEDGER], gateway.app[DATABASE]
    body = {"item_id": 2001, "quantity": 10, "fields": {"region": 1, "player_id": "p-1"}}
    first = await raw_place(gateway, "k-topup", **body)
    plain = await raw_place(gateway, "k-card", item_id=1001, quantity=2)
    await gateway.provider.sandbox.advance(10)  # both complete, with codes
    for key, answer, order_body in (("k-topup", first, body), ("k-card", plain, None)):
        status, raw = answer
        assert status == 201 and json.loads(raw)["status"] == "pending"
        again = await raw_place(gateway, key, **(order_body or {"item_id": 1001, "quantity": 2}))
        assert again == answer
    rows = await db.fetch("SELECT idem_key, response_body FROM idempotency_keys")
    stored = {r["idem_key"]: r["response_body"] for r in rows}
    kept = {key: json.loads(ledger.sealer.open(value)) for key, value in stored.items()}
    assert set(kept["k-card"]) == {
        "provider_order_id", "item_name", "product_type", "quantity", "price", "status",
    }  # fmt: skip
    assert kept["k-card"]["status"] == "pending"
    assert kept["k-topup"]["fields"] == {"region": 1, "player_id": "p-1"}
    assert len(stored["k-card"]) < len(ledger.sealer.seal(plain[1].decode())) / 2

    # an answer with codes, and one that is no order, are kept as they were
    order = (await gateway.call("GET", f"/v1/orders/{json.loads(plain[1])['id']}")).body
    assert order["status"] == "completed" and len(order["codes"]) == 2
    refusal = {"error": {"code": "invalid_field", "message": "no", "details": None}}
    for key, answer, order_id in (("k-final", order, order["id"]), ("k-no", refusal, None)):
        await ledger.claim_key("shop", key, "hash", timedelta(hours=24), "gwi_test")
        await ledger.finish_key("shop", key, 201, answer, order_id)
        claim = await ledger.claim_key("shop", key, "hash", timedelta(hours=24), "gwi_test")
        assert claim.outcome is keys.Claim.REPLAY
        assert json.dumps(claim.body) == json.dumps(answer)


# --- provider events ----------------------------------------------------------------------


async def test_provider_events_are_deleted_after_thirty_days(gateway: Gateway) -> None:
    clock, db = gateway.provider.clock, gateway.app[DATABASE]
    placed = (await gateway.place(item_id=1001)).body
    await gateway.provider.sandbox.advance(10)  # fulfilled: its webhook is stored
    assert await count(db, "provider_events") == 1
    clock.advance(30 * DAY - 60)
    assert (await sweep(gateway))["provider_events"].rows == 0
    assert await count(db, "provider_events") == 1
    clock.advance(120)
    assert (await sweep(gateway))["provider_events"] == Swept(1, 1)
    assert await count(db, "provider_events") == 0
    order = (await gateway.call("GET", f"/v1/orders/{placed['id']}")).body
    assert order["status"] == "completed" and len(order["codes"]) == 1


# --- the outbox ---------------------------------------------------------------------------


async def test_delivered_and_cancelled_messages_go_with_their_attempts_failed_and_pending_stay(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks={"retry_schedule_seconds": [1], "jitter": 0})
    clock, db = gateway.provider.clock, gateway.app[DATABASE]
    delivered = await subscribe(gateway, (await endpoint_factory([200])).url)
    failed = await subscribe(gateway, (await endpoint_factory([500])).url)
    cancelled = await subscribe(gateway, (await endpoint_factory([200])).url)
    pending = await subscribe(gateway, (await endpoint_factory([200])).url)
    paused = await gateway.call("PATCH", f"/v1/subscriptions/{pending}", json={"state": "disabled"})
    assert paused.status == 200
    await gateway.place(item_id=1001)
    assert (await gateway.call("DELETE", f"/v1/subscriptions/{cancelled}")).status == 204
    await gateway.app[DISPATCHER].run_due()
    clock.advance(1)
    await gateway.app[DISPATCHER].run_due()  # the second and last attempt fails too

    async def states() -> dict[str, tuple[str, int]]:
        rows = await db.fetch(
            "SELECT m.subscription_id, m.state, (SELECT count(*) FROM delivery_attempts a"
            " WHERE a.message_id = m.id) AS attempts FROM messages m"
        )
        return {r["subscription_id"]: (r["state"], int(r["attempts"])) for r in rows}

    before = {
        delivered: ("delivered", 1), failed: ("failed", 2), cancelled: ("cancelled", 0),
        pending: ("pending", 0),
    }  # fmt: skip
    assert await states() == before
    clock.advance(30 * DAY - 60)
    swept = await sweep(gateway)
    assert (swept["messages"].rows, swept["delivery_attempts"].rows) == (0, 0)
    assert await states() == before
    clock.advance(120)
    swept = await sweep(gateway)
    assert (swept["messages"].rows, swept["delivery_attempts"].rows) == (2, 1)
    assert await states() == {failed: ("failed", 2), pending: ("pending", 0)}
    assert await count(db, "delivery_attempts") == 2


async def test_a_message_replayed_since_it_was_delivered_is_kept(
    gateway: Gateway, endpoint_factory: EndpointFactory
) -> None:
    clock, db = gateway.provider.clock, gateway.app[DATABASE]
    await subscribe(gateway, (await endpoint_factory([200])).url)
    placed = (await gateway.place(item_id=1001)).body
    await gateway.app[DISPATCHER].run_due()
    clock.advance(6 * DAY)  # within the week its payload is kept: it can be sent again
    replay = await gateway.call("POST", f"/v1/orders/{placed['id']}/replay-events")
    assert replay.body == {"replayed": 1}
    await gateway.app[DISPATCHER].run_due()
    clock.advance(30 * DAY - 6 * DAY + 60)  # 30 days after the first delivery
    assert (await sweep(gateway))["messages"].rows == 0
    assert await count(db, "messages", "state = 'delivered'") == 1
    assert await count(db, "delivery_attempts") == 2


# --- the plugins' rows --------------------------------------------------------------------


async def test_audit_records_are_deleted_after_the_plugins_retention(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(plugins={"audit": {"retention_days": 2}})
    clock, db = gateway.provider.clock, gateway.app[DATABASE]
    old = (await gateway.place(item_id=1001)).body["id"]
    clock.advance(DAY)
    new = (await gateway.place(item_id=1001)).body["id"]
    clock.advance(DAY - 1)
    await sweep(gateway)
    placed = "decision = 'accepted'"
    assert await count(db, "audit_records", placed) == 2
    clock.advance(2)
    await sweep(gateway)
    assert [r["order_id"] for r in await db.fetch("SELECT order_id FROM audit_records")] == [new]
    assert old != new


async def test_settled_reservations_and_past_spend_go_open_reservations_stay(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(plugins={"limits": {"budgets": BUDGETS, "retention_days": 32}})
    clock, db = gateway.provider.clock, gateway.app[DATABASE]
    settled = (await gateway.place(item_id=1001)).body["id"]
    await gateway.provider.sandbox.advance(10)  # completed: its reservation is final
    still_open = (await gateway.place(item_id=1001)).body["id"]  # pending, never settled

    async def reservations() -> dict[str, str]:
        rows = await db.fetch("SELECT order_id, state FROM limits_reservations")
        return {r["order_id"]: r["state"] for r in rows}

    async def periods() -> list[str]:
        rows = await db.fetch("SELECT period FROM limits_spend ORDER BY period")
        return [r["period"] for r in rows]

    assert await reservations() == {settled: "final", still_open: "placed"}
    clock.advance(32 * DAY - 60)
    await sweep(gateway)
    assert await reservations() == {settled: "final", still_open: "placed"}
    assert await periods() == ["D:2026-03-11", "M:2026-03"]
    clock.advance(120)  # 32 days: its day and month are over, and its settlement done
    await sweep(gateway)
    assert await reservations() == {still_open: "placed"}
    assert await periods() == ["D:2026-03-11", "M:2026-03"]  # the cut-off is on that day
    clock.advance(DAY)
    await sweep(gateway)
    assert await periods() == ["M:2026-03"]  # the cut-off is in March: March stays
    clock.advance(31 * DAY)
    await sweep(gateway)
    assert await periods() == []
    assert await reservations() == {still_open: "placed"}


# --- batches, and what is left alone ------------------------------------------------------


async def test_every_kind_is_deleted_a_batch_at_a_time(
    make_gateway: GatewayFactory,
    endpoint_factory: EndpointFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway = await make_gateway(retention_batch_rows=2, plugins={"limits": {"budgets": BUDGETS}})
    clock, db = gateway.provider.clock, gateway.app[DATABASE]
    await subscribe(gateway, (await endpoint_factory([200])).url)
    for n in range(5):
        await gateway.call("POST", "/v1/orders", json={"item_id": 1001},
                           headers={"Idempotency-Key": f"k{n}"})  # fmt: skip
    await gateway.provider.sandbox.advance(10)
    await gateway.app[DISPATCHER].run_due()
    await plugin(gateway, "audit").flush()
    # accepted, webhook, settled: 5 each; and the config's tenants applied on the first start
    assert await count(db, "audit_records") == 16

    await gateway.app[PLUGINS].decisions.flush()
    decisions = await count(db, "order_decisions")
    statements: list[tuple[str, int]] = []  # each DELETE run alone, and what it deleted
    execute = db.execute

    async def recorded(sql: str, *args: Any) -> int:
        deleted = await execute(sql, *args)
        if sql.startswith("DELETE FROM"):
            statements.append((sql.split()[2], deleted))
        return deleted

    monkeypatch.setattr(db, "execute", recorded)
    clock.advance(400 * DAY)
    swept = await sweep(gateway)
    assert swept["idempotency_keys"] == swept["provider_events"] == Swept(5, 3)
    # five messages in three transactions, then one that finds no cancelled one
    assert swept["messages"] == swept["delivery_attempts"] == Swept(5, 4)

    def runs(table: str) -> list[int]:
        return [n for name, n in statements if name == table]

    assert runs("idempotency_keys") == runs("provider_events") == [2, 2, 1]
    assert runs("audit_records") == [2] * 8 + [0]
    assert runs("limits_reservations") == [2, 2, 1]
    assert runs("limits_spend") == [1, 1]  # the day's row, then the month's
    traced = runs("order_decisions")  # each order's placement, its completion, ...
    assert sum(traced) == decisions >= 10 and set(traced[:-1]) == {2} and traced[-1] < 2
    for table in ("idempotency_keys", "provider_events", "messages", "delivery_attempts",
                  "audit_records", "limits_reservations", "limits_spend",
                  "order_decisions"):  # fmt: skip
        assert await count(db, table) == 0, table
    assert await count(db, "orders") == 5 and await count(db, "subscriptions") == 1


async def plan(db: Database, sql: str, args: tuple[Any, ...]) -> str:
    """The engine's plan; on PostgreSQL with table scans and sorts priced out, so that a
    plan that still has one has no index to use."""
    if db.engine == "sqlite":
        rows = await db.fetch("EXPLAIN QUERY PLAN " + sql, *args)
        return "\n".join(str(r["detail"]) for r in rows)

    async def explain(tx: Transaction) -> str:
        await tx.execute("SET LOCAL enable_seqscan = off")
        await tx.execute("SET LOCAL enable_sort = off")
        return "\n".join(str(r["QUERY PLAN"]) for r in await tx.fetch("EXPLAIN " + sql, *args))

    return await db.transaction(explain)


def scans_or_sorts(db: Database, text: str) -> bool:
    if db.engine == "sqlite":
        lines = text.splitlines()
        return "TEMP B-TREE" in text or any(
            line.startswith("SCAN") and "INDEX" not in line for line in lines
        )
    return "Seq Scan" in text or re.search(r"(^|->\s*)Sort\b", text, re.M) is not None


async def test_the_retention_statements_read_an_index_oldest_first(gateway: Gateway) -> None:
    db = gateway.app[DATABASE]
    now = "2026-03-11T00:00:00.000000Z"
    statements = [
        (_OLD_KEYS, (now, 500)),
        (_OLD_EVENTS, (now, 500)),
        (_OLD_DECISIONS, (now, 500)),
        (_OLD_MESSAGES, (now, "delivered", 500)),
        (audit._FORGET, (now, 500)),
        (limits._FORGET_RESERVATIONS, ("2026-03-11T00:00:00+00:00", 500)),
        (limits._FORGET_SPEND, ("D:", "D:2026-03-11", 500)),
    ]
    for sql, args in statements:
        text = await plan(db, sql, args)
        assert not scans_or_sorts(db, text), f"{sql}\n{text}"


# --- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"webhooks": {"message_retention_hours": 100}}, "webhooks.message_retention_hours"),
        ({"provider_event_retention_hours": 1}, "gateway.provider_event_retention_hours"),
        ({"retention_batch_rows": 0}, "gateway.retention_batch_rows"),
        ({"decision_retention_days": 0}, "gateway.decision_retention_days"),
        ({"plugins": {"audit": {"retention_days": 0}}}, "plugins.audit.retention_days"),
        ({"plugins": {"limits": {"retention_days": 31}}}, "plugins.limits.retention_days"),
    ],
)
def test_retention_settings_are_checked_with_the_key_named(
    options: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        config = gateway_config("http://127.0.0.1:9", "sqlite:///unused.sqlite3", **options)
        PluginHost(config.plugins)
    assert refused.value.key == key


def test_the_defaults_are_a_day_a_month_and_a_year() -> None:
    config = gateway_config("http://127.0.0.1:9", "sqlite:///unused.sqlite3")
    assert config.idempotency_ttl_hours == 24
    assert config.provider_event_retention_hours == config.webhooks.message_retention_hours == 720
    assert config.retention_batch_rows == 500
    assert config.decision_retention_days == 90
    host = PluginHost(config.plugins)
    assert plugin_of(host, "audit").retention == timedelta(days=365)
    assert plugin_of(host, "limits").retention == timedelta(days=90)


def plugin_of(host: PluginHost, name: str) -> Any:
    return next(p.instance for p in host.plugins if p.name == name)
