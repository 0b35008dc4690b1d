"""Codes at rest: sealed in every table, re-sealed under a new key, purged once delivered,
and the SQLite file readable by its owner only. On SQLite and on PostgreSQL, as stored."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import main
from gateway.config import ConfigError
from gateway.operations import rekey
from gateway.orders.sealed import SEALED
from gateway.sealing import PREFIX, Sealer, SealError, new_key, reseal_column
from gateway.state import CONFIG, DATABASE, DESK, DISPATCHER, LEDGER
from gateway.storage import Database, open_database
from gateway.testing import TEST_SEAL_KEY
from tests.conftest import Endpoint, EndpointFactory, Gateway, GatewayFactory

NEW_KEY = new_key()
# Every column that can hold a code, as (table, column).
SEALED_COLUMNS = [(table, column) for table, _, column in SEALED] + [
    ("messages", "payload"),
    ("subscriptions", "secret"),
]


async def tables(db: Database) -> list[str]:
    if db.engine == "sqlite":
        rows = await db.fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = await db.fetch(
            "SELECT table_name AS name FROM information_schema.tables"
            " WHERE table_schema = current_schema()"
        )
    return sorted(row["name"] for row in rows)


async def everything_stored(db: Database) -> str:
    """Every value of every column of every table, as one text to search."""
    values: list[str] = []
    for table in await tables(db):
        for row in await db.fetch(f"SELECT * FROM {table}"):
            values += [str(value) for value in row.values()]
    return "\n".join(values)


async def sealed_values(db: Database) -> list[str]:
    values: list[str] = []
    for table, column in SEALED_COLUMNS:
        rows = await db.fetch(f"SELECT {column} AS v FROM {table}")
        values += [row["v"] for row in rows if row["v"] and row["v"] != "[]"]
    return values


async def subscribe(gateway: Gateway, url: str) -> dict[str, Any]:
    answer = await gateway.call("POST", "/v1/subscriptions", json={"url": url})
    assert answer.status == 201, answer.body
    return answer.body  # type: ignore[no-any-return]


async def completed_order(gateway: Gateway, endpoint: Endpoint) -> tuple[dict[str, Any], str]:
    """An order placed with an Idempotency-Key, completed with two codes, its events
    delivered to `endpoint`; returns the order as the API shows it, and the endpoint's secret."""
    secret = (await subscribe(gateway, endpoint.url))["secret"]
    placed = await gateway.call(
        "POST",
        "/v1/orders",
        json={"item_id": 1001, "quantity": 2},
        headers={"Idempotency-Key": "k1"},
    )
    assert placed.status == 201, placed.body
    await gateway.app[DISPATCHER].run_due()
    await gateway.provider.sandbox.advance(10)
    await gateway.app[DISPATCHER].run_due()
    order = (await gateway.call("GET", f"/v1/orders/{placed.body['id']}")).body
    assert order["status"] == "completed" and len(order["codes"]) == 2
    return order, secret


def assert_delivered_with_codes(
    endpoint: Endpoint, secret: str, gateway: Gateway, codes: list[str]
) -> None:
    hook = endpoint.hooks[-1]
    data = hook.verify(secret, gateway.provider.clock)["data"]  # signed over the clear body
    assert hook.json["type"] == "order.completed" and data["codes"] == codes


async def test_no_code_is_stored_in_clear_in_any_table(
    gateway: Gateway, endpoint_factory: EndpointFactory
) -> None:
    endpoint = await endpoint_factory()
    order, secret = await completed_order(gateway, endpoint)
    codes = order["codes"]
    assert_delivered_with_codes(endpoint, secret, gateway, codes)
    db = gateway.app[DATABASE]
    assert {"orders", "provider_events", "messages", "idempotency_keys"} <= set(await tables(db))
    stored = await everything_stored(db)
    assert not [code for code in codes if code in stored]
    assert secret not in stored  # with it, anyone could forge the tenant's webhooks
    assert "whsec_" not in stored
    for table, column in SEALED_COLUMNS:
        (row,) = await db.fetch(
            f"SELECT count(*) AS n FROM {table} WHERE {column} LIKE 'sealed:1:%'"
        )
        assert row["n"] >= 1, f"{table}.{column} holds no sealed value"
    replayed = await gateway.call(
        "POST",
        "/v1/orders",
        json={"item_id": 1001, "quantity": 2},
        headers={"Idempotency-Key": "k1"},
    )
    assert replayed.status == 201 and replayed.headers["Idempotent-Replayed"] == "true"


async def test_a_stored_idempotent_answer_with_codes_is_sealed(gateway: Gateway) -> None:
    """A key taken over after its order completed stores the order, codes included."""
    ledger = gateway.app[LEDGER]
    body = {"id": "o1", "status": "completed", "codes": ["AAAA-BBBB-CCCC-DDDD"]}
    await ledger.claim_key("shop", "k", "hash", timedelta(hours=24), "gwi_test")
    await ledger.finish_key("shop", "k", 200, body, None)
    assert "AAAA-BBBB-CCCC-DDDD" not in await everything_stored(gateway.app[DATABASE])
    claim = await ledger.claim_key("shop", "k", "hash", timedelta(hours=24), "gwi_test")
    assert claim.body == body


