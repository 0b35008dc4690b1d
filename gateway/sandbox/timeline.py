"""Actions due at a clock time: the sandbox's fulfilment and webhook schedule.

With the system clock a background loop runs each action when it falls due.
With a manual clock nothing runs until a test calls `advance`, which steps the
clock through every due time in order and awaits each action, so that when it
returns everything due has happened (no sleeps, no races).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from gateway.clock import Clock, ManualClock

log = structlog.get_logger()

Action = Callable[[], Awaitable[None]]


class Timeline:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[tuple[datetime, int, Action]] = []
        self._seq = itertools.count()
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, delay_seconds: float, action: Action) -> None:
        due = self._clock.now() + timedelta(seconds=max(0.0, delay_seconds))
        heapq.heappush(self._heap, (due, next(self._seq), action))
        self._changed.set()

    def pending(self) -> int:
        return len(self._heap)

    def _pop_due(self) -> list[Action]:
        now = self._clock.now()
        due: list[Action] = []
        while self._heap and self._heap[0][0] <= now:
            due.append(heapq.heappop(self._heap)[2])
        return due

    async def advance(self, seconds: float) -> None:
        """Move a manual clock forward, running every action due on the way, in order."""
        clock = self._clock
        if not isinstance(clock, ManualClock):
            raise TypeError("advance() needs a ManualClock")
        target = clock.now() + timedelta(seconds=seconds)
        while True:
            await self.run_due()
            if not self._heap or self._heap[0][0] > target:
                break
            clock.set(max(clock.now(), self._heap[0][0]))
        clock.set(target)
        await self.run_due()

    async def run_due(self) -> None:
        """Run what is due now, and what that schedules for now, until nothing is due."""
        while due := self._pop_due():
            await asyncio.gather(*(_guarded(action) for action in due))

    async def run_forever(self) -> None:
        """The system-clock loop: each due action is its own task, so none waits on a slow one."""
        while True:
            for action in self._pop_due():
                task = asyncio.create_task(_guarded(action))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            self._changed.clear()
            timeout = None
            if self._heap:
                timeout = max(0.0, (self._heap[0][0] - self._clock.now()).total_seconds())
            try:  # asyncio.timeout: wait_for can swallow a cancel on Python 3.11
                async with asyncio.timeout(timeout):
                    await self._changed.wait()
            except TimeoutError:
                pass

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _guarded(action: Action) -> None:
    try:
        await action()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("sandbox_action_failed")
