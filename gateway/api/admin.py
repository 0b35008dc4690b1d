"""`/v1/admin`: tenants, their tokens and their plugin policies, for role `admin`.

Each handler reads and checks its body, then hands the change to
`gateway.admin.service.Admin`, the one place the rules live (the CLI and
`config apply` use it too). An admin may not disable, demote or delete its
own tenant, nor revoke the token it is calling with: another admin must,
so that nobody locks the last door by accident.

An admin's reach is its accounts, as for orders and the audit trail: it
manages the tenants all of whose accounts it holds, and grants only those
accounts. Otherwise an admin of one account could onboard itself a tenant
on another's and read that account's orders. A tenant out of reach is a
404, as an order of another account is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from gateway.admin.service import MAX_LABEL, Admin, tenant_view, token_view
from gateway.admin.store import TenantRecord
from gateway.api import params
from gateway.api.edge import CREDENTIAL, TENANTS, authenticate, read_json
from gateway.config import Role
from gateway.errors import BadRequest, Conflict, Forbidden, InvalidField, NotFound
from gateway.state import ADMIN, PLUGINS
from gateway.tenants import Tenant

ROLES = ", ".join(r.value for r in Role)


def _admin(request: web.Request) -> tuple[Tenant, Admin]:
    tenant = authenticate(request)
    if tenant.role is not Role.ADMIN:
        raise Forbidden("only an admin may manage tenants, tokens and policies")
    return tenant, request.app[ADMIN]


def _actor(tenant: Tenant) -> str:
    return f"admin:{tenant.name}"


def _grantable(actor: Tenant, admin: Admin, accounts: tuple[str, ...]) -> None:
    """(An account that does not exist at all is the service's 400, naming the real ones.)"""
    beyond = [a for a in accounts if a not in actor.accounts and a in admin.accounts]
    if beyond:
        raise Forbidden(
            f"admin {actor.name!r} may grant only its own accounts ({', '.join(actor.accounts)}),"
            f" not {beyond[0]!r}",
            details={"field": "accounts"},
        )


def _in_reach(actor: Tenant, record: TenantRecord) -> bool:
    return set(record.accounts) <= set(actor.accounts)


async def _tenant(request: web.Request) -> tuple[Tenant, Admin, TenantRecord]:
    """The tenant the path names, if the calling admin reaches it."""
    actor, admin = _admin(request)
    name = request.match_info["name"]
    record = await admin.tenant(name)
    if not _in_reach(actor, record):
        raise NotFound(f"no tenant named {name!r} on your accounts")
    return actor, admin, record


async def _object(request: web.Request, allowed: set[str]) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidField(unknown[0], f"unknown field; this takes {', '.join(sorted(allowed))}")
    return body


def _accounts(body: dict[str, Any]) -> tuple[str, ...]:
    value = body.get("accounts")
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise InvalidField("accounts", 'a list of account names, such as ["main"]')
    return tuple(value)


def _role(body: dict[str, Any], default: str | None = None) -> Role:
    value = body.get("role", default)
    try:
        return Role(str(value))
    except ValueError:
        raise InvalidField("role", f"one of {ROLES}") from None


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidField(name, "a non-empty string")
    return value


def _token_fields(body: dict[str, Any], default_label: str) -> tuple[str, datetime | None]:
    label = _optional_str(body, "label") or default_label
    if len(label) > MAX_LABEL:
        raise InvalidField("label", f"at most {MAX_LABEL} characters")
    expires = _optional_str(body, "expires_at")
    return label, None if expires is None else params.rfc3339(expires, "expires_at")


async def create_tenant(request: web.Request) -> web.Response:
    actor, admin = _admin(request)
    body = await _object(
        request, {"name", "accounts", "default_account", "role", "label", "expires_at"}
    )
    name = body.get("name")
    if not isinstance(name, str):
        raise InvalidField("name", 'required: the tenant\'s name, such as "shop"')
    label, expires = _token_fields(body, "first token")
    accounts = _accounts(body)
    _grantable(actor, admin, accounts)
    record, token, secret = await admin.create_tenant(
        _actor(actor), name, _role(body, "tenant"), accounts,
        _optional_str(body, "default_account"), label, expires,
    )  # fmt: skip
    view = tenant_view(record)
    view["token"] = {**token_view(token), "token": secret}
    return web.json_response(view, status=201, headers={"Location": f"/v1/admin/tenants/{name}"})


async def list_tenants(request: web.Request) -> web.Response:
    actor, admin = _admin(request)
    params.only(request.query, set())
    snapshot = await admin.snapshot()
    reached = [tenant_view(t) for t in snapshot.tenants.values() if _in_reach(actor, t)]
    return web.json_response({"data": reached, "next_cursor": None})


async def get_tenant(request: web.Request) -> web.Response:
    _, _, record = await _tenant(request)
    return web.json_response(tenant_view(record))


async def update_tenant(request: web.Request) -> web.Response:
    actor, admin, record = await _tenant(request)
    name = record.name
    body = await _object(request, {"accounts", "default_account", "role", "disabled", "rates"})
    values: dict[str, Any] = {}
    if "accounts" in body:
        values["accounts"] = _accounts(body)
        _grantable(actor, admin, values["accounts"])
    if "default_account" in body:
        values["default_account"] = _optional_str(body, "default_account")
    if "role" in body:
        values["role"] = _role(body)
    if "disabled" in body:
        if not isinstance(body["disabled"], bool):
            raise InvalidField("disabled", "true or false")
        values["disabled"] = body["disabled"]
    if "rates" in body:
        values["rates"] = _rates(body["rates"])
    if not values:
        raise BadRequest("send at least one of: accounts, default_account, role, disabled, rates")
    if name == actor.name and (
        values.get("disabled") or values.get("role", Role.ADMIN) != Role.ADMIN
    ):
        raise Conflict("an admin may not disable or demote its own tenant; ask another admin")
    record = await admin.update_tenant(_actor(actor), name, values)
    return web.json_response(tenant_view(record))


def _rates(value: Any) -> dict[str, int]:
    """A tenant's own request rates per process: reads and writes a second, 0 for none; a
    key left out (or {}) is the [server] default."""
    keys = ("reads_per_second", "writes_per_second")
    if not isinstance(value, dict) or set(value) - set(keys):
        raise InvalidField(
            "rates", f"an object with {' and/or '.join(keys)}; {{}} for the defaults"
        )
    for key, rate in value.items():
        if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= 100_000:
            raise InvalidField(f"rates.{key}", "requests a second, 0 (no bound) to 100000")
    return dict(value)


async def delete_tenant(request: web.Request) -> web.Response:
    actor, admin, record = await _tenant(request)
    name = record.name
    if name == actor.name:
        raise Conflict("an admin may not delete its own tenant; ask another admin")
    await admin.delete_tenant(_actor(actor), name)
    return web.Response(status=204)


async def create_token(request: web.Request) -> web.Response:
    actor, admin, record = await _tenant(request)
    name = record.name
    label, expires = _token_fields(await _object(request, {"label", "expires_at"}), "token")
    token, secret = await admin.add_token(_actor(actor), name, label, expires)
    return web.json_response({**token_view(token), "token": secret}, status=201)


async def list_tokens(request: web.Request) -> web.Response:
    _, _, record = await _tenant(request)
    used = request.app[TENANTS].used
    return web.json_response(
        {"data": [token_view(t, used.get(t.id)) for t in record.tokens], "next_cursor": None}
    )


async def revoke_token(request: web.Request) -> web.Response:
    actor, admin, record = await _tenant(request)
    name, ident = record.name, request.match_info["token_id"]
    if request[CREDENTIAL].token_id == ident:
        raise Conflict("this is the token you are calling with; revoke it with another one")
    await admin.revoke_token(_actor(actor), name, ident)
    return web.Response(status=204)


async def get_policy(request: web.Request) -> web.Response:
    _, admin, record = await _tenant(request)
    return web.json_response(admin.policy(record, request.match_info["plugin"]))


async def put_policy(request: web.Request) -> web.Response:
    actor, admin, record = await _tenant(request)
    name, plugin = record.name, request.match_info["plugin"]
    body = await _object(request, {"mode", "settings"})
    mode = body.get("mode")
    if not isinstance(mode, str):
        raise InvalidField("mode", "required: enforce, shadow or off")
    settings = body.get("settings", {})
    if not isinstance(settings, dict):
        raise InvalidField("settings", "an object of the plugin's settings for this tenant")
    record = await admin.set_policy(_actor(actor), name, plugin, mode, settings)
    return web.json_response(admin.policy(record, plugin))


async def list_plugins(request: web.Request) -> web.Response:
    _admin(request)
    params.only(request.query, set())
    host = request.app[PLUGINS]
    return web.json_response({"data": host.describe(), "next_cursor": None})


routes = [
    web.post("/v1/admin/tenants", create_tenant),
    web.get("/v1/admin/tenants", list_tenants),
    web.get("/v1/admin/tenants/{name}", get_tenant),
    web.patch("/v1/admin/tenants/{name}", update_tenant),
    web.delete("/v1/admin/tenants/{name}", delete_tenant),
    web.post("/v1/admin/tenants/{name}/tokens", create_token),
    web.get("/v1/admin/tenants/{name}/tokens", list_tokens),
    web.delete("/v1/admin/tenants/{name}/tokens/{token_id}", revoke_token),
    web.get("/v1/admin/tenants/{name}/policies/{plugin}", get_policy),
    web.put("/v1/admin/tenants/{name}/policies/{plugin}", put_policy),
    web.get("/v1/admin/plugins", list_plugins),
]
