"""Does the gateway stay as fast when the ledger is big? One command, both engines, a table,
a JSON file and a plot.

    python bench/growth.py                                     # 0, 100k and 1M orders, both engines
    python bench/growth.py --sizes 0 100000 --engines sqlite   # some sizes, one engine
    python bench/growth.py --json growth.json                  # also the plot: growth.svg
    python bench/growth.py --smoke                             # tiny sizes: proves it runs (CI)

For each engine and ledger size, on a database of its own:

1. `gateway serve` is started once on the empty database, so that its own migrations
   (and the audit plugin's) make the schema, and a subscription is made through the API;
   then it is stopped.
2. The ledger is filled through the storage layer, not the API: `size` orders straight
   into `orders` (five tenants, both accounts, mostly completed with a few percent
   pending, processing, failed, partial and unknown, 600 item ids by Zipf, unique
   merchant_order_ids, created over `--history-days`), their audit records (accepted,
   webhook, settled; 1.5% rejected), and for the one subscription a message per settled
   order of its tenant with its delivery attempts. The secondary indexes the migrations
   made are dropped before and built again after; PostgreSQL takes the rows by COPY and
   is then VACUUM ANALYZEd (what autovacuum does after a bulk load), SQLite by
   executemany in large transactions (no ANALYZE: the gateway runs none on SQLite).
   At every size, 0 included, `PROBES` completed and as many failed orders of one item
   (with a rejection each) are written halfway through the history: every filter has a
   full page to show at every size, and each lookup finds the same thing.
3. `gateway serve` again, and through its API: place-order (concurrency 32, `--seconds`)
   alone, then while one client polls a list (`--poll`) in a loop, `--rounds` times
   interleaved, the median round of each; then the list filters and reads, one request
   at a time, the filters in turn, p50/p99 over `--samples` rounds (a slow filter stops
   after `--budget` seconds). The lists are measured on what is in the ledger by then:
   the filled orders and those placed.

Targets it reports against: at the largest size every number within 1.5x of its value at
the smallest, and placement with a reader polling at least 0.8x placement alone. On a
machine shared with other work, p99 of a few-millisecond request is mostly scheduling
noise: the JSON keeps how busy the machine was during each placement round.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from loadgen import TICK  # noqa: E402
from run import PG_URL, PY, Proc, median_run, pct, start_sandbox, storage_url  # noqa: E402

from gateway.clock import stamp  # noqa: E402
from gateway.sandbox import demo_accounts  # noqa: E402
from gateway.sealing import Sealer  # noqa: E402
from gateway.tenants import token_hash  # noqa: E402
from gateway.testing import TEST_SEAL_KEY, serve_config  # noqa: E402

TENANT_TOKEN = "gwt_growth_benchmark_tenant_token_000000000000"
ADMIN_TOKEN = "gwt_growth_benchmark_admin_token_0000000000000"
PARTNER = demo_accounts(0)[1]
PLUGINS = ["validation", "limits", "audit"]
PLACE_ITEM = 1001
CONCURRENCY = 32
SUBSCRIBED = ["order.completed", "order.partial", "order.failed"]  # none while benchmarking


# --- the gateway ----------------------------------------------------------------------------


def start_gateway(workdir: Path, sandbox: str, storage: str) -> Proc:
    """`gateway serve`: tenant `shop` (role tenant, account main) and admin `ops` (accounts
    main and partner), plugins on, as bench/run.py's gateway otherwise."""
    extra = (
        f'[accounts.partner]\nbase_url = "{sandbox}"\nclient_id = "{PARTNER.client_id}"\n'
        'currency = "EUR"\ntimeout_seconds = 10.0\n'
        'api_key = { env = "GROWTH_PARTNER_API_KEY" }\n'
        'webhook_secret = { env = "GROWTH_PARTNER_WEBHOOK_SECRET" }\n'
        f'[tenants.ops]\ntoken_hashes = ["{token_hash(ADMIN_TOKEN)}"]\n'
        'accounts = ["main", "partner"]\nrole = "admin"\n'
    )
    text, env = serve_config(
        sandbox,
        storage,
        TENANT_TOKEN,
        role="tenant",
        plugins=PLUGINS,
        # the filled pending orders were touched within the last hours (as the reconciler
        # does): none is due to be read again while the benchmark runs
        webhooks={"reconcile_after_seconds": 86400, "attempt_timeout_seconds": 5},
        extra=extra,
    )
    env["GROWTH_PARTNER_API_KEY"] = PARTNER.api_keys[0]
    env["GROWTH_PARTNER_WEBHOOK_SECRET"] = PARTNER.webhook_secret
    config = workdir / f"growth-{uuid.uuid4().hex[:6]}.toml"
    config.write_text(text)
    return Proc(
        [*PY, "-m", "gateway.cli", "--log-level", "info", "serve", "--config", str(config)],
        env=env,
    )


