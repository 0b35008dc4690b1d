"""A team's pages: its orders and why one was refused, its catalog, its webhook endpoints.

Each page is a few calls to the tenant API (as the signed-in token) and a template; a
refusal from the API is shown where it happened, in the API's own words.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from gateway.console.calls import seg
from gateway.console.pages import Visit, back, console_page
from gateway.domain import OrderStatus
from gateway.outbox.subscriptions import EVENT_TYPES

ORDER_FILTERS = (
    "status", "account", "item_id", "merchant_order_id", "created_after", "created_before",
)  # fmt: skip


def _number(text: str) -> float | str:
    """A number typed in a form; text that is not one goes to the API as it is, which
    names the field in its refusal."""
    try:
        return float(text)
    except ValueError:
        return text


def _minute(text: str) -> str:
    """A datetime-local field (`2026-11-30T10:15`, read as UTC) as the API's RFC 3339."""
    return f"{text}:00Z" if len(text) == 16 else text


def _day(text: str) -> str:
    """A date field (`2026-11-30`) as the API's RFC 3339 time, the start of that day."""
    return f"{text}T00:00:00Z" if len(text) == 10 else text


@console_page
async def orders(visit: Visit) -> web.StreamResponse:
    query = {key: visit.request.query.get(key, "") for key in ORDER_FILTERS}
    cursor = visit.request.query.get("cursor", "")
    asked = {**query, "cursor": cursor}
    for key in ("created_after", "created_before"):
        asked[key] = _day(asked[key]) if asked[key] else ""
    answer = await visit.ask("GET", "/v1/orders", query=asked)
    filters = {k: v for k, v in query.items() if v}
    body = answer.body if answer.ok else {"data": [], "next_cursor": None}
    return visit.render(
        "orders.html",
        "orders",
        status=200 if answer.ok else answer.status,
        title="Orders",
        query=query,
        statuses=[s.value for s in OrderStatus],
        orders=body["data"],
        cursor=cursor,
        next_cursor=body["next_cursor"],
        next_query=urlencode({**filters, "cursor": body["next_cursor"] or ""}),
        first_query=urlencode(filters),
        filtered=bool(filters),
        error=answer.error,
    )


@console_page
async def order(visit: Visit) -> web.StreamResponse:
    order_id = visit.request.match_info["order_id"]
    found = await visit.ask("GET", f"/v1/orders/{seg(order_id)}")
    trace = await visit.ask("GET", f"/v1/orders/{seg(order_id)}/decisions")
    sent = await visit.ask("GET", f"/v1/orders/{seg(order_id)}/deliveries")
    if not found.ok and not trace.ok:
        return visit.render("order.html", "orders", found.status, title="Order", error=found.error)
    body = found.body if found.ok else None
    decisions = trace.body["data"] if trace.ok else []
    deliveries = sent.body["data"] if sent.ok else []
    # a part that could not be read (a 429, say) is said, not left out without a word;
    # a 404 is expected: a refused order has a trace and no order row
    failed = [a for a in (found, trace, sent) if not a.ok and a.status != 404]
    return visit.render(
        "order.html",
        "orders",
        failed[0].status if failed else 200,
        title="Order",
        order=body,
        decisions=decisions,
        timeline=timeline(body, decisions, deliveries),
        error=failed[0].error if failed else None,
    )


