"""The decision trace: what each plugin hook did for an order, recorded by the host.

Plugins write nothing for it: the host times each call and notes its outcome
(`allowed`, `selected`, `reserved`, `rejected`, `would_reject` in shadow mode,
`failed`, `settled`, `notified`). A request's decisions are gathered while it
runs and written as one row per order (`order_decisions.entries`, a JSON
list) by a `QueuedWriter`, off the request path; a later settlement adds a
row of its own. Hooks that run before the order has an id (account
selection) wait in the request's context for the first decision that names
one. Reading waits for what this process queued, so a tenant that was just
refused sees why.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from gateway.clock import Clock, SystemClock, isoformat_z, stamp
from gateway.storage import Database
from gateway.storage.queued import QueuedWriter

# One decision as kept until it is written: (plugin, hook, outcome, mode, duration_ms,
# at as POSIX seconds, code, message). A tuple, formatted only when read: the trace is
# written for every order, so what it costs is paid on every placement.
Decision = tuple[str, str, str, str, float, float, str | None, str | None]
FIELDS = ("plugin", "hook", "outcome", "mode", "duration_ms", "at", "code", "message")

_INSERT = (
    "INSERT INTO order_decisions (id, order_id, tenant, at, seq, entries)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)
# Decisions made before the order had an id, in this request's context.
_WAITING: contextvars.ContextVar[list[Decision] | None] = contextvars.ContextVar(
    "decisions_waiting", default=None
)


def order_of(kwargs: dict[str, Any]) -> str | None:
    """The order a hook call is about, from its arguments."""
    for name, attribute in (("intent", "order_id"), ("settlement", "order_id"), ("order", "id")):
        value = kwargs.get(name)
        if value is not None:
            return getattr(value, attribute, None)
    return None


class DecisionLog:
    def __init__(self) -> None:
        self.clock: Clock = SystemClock()
        self._writer = QueuedWriter("decisions", _INSERT)
        self._open: dict[str, tuple[str, list[Decision]]] = {}  # order → (tenant, decisions)
        self._seq = itertools.count()
        self._started = False
        self._db: Database | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0

    def start(self, db: Database, clock: Clock) -> None:
        self._db, self.clock = db, clock
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._writer.start(db)
        self._started = True

    async def stop(self) -> None:
        self.close_all()
        await self._writer.stop()

    def note(
        self,
        order_id: str | None,
        tenant: str | None,
        plugin: str,
        hook: str,
        outcome: str,
        mode: str,
        seconds: float,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        decision: Decision = (
            plugin, hook, outcome, mode, round(seconds * 1000, 3),
            self.clock.now().timestamp(), code, message,
        )  # fmt: skip
        if order_id is None:
            waiting = _WAITING.get()
            if waiting is None:
                waiting = []
                _WAITING.set(waiting)
            waiting.append(decision)
            return
        if self._loop is not None and threading.get_ident() != self._thread:
            # `gateway_settle` inside a SQLite transaction, on the database's thread: the
            # open traces belong to the event loop, so the decision is handed over to it.
            self._loop.call_soon_threadsafe(self._add, order_id, tenant, decision)
            return
        self._add(order_id, tenant, decision)

    def _add(self, order_id: str, tenant: str | None, decision: Decision) -> None:
        entry = self._open.get(order_id)
        if entry is None:  # outside a placement (a settlement): its hooks run in one turn
            entry = self._open[order_id] = (tenant or "", [])
            if self._loop is not None:
                self._loop.call_soon(self.close, order_id)
        entry[1].append(decision)

    def begin(self, order_id: str, tenant: str) -> None:
        """A placement starts: its decisions (and those made before it had an id) make one
        row, queued by `close` when the placement ends."""
        decisions: list[Decision] = []
        waiting = _WAITING.get()
        if waiting:
            decisions.extend(waiting)
            waiting.clear()
        self._open[order_id] = (tenant, decisions)

    def close(self, order_id: str) -> None:
        """The order's hooks for now have run: queue them as one row."""
        entry = self._open.pop(order_id, None)
        if entry is None or not entry[1] or not self._started:
            return
        tenant, decisions = entry
        now = self.clock.now()
        self._writer.add(
            (
                str(uuid.uuid4()), order_id, tenant, stamp(now), next(self._seq),
                json.dumps(decisions),
            )
        )  # fmt: skip

    def close_all(self) -> None:
        for order_id in list(self._open):
            self.close(order_id)

    async def flush(self) -> None:
        """Queue every open trace and wait until what is queued is written."""
        self.close_all()
        await self._writer.flush()

    async def read(self, order_id: str) -> tuple[str | None, list[dict[str, Any]]]:
        """(the order's tenant, its decisions in the order they were made)."""
        self.close(order_id)
        await self._writer.flush()
        assert self._db is not None
        rows = await self._db.fetch(
            "SELECT tenant, entries FROM order_decisions WHERE order_id = $1 ORDER BY at, seq",
            order_id,
        )
        tenant = rows[0]["tenant"] if rows else None
        return tenant, [_shown(d) for row in rows for d in json.loads(row["entries"])]


def _shown(decision: list[Any]) -> dict[str, Any]:
    shown = dict(zip(FIELDS, decision, strict=True))
    shown["at"] = isoformat_z(datetime.fromtimestamp(shown["at"], UTC))
    return shown
