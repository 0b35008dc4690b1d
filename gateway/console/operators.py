"""An admin's pages: tenants and their tokens and policy modes, the accounts' health, and
the orders that wait for an operator. Each goes through the admin API, so an admin sees
and changes only what its token may (its own accounts' tenants and orders)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from gateway.console.calls import seg
from gateway.console.pages import Visit, back, console_page


@console_page
async def tenants(visit: Visit) -> web.StreamResponse:
    form: dict[str, Any] = {}
    error: dict[str, Any] = {}
    status = 200
    new_token = None
    if visit.form is not None:
        form = {
            "name": str(visit.form.get("name", "")).strip(),
            "accounts": [str(a) for a in visit.form.getall("accounts", [])],
            "role": str(visit.form.get("role", "tenant")),
        }
        label = str(visit.form.get("label", "")).strip()
        made = await visit.ask(
            "POST", "/v1/admin/tenants", body={**form, **({"label": label} if label else {})}
        )
        if made.ok:  # the token is shown once, on this answer, never in a URL
            new_token = {"tenant": made.body["name"], "token": made.body["token"]["token"]}
            form = {}
        else:
            error, status = made.error, made.status
    listed = await visit.ask("GET", "/v1/admin/tenants")
    return visit.render(
        "tenants.html",
        "tenants",
        status=status if error or listed.ok else listed.status,
        title="Tenants",
        tenants=listed.body["data"] if listed.ok else [],
        form=form,
        new_token=new_token,
        error=error or listed.error,
    )


async def _tenant_page(
    visit: Visit, name: str, status: int = 200, **context: Any
) -> web.StreamResponse:
    found = await visit.ask("GET", f"/v1/admin/tenants/{seg(name)}")
    if not found.ok:
        return visit.render("tenant.html", "tenants", found.status, title=name, error=found.error)
    tokens = await visit.ask("GET", f"/v1/admin/tenants/{seg(name)}/tokens")
    plugins = await visit.ask("GET", "/v1/admin/plugins")
    return visit.render(
        "tenant.html",
        "tenants",
        status,
        title=name,
        record=found.body,
        tokens=tokens.body["data"] if tokens.ok else [],
        plugins=[p["name"] for p in plugins.body["data"]] if plugins.ok else [],
        **{"error": tokens.error, **context},
    )


@console_page
async def tenant(visit: Visit) -> web.StreamResponse:
    return await _tenant_page(visit, visit.request.match_info["name"])


@console_page
async def tenant_action(visit: Visit) -> web.StreamResponse:
    """Make a token, revoke one, or set a plugin's mode and settings for the tenant."""
    info = visit.request.match_info
    name = info["name"]
    assert visit.form is not None
    base = f"/v1/admin/tenants/{seg(name)}"
    if "token_id" in info:
        answer = await visit.ask("DELETE", f"{base}/tokens/{seg(info['token_id'])}")
        done = "revoked"
    elif "plugin" in info:
        raw = str(visit.form.get("settings", "") or "{}")
        try:
            settings = json.loads(raw)
        except ValueError as exc:
            error = {"code": "invalid_field", "message": f"settings: not JSON ({exc})"}
            return await _tenant_page(visit, name, 422, error=error)
        body = {"mode": str(visit.form.get("mode", "enforce")), "settings": settings}
        answer = await visit.ask("PUT", f"{base}/policies/{seg(info['plugin'])}", body=body)
        done = "saved"
    else:
        label = str(visit.form.get("label", "")).strip()
        answer = await visit.ask("POST", f"{base}/tokens", body={"label": label} if label else {})
        if answer.ok:  # shown once, on this answer
            return await _tenant_page(visit, name, new_token=answer.body["token"])
        done = "saved"
    if not answer.ok:
        return await _tenant_page(visit, name, answer.status, error=answer.error)
    raise back(f"/console/admin/tenants/{name}", done)


@console_page
async def accounts(visit: Visit) -> web.StreamResponse:
    listed = await visit.ask("GET", "/v1/accounts")
    ready = await visit.ask("GET", "/readyz")
    health = ready.body.get("accounts", {}) if isinstance(ready.body, dict) else {}
    rows = []
    for account in listed.body["data"] if listed.ok else []:
        balance = await visit.ask("GET", f"/v1/accounts/{seg(account['name'])}/balance")
        state = health.get(account["name"], {})
        token = state.get("token", {})
        catalog = state.get("catalog", {})
        rows.append({
            **account,
            "balance": balance.body if balance.ok else None,
            "balance_error": balance.error.get("message"),
            "token_state": token.get("state", "") + (
                f", until {token['expires_at']}" if token.get("expires_at") else ""
            ),
            "catalog": catalog,
        })  # fmt: skip
    return visit.render(
        "accounts.html", "accounts", title="Accounts", accounts=rows, error=listed.error
    )


