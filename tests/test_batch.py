"""One statement for many callers (gateway/storage/batch.py), and the ledger's use of it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.state import DATABASE
from tests.conftest import GatewayFactory


class Recorded:
    """A write that holds each statement until released, and records what it was given."""

    def __init__(self) -> None:
        self.statements: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail: set[int] = set()

    async def write(self, items: list[int]) -> list[int]:
        self.statements.append(items)
        await self.release.wait()
        if self.fail & set(items):
            raise RuntimeError("the statement failed")
        return [item * 10 for item in items]


async def test_what_arrives_while_a_statement_is_in_flight_goes_in_the_next() -> None:
    from gateway.storage.batch import Batch

    write = Recorded()
    batch: Batch[int, int] = Batch(write.write, parallel=1)
    first = asyncio.create_task(batch.submit(1))
    for _ in range(3):  # the caller's task, then the writer's
        await asyncio.sleep(0)
    assert write.statements == [[1]]  # at once, alone: nothing waits for a batch to fill
    rest = [asyncio.create_task(batch.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    write.release.set()
    assert await first == 10
    assert [await t for t in rest] == [20, 30, 40]  # each caller gets its own answer
    assert write.statements == [[1], [2, 3, 4]]


async def test_a_statement_holds_at_most_its_limit() -> None:
    from gateway.storage.batch import Batch

    write = Recorded()
    batch: Batch[int, int] = Batch(write.write, limit=2, parallel=1)
    calls = [asyncio.create_task(batch.submit(n)) for n in (1, 2, 3, 4)]
    for _ in range(3):  # the first in flight, the others queued behind it
        await asyncio.sleep(0)
    write.release.set()
    assert await asyncio.gather(*calls) == [10, 20, 30, 40]
    assert write.statements == [[1], [2, 3], [4]]


async def test_items_go_at_once_while_a_writer_is_free_and_then_wait_together() -> None:
    from gateway.storage.batch import Batch

    write = Recorded()
    batch: Batch[int, int] = Batch(write.write, parallel=2)
    calls = []
    for n in (1, 2, 3, 4):
        calls.append(asyncio.create_task(batch.submit(n)))
        for _ in range(3):
            await asyncio.sleep(0)
    write.release.set()
    assert await asyncio.gather(*calls) == [10, 20, 30, 40]
    assert write.statements == [[1], [2], [3, 4]]  # two in flight, then the rest together


async def test_a_statement_that_fails_for_one_item_writes_the_others_alone() -> None:
    from gateway.storage.batch import Batch

    write = Recorded()
    write.fail = {2}
    batch: Batch[int, int] = Batch(write.write, parallel=1)
    first = asyncio.create_task(batch.submit(0))
    for _ in range(3):  # its statement in flight while the next three queue
        await asyncio.sleep(0)
    calls = [asyncio.create_task(batch.submit(n)) for n in (1, 2, 3)]
    for _ in range(3):
        await asyncio.sleep(0)
    write.release.set()
    assert await first == 0
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert outcomes[0] == 10 and outcomes[2] == 30
    assert isinstance(outcomes[1], RuntimeError)  # the bad one's caller alone
    assert write.statements == [[0], [1, 2, 3], [1], [2], [3]]


async def test_an_unavailable_database_fails_the_whole_batch_at_once() -> None:
    from gateway.storage import StorageUnavailable
    from gateway.storage.batch import Batch

    async def down(items: list[int]) -> list[int]:
        raise StorageUnavailable("PostgreSQL: connection refused")

    batch: Batch[int, int] = Batch(down)
    outcomes = await asyncio.gather(*(batch.submit(n) for n in range(3)), return_exceptions=True)
    assert all(isinstance(o, StorageUnavailable) for o in outcomes)


async def test_a_caller_that_gives_up_leaves_the_others_their_answers() -> None:
    from gateway.storage.batch import Batch

    write = Recorded()
    batch: Batch[int, int] = Batch(write.write)
    gone = asyncio.create_task(batch.submit(1))
    kept = asyncio.create_task(batch.submit(2))
    await asyncio.sleep(0)
    gone.cancel()
    write.release.set()
    assert await kept == 20
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_concurrent_intents_share_a_statement_and_a_repeated_merchant_id_one_order(
    make_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = await make_gateway()
    await gateway.place(item_id=1001)  # warm: the catalog, the provider's token
    db = gateway.app[DATABASE]
    sizes: list[int] = []  # the intents each INSERT wrote
    original = db.fetch

    async def counted(sql: str, *args: Any) -> Any:
        if "INSERT INTO orders" in sql:
            sizes.append(len(args[0]))
        return await original(sql, *args)

    monkeypatch.setattr(db, "fetch", counted)
    same = [gateway.place(item_id=1001, merchant_order_id="inv-7") for _ in range(10)]
    others = [gateway.place(item_id=1001, merchant_order_id=f"other-{n}") for n in range(10)]
    answers = await asyncio.gather(*same, *others)
    repeated = answers[:10]
    assert sorted(a.status for a in repeated) == [200] * 9 + [201]
    assert len({a.body["id"] for a in repeated}) == 1
    assert [a.status for a in answers[10:]] == [201] * 10, [a.body for a in answers[10:]]
    assert len({a.body["id"] for a in answers}) == 11
    if db.engine == "postgresql":
        assert sum(sizes) == 20 and max(sizes) > 1  # the SQLite ledger writes one at a time
