"""Every list a tenant or an admin can ask for is an index range scan, on both engines.

Each list is asked for through the API while the statements the gateway sends are
recorded; each recorded statement is then explained by the engine. On PostgreSQL, with
sequential scans and sorts priced out (`enable_seqscan`, `enable_sort` off), a plan
that still scans the table or sorts has no index to use: the test fails. On SQLite a
`SCAN` of a table or a `TEMP B-TREE` for the order fails it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from gateway.state import DATABASE, DISPATCHER
from gateway.storage import Database, Transaction
from tests.conftest import Gateway


class Recorder:
    """Wraps a database's `fetch` to keep the statements one API call sends."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._fetch = db.fetch

    async def fetch(self, sql: str, *args: Any) -> Any:
        self.calls.append((sql, args))
        return await self._fetch(sql, *args)


async def plan(db: Database, sql: str, args: tuple[Any, ...], sorts: bool = False) -> str:
    if db.engine == "sqlite":
        rows = await db.fetch("EXPLAIN QUERY PLAN " + sql, *args)
        return "\n".join(str(r["detail"]) for r in rows)

    async def explain(tx: Transaction) -> str:
        await tx.execute("SET LOCAL enable_seqscan = off")
        if not sorts:
            await tx.execute("SET LOCAL enable_sort = off")
        rows = await tx.fetch("EXPLAIN " + sql, *args)
        return "\n".join(str(next(iter(r.values()))) for r in rows)

    return await db.transaction(explain)


def unindexed_filters(db: Database, sql: str, text: str) -> list[str]:
    """Equality filters of `sql` that the index does not constrain: a walk past rows that
    do not match (a rare status would read the whole ledger)."""
    columns = set(re.findall(r"(\w+) = \$\d+", sql))
    if "merchant_order_id" in columns:  # a handful of rows at most: that key is enough
        columns = {"merchant_order_id"}
    if db.engine == "sqlite":
        searched = " ".join(line for line in text.splitlines() if line.startswith("SEARCH"))
        return sorted(c for c in columns if f"{c}=?" not in searched)
    filters = " ".join(line for line in text.splitlines() if "Filter:" in line)
    return sorted(c for c in columns if re.search(rf"\b{c} = ", filters))


def scans_or_sorts(db: Database, text: str) -> bool:
    if db.engine == "sqlite":
        scans = [
            line
            for line in text.splitlines()
            if line.startswith("SCAN") and "USING" not in line and "INDEX" not in line
        ]
        return bool(scans) or "TEMP B-TREE" in text
    return any(
        "Seq Scan" in line or re.match(r"\s*(->\s*)?(Incremental )?Sort\b", line)
        for line in text.splitlines()
    )


LISTS = [
    ("shop", "/v1/orders"),
    ("shop", "/v1/orders?status=pending"),
    ("shop", "/v1/orders?status=failed"),
    ("shop", "/v1/orders?item_id=1001"),
    ("shop", "/v1/orders?merchant_order_id=m-3"),
    ("shop", "/v1/orders?created_after=2026-01-01T00:00:00Z"),
    ("watch", "/v1/orders"),
    ("watch", "/v1/orders?status=pending"),
    ("watch", "/v1/orders?item_id=1001"),
    ("ops", "/v1/orders"),
    ("ops", "/v1/orders?status=failed"),
    ("ops", "/v1/orders?item_id=1001"),
    ("ops", "/v1/orders?merchant_order_id=m-3"),
    ("ops", "/v1/orders?tenant=games"),
    ("ops", "/v1/orders?account=partner&status=pending"),
]


async def two_pages(gateway: Gateway, path: str, tenant: str = "shop") -> list[Any]:
    """The statements a first page (of one row) and the page after it send."""
    db = gateway.app[DATABASE]
    recorder = Recorder(db)
    db.fetch = recorder.fetch  # type: ignore[method-assign]
    try:
        joined = "&" if "?" in path else "?"
        first = await gateway.call("GET", f"{path}{joined}limit=1", tenant)
        assert first.status == 200, first.body
        cursor = first.body["next_cursor"]
        if cursor is not None:
            second = await gateway.call("GET", f"{path}{joined}limit=1&cursor={cursor}", tenant)
            assert second.status == 200, second.body
    finally:
        db.fetch = recorder._fetch  # type: ignore[method-assign]
    return recorder.calls


async def assert_range_scans(db: Database, lists: list[Any]) -> None:
    for sql, args in lists:
        # a merchant_order_id names one order per tenant (a unique key), a few across
        # tenants: sorting those few is fine, walking the ledger for them is not
        few = "merchant_order_id =" in sql
        explained = await plan(db, sql, args, sorts=few)
        if not few:
            assert not scans_or_sorts(db, explained), f"{sql}\n{explained}"
        assert "Seq Scan" not in explained and not re.search(r"^SCAN \w+$", explained, re.M)
        assert unindexed_filters(db, sql, explained) == [], f"{sql}\n{explained}"


@pytest.mark.parametrize(("tenant", "path"), LISTS)
async def test_each_list_and_its_next_page_is_an_index_range_scan(
    gateway: Gateway, tenant: str, path: str
) -> None:
    for n in range(3):
        await gateway.place("shop", item_id=1001, merchant_order_id=f"m-{n}")
        await gateway.place("games", item_id=1001)
    calls = await two_pages(gateway, path, tenant)
    lists = [
        (sql, args)
        for sql, args in calls
        if sql.startswith("SELECT * FROM orders WHERE") and "id = $1" not in sql
    ]
    assert lists, calls
    await assert_range_scans(gateway.app[DATABASE], lists)


async def test_a_subscriptions_delivery_log_is_an_index_range_scan(gateway: Gateway) -> None:
    created = await gateway.call("POST", "/v1/subscriptions", json={"url": "http://127.0.0.1:9/h"})
    for _ in range(3):
        await gateway.place(item_id=1001)
    await gateway.app[DISPATCHER].run_due()
    calls = await two_pages(gateway, f"/v1/subscriptions/{created.body['id']}/deliveries")
    lists = [(sql, args) for sql, args in calls if "delivery_attempts" in sql]
    assert len(lists) == 2
    await assert_range_scans(gateway.app[DATABASE], lists)


@pytest.mark.parametrize(
    "query",
    ["", "?decision=rejected", "?tenant=games", "?account=partner", "?decision=accepted"],
)
async def test_each_audit_list_and_its_next_page_is_an_index_range_scan(
    gateway: Gateway, query: str
) -> None:
    for _ in range(3):
        await gateway.place("shop", item_id=1001)
        await gateway.place("games", item_id=1001, account="main")
        await gateway.place("shop", item_id=999999)  # rejected
        await gateway.place("shop", item_id=1001, account="partner")
    calls = await two_pages(gateway, f"/v1/audit{query}", "ops")
    lists = [(sql, args) for sql, args in calls if "FROM audit_records" in sql]
    assert len(lists) == 2
    await assert_range_scans(gateway.app[DATABASE], lists)
