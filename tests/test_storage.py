"""Storage: a transaction is a function that commits whole or not at all, on both engines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.storage import Database, Transaction, open_database
from gateway.storage.database import AwaitedInsideTransaction, Work
from gateway.storage.group import GroupCommit


@pytest.fixture
async def db(storage_url: str) -> AsyncIterator[Database]:
    database = await open_database(storage_url)
    await database.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    yield database
    await database.close()


async def bodies(db: Database) -> list[str]:
    return [r["body"] for r in await db.fetch("SELECT body FROM notes ORDER BY id")]


async def test_a_transaction_commits_everything_it_wrote_and_returns_its_result(
    db: Database,
) -> None:
    async def work(tx: Transaction) -> int:
        await tx.execute("INSERT INTO notes (id, body) VALUES ($1, $2)", 1, "one")
        await tx.executemany("INSERT INTO notes (id, body) VALUES ($1, $2)", [(2, "b"), (3, "c")])
        row = await tx.fetchrow("SELECT count(*) AS n FROM notes")
        assert row is not None
        return int(row["n"])

    assert await db.transaction(work) == 3
    assert await bodies(db) == ["one", "b", "c"]


async def test_a_transaction_that_raises_writes_nothing(db: Database) -> None:
    async def work(tx: Transaction) -> None:
        await tx.execute("INSERT INTO notes (id, body) VALUES ($1, $2)", 1, "lost")
        raise LookupError("changed my mind")

    with pytest.raises(LookupError):
        await db.transaction(work)
    assert await bodies(db) == []


async def test_executemany_writes_every_row_or_none(db: Database) -> None:
    """Without a transaction of its own (on PostgreSQL one round trip): still all or none."""
    insert = "INSERT INTO notes (id, body) VALUES ($1, $2)"
    await db.executemany(insert, [(1, "a"), (2, "b")])
    with pytest.raises(Exception):  # noqa: B017 - each driver names the duplicate its own way
        await db.executemany(insert, [(3, "c"), (1, "again"), (4, "d")])
    assert await bodies(db) == ["a", "b"]


async def test_concurrent_transactions_do_not_mix(db: Database) -> None:
    """Read-modify-write of one counter from many coroutines: no update is lost."""
    await db.execute("INSERT INTO notes (id, body) VALUES (1, '0')")
    lock = " FOR UPDATE" if db.engine == "postgresql" else ""

    async def bump(tx: Transaction) -> None:
        row = await tx.fetchrow(f"SELECT body FROM notes WHERE id = 1{lock}")
        assert row is not None
        await tx.execute("UPDATE notes SET body = $1 WHERE id = 1", str(int(row["body"]) + 1))

    await asyncio.gather(*(db.transaction(bump) for _ in range(40)))
    assert await bodies(db) == ["40"]


async def test_sqlite_refuses_a_transaction_that_awaits_other_io(
    db: Database,
) -> None:
    """On SQLite a whole transaction runs in the database thread: waiting there on the
    event loop would deadlock, so it is refused with a message that says what to do, and
    what it wrote is rolled back. PostgreSQL allows it (a pooled connection waits)."""

    async def work(tx: Transaction) -> None:
        await tx.execute("INSERT INTO notes (id, body) VALUES ($1, $2)", 1, "lost")
        await asyncio.sleep(0)

    if db.engine == "postgresql":
        await db.transaction(work)
        assert await bodies(db) == ["lost"]
        return
    with pytest.raises(AwaitedInsideTransaction, match="await only the transaction's own"):
        await db.transaction(work)
    assert await bodies(db) == []


async def test_group_commit_runs_queued_work_in_one_transaction(db: Database) -> None:
    commits = GroupCommit(db)
    transactions: list[int] = []
    original = db.transaction

    async def counting(work: Work[Any]) -> Any:
        transactions.append(1)
        return await original(work)

    db.transaction = counting  # type: ignore[method-assign]

    def note(n: int) -> Work[int]:
        async def work(tx: Transaction) -> int:
            await tx.execute("INSERT INTO notes (id, body) VALUES ($1, $2)", n, f"n{n}")
            return n * 10

        return work

    results = await asyncio.gather(*(commits.run(note(n)) for n in range(1, 21)))
    await commits.close()
    assert results == [n * 10 for n in range(1, 21)]
    assert len(transactions) == 1  # all twenty were queued before the writer ran
    assert len(await bodies(db)) == 20


async def test_group_commit_isolates_a_failing_work(db: Database) -> None:
    """One bad record in a batch neither loses the others nor hands them its error."""
    commits = GroupCommit(db)

    def note(n: int) -> Work[None]:
        async def work(tx: Transaction) -> None:
            await tx.execute("INSERT INTO notes (id, body) VALUES ($1, $2)", n, f"n{n}")
            if n == 3:
                raise ValueError("record 3 is bad")

        return work

    outcomes = await asyncio.gather(
        *(commits.run(note(n)) for n in range(1, 6)), return_exceptions=True
    )
    assert [type(o).__name__ for o in outcomes] == [
        "NoneType", "NoneType", "ValueError", "NoneType", "NoneType"
    ]  # fmt: skip
    assert await bodies(db) == ["n1", "n2", "n4", "n5"]


# A read that takes the SQLite engine about a second: a list a console polls, at scale.
SLOW_READ = (
    "SELECT count(*) AS n FROM (WITH RECURSIVE c(x) AS"
    " (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000000) SELECT x FROM c)"
)


async def test_sqlite_a_slow_read_does_not_hold_up_writes(tmp_path: Any) -> None:
    db = await open_database(f"sqlite:///{tmp_path / 'readers.sqlite3'}")
    try:
        await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        finished: list[str] = []

        async def read() -> None:
            await db.fetchrow(SLOW_READ)
            finished.append("read")

        async def write() -> None:
            await asyncio.sleep(0.05)  # once the read has started
            for n in range(20):
                await db.execute("INSERT INTO t (id, v) VALUES ($1, 'x')", n)
            assert await db.fetchrow("SELECT count(*) AS n FROM t") == {"n": 20}
            finished.append("writes")

        await asyncio.gather(read(), write())
        assert finished == ["writes", "read"]
    finally:
        await db.close()


async def test_sqlite_a_slow_write_does_not_hold_up_reads(tmp_path: Any) -> None:
    db = await open_database(f"sqlite:///{tmp_path / 'readers.sqlite3'}")
    try:
        await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
        await db.execute("INSERT INTO t (id, n) VALUES (1, 0)")
        finished: list[str] = []

        async def slow_write() -> None:
            async def work(tx: Transaction) -> None:
                await tx.execute("UPDATE t SET n = 1 WHERE id = 1")
                await tx.fetchrow(SLOW_READ)  # the transaction holds the writer meanwhile

            await db.transaction(work)
            finished.append("write")

        async def reads() -> None:
            await asyncio.sleep(0.05)
            # the committed state, not the half-done transaction's
            assert await db.fetchrow("SELECT n FROM t WHERE id = 1") == {"n": 0}
            finished.append("read")

        await asyncio.gather(slow_write(), reads())
        assert finished == ["read", "write"]
        assert await db.fetchrow("SELECT n FROM t WHERE id = 1") == {"n": 1}
    finally:
        await db.close()
