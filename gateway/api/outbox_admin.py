"""`/v1/admin/outbox`: the backlog of tenant webhooks and the dead letters, for admins.

The backlog counts are the whole outbox's (a health number, like `/metrics`); the dead
letters listed and replayed are only those of the tenants the admin reaches (all of
whose accounts it holds), as for the tenant pages of the admin API.
"""

from __future__ import annotations

from aiohttp import web

from gateway import cursors
from gateway.api import params
from gateway.api.edge import TENANTS, authenticate
from gateway.clock import isoformat_z, unstamp
from gateway.config import Role
from gateway.errors import Forbidden, NotFound
from gateway.outbox import log as outbox_log
from gateway.state import DESK, DISPATCHER
from gateway.tenants import Tenant


def _admin(request: web.Request) -> Tenant:
    tenant = authenticate(request)
    if tenant.role is not Role.ADMIN:
        raise Forbidden("only an admin may read the outbox and its dead letters")
    return tenant


def _reach(request: web.Request, admin: Tenant) -> list[str]:
    """The tenants all of whose accounts this admin holds."""
    held = set(admin.accounts)
    return sorted(
        name for name, t in request.app[TENANTS].by_name.items() if set(t.accounts) <= held
    )


async def outbox(request: web.Request) -> web.Response:
    admin = _admin(request)
    query = request.query
    params.only(query, {"limit", "cursor"})
    limit = params.limit(query)
    cursor = query.get("cursor")
    after = cursors.decode(cursor) if cursor else None
    db = request.app[DESK].ledger.db
    counts, oldest = await outbox_log.backlog(db)
    tenants = _reach(request, admin)
    rows = await outbox_log.dead_letters(db, tenants, limit + 1, after) if tenants else []
    page = rows[:limit]
    return web.json_response(
        {
            "backlog": counts,
            "oldest_pending_at": isoformat_z(oldest) if oldest else None,
            "data": [
                {
                    "message_id": row["id"],
                    "tenant": row["tenant"],
                    "subscription_id": row["subscription_id"],
                    "event_type": row["event_type"],
                    "order_id": row["order_id"],
                    "attempts": row["attempts"],
                    "last_status": row["last_status"],
                    "created_at": isoformat_z(unstamp(row["created_at"])),
                    "given_up_at": isoformat_z(unstamp(row["next_attempt_at"])),
                }
                for row in page
            ],
            "next_cursor": cursors.encode(page[-1]["next_attempt_at"], page[-1]["ordering"])
            if len(rows) > limit
            else None,
        }
    )


async def replay(request: web.Request) -> web.Response:
    """A dead letter (or any message but a cancelled one) of a tenant in reach, again."""
    admin = _admin(request)
    message_id = request.match_info["message_id"]
    desk = request.app[DESK]
    db = desk.ledger.db
    row = await db.fetchrow("SELECT tenant FROM messages WHERE id = $1", message_id)
    if row is None or row["tenant"] not in _reach(request, admin):
        raise NotFound(f"no message {message_id} of a tenant on your accounts")
    if not await desk.outbox.messages.replay_message(db, message_id):
        raise NotFound(
            f"message {message_id} cannot be sent again: it was cancelled, or its payload"
            " is past its retention (webhooks.payload_retention_hours)"
        )
    request.app[DISPATCHER].wake()
    return web.json_response({"replayed": 1}, status=202)


routes = [
    web.get("/v1/admin/outbox", outbox),
    web.post("/v1/admin/outbox/{message_id}/replay", replay),
]