TENANT = {"Authorization": f"Bearer {TENANT_TOKEN}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


# --- the fill -------------------------------------------------------------------------------

DAY_US = 86_400_000_000
HISTORY_DAYS = 180
TENANTS = (("shop", 40), ("games", 25), ("kiosk", 15), ("retail", 12), ("resell", 8))
ACCOUNTS = (("main", 70), ("partner", 30))
# status, per thousand
STATUSES = (
    ("completed", 925), ("failed", 30), ("pending", 20), ("partial", 10),
    ("unknown", 10), ("processing", 5),
)  # fmt: skip
ITEMS = [*range(1001, 1301), *range(2001, 2301)]  # 600 items, popularity by Zipf
PROBE_ITEM = ITEMS[49]  # rank 50: about 0.2% of orders
PROBES = 60  # probe orders of each kind (a page is 50)
FAILURES = (
    ("OUT_OF_STOCK", "The item is out of stock"),
    ("INSUFFICIENT_BALANCE", "The account balance is too low"),
    ("PROVIDER_ERROR", "The supplier could not deliver"),
)
REJECTIONS = (
    ("validation", "quantity_out_of_range", "quantity", "quantity must be at most 10"),
    ("validation", "item_unavailable", "item_id", "the item is not available"),
    ("limits", "daily_limit", None, "the tenant's daily limit is reached"),
    ("provider", "INSUFFICIENT_BALANCE", None, "The account balance is too low"),
)
ORDER_COLUMNS = (
    "id", "reference", "tenant", "account", "merchant_order_id", "request_hash", "item_id",
    "item_name", "product_type", "quantity", "fields", "currency", "provider_order_id",
    "status", "price", "refund_amount", "delivered_quantity", "codes", "error",
    "error_message", "created_at", "updated_at", "completed_at", "owner", "resend_at",
    "resend_attempts", "unresolved",
)  # fmt: skip
AUDIT_COLUMNS = (
    "id", "at", "request_id", "tenant", "account", "order_id", "item_id", "quantity",
    "amount", "currency", "decision", "plugin", "reason", "details",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "id", "subscription_id", "tenant", "event_type", "order_id", "ordering", "payload",
    "state", "attempts", "next_attempt_at", "claimed_until", "last_status", "last_error",
    "created_at", "delivered_at",
)  # fmt: skip
ATTEMPT_COLUMNS = (
    "id", "message_id", "subscription_id", "attempt", "at", "status", "latency_ms",
    "response_excerpt", "error",
)  # fmt: skip
TABLES = {
    "orders": ORDER_COLUMNS,
    "audit_records": AUDIT_COLUMNS,
    "messages": MESSAGE_COLUMNS,
    "delivery_attempts": ATTEMPT_COLUMNS,
}
CHUNK = 20_000  # orders per insert batch


class Stamps:
    """`gateway.clock.stamp` of microseconds since the epoch, about ten times faster."""

    def __init__(self) -> None:
        self._hours: dict[int, str] = {}

    def __call__(self, micros: int) -> str:
        hour, rest = divmod(micros, 3_600_000_000)
        prefix = self._hours.get(hour)
        if prefix is None:
            when = datetime.fromtimestamp(hour * 3600, UTC)
            prefix = self._hours[hour] = stamp(when)[:14]  # 2026-01-05T13:
        minute, rest = divmod(rest, 60_000_000)
        second, us = divmod(rest, 1_000_000)
        return f"{prefix}{minute:02d}:{second:02d}.{us:06d}Z"


@dataclass
class Probes:
    """What the lookups look up: the same at every size."""

    order_id: str = ""
    merchant_order_id: str = ""
    middle: str = ""  # created_at of the probes, halfway through the history (stamped)
    item_id: int = PROBE_ITEM
    subscription_id: str = ""
    counts: dict[str, int] = field(default_factory=dict)


class Filler:
    """Rows as the gateway would have written them over months, generated in chunks."""

    def __init__(
        self,
        size: int,
        subscription_id: str,
        now: datetime,
        seed: int = 1,
        days: int = HISTORY_DAYS,
    ) -> None:
        self.size = size
        self.days = days
        self.rng = random.Random(seed)
        self.stamp = Stamps()
        self.subscription_id = subscription_id
        self.now_us = int(now.timestamp() * 1_000_000)
        self.start_us = self.now_us - days * DAY_US
        self.retention_us = self.now_us - 7 * DAY_US  # older delivered payloads are purged
        sealer = Sealer([TEST_SEAL_KEY])
        # sealing is slow (Fernet): a pool of sealed values, reused
        self.sealed_codes = [
            sealer.seal(json.dumps([f"GRWT-{n:04d}-CODE-{n * 7 % 9999:04d}"])) for n in range(64)
        ]
        self.sealed_none = [sealer.seal("[]") for _ in range(16)]
        self.sealed_payloads = [
            sealer.seal(json.dumps({"type": "order.completed", "n": n})) for n in range(64)
        ]
        weights = [1 / (rank + 1) ** 1.1 for rank in range(len(ITEMS))]
        self.item_cum = list(itertools.accumulate(weights))
        self.prices = {item: 1 + (item * 37 % 200) for item in ITEMS}  # whole euros
        self.ordering = itertools.count()
        self.counts: dict[str, int] = defaultdict(int)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hex(self, bits: int) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def chunks(self) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        rng = self.rng
        span = self.now_us - 3_600_000_000 - self.start_us  # history ends an hour ago
        done = 0
        while done < self.size:
            n = min(CHUNK, self.size - done)
            tenants = rng.choices([t for t, _ in TENANTS], [w for _, w in TENANTS], k=n)
            accounts = rng.choices([a for a, _ in ACCOUNTS], [w for _, w in ACCOUNTS], k=n)
            statuses = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES], k=n)
            items = rng.choices(ITEMS, cum_weights=self.item_cum, k=n)
            rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
            for k in range(n):
                i = done + k
                created = self.start_us + int((i + rng.random()) * span / self.size)
                self.order(rows, i, created, tenants[k], accounts[k], statuses[k], items[k])
            done += n
            yield rows

    def probes(self, probes: Probes) -> dict[str, list[tuple[Any, ...]]]:
        """`PROBES` completed and as many failed orders of `shop`, all of item `PROBE_ITEM`,
        halfway through the history, each with a rejection beside it: every filter has a
        full page to show at every size, 0 included, so that sizes compare like with like."""
        rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
        middle = self.start_us + self.days * DAY_US // 2
        for n in range(PROBES):
            at = middle + n * 1000
            self.order(rows, -1 - n, at, "shop", "main", "completed", PROBE_ITEM, probe=True)
            self.order(rows, -1 - n, at + 500, "shop", "main", "failed", PROBE_ITEM, probe=True)
        probes.order_id = rows["orders"][0][0]
        probes.merchant_order_id = rows["orders"][0][4]
        probes.middle = self.stamp(middle - 1)
        return rows

    def order(
        self,
        rows: dict[str, list[tuple[Any, ...]]],
        i: int,
        created: int,
        tenant: str,
        account: str,
        status: str,
        item: int,
        probe: bool = False,
    ) -> None:
        rng, stamp_ = self.rng, self.stamp
        self.counts[f"status {status}"] += 1
        order_id = self.uuid()
        quantity = 1 if rng.random() < 0.85 else rng.randint(2, 5)
        price = self.prices[item] * quantity
        merchant = None
        if probe:
            merchant = f"probe-{status}-{-i}-{self.hex(32)}"
        elif rng.random() < 0.9:
            merchant = f"{tenant[:2].upper()}-{i:09d}"
        fields = "{}" if rng.random() < 0.7 else json.dumps({"player_id": str(i)})
        terminal = status in ("completed", "partial", "failed")
        completed = created + rng.randint(2_000_000, 120_000_000) if terminal else None
        delivered, refund, codes = 0, "0", self.sealed_none[i % 16]
        error = message = unresolved = None
        provider_id: str | None = self.uuid()
        updated = completed or created
        resend_attempts = 0
        if status == "completed":
            delivered, codes = quantity, self.sealed_codes[i % 64]
        elif status == "partial":
            delivered, codes = quantity - 1, self.sealed_codes[i % 64]
            refund = f"{price / quantity:.2f}"
        elif status == "failed":
            error, message = FAILURES[i % len(FAILURES)]
            refund = f"{price:.2f}"
        elif status in ("pending", "processing"):  # read again by the reconciler lately
            updated = self.now_us - rng.randint(60_000_000, 6 * 3_600_000_000)
        else:  # unknown, past the re-send window: an operator's to resolve
            provider_id = None
            resend_attempts = 8
            updated = created + 900_000_000
            unresolved = "no answer from the provider within the re-send window"
        created_s = stamp_(created)
        completed_s = stamp_(completed) if completed else None
        rows["orders"].append((
            order_id, "gw_" + self.hex(128), tenant, account, merchant, self.hex(256), item,
            f"Gift card {item}", "key", str(quantity), fields, "EUR", provider_id, status,
            f"{price:.2f}", refund, delivered, codes, error, message, created_s,
            stamp_(updated), completed_s, None, None, resend_attempts, unresolved,
        ))  # fmt: skip
        # the audit trail: accepted, the provider's webhook, settled
        common = (tenant, account, order_id, item, str(quantity), f"{price:.2f}", "EUR")
        audit = rows["audit_records"]
        if status != "unknown":
            details = json.dumps({"reference": "gw_", "status": "pending"}, sort_keys=True)
            audit.append((self.uuid(), stamp_(created + 30_000), "req_" + self.hex(64),
                          *common, "accepted", None, None, details))  # fmt: skip
        if terminal:
            assert completed is not None
            hook = {"codes_delivered": delivered, "known_order": True, "status": status}
            audit.append((self.uuid(), completed_s, None, *common, "webhook_received",
                          None, None, json.dumps(hook, sort_keys=True)))  # fmt: skip
            settled = {"codes_delivered": delivered, "error": error, "status": status}
            audit.append((self.uuid(), stamp_(completed + 2_000), None, *common, "settled",
                          None, message, json.dumps(settled, sort_keys=True)))  # fmt: skip
        if probe or rng.random() < 0.015:  # a refused request: no order came of it
            plugin, code, name, reason = REJECTIONS[i % len(REJECTIONS)]
            audit.append((
                self.uuid(), stamp_(created - 50_000), "req_" + self.hex(64), tenant, account,
                self.uuid(), item, str(quantity), f"{price:.2f}", "EUR", "rejected", plugin,
                reason, json.dumps({"code": code, "field": name}, sort_keys=True),
            ))  # fmt: skip
        if tenant == "shop" and terminal:
            assert completed is not None
            self.message(rows, order_id, f"order.{status}", completed + 5_000)

    def message(
        self, rows: dict[str, list[tuple[Any, ...]]], order_id: str, event: str, created: int
    ) -> None:
        """The subscription's message for a settled order, and its delivery attempts."""
        rng, stamp_ = self.rng, self.stamp
        message_id = "msg_" + self.hex(128)
        roll = rng.random()
        tries = 1 if roll < 0.9 else 2 if roll < 0.98 else 3
        failed = rng.random() < 0.005
        if failed:
            tries = 8
        at = created + rng.randint(5_000, 50_000)
        for n in range(1, tries + 1):
            last = n == tries
            ok = last and not failed
            latency = rng.randint(20, 400)
            rows["delivery_attempts"].append((
                "att_" + self.hex(128), message_id, self.subscription_id, n, stamp_(at),
                200 if ok else (None if n % 2 else 503), latency,
                "ok" if ok else (None if n % 2 else "Service Unavailable"),
                None if ok or n % 2 == 0 else "timeout",
            ))  # fmt: skip
            if not last:
                at += 60_000_000 * 2**n + latency * 1000
        delivered = None if failed else stamp_(at)
        payload = "" if not failed and at < self.retention_us else self.sealed_payloads[tries]
        created_s = stamp_(created)
        rows["messages"].append((
            message_id, self.subscription_id, "shop", event, order_id,
            f"{created_s}:{next(self.ordering):012d}", payload,
            "failed" if failed else "delivered", tries, created_s, None,
            503 if failed else 200, "timeout" if failed else None, created_s, delivered,
        ))  # fmt: skip