async def test_rekey_then_dropping_the_old_key_everything_still_opens(
    make_gateway: GatewayFactory,
    endpoint_factory: EndpointFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = await make_gateway()  # sealed with TEST_SEAL_KEY
    endpoint = await endpoint_factory()
    order, secret = await completed_order(first, endpoint)
    monkeypatch.setenv("GATEWAY_SEAL_KEYS", f"{NEW_KEY},{TEST_SEAL_KEY}")
    counts = await rekey(first.app[CONFIG])
    assert counts["orders.codes"][0] >= 1 and counts["messages.payload"][0] >= 2
    assert (
        counts["provider_events.body"][0] >= 1 and counts["idempotency_keys.response_body"][0] == 1
    )
    again = await rekey(first.app[CONFIG])
    assert all(resealed == 0 for resealed, _ in again.values())  # nothing left to do
    assert again["orders.codes"][1] == counts["orders.codes"][0]

    db = first.app[DATABASE]
    old, new = Sealer([TEST_SEAL_KEY]), Sealer([NEW_KEY])
    for value in await sealed_values(db):
        assert new.is_current(value)
        with pytest.raises(SealError):
            old.open(value)

    second = await make_gateway(seal_keys=[NEW_KEY])  # the old key dropped
    read = (await second.call("GET", f"/v1/orders/{order['id']}")).body
    assert read["codes"] == order["codes"]
    replayed = await second.call(
        "POST",
        "/v1/orders",
        json={"item_id": 1001, "quantity": 2},
        headers={"Idempotency-Key": "k1"},
    )
    assert replayed.status == 201 and replayed.body["id"] == order["id"]
    await second.call("POST", f"/v1/orders/{order['id']}/replay-events")
    await second.app[DISPATCHER].run_due()
    assert_delivered_with_codes(endpoint, secret, second, order["codes"])


async def test_rekey_walks_every_row_in_small_batches(gateway: Gateway) -> None:
    ledger, db = gateway.app[LEDGER], gateway.app[DATABASE]
    for tenant, key in [("shop", "b"), ("games", "a"), ("shop", "a"), ("shop", "c")]:
        await ledger.claim_key(tenant, key, "hash", timedelta(hours=24), "gwi_test")
        await ledger.finish_key(tenant, key, 201, {"key": key}, None)
    sealer = Sealer([NEW_KEY, TEST_SEAL_KEY])
    table, keys = "idempotency_keys", ("tenant", "idem_key")
    assert await reseal_column(db, sealer, table, keys, "response_body", batch=3) == (4, 0)
    assert await reseal_column(db, sealer, table, keys, "response_body", batch=1) == (0, 4)
    rows = await db.fetch("SELECT response_body FROM idempotency_keys")
    assert all(Sealer([NEW_KEY]).is_current(row["response_body"]) for row in rows)


async def test_a_wrong_key_is_refused_at_start_and_by_rekey_with_a_clear_error(
    make_gateway: GatewayFactory,
    endpoint_factory: EndpointFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    gateway = await make_gateway()
    await completed_order(gateway, await endpoint_factory())
    with pytest.raises(ConfigError) as refused:
        await make_gateway(seal_keys=[NEW_KEY])
    assert refused.value.key == "storage.seal_keys"
    assert "opens with none of the configured keys" in refused.value.reason

    monkeypatch.setenv("GATEWAY_SEAL_KEYS", NEW_KEY)
    code, _, err = await run_cli("seal", "rekey", "--config", str(config_file(gateway, tmp_path)))
    assert code == 1
    assert err.startswith("seal error: a sealed value opens with none of the configured keys")
    monkeypatch.setenv("GATEWAY_SEAL_KEYS", "not-a-key")
    code, _, err = await run_cli("seal", "rekey", "--config", str(config_file(gateway, tmp_path)))
    assert code == 1 and "storage.seal_keys: a key is not a Fernet key" in err


async def test_values_written_before_sealing_still_read_and_rekey_seals_them(
    gateway: Gateway,
    endpoint_factory: EndpointFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    endpoint = await endpoint_factory()
    order, secret = await completed_order(gateway, endpoint)
    db, sealer = gateway.app[DATABASE], Sealer([TEST_SEAL_KEY])
    for table, column in SEALED_COLUMNS:  # as a gateway before sealing wrote them
        for row in await db.fetch(f"SELECT {column} AS v FROM {table}"):
            if row["v"]:
                plain = sealer.open(row["v"])
                await db.execute(
                    f"UPDATE {table} SET {column} = $1 WHERE {column} = $2", plain, row["v"]
                )
    plain_text = await everything_stored(db)
    assert all(code in plain_text for code in order["codes"])

    assert (await gateway.call("GET", f"/v1/orders/{order['id']}")).body == order
    await gateway.call("POST", f"/v1/orders/{order['id']}/replay-events")
    await gateway.app[DISPATCHER].run_due()
    assert_delivered_with_codes(endpoint, secret, gateway, order["codes"])

    monkeypatch.setenv("GATEWAY_SEAL_KEYS", TEST_SEAL_KEY)
    code, out, _ = await run_cli("seal", "rekey", "--config", str(config_file(gateway, tmp_path)))
    assert code == 0
    assert "messages.payload: 2 re-sealed, 0 already current" in out
    assert "provider_events.body: 1 re-sealed, 0 already current" in out
    stored = await everything_stored(db)
    assert not [code for code in order["codes"] if code in stored]
    assert all(value.startswith(PREFIX) for value in await sealed_values(db))
    assert (await gateway.call("GET", f"/v1/orders/{order['id']}")).body == order


async def test_delivered_payloads_are_emptied_after_retention_and_never_replayed(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks={"payload_retention_hours": 1, "jitter": 0})
    clock, dispatcher = gateway.provider.clock, gateway.app[DISPATCHER]
    own, other, failing = [await endpoint_factory(statuses) for statuses in ([200], [200], [500])]
    secret = (await subscribe(gateway, own.url))["secret"]
    await subscribe(gateway, other.url)
    await subscribe(gateway, failing.url)
    placed = (await gateway.place(item_id=1001)).body
    await dispatcher.run_due()  # order.accepted: delivered to two, failed at the third
    clock.advance(1800)
    await gateway.provider.sandbox.advance(10)
    await dispatcher.run_due()  # order.completed, 30 min later
    clock.advance(1800)  # the accepted ones are past the hour; the completed ones are not

    messages, db = gateway.app[DESK].outbox.messages, gateway.app[DATABASE]
    assert await messages.purge_payloads(db, timedelta(hours=1), batch=1) == 2
    assert await messages.purge_payloads(db, timedelta(hours=1)) == 0
    rows = await db.fetch("SELECT * FROM messages ORDER BY ordering")
    emptied = [r for r in rows if r["payload"] == ""]
    assert {(r["event_type"], r["state"]) for r in emptied} == {("order.accepted", "delivered")}
    assert len(emptied) == 2
    kept = [r for r in rows if r["payload"]]
    assert {r["state"] for r in kept} == {"delivered", "pending"}  # young, or undelivered

    sub, message_id = emptied[0]["subscription_id"], emptied[0]["id"]
    answer = await gateway.call("POST", f"/v1/subscriptions/{sub}/deliveries/{message_id}/replay")
    assert answer.status == 409 and answer.body["error"]["code"] == "payload_purged"
    assert "webhooks.payload_retention_hours = 1" in answer.body["error"]["message"]
    missing = await gateway.call("POST", f"/v1/subscriptions/{sub}/deliveries/msg_none/replay")
    assert missing.status == 404

    before = len(own.hooks)
    replayed = await gateway.call("POST", f"/v1/orders/{placed['id']}/replay-events")
    assert replayed.body == {"replayed": 2}  # the completed ones; not the emptied accepted
    await dispatcher.run_due()
    again = own.hooks[before:]
    assert [h.json["type"] for h in again] == ["order.completed"]
    assert again[0].verify(secret, clock)["data"]["codes"]


async def test_the_sqlite_file_and_its_wal_and_shm_are_readable_by_their_owner_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gateway.sqlite3"
    umask = os.umask(0o022)  # the usual one, under which a plain create gives 0644
    try:
        db = await open_database(f"sqlite:///{path}")
    finally:
        os.umask(umask)
    try:
        await db.execute("CREATE TABLE t (x TEXT)")  # the WAL is written
        for name in ("gateway.sqlite3", "gateway.sqlite3-wal", "gateway.sqlite3-shm"):
            mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
            assert mode == 0o600, f"{name}: {oct(mode)}"
    finally:
        await db.close()


async def test_seal_new_key_prints_a_key_that_seals() -> None:
    code, out, _ = await run_cli("seal", "new-key")
    assert code == 0
    key = out.strip()
    assert Sealer([key]).open(Sealer([key]).seal("x")) == "x" and key != new_key()


# --- the command line ------------------------------------------------------------------


def config_file(gateway: Gateway, folder: Path) -> Path:
    path = folder / "ops.toml"
    path.write_text(
        f'[storage]\nurl = "{gateway.app[CONFIG].storage_url}"\n'
        '[accounts.main]\nbase_url = "http://127.0.0.1:9"\nclient_id = "c"\ncurrency = "EUR"\n'
        'api_key = { env = "X" }\nwebhook_secret = { env = "X" }\n'
    )
    return path


async def run_cli(*argv: str) -> tuple[int, str, str]:
    def run() -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
        return code, out.getvalue(), err.getvalue()

    return await asyncio.to_thread(run)
