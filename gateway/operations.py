"""Operators' work from the command line: the outbox (`gateway deliveries ...`), the
orders the gateway could not settle by itself (`gateway orders ...`), and the keys codes
are sealed with (`gateway seal rekey`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway.app import AccountSecrets, Settings, create_app
from gateway.clock import SystemClock
from gateway.config import Config, ConfigError, seal_keys
from gateway.domain import OrderRecord
from gateway.orders import sealed
from gateway.orders.ledger import Ledger
from gateway.outbox import log as outbox_log
from gateway.outbox.queue import REPLAY_STATES, Messages
from gateway.outbox.subscriptions import Subscriptions
from gateway.sealing import Sealer
from gateway.state import DESK
from gateway.storage import open_database
from gateway.views import unresolved_view


async def list_messages(
    config: Config, state: str | None, tenant: str | None, subscription: str | None, limit: int
) -> list[dict[str, Any]]:
    db = await open_database(config.storage_url, config.storage_timeout_seconds)
    try:
        return await outbox_log.messages(db, state, tenant, subscription, limit)
    finally:
        await db.close()


def _when(text: str, option: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(option, "an RFC 3339 time such as 2026-11-28T10:00:00Z") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


async def replay_messages(
    config: Config,
    message_ids: list[str],
    subscription: str | None,
    since: str | None,
    *,
    until: str | None = None,
    state: str = "failed",
    dry_run: bool = False,
) -> int:
    messages = Messages(SystemClock())
    db = await open_database(config.storage_url, config.storage_timeout_seconds)
    try:
        count = 0
        for message_id in message_ids:
            if dry_run:
                row = await db.fetchrow(
                    "SELECT count(*) AS n FROM messages WHERE id = $1"
                    " AND state != 'cancelled' AND payload != ''",
                    message_id,
                )
                count += int(row["n"]) if row else 0
            else:
                count += await messages.replay_message(db, message_id)
        if subscription and since:
            end = _when(until, "--until") if until else None
            count += await messages.replay_range(
                db, [subscription], _when(since, "--since"), end, REPLAY_STATES[state], dry_run
            )
        return count
    finally:
        await db.close()


# --- orders whose outcome the gateway could not settle by itself ----------------------


async def unresolved_orders(config: Config, limit: int) -> list[dict[str, Any]]:
    db = await open_database(config.storage_url, config.storage_timeout_seconds)
    try:
        clock = SystemClock()
        orders = await Ledger(db, clock, Sealer(seal_keys(config))).unresolved(limit)
        return [unresolved_view(order, clock.now()) for order in orders]
    finally:
        await db.close()


@asynccontextmanager
async def offline_gateway(
    config: Config, secrets: dict[str, AccountSecrets]
) -> AsyncIterator[web.Application]:
    """The gateway's parts, started without serving and without background loops: the same
    desk, plugins and audit trail as `gateway serve`, for an operator's one command."""
    app = create_app(Settings(config, secrets, background=False))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        yield app
    finally:
        await runner.cleanup()


async def resolve_order(
    config: Config,
    secrets: dict[str, AccountSecrets],
    order_id: str,
    provider_order_id: str | None,
    not_placed: bool,
    operator: str,
) -> OrderRecord:
    async with offline_gateway(config, secrets) as app:
        return await app[DESK].outcomes.resolve_by_operator(
            order_id, provider_order_id=provider_order_id, not_placed=not_placed, operator=operator
        )


# --- the keys codes are sealed with -------------------------------------------------------


async def rekey(config: Config) -> dict[str, tuple[int, int]]:
    """Every sealed column re-sealed with the newest of the config's keys, per column:
    (re-sealed, already current). Values written before sealing are sealed now."""
    sealer = Sealer(seal_keys(config))
    db = await open_database(config.storage_url, config.storage_timeout_seconds)
    try:
        counts = await sealed.reseal(db, sealer)
        counts["messages.payload"] = await Messages(SystemClock(), sealer).reseal(db)
        counts.update(await Subscriptions.resealer(db, sealer))
        return counts
    finally:
        await db.close()
