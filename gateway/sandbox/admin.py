"""The sandbox's own control surface, `/sandbox/...`: what the provider's dashboard and its
bad days would do (dashboard orders, keys, balances, faults, scripted outcomes, stock,
the webhook log, the manual clock)."""

from __future__ import annotations

from dataclasses import asdict, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from gateway.clock import ManualClock, isoformat_z
from gateway.sandbox.model import Account, Faults, Outcome, Status, order_json
from gateway.sandbox.rules import ProviderError
from gateway.sandbox.web import SANDBOX, json_body


def _bad(detail: str) -> ProviderError:
    return ProviderError(400, "validation_error", detail)


async def _admin_body(request: web.Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise _bad("Request body must be a JSON object")
    return body


def _admin_account(request: web.Request) -> Account:
    name = request.match_info["name"]
    account = request.app[SANDBOX].accounts.get(name)
    if account is None:
        raise ProviderError(404, "not_found", f"No sandbox account named {name!r}")
    return account


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _bad(f"{name}: must be a number")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise _bad(f"{name}: must be a number") from None
    if not result.is_finite():
        raise _bad(f"{name}: must be a finite number")
    return result


def account_view(account: Account) -> dict[str, Any]:
    return {
        "name": account.name,
        "client_id": account.client_id,
        "api_keys": [key for key, active in account.api_keys.items() if active],
        "balance": str(account.balance),
        "webhook_url": account.webhook_url,
        "webhook_secret": account.webhook_secret,
        "api_enabled": account.api_enabled,
        "personal_prices": (
            {str(k): str(v) for k, v in account.personal_prices.items()}
            if account.personal_prices
            else None
        ),
        "faults": asdict(account.faults),
    }


async def admin_list_accounts(request: web.Request) -> web.Response:
    accounts = request.app[SANDBOX].accounts.values()
    return web.json_response({"accounts": [account_view(a) for a in accounts]})


async def admin_update_account(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    account = _admin_account(request)
    body = await _admin_body(request)
    unknown = set(body) - {"webhook_url", "api_enabled", "balance", "personal_prices"}
    if unknown:
        raise _bad(f"unknown keys: {', '.join(sorted(unknown))}")
    if "webhook_url" in body:
        url = body["webhook_url"]
        if url is not None and not (
            isinstance(url, str) and url.startswith(("http://", "https://"))
        ):
            raise _bad("webhook_url: must be an http(s) URL or null")
        account.webhook_url = url
    if "api_enabled" in body:
        if not isinstance(body["api_enabled"], bool):
            raise _bad("api_enabled: must be true or false")
        account.api_enabled = body["api_enabled"]
    if "balance" in body:
        account.balance = _decimal(body["balance"], "balance")
    if "personal_prices" in body:
        prices = body["personal_prices"]
        if prices is not None and not isinstance(prices, dict):
            raise _bad("personal_prices: must be an object of item id to price, or null")
        try:
            parsed = (
                {int(k): _decimal(v, f"personal_prices.{k}") for k, v in prices.items()}
                if prices
                else None
            )
        except ValueError:
            raise _bad("personal_prices: keys must be item ids") from None
        sandbox.set_personal_prices(account.name, parsed)
    return web.json_response(account_view(account))


async def admin_add_key(request: web.Request) -> web.Response:
    account = _admin_account(request)
    return web.json_response({"api_key": request.app[SANDBOX].add_key(account.name)}, status=201)


async def admin_revoke_key(request: web.Request) -> web.Response:
    body = await _admin_body(request)
    try:
        request.app[SANDBOX].revoke_key(str(body.get("api_key")))
    except KeyError:
        raise ProviderError(404, "not_found", "No active API key like that") from None
    return web.json_response({"revoked": True})


async def admin_set_faults(request: web.Request) -> web.Response:
    account = _admin_account(request)
    body = await _admin_body(request)
    names = {f.name for f in fields(Faults)}
    unknown = set(body) - names
    if unknown:
        raise _bad(f"unknown fault settings: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for name, value in body.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise _bad(f"{name}: must be a non-negative number")
        if name in Faults.RATES and value > 1:
            raise _bad(f"{name}: a share between 0 and 1")
        values[name] = int(value) if name == "retry_after" else float(value)
    request.app[SANDBOX].set_faults(account.name, Faults(**values))
    return web.json_response(asdict(account.faults))


async def admin_script_outcomes(request: web.Request) -> web.Response:
    account = _admin_account(request)
    body = await _admin_body(request)
    raw = body.get("outcomes")
    if not isinstance(raw, list) or not raw:
        raise _bad(
            "outcomes: a non-empty list of {status, delivered_quantity, error, error_message}"
        )
    outcomes = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise _bad(f"outcomes[{i}]: must be an object")
        try:
            status = Status(str(entry.get("status")))
        except ValueError:
            raise _bad(f"outcomes[{i}].status: completed, partial or failed") from None
        if not status.terminal:
            raise _bad(f"outcomes[{i}].status: completed, partial or failed")
        delivered = entry.get("delivered_quantity")
        if delivered is not None and (
            isinstance(delivered, bool) or not isinstance(delivered, int)
        ):
            raise _bad(f"outcomes[{i}].delivered_quantity: must be an integer")
        if delivered is not None and status is not Status.PARTIAL:
            raise _bad(
                f"outcomes[{i}].delivered_quantity: only a partial outcome takes one "
                "(completed delivers every unit, failed none)"
            )
        if delivered is not None and delivered < 1:
            raise _bad(
                f"outcomes[{i}].delivered_quantity: a partial delivers at least 1 unit "
                "(none is a failed outcome)"
            )
        outcomes.append(
            Outcome(
                status,
                delivered,
                str(entry.get("error") or ""),
                str(entry.get("error_message") or ""),
            )
        )
    request.app[SANDBOX].script(account.name, outcomes)
    return web.json_response({"scripted": len(account.scripted)})


async def admin_dashboard_order(request: web.Request) -> web.Response:
    """An order placed in the provider's dashboard: another source, a user, and no webhook."""
    account = _admin_account(request)
    body = await _admin_body(request)
    created_by = body.pop("created_by", None) or {"id": 1, "name": "Dashboard user"}
    if not isinstance(created_by, dict) or not isinstance(created_by.get("name"), str):
        raise _bad("created_by: an object {id, name}")
    order = request.app[SANDBOX].place_order(
        account, body, source="dashboard", created_by=created_by
    )
    return web.json_response(order_json(order), status=201)


async def admin_update_item(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    try:
        item_id = int(request.match_info["item_id"])
    except ValueError:
        raise ProviderError(404, "not_found", "No such item") from None
    if item_id not in sandbox.items:
        raise ProviderError(404, "not_found", f"No item {item_id}")
    body = await _admin_body(request)
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name == "stock":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise _bad("stock: an integer, or null for unlimited")
            changes[name] = value
        elif name == "available":
            if not isinstance(value, bool):
                raise _bad("available: true or false")
            changes[name] = value
        elif name == "price":
            changes[name] = _decimal(value, "price")
        else:
            raise _bad(f"{name}: not a changeable item setting (stock, available, price)")
    item = sandbox.update_item(item_id, **changes)
    return web.json_response(item.record())


async def admin_webhook_log(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    return web.json_response(
        {
            "attempts": [{**asdict(a), "at": isoformat_z(a.at)} for a in sandbox.webhook_attempts],
            "deliveries": [
                {
                    "order_id": d.order_id,
                    "account": d.account,
                    "attempts": d.attempts,
                    "delivered": d.delivered,
                    "dropped": d.dropped,
                }
                for d in sandbox.webhook_deliveries
            ],
        }
    )


async def admin_list_orders(request: web.Request) -> web.Response:
    """Every order of every account, as the provider would show them in its dashboard."""
    sandbox = request.app[SANDBOX]
    return web.json_response(
        {"orders": [{**order_json(o), "account": o.account} for o in sandbox.orders.values()]}
    )


async def admin_advance_clock(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    if not isinstance(sandbox.clock, ManualClock):
        raise ProviderError(
            409, "conflict", "The sandbox runs on the system clock; start it with --manual-clock"
        )
    body = await _admin_body(request)
    seconds = _decimal(body.get("seconds"), "seconds")
    if seconds < 0:
        raise _bad("seconds: must not be negative")
    await sandbox.advance(float(seconds))
    return web.json_response({"now": isoformat_z(sandbox.clock.now())})


routes = [
    web.get("/sandbox/accounts", admin_list_accounts),
    web.patch("/sandbox/accounts/{name}", admin_update_account),
    web.post("/sandbox/accounts/{name}/keys", admin_add_key),
    web.post("/sandbox/keys/revoke", admin_revoke_key),
    web.put("/sandbox/accounts/{name}/faults", admin_set_faults),
    web.post("/sandbox/accounts/{name}/outcomes", admin_script_outcomes),
    web.post("/sandbox/accounts/{name}/dashboard-orders", admin_dashboard_order),
    web.patch("/sandbox/items/{item_id}", admin_update_item),
    web.get("/sandbox/webhooks", admin_webhook_log),
    web.get("/sandbox/orders", admin_list_orders),
    web.post("/sandbox/clock/advance", admin_advance_clock),
]
