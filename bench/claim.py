"""What one outbox claim costs with a long backlog: it must not grow with it.

    python bench/claim.py 100000 postgresql
    python bench/claim.py 100000 sqlite

Fills an empty database (a PostgreSQL schema of its own, dropped after; or a
SQLite file in a temporary folder) with N pending messages for one endpoint,
two per order (the second waits behind the first), then times three claims
of up to 100 messages as the dispatcher makes them (4 per endpoint).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from gateway.clock import ManualClock, stamp
from gateway.outbox.queue import Messages
from gateway.storage import Transaction, open_database

PG = "postgresql://127.0.0.1:5432/test"


async def run(n: int, engine: str, folder: Path) -> None:
    schema = "bench_claim_" + uuid.uuid4().hex[:8]
    url = f"{PG}?schema={schema}" if engine == "postgresql" else f"sqlite:///{folder}/claim.db"
    db = await open_database(url)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)

    async def fill(tx: Transaction) -> None:
        await tx.execute(
            "INSERT INTO subscriptions (id, tenant, url, event_types, scope, secret, state,"
            " created_at, updated_at) VALUES ('sub1', 'shop', 'http://127.0.0.1:9/h', '[]',"
            " 'own', 'x', 'active', $1, $1)",
            stamp(now),
        )
        rows = []
        for i in range(n):
            at = stamp(now - timedelta(seconds=n - i))
            rows.append((f"msg_{i:08d}", f"o{i // 2}", f"{at}:{i:012d}", at))
        await tx.executemany(
            "INSERT INTO messages (id, subscription_id, tenant, event_type, order_id, ordering,"
            " payload, state, next_attempt_at, created_at)"
            " VALUES ($1, 'sub1', 'shop', 'order.accepted', $2, $3, 'p', 'pending', $4, $4)",
            rows,
        )

    try:
        await db.transaction(fill, bounded=False)
        if engine == "postgresql":
            await db.execute("ANALYZE messages")
        messages = Messages(ManualClock(now))
        for attempt in range(3):

            async def claim(tx: Transaction) -> int:
                lease = now + timedelta(seconds=30)
                return len(await messages.claim(tx, db.engine, now, lease, 4, {}, 100))

            started = time.perf_counter()
            taken = await db.transaction(claim)
            elapsed = (time.perf_counter() - started) * 1000
            print(f"{engine}, {n} pending: claim {attempt + 1} took {taken} in {elapsed:.1f} ms")
            await db.execute("UPDATE messages SET state = 'pending' WHERE state = 'delivering'")
    finally:
        await db.close()
        if engine == "postgresql":
            conn = await asyncpg.connect(PG)
            try:
                await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            finally:
                await conn.close()


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    engine = sys.argv[2] if len(sys.argv) > 2 else "postgresql"
    with tempfile.TemporaryDirectory(prefix="gateway-claim-") as tmp:
        asyncio.run(run(count, engine, Path(tmp)))
