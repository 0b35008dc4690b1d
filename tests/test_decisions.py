"""The decision log keeps every decision, also those noted on the SQLite thread (settlements
run inside a transaction there) while the event loop closes traces."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from gateway.clock import ManualClock
from gateway.hooks.decisions import DecisionLog


class Rows:
    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)


async def test_decisions_noted_on_another_thread_are_all_written() -> None:
    log = DecisionLog()
    rows = Rows()
    log._writer = rows  # type: ignore[assignment]
    log.clock = ManualClock()
    log._loop, log._thread, log._started = asyncio.get_running_loop(), threading.get_ident(), True
    done = threading.Event()

    def settle_on_the_database_thread() -> None:
        for n in range(200):  # the loop runs closes meanwhile
            log.note("order-1", "shop", f"p{n}", "gateway_settle", "settled", "enforce", 0.001)
        done.set()

    worker = threading.Thread(target=settle_on_the_database_thread)
    worker.start()
    while not done.is_set():  # noqa: ASYNC110 - the loop must keep turning: it closes traces
        await asyncio.sleep(0)
    worker.join()
    for _ in range(5):
        await asyncio.sleep(0)
    noted = [d[0] for row in rows.rows for d in json.loads(row[5])]
    assert noted == [f"p{n}" for n in range(200)]  # none lost, in order
    assert {row[1] for row in rows.rows} == {"order-1"}
