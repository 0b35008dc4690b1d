"""What the gateway forgets, and when: rows past their retention, deleted off the request path.

Without it nothing is ever deleted, and the database grows with every order for
as long as the gateway runs. Every few minutes each gateway process makes one
turn (`Housekeeping.run_once`), `[gateway] retention_batch_rows` rows per
statement, oldest first, each statement on an index (migration 0006):

- idempotency keys once `[gateway] idempotency_ttl_hours` old: past it a key
  replays nothing, its reuse is a new request (`gateway.orders.keys`);
- provider events once `[gateway] provider_event_retention_hours` old: they
  are kept only to recognise the provider's retries, which stop within minutes;
- delivered and cancelled messages, with their attempts, once
  `[webhooks] message_retention_hours` old: the delivery log answers "was it
  sent?" for that long; their payloads went after `payload_retention_hours`;
- orders' decision traces once `[gateway] decision_retention_days` old: they
  answer "why was it refused?" while someone still asks.

Pending and failed messages, orders, subscriptions and gateway processes are
never deleted here. Then the plugins' `gateway_housekeeping` hook runs, so that
each deletes its own rows (the audit trail, settled spend reservations) on the
same turn, in the same batches. Replicas each make their turns: a row is
deleted once, by whichever gets there first.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

import structlog

from gateway.clock import Clock, stamp
from gateway.config import Config
from gateway.hooks.host import PluginHost
from gateway.outbox.queue import Messages
from gateway.storage import Database, StorageUnavailable, Transaction
from gateway.storage.sweep import Swept, in_batches, pace

log = structlog.get_logger()

EVERY = 300.0  # seconds between two turns: a turn's backlog is minutes of rows

_OLD_KEYS = (
    "DELETE FROM idempotency_keys WHERE created_at < $1 AND (tenant, idem_key) IN ("
    "SELECT tenant, idem_key FROM idempotency_keys WHERE created_at < $1"
    " ORDER BY created_at LIMIT $2)"
)
_OLD_DECISIONS = (
    "DELETE FROM order_decisions WHERE at < $1 AND id IN ("
    "SELECT id FROM order_decisions WHERE at < $1 ORDER BY at LIMIT $2)"
)
_OLD_EVENTS = (
    "DELETE FROM provider_events WHERE received_at < $1 AND id IN ("
    "SELECT id FROM provider_events WHERE received_at < $1 ORDER BY received_at LIMIT $2)"
)
# Messages in state `$2` last due and delivered before `$1`, `$3` at a time, on the index
# `messages_claim` (state, next_attempt_at, ordering): a delivered message was due before it was
# delivered, and one replayed meanwhile is due again, so it is kept.
_DONE = "state = $2 AND next_attempt_at < $1 AND COALESCE(delivered_at, '') < $1"
_OLD_MESSAGES = (
    f"DELETE FROM messages WHERE {_DONE} AND id IN (SELECT id FROM messages WHERE {_DONE}"
    " ORDER BY next_attempt_at LIMIT $3) RETURNING id"
)


@dataclass(frozen=True)
class Retention:
    idempotency_ttl: timedelta
    provider_events: timedelta
    messages: timedelta
    payloads: timedelta
    batch: int
    decisions: timedelta = timedelta(days=90)

    @classmethod
    def of(cls, config: Config) -> Retention:
        hooks = config.webhooks
        return cls(
            idempotency_ttl=timedelta(hours=config.idempotency_ttl_hours),
            provider_events=timedelta(hours=config.provider_event_retention_hours),
            messages=timedelta(hours=hooks.message_retention_hours),
            payloads=timedelta(hours=hooks.payload_retention_hours),
            batch=config.retention_batch_rows,
            decisions=timedelta(days=config.decision_retention_days),
        )


class Housekeeping:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        messages: Messages,
        plugins: PluginHost,
        retention: Retention,
    ) -> None:
        self.db = db
        self.clock = clock
        self.messages = messages
        self.plugins = plugins
        self.retention = retention

    async def run_once(self) -> dict[str, Swept]:
        """One turn: every kind of row past its retention, then the plugins' own; returns
        what was deleted of each (payloads: emptied)."""
        now, kept, batch = self.clock.now(), self.retention, self.retention.batch
        swept = {
            "idempotency_keys": await in_batches(
                self.db, _OLD_KEYS, stamp(now - kept.idempotency_ttl), batch=batch
            ),
            "provider_events": await in_batches(
                self.db, _OLD_EVENTS, stamp(now - kept.provider_events), batch=batch
            ),
        }
        swept["order_decisions"] = await in_batches(
            self.db, _OLD_DECISIONS, stamp(now - kept.decisions), batch=batch
        )
        swept["messages"], swept["delivery_attempts"] = await self._messages(
            stamp(now - kept.messages)
        )
        purged = await self.messages.purge_payloads(self.db, kept.payloads, batch)
        swept["payloads"] = Swept(purged, purged // batch + 1)
        await self.plugins.notify("gateway_housekeeping", None, now=now, batch=batch)
        return swept

    async def _messages(self, before: str) -> tuple[Swept, Swept]:
        """Delivered, then cancelled messages with their attempts, each batch of messages in
        one transaction: an attempt never outlives its message, nor goes before it."""
        batch = self.retention.batch
        messages = attempts = Swept()
        for state in ("delivered", "cancelled"):

            async def forget(tx: Transaction, state: str = state) -> tuple[int, int]:
                ids = [row["id"] for row in await tx.fetch(_OLD_MESSAGES, before, state, batch)]
                if not ids:
                    return 0, 0
                marks = ", ".join(f"${i}" for i in range(1, len(ids) + 1))
                sql = f"DELETE FROM delivery_attempts WHERE message_id IN ({marks})"
                return len(ids), await tx.execute(sql, *ids)

            gone = batch
            while gone == batch:
                started = time.monotonic()
                gone, tried = await self.db.transaction(forget)
                messages, attempts = messages + Swept(gone, 1), attempts + Swept(tried, 1)
                if gone == batch:
                    await pace(started)
        return messages, attempts

    async def run_forever(self) -> None:
        """A turn every few minutes; one that fails waits for the next (a row deleted a few
        minutes late is no harm)."""
        while True:
            try:
                swept = await self.run_once()
                counts = {kind: s.rows for kind, s in swept.items() if s.rows}
                if counts:
                    log.info("retention_swept", **counts)
            except StorageUnavailable as exc:
                log.warning("retention_storage_unavailable", error=str(exc))
            except Exception:
                log.exception("retention_failed")
            await asyncio.sleep(EVERY)