# --- writing the rows -----------------------------------------------------------------------


class PgWriter:
    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.schema = parse_qs(parsed.query)["schema"][0]
        self.conn: asyncpg.Connection | None = None
        self.indexes: list[str] = []

    async def open(self) -> None:
        self.conn = await asyncpg.connect(
            PG_URL,
            server_settings={
                "search_path": self.schema,
                "maintenance_work_mem": "512MB",
                "synchronous_commit": "off",
            },
        )

    async def columns(self, table: str) -> set[str]:
        assert self.conn is not None
        rows = await self.conn.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = $1 AND table_name = $2",
            self.schema,
            table,
        )
        return {r["column_name"] for r in rows}

    async def drop_indexes(self) -> None:
        """Every secondary index of the filled tables (not those of a key or a unique
        constraint), to be built again after the rows are in."""
        assert self.conn is not None
        rows = await self.conn.fetch(
            "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS ddl"
            " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
            " JOIN pg_namespace s ON s.oid = t.relnamespace"
            " WHERE s.nspname = $1 AND t.relname = ANY($2::text[])"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            self.schema,
            list(TABLES),
        )
        self.indexes = [r["ddl"] for r in rows]
        for r in rows:
            await self.conn.execute(f"DROP INDEX {r['name']}")

    async def insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        assert self.conn is not None
        if rows:
            await self.conn.copy_records_to_table(
                table, records=rows, columns=TABLES[table], schema_name=self.schema
            )

    async def finish(self) -> None:
        assert self.conn is not None
        for ddl in self.indexes:
            await self.conn.execute(ddl)
        for table in TABLES:
            await self.conn.execute(f"VACUUM ANALYZE {table}")

    async def scalar(self, sql: str, *args: Any) -> Any:
        assert self.conn is not None
        return await self.conn.fetchval(sql.replace("?", "$1"), *args)

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


