"""The audit plugin: a durable record per decision and state change, for admins, codes redacted."""

from __future__ import annotations

import json

from structlog.testing import capture_logs

from gateway.state import DATABASE
from tests.conftest import Gateway, GatewayFactory


async def records(gateway: Gateway, query: str = "") -> list[dict[str, object]]:
    answer = await gateway.call("GET", f"/v1/audit{query}", "ops")
    assert answer.status == 200, answer.body
    return answer.body["data"]  # type: ignore[no-any-return]


async def test_accepted_settled_and_webhook_records(gateway: Gateway) -> None:
    placed = (await gateway.place(item_id=1001, quantity=2)).body
    await gateway.provider.sandbox.advance(10)
    trail = await records(gateway, f"?order_id={placed['id']}")
    # settled and webhook_received share one instant on the manual clock
    assert sorted(r["decision"] for r in trail[:2]) == ["settled", "webhook_received"]
    accepted = trail[-1]
    assert accepted["decision"] == "accepted"
    assert accepted["tenant"] == "shop" and accepted["account"] == "main"
    assert accepted["item_id"] == 1001 and accepted["quantity"] == "2"
    assert accepted["amount"] == "19.80" and accepted["currency"] == "EUR"
    assert accepted["request_id"]
    (settled,) = [r for r in trail if r["decision"] == "settled"]
    assert settled["details"]["status"] == "completed"  # type: ignore[index]
    assert settled["details"]["codes_delivered"] == 2  # type: ignore[index]


async def test_rejections_name_the_deciding_plugin_or_the_provider(gateway: Gateway) -> None:
    await gateway.place(item_id=424242)  # the validation plugin
    gateway.provider.clock.advance(1)
    await gateway.call("GET", "/v1/catalog/items")
    gateway.provider.sandbox.update_item(1001, available=False)
    await gateway.place(item_id=1001)  # the provider
    rejected = await records(gateway, "?decision=rejected")
    assert [(r["plugin"], r["details"]["code"]) for r in rejected] == [  # type: ignore[index]
        ("provider", "provider_validation_error"),
        ("validation", "invalid_order"),
    ]
    assert "424242" in str(rejected[1]["reason"])


async def test_codes_never_reach_the_audit_table_or_log(make_gateway: GatewayFactory) -> None:
    # the records' log lines at info, so that the log this checks holds them
    gateway = await make_gateway(
        plugins={"enabled": ["validation", "limits", "audit"], "audit": {"log_records": True}}
    )
    with capture_logs() as logs:
        placed = (await gateway.place(item_id=1001, quantity=3)).body
        await gateway.provider.sandbox.advance(10)
    codes = (await gateway.call("GET", f"/v1/orders/{placed['id']}")).body["codes"]
    assert len(codes) == 3
    assert len(await records(gateway, f"?order_id={placed['id']}")) == 3  # written by now
    rows = await gateway.app[DATABASE].fetch("SELECT * FROM audit_records")
    dumped = json.dumps(rows, default=str) + json.dumps(logs, default=str)
    assert not any(code in dumped for code in codes)
    assert any(e["event"] == "audit_record" for e in logs)


async def test_only_admins_read_it_and_filters_are_checked(gateway: Gateway) -> None:
    await gateway.place("shop", item_id=1001)
    await gateway.place("games", item_id=1001)
    assert (await gateway.call("GET", "/v1/audit", "shop")).status == 403
    assert {r["tenant"] for r in await records(gateway, "?tenant=games")} == {"games"}
    bad = await gateway.call("GET", "/v1/audit?decision=maybe", "ops")
    assert bad.status == 400 and bad.body["error"]["details"]["field"] == "decision"


async def test_pages_newest_first(gateway: Gateway) -> None:
    for _ in range(3):
        await gateway.place(item_id=1001)
        gateway.provider.clock.advance(1)
    first = (await gateway.call("GET", "/v1/audit?decision=accepted&limit=2", "ops")).body
    cursor = first["next_cursor"]
    rest = (
        await gateway.call("GET", f"/v1/audit?decision=accepted&limit=2&cursor={cursor}", "ops")
    ).body
    ats = [r["at"] for r in first["data"] + rest["data"]]
    assert len(ats) == 3 and ats == sorted(ats, reverse=True)
    assert rest["next_cursor"] is None
