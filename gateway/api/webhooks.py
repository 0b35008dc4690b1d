"""`/v1/subscriptions`: tenants' webhook endpoints, their delivery log, and replays."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from gateway import cursors
from gateway.api import params
from gateway.api.edge import RATE_LIMITS, authenticate, read_json
from gateway.clock import isoformat_z, unstamp
from gateway.errors import BadRequest, InvalidField, InvalidRange, NotFound, PayloadPurged
from gateway.orders.outcomes import is_uuid
from gateway.outbox import log as outbox_log
from gateway.outbox.queue import REPLAY_STATES
from gateway.outbox.subscriptions import Subscription
from gateway.state import CONFIG, DESK, DISPATCHER, LEDGER, SUBSCRIPTIONS
from gateway.storage import Transaction
from gateway.tenants import Tenant


async def _object(request: web.Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    params.no_nulls(body)
    return body


BACKFILL_HOURS = 72  # a new endpoint may catch up on at most three days
BACKFILL_ORDERS = 10_000


async def create(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    body = await _object(request)
    hours = body.pop("backfill_hours", None)
    if hours is not None and (
        isinstance(hours, bool) or not isinstance(hours, int | float)
        or not 0 < hours <= BACKFILL_HOURS
    ):  # fmt: skip
        raise InvalidField("backfill_hours", f"hours, above 0 and at most {BACKFILL_HOURS}")
    limits = _limit(request, tenant, "subscription")
    subscription = await request.app[SUBSCRIPTIONS].create(tenant, body)
    view = request.app[SUBSCRIPTIONS].with_secret(subscription)
    if hours is not None:
        view["backfilled"] = await _backfill(request, subscription, hours)
    return web.json_response(
        view, status=201, headers={"Location": f"/v1/subscriptions/{subscription.id}", **limits}
    )


async def _backfill(request: web.Request, subscription: Subscription, hours: float) -> int:
    """The current state of each order the endpoint would have heard of, created in the last
    `hours`: a new endpoint catches up (Convoy #1213)."""
    desk = request.app[DESK]
    since = desk.clock.now() - timedelta(hours=hours)
    column, value = ("tenant", subscription.tenant)
    if subscription.scope.startswith("account:"):
        column, value = ("account", subscription.scope.removeprefix("account:"))
    orders = await desk.ledger.created_since(column, value, since, BACKFILL_ORDERS)

    async def write(tx: Transaction) -> int:
        return await desk.outbox.backfill(tx, subscription, orders)

    count = await desk.ledger.db.transaction(write)
    request.app[DISPATCHER].wake()
    return count


async def list_all(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    subscriptions = await request.app[SUBSCRIPTIONS].list(tenant)
    return web.json_response({"data": [s.view() for s in subscriptions], "next_cursor": None})


async def get_one(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    subscription = await request.app[SUBSCRIPTIONS].get(tenant, request.match_info["id"])
    return web.json_response(subscription.view())


async def update(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    body = await _object(request)
    if "url" in body:  # a new URL is resolved: that is what the limit bounds
        _limit(request, tenant, "subscription")
    subscription = await request.app[SUBSCRIPTIONS].update(tenant, request.match_info["id"], body)
    request.app[DISPATCHER].wake()  # re-enabled: its waiting messages may go now
    return web.json_response(subscription.view())


async def delete(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    await request.app[SUBSCRIPTIONS].delete(tenant, request.match_info["id"])
    return web.Response(status=204)


async def rotate_secret(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    subscription = await request.app[SUBSCRIPTIONS].rotate(tenant, request.match_info["id"])
    return web.json_response(request.app[SUBSCRIPTIONS].with_secret(subscription))


def _limit(request: web.Request, tenant: Tenant, kind: str) -> dict[str, str]:
    return request.app[RATE_LIMITS].take(tenant.name, kind)


async def test_send(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    subscription = await request.app[SUBSCRIPTIONS].get(tenant, request.match_info["id"])
    limits = _limit(request, tenant, "test")
    db = request.app[LEDGER].db
    outbox = request.app[DESK].outbox
    message_id = await db.transaction(lambda tx: outbox.ping(tx, subscription))
    request.app[DISPATCHER].wake()
    return web.json_response(
        {"message_id": message_id, "event_type": "ping"}, status=202, headers=limits
    )


async def deliveries(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    subscription = await request.app[SUBSCRIPTIONS].get(tenant, request.match_info["id"])
    params.only(request.query, {"limit", "cursor"})
    limit = params.limit(request.query)
    cursor = request.query.get("cursor")
    after = cursors.decode(cursor) if cursor else None
    desk = request.app[DESK]
    rows = await outbox_log.attempts(desk.ledger.db, subscription.id, limit + 1, after)
    page = rows[:limit]
    return web.json_response(
        {
            "data": [
                {
                    "message_id": row["message_id"],
                    "event_type": row["event_type"],
                    "order_id": row["order_id"],
                    "attempt": row["attempt"],
                    "at": isoformat_z(unstamp(row["at"])),
                    "status_code": row["status"],
                    "latency_ms": row["latency_ms"],
                    "response_excerpt": row["response_excerpt"],
                    "error": row["error"],
                    "state": row["message_state"],
                    "next_attempt_at": isoformat_z(unstamp(row["next_attempt_at"]))
                    if row["message_state"] == "pending"
                    else None,
                }
                for row in page
            ],
            "next_cursor": cursors.encode(page[-1]["at"], page[-1]["id"])
            if len(rows) > limit
            else None,
        }
    )


async def replay_failed(request: web.Request) -> web.Response:
    """One subscription's messages created in a time range, again (`replay_all`: every
    subscription of the tenant's)."""
    tenant = authenticate(request)
    subscription = await request.app[SUBSCRIPTIONS].get(tenant, request.match_info["id"])
    return await _replay_range(request, tenant, [subscription.id])


async def replay_all(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    subscriptions = await request.app[SUBSCRIPTIONS].list(tenant)
    return await _replay_range(request, tenant, [s.id for s in subscriptions])


async def _replay_range(request: web.Request, tenant: Tenant, ids: list[str]) -> web.Response:
    body = await _object(request)
    unknown = sorted(set(body) - {"since", "until", "state", "dry_run"})
    if unknown:
        raise InvalidField(unknown[0], "unknown field; a replay takes since, until, state, dry_run")
    bounds = {}
    for key in ("since", "until"):
        raw = body.get(key)
        if raw is None and key == "until":
            continue
        if not isinstance(raw, str):
            raise InvalidField(
                key, "an RFC 3339 time: messages created from since up to until are sent again"
            )
        bounds[key] = params.rfc3339(raw, key)
    until = bounds.get("until")
    if until is not None and until < bounds["since"]:
        raise InvalidRange("until", "not before since: the range is [since, until)")
    state = body.get("state", "failed")
    if not isinstance(state, str) or state not in REPLAY_STATES:  # {} is unhashable: no 500
        raise InvalidField("state", "failed (the default), delivered or all")
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InvalidField("dry_run", "true (count what would be sent, send nothing) or false")
    desk = request.app[DESK]
    messages, db, since = desk.outbox.messages, desk.ledger.db, bounds["since"]
    states = REPLAY_STATES[state]
    if dry_run:  # counts only: not under the replay rate
        count = await messages.replay_range(db, ids, since, until, states, dry_run=True)
        return web.json_response({"would_replay": count, "dry_run": True})
    limits = _limit(request, tenant, "replay")
    count = await messages.replay_range(db, ids, since, until, states)
    request.app[DISPATCHER].wake()
    return web.json_response({"replayed": count}, status=202, headers=limits)


async def replay_message(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    subscription = await request.app[SUBSCRIPTIONS].get(tenant, request.match_info["id"])
    limits = _limit(request, tenant, "replay")
    desk = request.app[DESK]
    message_id = request.match_info["message_id"]
    messages, db = desk.outbox.messages, desk.ledger.db
    count = await messages.replay_message(db, message_id, subscription.id)
    if not count and await messages.purged(db, message_id, subscription.id):
        hours = request.app[CONFIG].webhooks.payload_retention_hours
        raise PayloadPurged(
            f"message {message_id} was delivered more than {hours:g} h ago and its payload "
            f"has been emptied (webhooks.payload_retention_hours = {hours:g}): it cannot be "
            "sent again. Read the order (GET /v1/orders/{id}) for its current state",
            details={"message_id": message_id, "payload_retention_hours": hours},
        )
    if not count:
        raise NotFound(f"no message {message_id} for this subscription")
    request.app[DISPATCHER].wake()
    return web.json_response({"replayed": 1}, status=202, headers=limits)


async def order_deliveries(request: web.Request) -> web.Response:
    """Each event of one order sent to the caller's endpoints, and each attempt: the
    answer to "why did my webhook for this order not arrive?"."""
    tenant = authenticate(request)
    params.only(request.query, set())
    order_id = request.match_info["order_id"]
    desk = request.app[DESK]
    if not is_uuid(order_id) or not await desk.reads.visible(tenant, order_id):
        raise NotFound(f"no order {order_id} for tenant {tenant.name!r}")
    endpoints = {s.id: s.url for s in await request.app[SUBSCRIPTIONS].list(tenant)}
    rows = (
        await outbox_log.order_attempts(desk.ledger.db, order_id, list(endpoints))
        if endpoints
        else []
    )
    data = [
        {
            "message_id": row["message_id"],
            "subscription_id": row["subscription_id"],
            "url": endpoints[row["subscription_id"]],
            "event_type": row["event_type"],
            "state": row["state"],
            "created_at": isoformat_z(unstamp(row["created_at"])),
            "attempt": row["attempt"],
            "at": isoformat_z(unstamp(row["at"])) if row["at"] is not None else None,
            "status_code": row["status"],
            "latency_ms": row["latency_ms"],
            "error": row["error"],
            "next_attempt_at": isoformat_z(unstamp(row["next_attempt_at"]))
            if row["state"] == "pending"
            else None,
        }
        for row in rows
    ]
    return web.json_response({"data": data, "next_cursor": None})


async def replay_order(request: web.Request) -> web.Response:
    tenant: Tenant = authenticate(request)
    limits = _limit(request, tenant, "replay")
    count = await request.app[DESK].reads.replay_order_events(
        tenant, request.match_info["order_id"]
    )
    request.app[DISPATCHER].wake()
    return web.json_response({"replayed": count}, status=202, headers=limits)


routes = [
    web.post("/v1/subscriptions", create),
    web.get("/v1/subscriptions", list_all),
    web.get("/v1/subscriptions/{id}", get_one),
    web.patch("/v1/subscriptions/{id}", update),
    web.delete("/v1/subscriptions/{id}", delete),
    web.post("/v1/subscriptions/{id}/rotate-secret", rotate_secret),
    web.post("/v1/subscriptions/{id}/test", test_send),
    web.get("/v1/subscriptions/{id}/deliveries", deliveries),
    web.post("/v1/subscriptions/{id}/replay", replay_failed),
    web.post("/v1/replay", replay_all),
    web.post("/v1/subscriptions/{id}/deliveries/{message_id}/replay", replay_message),
    web.post("/v1/orders/{order_id}/replay-events", replay_order),
    web.get("/v1/orders/{order_id}/deliveries", order_deliveries),
]
