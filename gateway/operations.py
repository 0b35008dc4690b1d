"""Operators' work on the outbox from the command line (`gateway deliveries ...`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.clock import stamp
from gateway.config import Config, ConfigError
from gateway.storage import open_database


async def list_messages(
    config: Config, state: str | None, tenant: str | None, subscription: str | None, limit: int
) -> list[dict[str, Any]]:
    db = await open_database(config.storage_url)
    try:
        where: list[str] = []
        args: list[Any] = []
        for column, value in (
            ("state", state),
            ("tenant", tenant),
            ("subscription_id", subscription),
        ):
            if value is not None:
                args.append(value)
                where.append(f"{column} = ${len(args)}")
        args.append(max(1, min(limit, 1000)))
        return await db.fetch(
            "SELECT id, state, attempts, last_status, next_attempt_at, event_type, order_id,"
            " tenant, subscription_id FROM messages"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY created_at DESC, id DESC LIMIT ${len(args)}",
            *args,
        )
    finally:
        await db.close()


async def replay_messages(
    config: Config, message_ids: list[str], subscription: str | None, since: str | None
) -> int:
    now = stamp(datetime.now(UTC))
    db = await open_database(config.storage_url)
    try:
        count = 0
        for message_id in message_ids:
            count += await db.execute(
                "UPDATE messages SET state = 'pending', attempts = 0, next_attempt_at = $2,"
                " claimed_until = NULL WHERE id = $1 AND state != 'cancelled'",
                message_id,
                now,
            )
        if subscription and since:
            try:
                when = datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError:
                raise ConfigError(
                    "--since", "an RFC 3339 time such as 2026-11-28T10:00:00Z"
                ) from None
            count += await db.execute(
                "UPDATE messages SET state = 'pending', attempts = 0, next_attempt_at = $3,"
                " claimed_until = NULL WHERE subscription_id = $1 AND state = 'failed'"
                " AND created_at >= $2",
                subscription,
                stamp(when if when.tzinfo else when.replace(tzinfo=UTC)),
                now,
            )
        return count
    finally:
        await db.close()
