"""Operator alerts: when something needs a person, the operators' sink hears of it once per
incident, not once per message.

Every `check_every_seconds` the gateway looks at what is true now, as an alerting rule
does: an endpoint disabled, an endpoint with dead letters (messages that exhausted their
attempts), an order waiting for an operator, an account the provider refuses or does not
answer for, an account's balance under its floor. A condition that starts to hold opens
an incident (a row in `alerts`; a unique index on the open ones lets one replica win) and
sends one `alert.<kind>` event; while it holds, nothing more is sent; once it stops
holding the incident is closed, and a later one alerts again.

The sink is a subscription of its own (tenant `_operators`, scope `operators`, which no
order's event matches), made from `[alerts]` at start: alerts go through the outbox, so
they are signed like tenants' webhooks (Standard Webhooks, the `[alerts] secret`),
retried on the same schedule and never lost to a restart.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog

from gateway.clock import Clock, isoformat_z, stamp
from gateway.config_alerts import AlertsConfig
from gateway.outbox.events import envelope
from gateway.outbox.queue import Messages
from gateway.sealing import Sealer
from gateway.storage import Database, StorageUnavailable, Transaction

log = structlog.get_logger()
SINK = "sub_operators"
OPERATORS = "_operators"


class Alerts:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        config: AlertsConfig,
        secret: str,
        sealer: Sealer,
        accounts: Callable[[], dict[str, tuple[bool, str | None]]],
        balance: Callable[[str], Awaitable[Decimal]],
        wake: Callable[[], None],
    ) -> None:
        self.db, self.clock, self.config, self.sealer = db, clock, config, sealer
        self.secret = secret
        self.accounts = accounts  # account -> (available, last error)
        self.balance = balance
        self.wake = wake
        self.messages = Messages(clock, sealer)

    async def start(self) -> None:
        """The sink's subscription, as the config says it now."""
        now = stamp(self.clock.now())
        sealed = self.sealer.seal(self.secret)

        async def upsert(tx: Transaction) -> None:
            changed = await tx.execute(
                "UPDATE subscriptions SET url = $2, secret = $3, state = 'active',"
                " updated_at = $4 WHERE id = $1",
                SINK, self.config.url, sealed, now,
            )  # fmt: skip
            if not changed:
                await tx.execute(
                    "INSERT INTO subscriptions (id, tenant, url, event_types, scope, secret,"
                    " state, created_at, updated_at) VALUES ($1, $2, $3, '[]', 'operators', $4,"
                    " 'active', $5, $5)",
                    SINK, OPERATORS, self.config.url, sealed, now,
                )  # fmt: skip

        await self.db.transaction(upsert)

    async def run_forever(self) -> None:
        while True:
            try:
                await self.check_once()
            except StorageUnavailable as exc:
                log.warning("alerts_storage_unavailable", error=str(exc))
            except Exception:  # one failed turn must not stop the alerts for good
                log.exception("alerts_check_failed")
            await asyncio.sleep(self.config.check_every_seconds)

    async def check_once(self) -> list[str]:
        """Open an incident (and alert) for each condition that holds and has none open;
        close those whose condition no longer holds. Returns the alerts sent."""
        firing: dict[str, dict[str, dict[str, Any]]] = {
            "endpoint_disabled": {
                r["id"]: {"tenant": r["tenant"], "url": r["url"], "reason": r["disabled_reason"]}
                for r in await self.db.fetch(
                    "SELECT id, tenant, url, disabled_reason FROM subscriptions"
                    " WHERE state = 'disabled' AND tenant != $1",
                    OPERATORS,
                )
            },
            "message_exhausted": {
                r["subscription_id"]: {"tenant": r["tenant"], "dead_letters": int(r["n"])}
                for r in await self.db.fetch(
                    "SELECT subscription_id, tenant, count(*) AS n FROM messages"
                    " WHERE state = 'failed' GROUP BY subscription_id, tenant"
                )
            },
            "order_unresolved": {
                r["id"]: {
                    "tenant": r["tenant"],
                    "account": r["account"],
                    "reason": r["unresolved"],
                    "reference": r["reference"],
                }
                for r in await self.db.fetch(
                    "SELECT id, tenant, account, unresolved, reference FROM orders"
                    " WHERE status = 'unknown' AND unresolved IS NOT NULL LIMIT 500"
                )
            },
            "account_unavailable": {
                name: {"error": error}
                for name, (available, error) in self.accounts().items()
                if not available
            },
            "balance_low": await self._low_balances(),
        }
        sent = []
        now = self.clock.now()
        for kind, subjects in firing.items():
            for subject, details in subjects.items():
                if await self._open(kind, subject, details, now):
                    sent.append(f"{kind}:{subject}")
            await self._close_others(kind, set(subjects), now)
        if sent:
            log.warning("operator_alerts_sent", alerts=sent)
            self.wake()
        return sent

    async def _low_balances(self) -> dict[str, dict[str, Any]]:
        low = {}
        for account, floor in self.config.balance_floor.items():
            try:
                balance = await self.balance(account)
            except Exception:  # an account that does not answer is account_unavailable's
                continue
            if balance < floor:
                low[account] = {"balance": str(balance), "floor": str(floor)}
        return low

    async def _open(self, kind: str, subject: str, details: dict[str, Any], now: datetime) -> bool:
        data = {"kind": kind, "subject": subject, "since": isoformat_z(now), **details}

        async def work(tx: Transaction) -> bool:
            opened = await tx.execute(
                "INSERT INTO alerts (id, kind, subject, opened_at, details)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                str(uuid.uuid4()), kind, subject, stamp(now), json.dumps(data, sort_keys=True),
            )  # fmt: skip
            if not opened:
                return False  # already open (here or on another replica): said once
            payload = envelope(f"alert.{kind}", data, now)
            await self.messages.enqueue(tx, SINK, OPERATORS, f"alert.{kind}", None, payload, now)
            return True

        return await self.db.transaction(work)

    async def _close_others(self, kind: str, firing: set[str], now: datetime) -> None:
        rows = await self.db.fetch(
            "SELECT subject FROM alerts WHERE kind = $1 AND closed_at IS NULL", kind
        )
        for row in rows:
            if row["subject"] not in firing:
                await self.db.execute(
                    "UPDATE alerts SET closed_at = $3 WHERE kind = $1 AND subject = $2"
                    " AND closed_at IS NULL",
                    kind, row["subject"], stamp(now),
                )  # fmt: skip
