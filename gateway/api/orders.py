"""`/v1/orders`: place, read and list orders."""

from __future__ import annotations

from aiohttp import web

from gateway.api import params
from gateway.api.edge import REQUEST_ID, authenticate, read_json
from gateway.errors import Forbidden, InvalidField, NotFound
from gateway.orders.ledger import OrderFilters
from gateway.orders.outcomes import is_uuid
from gateway.state import DESK
from gateway.tenants import Tenant
from gateway.views import order_view, unresolved_view

LIST_PARAMS = {
    "limit", "cursor", "status", "account", "item_id", "merchant_order_id",
    "created_after", "created_before", "tenant",
}  # fmt: skip


async def place_order(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    key = params.idempotency_key(request.headers.get("Idempotency-Key"))
    order = params.place_request(await read_json(request))
    answer = await request.app[DESK].place(tenant, order, key)
    body = answer.body
    if answer.status >= 400:  # a replayed error keeps its code and message, with this request id
        body = {"error": {**body["error"], "request_id": request[REQUEST_ID]}}
        body["error"] = {k: v for k, v in body["error"].items() if v is not None}
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    if answer.status < 300:
        headers["Location"] = f"/v1/orders/{body['id']}"
    return web.json_response(body, status=answer.status, headers=headers)


async def get_order(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    return web.json_response(
        await request.app[DESK].reads.get(tenant, request.match_info["order_id"])
    )


async def list_orders(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    query = request.query
    params.only(query, LIST_PARAMS)
    requested_tenant = query.get("tenant")
    if requested_tenant is not None and tenant.role.value != "admin":
        raise Forbidden("only an admin may filter by tenant", details={"field": "tenant"})
    filters = OrderFilters(
        status=params.status(query),
        account=query.get("account"),
        tenant=requested_tenant,
        item_id=params.integer(query, "item_id", low=1),
        merchant_order_id=query.get("merchant_order_id"),
        created_after=params.timestamp(query, "created_after"),
        created_before=params.timestamp(query, "created_before"),
    )
    page = await request.app[DESK].reads.list(
        tenant, filters, params.limit(query), query.get("cursor") or None
    )
    return web.json_response(page)


async def order_decisions(request: web.Request) -> web.Response:
    """Each plugin hook that ran for the order, in order. A refused order has no order row,
    only its trace: its own tenant and admins may read that."""
    tenant = authenticate(request)
    params.only(request.query, set())
    order_id = request.match_info["order_id"]
    desk = request.app[DESK]
    if not is_uuid(order_id):
        raise NotFound(f"no order {order_id} for tenant {tenant.name!r}")
    owner, decisions = await desk.plugins.decisions.read(order_id)
    refused_own = owner is not None and (owner == tenant.name or tenant.role.value == "admin")
    if not refused_own and not await desk.reads.visible(tenant, order_id):
        raise NotFound(f"no order {order_id} for tenant {tenant.name!r}")
    return web.json_response({"data": decisions, "next_cursor": None})


def _admin(request: web.Request) -> Tenant:
    tenant = authenticate(request)
    if tenant.role.value != "admin":
        raise Forbidden("only an admin may see and resolve unresolved orders")
    return tenant


async def unresolved_orders(request: web.Request) -> web.Response:
    """Orders the gateway could not settle by itself, oldest first."""
    params.only(request.query, {"limit"})
    desk = request.app[DESK]
    admin = _admin(request)
    orders = await desk.ledger.unresolved(params.limit(request.query))
    now = desk.clock.now()
    mine = [o for o in orders if o.account in admin.accounts]  # its accounts only
    return web.json_response({"data": [unresolved_view(o, now) for o in mine], "next_cursor": None})


async def resolve_order(request: web.Request) -> web.Response:
    """An operator's word, after looking the order's reference up in the provider's dashboard."""
    admin = _admin(request)
    body = await read_json(request)
    if not isinstance(body, dict) or set(body) - {"provider_order_id", "not_placed"}:
        raise InvalidField("body", 'send {"provider_order_id": "<uuid>"} or {"not_placed": true}')
    provider_order_id = body.get("provider_order_id")
    not_placed = body.get("not_placed", False)
    if provider_order_id is not None and not isinstance(provider_order_id, str):
        raise InvalidField("provider_order_id", "the provider's order id, a uuid string")
    if not isinstance(not_placed, bool):
        raise InvalidField("not_placed", "true or false")
    order_id = request.match_info["order_id"]
    if not await request.app[DESK].reads.visible(admin, order_id):
        raise NotFound(f"no order {order_id} on your accounts")
    order = await request.app[DESK].outcomes.resolve_by_operator(
        request.match_info["order_id"],
        provider_order_id=provider_order_id,
        not_placed=not_placed,
        operator=admin.name,
    )
    return web.json_response(order_view(order, owner=False))


routes = [
    web.get("/v1/admin/orders/unresolved", unresolved_orders),
    web.post("/v1/admin/orders/{order_id}/resolve", resolve_order),
    web.post("/v1/orders", place_order),
    web.get("/v1/orders", list_orders),
    web.get("/v1/orders/{order_id}", get_order),
    web.get("/v1/orders/{order_id}/decisions", order_decisions),
]