class SqliteWriter:
    def __init__(self, url: str) -> None:
        self.path = url.removeprefix("sqlite:///")
        self.conn: sqlite3.Connection | None = None
        self.indexes: list[str] = []

    async def open(self) -> None:
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA cache_size=-262144")  # 256 MiB

    async def columns(self, table: str) -> set[str]:
        assert self.conn is not None
        return {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}

    async def drop_indexes(self) -> None:
        assert self.conn is not None
        marks = ", ".join("?" for _ in TABLES)
        rows = self.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({marks})",
            list(TABLES),
        ).fetchall()
        self.indexes = [sql for _, sql in rows]
        for name, _ in rows:
            self.conn.execute(f'DROP INDEX "{name}"')

    async def insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        assert self.conn is not None
        columns = TABLES[table]
        self.conn.execute("BEGIN")
        self.conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            rows,
        )
        self.conn.execute("COMMIT")

    async def finish(self) -> None:
        assert self.conn is not None
        for ddl in self.indexes:
            self.conn.execute(ddl)
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def scalar(self, sql: str, *args: Any) -> Any:
        assert self.conn is not None
        row = self.conn.execute(sql, args).fetchone()
        return row[0] if row else None

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def writer_for(storage: str, engine: str) -> PgWriter | SqliteWriter:
    return PgWriter(storage) if engine == "postgresql" else SqliteWriter(storage)


async def fill(
    storage: str, engine: str, size: int, probes: Probes, days: int = HISTORY_DAYS
) -> dict[str, Any]:
    writer = writer_for(storage, engine)
    await writer.open()
    started = time.perf_counter()
    written: dict[str, int] = defaultdict(int)
    try:
        for table, columns in TABLES.items():
            missing = set(columns) - await writer.columns(table)
            if missing:
                raise RuntimeError(f"{table} has no column {sorted(missing)}: update the filler")
        await writer.drop_indexes()
        filler = Filler(size, probes.subscription_id, datetime.now(UTC), days=days)

        async def write(rows: dict[str, list[tuple[Any, ...]]]) -> None:
            for table, batch in rows.items():
                await writer.insert(table, batch)
                written[table] += len(batch)

        await write(filler.probes(probes))
        for rows in filler.chunks():
            await write(rows)
            if size >= 200_000 and written["orders"] % 200_000 < CHUNK:
                print(f"  {engine}: {written['orders']:,} orders written", flush=True)
        inserted = time.perf_counter()
        await writer.finish()
        done = time.perf_counter()
        probes.counts = dict(filler.counts)
        return {
            "rows": dict(written),
            "insert_seconds": inserted - started,
            "index_seconds": done - inserted,
            "seconds": done - started,
            "orders_per_s": written["orders"] / (done - started),
            "statuses": dict(filler.counts),
        }
    finally:
        await writer.close()


async def oldest_cursor(storage: str, engine: str, depth: int = 50) -> str | None:
    """A cursor built as the gateway builds them (`gateway.cursors`), whose page is the
    `depth` oldest orders of `shop`: the far end of a list, without walking to it."""
    from gateway import cursors

    writer = writer_for(storage, engine)
    await writer.open()
    oldest = (
        f"(SELECT created_at, id FROM orders WHERE tenant = 'shop'"
        f" ORDER BY created_at, id LIMIT {depth + 1}) AS o ORDER BY created_at DESC, id DESC"
        " LIMIT 1"
    )
    try:
        at = await writer.scalar(f"SELECT created_at FROM {oldest}")
        key = await writer.scalar(f"SELECT id FROM {oldest}")
    finally:
        await writer.close()
    return cursors.encode(at, key) if at and key else None


async def count_orders(storage: str, engine: str) -> int:
    writer = writer_for(storage, engine)
    await writer.open()
    try:
        return int(await writer.scalar("SELECT count(*) FROM orders"))
    finally:
        await writer.close()


