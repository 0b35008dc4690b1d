"""`/v1/orders`: place, read and list orders."""

from __future__ import annotations

from aiohttp import web

from gateway import params
from gateway.errors import InvalidField
from gateway.http import REQUEST_ID, authenticate, read_json
from gateway.ledger import OrderFilters
from gateway.state import DESK

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
    return web.json_response(await request.app[DESK].get(tenant, request.match_info["order_id"]))


async def list_orders(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    query = request.query
    params.only(query, LIST_PARAMS)
    requested_tenant = query.get("tenant")
    if requested_tenant is not None and tenant.role.value != "admin":
        raise InvalidField("tenant", "only an admin may filter by tenant")
    filters = OrderFilters(
        status=params.status(query),
        account=query.get("account"),
        tenant=requested_tenant,
        item_id=params.integer(query, "item_id"),
        merchant_order_id=query.get("merchant_order_id"),
        created_after=params.timestamp(query, "created_after"),
        created_before=params.timestamp(query, "created_before"),
    )
    page = await request.app[DESK].list(
        tenant, filters, params.limit(query), query.get("cursor") or None
    )
    return web.json_response(page)


routes = [
    web.post("/v1/orders", place_order),
    web.get("/v1/orders", list_orders),
    web.get("/v1/orders/{order_id}", get_order),
]
