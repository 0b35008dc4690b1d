"""The admin API: tenants and tokens at run time, per-tenant policies with a shadow mode,
and each order's decision trace (docs/administration.md)."""

from __future__ import annotations

from typing import Any

from gateway.clock import isoformat_z
from gateway.plugin_api import Tenant, hookimpl
from gateway.state import ADMIN_WATCH
from gateway.testing import TOKENS
from tests.conftest import Gateway, GatewayFactory


def limits(**settings: Any) -> dict[str, Any]:
    return {"enabled": ["validation", "limits", "audit"], "limits": settings}


async def onboard(gateway: Gateway, name: str = "games2", **body: Any) -> dict[str, Any]:
    answer = await gateway.call(
        "POST", "/v1/admin/tenants", "ops", json={"name": name, "accounts": ["main"], **body}
    )
    assert answer.status == 201, answer.body
    return answer.body


async def as_token(gateway: Gateway, token: str, method: str, path: str, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    return await gateway.call(method, path, None, headers=headers, **kw)


async def test_an_onboarded_tenant_orders_with_the_token_shown_once(gateway: Gateway) -> None:
    made = await onboard(gateway, label="ci", role="tenant")
    secret = made["token"]["token"]
    assert made["name"] == "games2" and made["accounts"] == ["main"]
    assert made["default_account"] == "main" and made["tokens"] == 1
    assert made["token"]["label"] == "ci" and made["token"]["id"].startswith("tok_")
    placed = await as_token(gateway, secret, "POST", "/v1/orders", json={"item_id": 1001})
    assert placed.status == 201 and placed.body["status"] == "pending"
    tokens = await gateway.call("GET", "/v1/admin/tenants/games2/tokens", "ops")
    (listed,) = tokens.body["data"]
    assert listed["id"] == made["token"]["id"] and "token" not in listed
    assert secret not in str(tokens.body)
    assert listed["last_used_at"] == isoformat_z(gateway.provider.clock.now())
    names = [
        t["name"] for t in (await gateway.call("GET", "/v1/admin/tenants", "ops")).body["data"]
    ]
    assert names == sorted(["shop", "games", "watch", "ops", "clerk", "games2"])


async def test_bad_onboarding_names_the_field(gateway: Gateway) -> None:
    cases = [
        ({"name": "Shop!", "accounts": ["main"]}, "name"),
        ({"name": "x", "accounts": ["nowhere"]}, "accounts"),
        ({"name": "x", "accounts": []}, "accounts"),
        ({"name": "x", "accounts": ["main"], "default_account": "partner"}, "default_account"),
        ({"name": "x", "accounts": ["main"], "role": "root"}, "role"),
        ({"name": "x", "accounts": ["main"], "colour": "red"}, "colour"),
        ({"name": "x", "accounts": ["main"], "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
    ]
    for body, field in cases:
        answer = await gateway.call("POST", "/v1/admin/tenants", "ops", json=body)
        assert answer.status == 400, (body, answer.body)
        assert answer.body["error"]["details"]["field"] == field, body
    again = await gateway.call(
        "POST", "/v1/admin/tenants", "ops", json={"name": "shop", "accounts": ["main"]}
    )
    assert again.status == 409 and "already exists" in again.body["error"]["message"]
    for tenant in ("shop", "watch"):
        refused = await gateway.call("GET", "/v1/admin/tenants", tenant)
        assert refused.status == 403 and "only an admin" in refused.body["error"]["message"]


async def test_a_revoked_token_stops_at_once_and_an_admin_cannot_cut_its_own(
    gateway: Gateway,
) -> None:
    made = await onboard(gateway)
    second = await gateway.call(
        "POST", "/v1/admin/tenants/games2/tokens", "ops", json={"label": "rotation"}
    )
    assert second.status == 201 and second.body["label"] == "rotation"
    first, ident = made["token"]["token"], made["token"]["id"]
    revoked = await gateway.call("DELETE", f"/v1/admin/tenants/games2/tokens/{ident}", "ops")
    assert revoked.status == 204
    gone = await as_token(gateway, first, "GET", "/v1/orders")
    assert gone.status == 401 and "revoked" in gone.body["error"]["message"]
    assert (await as_token(gateway, second.body["token"], "GET", "/v1/orders")).status == 200
    again = await gateway.call("DELETE", f"/v1/admin/tenants/games2/tokens/{ident}", "ops")
    assert again.status == 404
    tokens = (await gateway.call("GET", "/v1/admin/tenants/ops/tokens", "ops")).body["data"]
    own = await gateway.call("DELETE", f"/v1/admin/tenants/ops/tokens/{tokens[0]['id']}", "ops")
    assert own.status == 409 and "calling with" in own.body["error"]["message"]
    assert (await gateway.call("GET", "/v1/orders", "ops")).status == 200


async def test_a_token_stops_at_its_expiry(gateway: Gateway) -> None:
    clock = gateway.provider.clock
    made = await onboard(gateway, expires_at=_later(clock, 60))
    secret = made["token"]["token"]
    assert made["token"]["expires_at"] == _later(clock, 60)
    assert (await as_token(gateway, secret, "GET", "/v1/orders")).status == 200
    clock.advance(60)
    expired = await as_token(gateway, secret, "GET", "/v1/orders")
    assert expired.status == 401 and "expired at" in expired.body["error"]["message"]


def _later(clock: Any, seconds: int) -> str:
    from datetime import timedelta

    return isoformat_z(clock.now() + timedelta(seconds=seconds))


async def test_disable_enable_delete_and_a_name_is_never_reused(gateway: Gateway) -> None:
    secret = (await onboard(gateway))["token"]["token"]
    off = await gateway.call("PATCH", "/v1/admin/tenants/games2", "ops", json={"disabled": True})
    assert off.status == 200 and off.body["disabled"] is True
    refused = await as_token(gateway, secret, "GET", "/v1/orders")
    assert refused.status == 403 and refused.body["error"]["code"] == "tenant_disabled"
    on = await gateway.call(
        "PATCH", "/v1/admin/tenants/games2", "ops",
        json={"disabled": False, "accounts": ["main", "partner"], "default_account": "partner"},
    )  # fmt: skip
    assert on.body["accounts"] == ["main", "partner"] and on.body["default_account"] == "partner"
    placed = await as_token(gateway, secret, "POST", "/v1/orders", json={"item_id": 1001})
    assert placed.status == 201 and placed.body["account"] == "partner"
    self_off = await gateway.call("PATCH", "/v1/admin/tenants/ops", "ops", json={"disabled": True})
    assert self_off.status == 409
    demote = await gateway.call("PATCH", "/v1/admin/tenants/ops", "ops", json={"role": "tenant"})
    assert demote.status == 409
    assert (await gateway.call("DELETE", "/v1/admin/tenants/ops", "ops")).status == 409
    assert (await gateway.call("DELETE", "/v1/admin/tenants/games2", "ops")).status == 204
    assert (await as_token(gateway, secret, "GET", "/v1/orders")).status == 401
    assert (await gateway.call("GET", "/v1/admin/tenants/games2", "ops")).status == 404
    reuse = await gateway.call(
        "POST", "/v1/admin/tenants", "ops", json={"name": "games2", "accounts": ["main"]}
    )
    assert reuse.status == 409 and "orders keep the name" in reuse.body["error"]["message"]


async def test_every_change_is_in_the_audit_trail_with_who_made_it(gateway: Gateway) -> None:
    gateway.provider.clock.advance(1)  # the trail is newest first, to the microsecond
    made = await onboard(gateway)
    gateway.provider.clock.advance(1)
    await gateway.call("DELETE", f"/v1/admin/tenants/games2/tokens/{made['token']['id']}", "ops")
    trail = await gateway.call("GET", "/v1/audit?decision=admin_change", "ops")
    actions = [(r["reason"], r["plugin"], r["tenant"]) for r in trail.body["data"]]
    assert actions == [
        ("token.revoked", "admin:ops", "games2"),
        ("tenant.created", "admin:ops", "games2"),
        ("config.seeded", "config:first-start", None),
    ]
    assert made["token"]["token"] not in str(trail.body)


async def test_a_policy_in_shadow_mode_decides_and_never_blocks(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(plugins=limits(max_order={"main": "50.00"}))
    path = "/v1/admin/tenants/shop/policies/limits"
    before = await gateway.call("GET", path, "ops")
    assert before.body == {
        "tenant": "shop", "plugin": "limits", "mode": "enforce", "settings": {}, "default": True,
    }  # fmt: skip
    shadow = await gateway.call("PUT", path, "ops", json={"mode": "shadow"})
    assert shadow.status == 200 and shadow.body["mode"] == "shadow"
    placed = await gateway.place(item_id=1001, quantity=6)  # 59.40: over the maximum
    assert placed.status == 201
    trace = await gateway.call("GET", f"/v1/orders/{placed.body['id']}/decisions")
    said = [(d["plugin"], d["hook"], d["outcome"], d["mode"]) for d in trace.body["data"]]
    assert ("limits", "gateway_reserve", "would_reject", "shadow") in said
    (refusal,) = [d for d in trace.body["data"] if d["outcome"] == "would_reject"]
    assert refusal["code"] == "order_limit_exceeded" and "50.00" in refusal["message"]
    other = await gateway.place("games", item_id=1001, quantity=6)
    assert other.status == 403  # games has no policy of its own: enforced
    await gateway.call("PUT", path, "ops", json={"mode": "enforce"})
    assert (await gateway.place(item_id=1001, quantity=6)).status == 403
    await gateway.call("PUT", path, "ops", json={"mode": "off"})
    off = await gateway.place(item_id=1001, quantity=6)
    trace = await gateway.call("GET", f"/v1/orders/{off.body['id']}/decisions")
    assert off.status == 201 and "limits" not in {d["plugin"] for d in trace.body["data"]}


async def test_per_tenant_settings_are_checked_and_apply_to_that_tenant_only(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(plugins=limits(max_order={"main": "50.00"}))
    path = "/v1/admin/tenants/shop/policies/limits"
    bad = await gateway.call(
        "PUT", path, "ops", json={"mode": "enforce", "settings": {"max_order": {"main": "lots"}}}
    )
    assert bad.status == 400 and bad.body["error"]["details"]["field"].startswith("settings.")
    wrong_mode = await gateway.call("PUT", path, "ops", json={"mode": "maybe"})
    assert wrong_mode.status == 400 and wrong_mode.body["error"]["details"]["field"] == "mode"
    unknown = await gateway.call("PUT", "/v1/admin/tenants/shop/policies/nope", "ops",
                                 json={"mode": "off"})  # fmt: skip
    assert unknown.status == 404 and "loaded: validation, limits, audit" in str(unknown.body)
    tight = {"mode": "enforce", "settings": {"max_order": {"main": "20.00"}}}
    assert (await gateway.call("PUT", path, "ops", json=tight)).status == 200
    assert (await gateway.place(item_id=1001, quantity=3)).status == 403  # 29.70 > 20.00
    assert (await gateway.place("games", item_id=1001, quantity=3)).status == 201
    shown = await gateway.call("GET", path, "ops")
    assert shown.body["settings"] == {"max_order": {"main": "20.00"}} and not shown.body["default"]
    plugins = (await gateway.call("GET", "/v1/admin/plugins", "ops")).body["data"]
    (limits_plugin,) = [p for p in plugins if p["name"] == "limits"]
    assert limits_plugin["settings"] == {"max_order": {"main": "50.00"}}
    assert "gateway_reserve" in limits_plugin["hooks"]


async def test_the_decision_trace_lists_each_hook_in_order(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(plugins=limits(max_order={"main": "50.00"}))
    placed = await gateway.place(item_id=1001)
    await gateway.provider.sandbox.advance(10)  # delivered: the settlement adds its own row
    await gateway.call("GET", f"/v1/orders/{placed.body['id']}")
    trace = await gateway.call("GET", f"/v1/orders/{placed.body['id']}/decisions")
    steps = [(d["plugin"], d["hook"], d["outcome"]) for d in trace.body["data"]]
    assert steps[:4] == [  # the placement, in one row
        ("validation", "gateway_validate_order", "allowed"),
        ("limits", "gateway_reserve", "reserved"),
        ("limits", "gateway_settle", "settled"),  # placed: the provider's price
        ("audit", "gateway_order_accepted", "notified"),
    ]
    later = steps[4:]  # the provider's webhooks (one per status it reports), and the final word
    assert ("limits", "gateway_settle", "settled") in later
    assert ("audit", "gateway_provider_webhook", "notified") in later
    assert later[-1] == ("audit", "gateway_order_settled", "notified")
    assert all(d["duration_ms"] >= 0 and d["mode"] == "enforce" for d in trace.body["data"])
    assert (await gateway.call("GET", f"/v1/orders/{placed.body['id']}/decisions", "games")
            ).status == 404  # fmt: skip
    watched = await gateway.call("GET", f"/v1/orders/{placed.body['id']}/decisions", "watch")
    assert watched.status == 200  # an observer of the order's account


async def test_a_refused_order_has_a_trace_its_tenant_can_read(gateway: Gateway) -> None:
    refused = await gateway.place(item_id=424242)
    assert refused.status == 422
    order_id = refused.body["error"]["details"]["order_id"]
    assert (await gateway.call("GET", f"/v1/orders/{order_id}")).status == 404
    trace = await gateway.call("GET", f"/v1/orders/{order_id}/decisions")
    (decision,) = [d for d in trace.body["data"] if d["outcome"] == "rejected"]
    assert decision["plugin"] == "validation" and decision["hook"] == "gateway_validate_order"
    assert decision["code"] == "invalid_order" and "424242" in decision["message"]
    assert (await gateway.call("GET", f"/v1/orders/{order_id}/decisions", "games")).status == 404
    assert (await gateway.call("GET", f"/v1/orders/{order_id}/decisions", "ops")).status == 200
    assert (await gateway.call("GET", "/v1/orders/not-an-id/decisions")).status == 404


async def test_last_use_is_written_in_a_batch(gateway: Gateway) -> None:
    await gateway.call("GET", "/v1/orders", "games")
    await gateway.app[ADMIN_WATCH].flush_used()
    assert not gateway.app[ADMIN_WATCH].directory.used
    tokens = (await gateway.call("GET", "/v1/admin/tenants/games/tokens", "ops")).body["data"]
    assert tokens[0]["last_used_at"] == isoformat_z(gateway.provider.clock.now())
    assert TOKENS["games"] not in str(tokens)


async def test_an_admin_reaches_only_the_tenants_of_its_own_accounts(gateway: Gateway) -> None:
    # clerk is an admin of `partner` only
    grab = await gateway.call(
        "POST", "/v1/admin/tenants", "clerk", json={"name": "mine", "accounts": ["main"]}
    )
    assert grab.status == 403 and grab.body["error"]["details"]["field"] == "accounts"
    made = await gateway.call(
        "POST", "/v1/admin/tenants", "clerk", json={"name": "mine", "accounts": ["partner"]}
    )
    assert made.status == 201
    widen = await gateway.call(
        "PATCH", "/v1/admin/tenants/mine", "clerk", json={"accounts": ["partner", "main"]}
    )
    assert widen.status == 403
    names = {
        t["name"] for t in (await gateway.call("GET", "/v1/admin/tenants", "clerk")).body["data"]
    }
    assert names == {"clerk", "mine"}  # not shop (main and partner), not ops
    for method, path in [
        ("GET", "/v1/admin/tenants/shop"),
        ("PATCH", "/v1/admin/tenants/shop"),
        ("DELETE", "/v1/admin/tenants/shop"),
        ("GET", "/v1/admin/tenants/shop/tokens"),
        ("POST", "/v1/admin/tenants/shop/tokens"),
        ("PUT", "/v1/admin/tenants/shop/policies/audit"),
    ]:
        body = (
            {"disabled": True} if method == "PATCH" else {"mode": "off"} if method == "PUT" else {}
        )
        answer = await gateway.call(method, path, "clerk", json=body if method != "GET" else None)
        assert answer.status == 404, (method, path, answer.body)
    assert (await gateway.call("GET", "/v1/orders")).status == 200  # shop untouched


class AlwaysPartner:
    """Sends every order to `partner`: its word is used when enforced, only traced in shadow."""

    def __init__(self, settings: dict[str, Any]) -> None:
        pass

    @hookimpl
    def gateway_select_account(self, tenant: Tenant) -> str | None:
        return "partner" if "partner" in tenant.accounts else None


async def test_an_account_selected_in_shadow_mode_is_traced_and_not_used(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(
        plugins={"enabled": ["router", "validation"]}, plugin_factories={"router": AlwaysPartner}
    )
    enforced = await gateway.place(item_id=1001)
    assert enforced.status == 201 and enforced.body["account"] == "partner"
    path = "/v1/admin/tenants/shop/policies/router"
    assert (await gateway.call("PUT", path, "ops", json={"mode": "shadow"})).status == 200
    shadowed = await gateway.place(item_id=1001)
    assert shadowed.status == 201 and shadowed.body["account"] == "main"
    trace = await gateway.call("GET", f"/v1/orders/{shadowed.body['id']}/decisions")
    first = trace.body["data"][0]
    assert (first["plugin"], first["hook"], first["outcome"], first["mode"]) == (
        "router", "gateway_select_account", "selected", "shadow",
    )  # fmt: skip
    assert first["message"] == "would select account 'partner'"
