"""`/v1/catalog` and `/v1/accounts`: what a tenant may buy, at what price, with what balance."""

from __future__ import annotations

from aiohttp import web

from gateway.api import params
from gateway.api.edge import authenticate
from gateway.domain import money_text
from gateway.errors import Forbidden, InvalidField, NotFound
from gateway.provider.catalog import AccountCatalog
from gateway.state import CATALOGS, CONFIG, SESSIONS
from gateway.tenants import Tenant
from gateway.views import item_view

ITEM_PARAMS = {"account", "product_type", "q", "available", "limit", "cursor"}
PRODUCT_TYPES = ("key", "topup", "service")


def _catalog(request: web.Request, tenant: Tenant) -> tuple[str, AccountCatalog]:
    account = tenant.account_for(request.query.get("account"))
    return account, request.app[CATALOGS][account]


async def list_items(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    query = request.query
    params.only(query, ITEM_PARAMS)
    account, catalog = _catalog(request, tenant)
    product_type = query.get("product_type")
    if product_type is not None and product_type not in PRODUCT_TYPES:
        raise InvalidField("product_type", f"one of {', '.join(PRODUCT_TYPES)}")
    available = params.boolean(query, "available")
    needle = (query.get("q") or "").casefold()
    limit = params.limit(query)
    after = params.integer(query, "cursor")
    items = await catalog.items()
    chosen = [
        item
        for item_id, item in sorted(items.items())
        if (after is None or item_id > after)
        and (product_type is None or item.product_type == product_type)
        and (available is None or item.available == available)
        and needle in item.name.casefold()
    ]
    page = chosen[:limit]
    currency = request.app[CONFIG].accounts[account].currency
    source = catalog.snapshot.source if catalog.snapshot else "global"
    return web.json_response(
        {
            "data": [item_view(item, account, currency, source) for item in page],
            "next_cursor": str(page[-1].id) if len(chosen) > limit else None,
        }
    )


async def get_item(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    params.only(request.query, {"account"})
    account, catalog = _catalog(request, tenant)
    raw = request.match_info["item_id"]
    item_id = params.whole(raw)
    item = (await catalog.items()).get(item_id) if item_id is not None else None
    if item is None:
        raise NotFound(f"account {account!r} has no catalog item {raw}")
    currency = request.app[CONFIG].accounts[account].currency
    source = catalog.snapshot.source if catalog.snapshot else "global"
    return web.json_response(item_view(item, account, currency, source))


async def refresh_catalog(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    if tenant.role.value != "admin":
        raise Forbidden("only an admin may refresh a catalog")
    account, catalog = _catalog(request, tenant)
    snapshot = await catalog.refresh()
    return web.json_response(
        {"account": account, "items": len(snapshot.items), "price_list": snapshot.source}
    )


async def list_accounts(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    config = request.app[CONFIG]
    sessions = request.app[SESSIONS]
    return web.json_response(
        {
            "data": [
                {
                    "name": name,
                    "currency": config.accounts[name].currency,
                    "default": name == tenant.default_account,
                    "state": "available" if sessions[name].state.available else "unavailable",
                }
                for name in tenant.accounts
            ],
            "next_cursor": None,
        }
    )


async def account_balance(request: web.Request) -> web.Response:
    tenant = authenticate(request)
    name = tenant.account_for(request.match_info["name"])
    balance = await request.app[SESSIONS][name].balance()
    return web.json_response(
        {
            "account": name,
            "balance": money_text(balance),
            "currency": request.app[CONFIG].accounts[name].currency,
        }
    )


routes = [
    web.get("/v1/catalog/items", list_items),
    web.get("/v1/catalog/items/{item_id}", get_item),
    web.post("/v1/catalog/refresh", refresh_catalog),
    web.get("/v1/accounts", list_accounts),
    web.get("/v1/accounts/{name}/balance", account_balance),
]