async def first_sweep(storage: str, engine: str, limit: float) -> float:
    """Seconds until the gateway's first housekeeping turn has deleted the filled messages
    past their 30-day retention (most of what it deletes): what is measured after it is the
    gateway at that size in its steady state, not the one-off turn after a bulk load."""
    # a few minutes' margin: the turn began before this call, with a cutoff a little
    # earlier, and the rows between the two wait for the next turn (minutes away)
    cutoff = (datetime.now(UTC) - timedelta(hours=720, minutes=10)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    writer = writer_for(storage, engine)
    await writer.open()
    started = time.monotonic()
    try:
        while time.monotonic() - started < limit:
            left = await writer.scalar(
                "SELECT count(*) FROM messages WHERE state IN ('delivered', 'cancelled')"
                f" AND next_attempt_at < '{cutoff}'"
            )
            if not int(left):
                break
            await asyncio.sleep(2)
        return time.monotonic() - started
    finally:
        await writer.close()


class Busy:
    """How busy the machine was while a run lasted, in CPUs: all of it, and the benchmark's
    own processes (gateway, sandbox, this one; PostgreSQL is in neither column's share of
    ours). On a shared machine the difference says how much a neighbour took."""

    def __init__(self, procs: list[Proc]) -> None:
        self.procs = procs
        self.result: dict[str, float] = {}

    @staticmethod
    def _machine() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait

    def _ours(self) -> float:
        own = os.times()
        return sum(p.cpu_seconds() for p in self.procs) + own.user + own.system

    def __enter__(self) -> Busy:
        self._start = (time.perf_counter(), self._machine(), self._ours())
        return self

    def __exit__(self, *exc: object) -> None:
        began, (total0, idle0), ours0 = self._start
        elapsed = time.perf_counter() - began
        total, idle = self._machine()
        self.result = {
            "machine_busy_cpus": ((total - total0) - (idle - idle0)) / TICK / elapsed,
            "bench_processes_cpus": (self._ours() - ours0) / elapsed,
            "load_average_1m": float(Path("/proc/loadavg").read_text().split()[0]),
        }


# --- load -----------------------------------------------------------------------------------


async def place_for(
    http: aiohttp.ClientSession, api: str, seconds: float, tag: str
) -> dict[str, Any]:
    """Closed loop, CONCURRENCY clients placing orders (each its own merchant_order_id)
    for `seconds`."""
    latencies: list[float] = []
    errors: dict[int, int] = defaultdict(int)
    counter = itertools.count()
    headers = {**TENANT, "Content-Type": "application/json"}
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            merchant = f"{tag}-{next(counter)}"
            body = json.dumps({"item_id": PLACE_ITEM, "merchant_order_id": merchant})
            started = time.perf_counter()
            async with http.post(f"{api}/orders", data=body, headers=headers) as answer:
                await answer.read()
                if answer.status not in (200, 201, 202):
                    errors[answer.status] += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    return {
        "orders": len(latencies),
        "orders_per_s": len(latencies) / elapsed,
        "p50_ms": pct(latencies, 0.5),
        "p99_ms": pct(latencies, 0.99),
        "errors": dict(errors),
    }


async def place_while_polling(
    http: aiohttp.ClientSession, api: str, seconds: float, tag: str, poll: str
) -> dict[str, Any]:
    """Placement as `place_for`, while one client reads `poll` in a loop, as fast as it
    is answered; past its tenant's read rate (`[server] tenant_reads_per_second`) it
    waits the `Retry-After` of the 429, as a client should."""
    stop = asyncio.Event()
    polls: list[float] = []
    statuses: dict[int, int] = defaultdict(int)

    async def poller() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            async with http.get(api.removesuffix("/v1") + poll, headers=TENANT) as answer:
                await answer.read()
                statuses[answer.status] += 1
                wait = float(answer.headers.get("Retry-After", 1)) if answer.status == 429 else 0
            if wait:
                await asyncio.sleep(wait)
                continue
            polls.append(time.perf_counter() - started)

    reader = asyncio.create_task(poller())
    try:
        placed = await place_for(http, api, seconds, tag)
    finally:
        stop.set()
        await reader
    placed["poller"] = {
        "path": poll,
        "polls": len(polls),
        "polls_per_s": len(polls) / seconds,
        "p50_ms": pct(polls, 0.5),
        "p99_ms": pct(polls, 0.99),
        "statuses": dict(statuses),
    }
    return placed


async def get(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> tuple[int, Any]:
    status, body, _ = await timed_get(http, url, headers)
    return status, body


async def timed_get(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str]
) -> tuple[int, Any, float]:
    """One answer and the seconds it took; a 429 (the tenant's read rate) is waited out
    and the request sent again, as a client should, the wait not counted."""
    while True:
        started = time.perf_counter()
        async with http.get(url, headers=headers) as answer:
            raw = await answer.read()
            if answer.status == 429:
                wait = float(answer.headers.get("Retry-After", 1))
            else:
                took = time.perf_counter() - started
                try:
                    return answer.status, json.loads(raw), took
                except ValueError:
                    return answer.status, raw.decode(errors="replace"), took
        await asyncio.sleep(wait)


async def deep_cursor(http: aiohttp.ClientSession, api: str, pages: int) -> tuple[str | None, int]:
    """Follow `next_cursor` from the first page of `shop`'s orders: the cursor of page
    `pages` (or of the last page there is), and how deep that is."""
    cursor, depth = None, 0
    for _ in range(pages - 1):
        url = f"{api}/orders" + (f"?cursor={cursor}" if cursor else "")
        status, page = await get(http, url, TENANT)
        if status != 200 or not page.get("next_cursor"):
            break
        cursor, depth = page["next_cursor"], depth + 1
    return cursor, depth + 1


async def measure(
    http: aiohttp.ClientSession,
    api: str,
    targets: list[tuple[str, str, Any]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One request at a time, the filters in turn (so that a burst on a shared machine
    falls on all of them alike), `samples` rounds; a filter drops out once it has spent
    `budget` seconds (after at least 3 requests), or on an error."""
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in targets}
    last: dict[str, tuple[int, Any]] = {}
    for _ in range(args.samples):
        for name, path, who in targets:
            spent = sum(latencies[name])
            if name in last and (last[name][0] != 200 or (
                len(latencies[name]) >= 3 and spent >= args.budget
            )):  # fmt: skip
                continue
            status, body, took = await timed_get(http, api + path, who)
            last[name] = (status, body)
            latencies[name].append(took)
    results: dict[str, Any] = {}
    for name, _, _ in targets:
        status, body = last[name]
        rows = None
        if status == 200 and isinstance(body, dict):
            rows = len(body["data"]) if "data" in body else 1
        results[name] = {
            "n": len(latencies[name]),
            "p50_ms": pct(latencies[name], 0.5),
            "p99_ms": pct(latencies[name], 0.99),
            "rows": rows,
            "status": status,
        }
        if status != 200:
            results[name]["error"] = body if isinstance(body, str) else json.dumps(body)[:300]
    return results


def filters(probes: Probes, deep: str | None, oldest: str | None) -> list[tuple[str, str, Any]]:
    """(name, path under /v1, who asks)."""
    after = quote(probes.middle)
    found = [
        ("first page", "/orders", TENANT),
        ("deep page (cursor)", f"/orders?cursor={deep}" if deep else None, TENANT),
        ("oldest page (cursor)", f"/orders?cursor={oldest}" if oldest else None, TENANT),
        ("status=pending", "/orders?status=pending", TENANT),
        ("status=failed", "/orders?status=failed", TENANT),
        ("item_id", f"/orders?item_id={probes.item_id}", TENANT),
        ("merchant_order_id (admin)",
         f"/orders?merchant_order_id={quote(probes.merchant_order_id)}", ADMIN),
        ("created_after", f"/orders?created_after={after}", TENANT),
        ("order by id", f"/orders/{probes.order_id}", TENANT),
        ("audit (admin)", "/audit", ADMIN),
        ("audit decision=rejected", "/audit?decision=rejected", ADMIN),
        ("subscription deliveries", f"/subscriptions/{probes.subscription_id}/deliveries",
         TENANT),
    ]  # fmt: skip
    return [(name, path, who) for name, path, who in found if path is not None]


FILTER_NAMES = [name for name, _, _ in filters(Probes(), "x", "x")]


# --- one size -------------------------------------------------------------------------------


async def one_size(
    args: argparse.Namespace, workdir: Path, sandbox: Proc, engine: str, size: int
) -> dict[str, Any]:
    storage, cleanup = await storage_url(engine, workdir)
    result: dict[str, Any] = {"size": size}
    probes = Probes()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            # 1. the schema, by the gateway's own migrations, and a subscription
            gateway = start_gateway(workdir, sandbox.url, storage)
            try:
                async with http.post(
                    f"{gateway.url}/v1/subscriptions", headers=TENANT,
                    json={"url": "http://127.0.0.1:65000/growth-hook",
                          "event_types": SUBSCRIBED},
                ) as made:  # fmt: skip
                    assert made.status == 201, (made.status, await made.text())
                    probes.subscription_id = (await made.json())["id"]
            finally:
                gateway.stop()

            # 2. the ledger, straight into the tables
            print(f"{engine}, {size:,} orders: filling", flush=True)
            result["fill"] = await fill(storage, engine, size, probes, args.history_days)
            f = result["fill"]
            print(
                f"  filled in {f['seconds']:.1f} s ({f['insert_seconds']:.1f} s rows, "
                f"{f['index_seconds']:.1f} s indexes): {f['rows']}",
                flush=True,
            )

            # 3. through the API
            gateway = start_gateway(workdir, sandbox.url, storage)
            api = gateway.url + "/v1"
            try:
                if args.settle:
                    result["first_sweep_seconds"] = await first_sweep(storage, engine, args.settle)
                    print(f"  first housekeeping turn: {result['first_sweep_seconds']:.0f} s")
                tag = uuid.uuid4().hex[:8]
                await place_for(http, api, args.warmup, f"warm-{tag}")
                for _, path, who in filters(probes, None, None):
                    await get(http, api + path, who)
                # interleaved rounds, the median round of each reported: the machine is
                # shared, and a neighbour's burst should not decide a number
                runs: dict[str, list[dict[str, Any]]] = {"alone": [], "polled": []}
                for n in range(args.rounds):
                    with Busy([gateway, sandbox]) as busy:
                        run = await place_for(http, api, args.seconds, f"a{n}-{tag}")
                    runs["alone"].append({**run, "cpu": busy.result})
                    with Busy([gateway, sandbox]) as busy:
                        run = await place_while_polling(
                            http, api, args.seconds, f"b{n}-{tag}", args.poll
                        )
                    runs["polled"].append({**run, "cpu": busy.result})
                for key, name in (("alone", "place_alone"), ("polled", "place_with_poller")):
                    result[name] = {
                        **median_run(runs[key]),
                        "rounds": [round(r["orders_per_s"], 1) for r in runs[key]],
                    }
                deep, depth = await deep_cursor(http, api, args.deep_pages)
                oldest = await oldest_cursor(storage, engine)
                result["deep_page"] = depth
                result["ledger_orders"] = await count_orders(storage, engine)
                lists = filters(probes, deep, oldest)
                for _, path, who in lists:
                    await get(http, api + path, who)  # warm
                result["filters"] = await measure(http, api, lists, args)
                result["gateway_peak_rss_mb"] = gateway.peak_rss_mb()
            finally:
                gateway.stop()
    finally:
        await cleanup()
        if engine == "sqlite":
            remove_sqlite(storage.removeprefix("sqlite:///"))
    alone, polled = result["place_alone"], result["place_with_poller"]
    print(
        f"  place {alone['orders_per_s']:.0f}/s alone, {polled['orders_per_s']:.0f}/s with a "
        f"reader ({polled['poller']['polls_per_s']:.1f} polls/s); lists measured on "
        f"{result['ledger_orders']:,} orders",
        flush=True,
    )
    return result


def remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


# --- report ---------------------------------------------------------------------------------


def size_label(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1000 and size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def targets(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """At the largest size within 1.5x of the smallest; placement with a reader >= 0.8x."""
    sizes = sorted(runs, key=int)
    first, last = runs[sizes[0]], runs[sizes[-1]]
    checks: dict[str, Any] = {}
    if len(sizes) > 1:
        for name in FILTER_NAMES:
            a, b = first["filters"].get(name), last["filters"].get(name)
            if a and b and a["status"] == b["status"] == 200:
                ratio = b["p99_ms"] / a["p99_ms"]
                checks[f"p99 {name}"] = {"ratio": ratio, "holds": ratio <= 1.5}
        for key in ("place_alone", "place_with_poller"):
            ratio = first[key]["orders_per_s"] / last[key]["orders_per_s"]
            checks[f"{key} slowdown"] = {"ratio": ratio, "holds": ratio <= 1.5}
    for size in sizes:
        ratio = runs[size]["place_with_poller"]["orders_per_s"] / max(
            runs[size]["place_alone"]["orders_per_s"], 1e-9
        )
        checks[f"with reader / alone at {size_label(int(size))}"] = {
            "ratio": ratio,
            "holds": ratio >= 0.8,
        }
    return checks


def table(results: dict[str, Any]) -> str:
    lines: list[str] = []
    for engine, runs in results["runs"].items():
        sizes = sorted(runs, key=int)
        width = 16
        head = f"{'':<30}" + "".join(f"{size_label(int(s)):>{width}}" for s in sizes)
        ratio_head = f"{'last/first':>12}" if len(sizes) > 1 else ""
        lines += ["", f"{engine}: ledger size (orders filled)", head + ratio_head]

        def row(
            label: str,
            cells: list[str],
            ratio: float | None = None,
            lines: list[str] = lines,
            many: bool = len(sizes) > 1,
            width: int = width,
        ) -> None:
            tail = f"{ratio:>11.2f}x" if ratio is not None and many else ""
            lines.append(f"{label:<30}" + "".join(f"{c:>{width}}" for c in cells) + tail)

        row("fill seconds", [f"{runs[s]['fill']['seconds']:.1f}" for s in sizes])
        row("orders at list time", [f"{runs[s]['ledger_orders']:,}" for s in sizes])
        for key, label in (("place_alone", "place o/s alone"),
                           ("place_with_poller", "place o/s with a reader")):  # fmt: skip
            values = [runs[s][key]["orders_per_s"] for s in sizes]
            row(label, [f"{v:.0f}" for v in values], values[-1] / values[0] if values[0] else None)
            row("  p50 / p99 ms", [f"{runs[s][key]['p50_ms']:.0f}/{runs[s][key]['p99_ms']:.0f}"
                                   for s in sizes])  # fmt: skip
            row("  rounds o/s", ["/".join(f"{r:.0f}" for r in runs[s][key]["rounds"])
                                 for s in sizes])  # fmt: skip
            row("  CPUs busy: all (bench)", [
                f"{runs[s][key]['cpu']['machine_busy_cpus']:.1f} "
                f"({runs[s][key]['cpu']['bench_processes_cpus']:.1f})" for s in sizes
            ])  # fmt: skip
        row("  reader polls/s (p99 ms)", [
            f"{runs[s]['place_with_poller']['poller']['polls_per_s']:.1f} "
            f"({runs[s]['place_with_poller']['poller']['p99_ms']:.0f})" for s in sizes
        ])  # fmt: skip
        row("with reader / alone", [
            f"{runs[s]['place_with_poller']['orders_per_s'] / runs[s]['place_alone']['orders_per_s']:.2f}"  # noqa: E501
            for s in sizes
        ])  # fmt: skip
        lines.append("list p50 / p99 ms (rows)")
        for name in FILTER_NAMES:
            cells, p99s = [], []
            for s in sizes:
                m = runs[s]["filters"].get(name)
                if m is None:
                    cells.append("-")
                elif m["status"] != 200:
                    cells.append(f"HTTP {m['status']}")
                else:
                    cells.append(f"{m['p50_ms']:.1f}/{m['p99_ms']:.1f} ({m['rows']})")
                    p99s.append(m["p99_ms"])
            complete = len(p99s) == len(sizes)
            row(f"  {name}", cells, p99s[-1] / p99s[0] if complete and p99s[0] else None)
        row("peak RSS MB", [f"{runs[s]['gateway_peak_rss_mb']:.0f}" for s in sizes])
        checks = results["targets"][engine]
        failing = [name for name, c in checks.items() if not c["holds"]]
        lines.append(
            f"targets: {len(checks) - len(failing)} of {len(checks)} hold"
            + (f"; not: {', '.join(failing)}" if failing else "")
        )
    return "\n".join(lines)


# --- the plot, by hand (no plotting library in the project's dependencies) -------------------

COLORS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
]  # fmt: skip


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _panel(
    x0: float, y0: float, w: float, h: float, title: str, sizes: list[int],
    series: list[tuple[str, list[float | None]]], log: bool, unit: str,
) -> list[str]:  # fmt: skip
    """One chart: a polyline per series over the sizes (evenly spaced), a legend below."""
    out = [
        f'<text x="{x0 + w / 2}" y="{y0 - 8}" text-anchor="middle" font-weight="bold">'
        f"{_esc(title)}</text>",
        f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#999"/>',
    ]
    values = [v for _, vs in series for v in vs if v is not None and v > 0]
    if not values:
        return out
    low, high = min(values), max(values)
    if log:
        low, high = 10 ** math.floor(math.log10(low)), 10 ** math.ceil(math.log10(high))
        ticks = [10**e for e in range(round(math.log10(low)), round(math.log10(high)) + 1)]

        def scale(v: float) -> float:
            return (math.log10(v) - math.log10(low)) / (math.log10(high) - math.log10(low))
    else:
        low, high = 0.0, high * 1.15
        step = 10 ** math.floor(math.log10(high / 4))
        step *= 5 if high / step > 20 else 2 if high / step > 8 else 1
        ticks = [step * k for k in range(int(high // step) + 1)]

        def scale(v: float) -> float:
            return v / high

    def px(i: int) -> float:
        return x0 + 30 + i * (w - 60) / max(1, len(sizes) - 1)

    def py(v: float) -> float:
        return y0 + h - scale(v) * h

    for t in ticks:
        label = f"{t:g}"
        out.append(f'<line x1="{x0}" x2="{x0 + w}" y1="{py(t):.1f}" y2="{py(t):.1f}" '
                   'stroke="#eee"/>')  # fmt: skip
        out.append(f'<text x="{x0 - 4}" y="{py(t) + 4:.1f}" text-anchor="end" '
                   f'font-size="10">{label}</text>')  # fmt: skip
    out.append(f'<text x="{x0 - 40}" y="{y0 + h / 2}" font-size="10" '
               f'transform="rotate(-90 {x0 - 40} {y0 + h / 2})" text-anchor="middle">'
               f"{_esc(unit)}</text>")  # fmt: skip
    for i, size in enumerate(sizes):
        out.append(f'<text x="{px(i):.1f}" y="{y0 + h + 14}" text-anchor="middle" '
                   f'font-size="10">{size_label(size)}</text>')  # fmt: skip
    for k, (name, vs) in enumerate(series):
        color = COLORS[k % len(COLORS)]
        points = [(px(i), py(v)) for i, v in enumerate(vs) if v is not None and v > 0]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                       'stroke-width="1.5"/>')  # fmt: skip
        for x, y in points:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>')
        lx, ly = x0 + (k % 2) * w / 2, y0 + h + 32 + (k // 2) * 14
        out.append(f'<rect x="{lx}" y="{ly - 8}" width="10" height="3" fill="{color}"/>')
        out.append(f'<text x="{lx + 14}" y="{ly - 4}" font-size="10">{_esc(name)}</text>')
    return out


def svg(results: dict[str, Any]) -> str:
    engines = list(results["runs"])
    pw, ph, gap = 460, 260, 150
    width, height = 2 * pw + 200, len(engines) * (ph + gap + 60) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>']  # fmt: skip
    for row, engine in enumerate(engines):
        runs = results["runs"][engine]
        sizes = sorted(int(s) for s in runs)
        y = 50 + row * (ph + gap + 60)

        def values(pick: Any, runs: dict[str, Any] = runs, sizes: list[int] = sizes) -> list[Any]:
            return [pick(runs[str(s)]) for s in sizes]

        p99 = [
            (name, values(lambda r, n=name: r["filters"].get(n, {}).get("p99_ms")
                          if r["filters"].get(n, {}).get("status") == 200 else None))
            for name in FILTER_NAMES
        ]  # fmt: skip
        rates = [
            ("place alone", values(lambda r: r["place_alone"]["orders_per_s"])),
            ("place, one reader polling", values(lambda r: r["place_with_poller"]["orders_per_s"])),
        ]
        out += _panel(70, y, pw, ph, f"{engine}: list p99 (ms, log) vs ledger size", sizes,
                      p99, True, "p99 ms")  # fmt: skip
        out += _panel(pw + 180, y, pw, ph, f"{engine}: place-order rate vs ledger size", sizes,
                      rates, False, "orders/s")  # fmt: skip
    out.append("</svg>")
    return "\n".join(out)


# --- main -----------------------------------------------------------------------------------


def code_state() -> dict[str, Any]:
    """Which code was measured: the commit, and files changed since, if this is a checkout."""

    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True,
                              check=False)  # fmt: skip
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"commit": git("rev-parse", "--short", "HEAD") or None,
            "changed": git("status", "--short", "--", "gateway").splitlines()}  # fmt: skip


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count()},
        "code": {**code_state(), "label": args.label},
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "runs": {},
        "targets": {},
    }
    with tempfile.TemporaryDirectory(prefix="gateway-growth-") as tmp:
        workdir = Path(tmp)
        sandbox = start_sandbox()
        try:
            for engine in args.engines:
                runs: dict[str, Any] = {}
                for size in args.sizes:
                    runs[str(size)] = await one_size(args, workdir, sandbox, engine, size)
                results["runs"][engine] = runs
                results["targets"][engine] = targets(runs)
        finally:
            sandbox.stop()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to prove it runs")
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"],
                        choices=["sqlite", "postgresql"])  # fmt: skip
    parser.add_argument("--sizes", nargs="+", type=int, default=[0, 100_000, 1_000_000])
    parser.add_argument("--seconds", type=float, default=5.0, help="each placement run")
    parser.add_argument("--rounds", type=int, default=3, help="placement rounds (median)")
    parser.add_argument("--warmup", type=float, default=1.0, help="placement before measuring")
    parser.add_argument("--samples", type=int, default=200, help="requests per list filter")
    parser.add_argument(
        "--budget", type=float, default=10.0, help="seconds spent at most per list filter"
    )
    parser.add_argument("--deep-pages", type=int, default=50, help="cursor pages followed")
    parser.add_argument(
        "--history-days", type=int, default=HISTORY_DAYS, help="the filled orders' time span"
    )
    parser.add_argument("--poll", default="/v1/orders", help="what the reader polls")
    parser.add_argument(
        "--settle", type=float, default=900.0,
        help="seconds to wait at most for the first housekeeping turn before measuring (0: not)",
    )  # fmt: skip
    parser.add_argument("--label", help="a note on what was measured, kept in the JSON")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path, help="SVG (default: the JSON path with .svg)")
    args = parser.parse_args()
    if args.smoke:
        args.sizes = [0, 300]
        args.seconds, args.warmup, args.rounds = 0.5, 0.2, 1
        args.samples, args.budget, args.deep_pages = 3, 1.0, 3
    args.sizes = sorted(set(args.sizes))
    results = asyncio.run(main(args))
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
        print(f"\nwritten to {args.json}")
    plot = args.plot or (args.json.with_suffix(".svg") if args.json else None)
    if plot:
        plot.write_text(svg(results))
        print(f"plot: {plot}")
