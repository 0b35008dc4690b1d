"""`/v1/admin/outbox`: the backlog, the dead letters of the tenants an admin reaches, and
sending one again; and the console's Outbox and Audit pages over them."""

from __future__ import annotations

from gateway.state import DISPATCHER
from tests.conftest import Gateway, GatewayFactory
from tests.test_console import csrf_of, signed_in
from tests.test_webhooks_delivery import EndpointFactory, subscribe

ONE_TRY = {"retry_schedule_seconds": [], "jitter": 0}


async def dead_letter(gateway: Gateway, endpoint_factory: EndpointFactory) -> dict[str, str]:
    endpoint = await endpoint_factory([500])
    sub = await subscribe(gateway, url=endpoint.url, event_types=["order.accepted"])
    placed = (await gateway.place(item_id=1001)).body
    await gateway.app[DISPATCHER].run_due()
    return {"subscription": sub["id"], "order": placed["id"]}


async def test_an_admin_sees_the_backlog_and_its_tenants_dead_letters(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks=ONE_TRY)
    made = await dead_letter(gateway, endpoint_factory)
    read = await gateway.call("GET", "/v1/admin/outbox", "ops")
    assert read.status == 200
    assert read.body["backlog"] == {"pending": 0, "delivering": 0, "failed": 1}
    (letter,) = read.body["data"]
    assert letter["tenant"] == "shop" and letter["order_id"] == made["order"]
    assert letter["attempts"] == 1 and letter["last_status"] == 500
    # an admin of `partner` alone does not reach `shop` (main and partner): its count only
    clerk = await gateway.call("GET", "/v1/admin/outbox", "clerk")
    assert clerk.body["data"] == [] and clerk.body["backlog"]["failed"] == 1
    refused = await gateway.call("POST", f"/v1/admin/outbox/{letter['message_id']}/replay", "clerk")
    assert refused.status == 404
    assert (await gateway.call("GET", "/v1/admin/outbox", "shop")).status == 403

    again = await gateway.call("POST", f"/v1/admin/outbox/{letter['message_id']}/replay", "ops")
    assert again.status == 202 and again.body == {"replayed": 1}
    after = await gateway.call("GET", "/v1/admin/outbox", "ops")
    assert after.body["backlog"]["pending"] == 1 and after.body["data"] == []


async def test_dead_letters_come_in_pages(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks=ONE_TRY)
    endpoint = await endpoint_factory([500])
    await subscribe(gateway, url=endpoint.url, event_types=["order.accepted"])
    for _ in range(3):
        await gateway.place(item_id=1001)
        await gateway.app[DISPATCHER].run_due()
        gateway.provider.clock.advance(1)
    seen: list[str] = []
    cursor = ""
    for _ in range(3):
        page = await gateway.call("GET", f"/v1/admin/outbox?limit=1{cursor}", "ops")
        seen += [m["message_id"] for m in page.body["data"]]
        cursor = f"&cursor={page.body['next_cursor']}" if page.body["next_cursor"] else ""
    assert len(set(seen)) == 3 and cursor == ""


async def test_the_console_lists_dead_letters_and_sends_one_again(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks=ONE_TRY, server={"tenant_reads_per_second": 0})
    await dead_letter(gateway, endpoint_factory)
    http = await signed_in(gateway, "ops")
    async with http:
        html = await (await http.get(f"{gateway.url}/console/admin/outbox")).text()
        assert "HTTP 500" in html and "Send again" in html
        letter = (await gateway.call("GET", "/v1/admin/outbox", "ops")).body["data"][0]
        sent = await http.post(
            f"{gateway.url}/console/admin/outbox/{letter['message_id']}/replay",
            data={"csrf": csrf_of(html)},
        )
        assert sent.status == 200 and "Queued again" in await sent.text()
        assert "No dead letters" in await sent.text()
        audit = await http.get(f"{gateway.url}/console/admin/audit?decision=accepted")
        text = await audit.text()
        assert audit.status == 200 and "accepted" in text and "€9.90" in text
        bad = await http.get(f"{gateway.url}/console/admin/audit?decision=nonsense")
        assert bad.status == 400 and 'role="alert"' in await bad.text()