@console_page
async def unresolved(visit: Visit) -> web.StreamResponse:
    listed = await visit.ask("GET", "/v1/admin/orders/unresolved")
    return visit.render(
        "unresolved.html",
        "unresolved",
        status=200 if listed.ok else listed.status,
        title="Unresolved orders",
        orders=listed.body["data"] if listed.ok else [],
        error=listed.error,
    )


@console_page
async def resolve(visit: Visit) -> web.StreamResponse:
    assert visit.form is not None
    order_id = visit.request.match_info["order_id"]
    found = str(visit.form.get("provider_order_id", "")).strip()
    body: dict[str, Any] = {"provider_order_id": found} if found else {"not_placed": True}
    answer = await visit.ask("POST", f"/v1/admin/orders/{seg(order_id)}/resolve", body=body)
    if not answer.ok:
        listed = await visit.ask("GET", "/v1/admin/orders/unresolved")
        return visit.render(
            "unresolved.html",
            "unresolved",
            answer.status,
            title="Unresolved orders",
            orders=listed.body["data"] if listed.ok else [],
            error=answer.error,
        )
    raise back("/console/admin/unresolved", "resolved")


routes = [
    web.get("/console/admin/tenants", tenants),
    web.post("/console/admin/tenants", tenants),
    web.get("/console/admin/tenants/{name}", tenant),
    web.post("/console/admin/tenants/{name}/tokens", tenant_action),
    web.post("/console/admin/tenants/{name}/tokens/{token_id}/revoke", tenant_action),
    web.post("/console/admin/tenants/{name}/policies/{plugin}", tenant_action),
    web.get("/console/admin/accounts", accounts),
    web.get("/console/admin/unresolved", unresolved),
    web.post("/console/admin/unresolved/{order_id}/resolve", resolve),
]


@console_page
async def outbox(visit: Visit) -> web.StreamResponse:
    cursor = visit.request.query.get("cursor", "")
    answer = await visit.ask("GET", "/v1/admin/outbox", query={"cursor": cursor})
    body = answer.body if answer.ok else {}
    return visit.render(
        "outbox.html",
        "outbox",
        status=answer.status,
        title="Outbox",
        backlog=body.get("backlog", {}),
        oldest=body.get("oldest_pending_at"),
        letters=body.get("data", []),
        next_cursor=body.get("next_cursor"),
        error=answer.error,
    )


@console_page
async def replay_dead_letter(visit: Visit) -> web.StreamResponse:
    message_id = visit.request.match_info["message_id"]
    answer = await visit.ask("POST", f"/v1/admin/outbox/{seg(message_id)}/replay")
    if not answer.ok:
        listed = await visit.ask("GET", "/v1/admin/outbox")
        body = listed.body if listed.ok else {}
        return visit.render(
            "outbox.html",
            "outbox",
            answer.status,
            title="Outbox",
            backlog=body.get("backlog", {}),
            letters=body.get("data", []),
            error=answer.error,
        )
    raise back("/console/admin/outbox", "replayed")


AUDIT_FILTERS = ("decision", "tenant", "account")


@console_page
async def audit(visit: Visit) -> web.StreamResponse:
    query = {key: visit.request.query.get(key, "") for key in AUDIT_FILTERS}
    cursor = visit.request.query.get("cursor", "")
    answer = await visit.ask("GET", "/v1/audit", query={**query, "cursor": cursor})
    body = answer.body if answer.ok else {"data": [], "next_cursor": None}
    filters = {k: v for k, v in query.items() if v}
    return visit.render(
        "audit.html",
        "audit",
        status=answer.status,
        title="Audit trail",
        query=query,
        decisions=AUDIT_DECISIONS,
        records=body["data"],
        next_cursor=body["next_cursor"],
        next_query=urlencode({**filters, "cursor": body["next_cursor"] or ""}),
        filtered=bool(filters),
        error=answer.error,
    )


AUDIT_DECISIONS = (
    "accepted", "rejected", "settled", "resolved", "webhook_received", "delivery_exhausted",
    "admin_change",
)  # fmt: skip

routes += [
    web.get("/console/admin/outbox", outbox),
    web.post("/console/admin/outbox/{message_id}/replay", replay_dead_letter),
    web.get("/console/admin/audit", audit),
]
