"""Who sees what: admins see their own accounts only, observers no customer details
(revoking a token while the gateway runs: tests/test_admin.py)."""

from __future__ import annotations

from gateway.state import DISPATCHER
from tests.conftest import Gateway


async def test_an_admin_of_some_accounts_sees_only_their_orders_and_audit_records(
    gateway: Gateway,
) -> None:
    on_main = (await gateway.place("shop", item_id=1001)).body
    on_partner = (await gateway.place("shop", item_id=1001, account="partner")).body
    listed = await gateway.call("GET", "/v1/orders", "clerk")
    assert [o["id"] for o in listed.body["data"]] == [on_partner["id"]]
    assert (await gateway.call("GET", f"/v1/orders/{on_main['id']}", "clerk")).status == 404
    assert (await gateway.call("GET", f"/v1/orders/{on_partner['id']}", "clerk")).status == 200
    refused = await gateway.call("GET", "/v1/orders?account=main", "clerk")
    assert refused.status == 403 and refused.body["error"]["code"] == "account_not_allowed"
    audit = await gateway.call("GET", "/v1/audit", "clerk")
    assert audit.status == 200 and audit.body["data"]
    assert {r["account"] for r in audit.body["data"]} <= {"partner", None}
    everything = await gateway.call("GET", "/v1/audit", "ops")
    assert "main" in {r["account"] for r in everything.body["data"]}
    resolve = await gateway.call(
        "POST", f"/v1/admin/orders/{on_main['id']}/resolve", "clerk", json={"not_placed": True}
    )
    assert resolve.status == 404


async def test_observers_and_admins_see_neither_codes_nor_the_fields_a_tenant_sent(
    gateway: Gateway,
) -> None:
    fields = {"player_id": "p-77", "region": 1}
    placed = (await gateway.place("shop", item_id=2001, quantity=10, fields=fields)).body
    await gateway.provider.sandbox.advance(10)
    own = (await gateway.call("GET", f"/v1/orders/{placed['id']}", "shop")).body
    assert own["fields"] == fields and own["codes"] is not None
    for other in ("watch", "ops"):
        seen = (await gateway.call("GET", f"/v1/orders/{placed['id']}", other)).body
        assert seen["fields"] is None and seen["codes"] is None
        listed = (await gateway.call("GET", "/v1/orders", other)).body["data"]
        assert all(o["fields"] is None and o["codes"] is None for o in listed)


async def test_a_second_rotation_inside_the_overlap_is_409_and_keeps_both_secrets(
    gateway: Gateway,
) -> None:
    created = await gateway.call("POST", "/v1/subscriptions", json={"url": "http://127.0.0.1:9/h"})
    sid, first = created.body["id"], created.body["secret"]
    rotated = await gateway.call("POST", f"/v1/subscriptions/{sid}/rotate-secret")
    assert rotated.status == 200 and rotated.body["secret"] != first
    again = await gateway.call("POST", f"/v1/subscriptions/{sid}/rotate-secret")
    assert again.status == 409 and again.body["error"]["code"] == "rotation_in_progress"
    expires = rotated.body["previous_secret_expires_at"]
    assert again.body["error"]["details"]["previous_secret_expires_at"] == expires
    gateway.provider.clock.advance(24 * 3600)
    later = await gateway.call("POST", f"/v1/subscriptions/{sid}/rotate-secret")
    assert later.status == 200
    await gateway.app[DISPATCHER].run_due()