def timeline(
    order: dict[str, Any] | None, decisions: list[dict[str, Any]], deliveries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The order's story, oldest first: received, each plugin's refusal, the provider's
    answer, the outcome, and every delivery attempt of its events to the tenant."""
    steps: list[dict[str, Any]] = []
    if order is not None:
        steps.append({"at": order["created_at"], "kind": "intent", "title": "Order received"})
        if order["provider_order_id"]:
            steps.append({
                "at": order["created_at"], "kind": "provider", "title": "Provider accepted it",
                "detail": f"provider order {order['provider_order_id']}",
            })  # fmt: skip
        if order["completed_at"]:
            detail = order["error_message"] or f"{order['delivered_quantity']} delivered"
            steps.append({
                "at": order["completed_at"], "kind": "outcome",
                "title": f"Provider reported it {order['status']}", "detail": detail,
            })  # fmt: skip
    for d in decisions:
        if d["outcome"] not in ("allowed", "reserved", "settled", "notified"):  # routine
            steps.append({
                "at": d["at"], "kind": "decision",
                "title": f"{d['plugin']} {d['outcome']} ({d['mode']})", "detail": d["message"],
            })  # fmt: skip
    for a in deliveries:
        answer = f"HTTP {a['status_code']}" if a["status_code"] else (a["error"] or "not yet")
        steps.append({
            "at": a["at"] or a["created_at"], "kind": "delivery",
            "title": f"{a['event_type']} to {a['url']}",
            "detail": f"attempt {a['attempt']}: {answer}" if a["attempt"] else "queued",
        })  # fmt: skip
    return sorted(steps, key=lambda s: s["at"])


@console_page
async def replay_order(visit: Visit) -> web.StreamResponse:
    order_id = visit.request.match_info["order_id"]
    answer = await visit.ask("POST", f"/v1/orders/{seg(order_id)}/replay-events")
    if not answer.ok:
        return visit.render(
            "order.html", "orders", answer.status, title="Order", error=answer.error
        )
    raise back(f"/console/orders/{order_id}", "replayed")


@console_page
async def catalog(visit: Visit) -> web.StreamResponse:
    account = visit.request.query.get("account") or visit.tenant.default_account
    query = {"account": account, "cursor": visit.request.query.get("cursor", "")}
    answer = await visit.ask("GET", "/v1/catalog/items", query=query)
    body = answer.body if answer.ok else {"data": [], "next_cursor": None}
    return visit.render(
        "catalog.html",
        "catalog",
        status=200 if answer.ok else answer.status,
        title="Catalog",
        account=account,
        items=body["data"],
        next_cursor=body.get("next_cursor"),
        error=answer.error,
    )


def _subscription_form(visit: Visit) -> dict[str, Any]:
    assert visit.form is not None
    return {
        "url": str(visit.form.get("url", "")).strip(),
        "event_types": [str(e) for e in visit.form.getall("event_types", [])],
    }


@console_page
async def subscriptions(visit: Visit) -> web.StreamResponse:
    form: dict[str, Any] = {}
    error: dict[str, Any] = {}
    status = 200
    if visit.form is not None:
        form = _subscription_form(visit)
        made = await visit.ask("POST", "/v1/subscriptions", body=form)
        if made.ok:
            raise back(f"/console/subscriptions/{made.body['id']}", "subscribed")
        error, status = made.error, made.status
    listed = await visit.ask("GET", "/v1/subscriptions")
    return visit.render(
        "subscriptions.html",
        "subscriptions",
        status=status,
        title="Webhooks",
        subscriptions=listed.body["data"] if listed.ok else [],
        event_types=EVENT_TYPES,
        form=form,
        error=error or listed.error,
    )


@console_page
async def subscription(visit: Visit) -> web.StreamResponse:
    sid = visit.request.match_info["id"]
    return await _subscription_page(visit, sid)


async def _subscription_page(
    visit: Visit, sid: str, status: int = 200, **context: Any
) -> web.StreamResponse:
    found = await visit.ask("GET", f"/v1/subscriptions/{seg(sid)}")
    if not found.ok:
        return visit.render(
            "subscription.html", "subscriptions", found.status, title="Webhook", error=found.error
        )
    cursor = visit.request.query.get("cursor", "")
    attempts = await visit.ask(
        "GET", f"/v1/subscriptions/{seg(sid)}/deliveries", query={"cursor": cursor}
    )
    body = attempts.body if attempts.ok else {"data": [], "next_cursor": None}
    return visit.render(
        "subscription.html",
        "subscriptions",
        status,
        title="Webhook",
        sub=found.body,
        event_types=EVENT_TYPES,
        deliveries=body["data"],
        next_cursor=body["next_cursor"],
        **{"error": attempts.error, "would_replay": None, "form": {}, **context},
    )


@console_page
async def subscription_action(visit: Visit) -> web.StreamResponse:
    """The forms of a subscription's page: edit, test, rotate, replay one or a range."""
    sid = visit.request.match_info["id"]
    action = visit.request.match_info["action"]
    assert visit.form is not None
    base = f"/v1/subscriptions/{seg(sid)}"
    body: dict[str, Any]
    if action == "edit":
        body = _subscription_form(visit)
        raw = str(visit.form.get("filter", "")).strip()
        try:
            body["filter"] = json.loads(raw) if raw else {}
        except ValueError as exc:
            error = {"code": "invalid_filter", "message": f"filter: not JSON ({exc})"}
            return await _subscription_page(visit, sid, 422, error=error)
        rate = str(visit.form.get("rate_limit_per_second", "")).strip()
        body["rate_limit_per_second"] = _number(rate) if rate else 0
        answer = await visit.ask("PATCH", base, body=body)
        done = "saved"
    elif action == "test":
        answer = await visit.ask("POST", f"{base}/test")
        done = "test_sent"
    elif action == "rotate":
        answer = await visit.ask("POST", f"{base}/rotate-secret")
        if answer.ok:  # the new secret is shown once, on this answer, never in a URL
            return await _subscription_page(visit, sid, secret=answer.body.get("secret"))
        done = "rotated"
    elif action == "replay":
        form = {k: str(visit.form.get(k, "")) for k in ("since", "until", "state")}
        body = {
            key: _minute(form[key]) for key in ("since", "until") if form[key] or key == "since"
        }
        body["state"] = form["state"] or "failed"
        dry_run = visit.form.get("dry_run") == "true"
        if dry_run:
            body["dry_run"] = True
        answer = await visit.ask("POST", f"{base}/replay", body=body)
        if answer.ok and dry_run:  # the count is shown on the page, nothing was sent
            counted = answer.body["would_replay"]
            return await _subscription_page(visit, sid, would_replay=counted, form=form)
        done = "replayed"
    else:
        raise web.HTTPNotFound()
    if not answer.ok:
        return await _subscription_page(visit, sid, answer.status, error=answer.error)
    raise back(f"/console/subscriptions/{sid}", done)


@console_page
async def replay_message(visit: Visit) -> web.StreamResponse:
    sid, message_id = visit.request.match_info["id"], visit.request.match_info["message_id"]
    answer = await visit.ask(
        "POST", f"/v1/subscriptions/{seg(sid)}/deliveries/{seg(message_id)}/replay"
    )
    if not answer.ok:
        return await _subscription_page(visit, sid, answer.status, error=answer.error)
    raise back(f"/console/subscriptions/{sid}", "replayed")


routes = [
    web.get("/console/orders", orders),
    web.get("/console/orders/{order_id}", order),
    web.post("/console/orders/{order_id}/replay", replay_order),
    web.get("/console/catalog", catalog),
    web.get("/console/subscriptions", subscriptions),
    web.post("/console/subscriptions", subscriptions),
    web.get("/console/subscriptions/{id}", subscription),
    web.post("/console/subscriptions/{id}/deliveries/{message_id}/replay", replay_message),
    web.post("/console/subscriptions/{id}/{action}", subscription_action),
]
