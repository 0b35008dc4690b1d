"""Replay by time range and by state, for one subscription or all of a tenant's, with a
dry run that counts and sends nothing; in the API, the CLI and the console."""

from __future__ import annotations

import asyncio
import contextlib
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

from gateway.cli import main
from gateway.clock import isoformat_z
from gateway.state import DATABASE, DISPATCHER
from tests.conftest import Gateway, GatewayFactory
from tests.test_console import csrf_of, signed_in
from tests.test_webhooks_delivery import EndpointFactory, subscribe

ONE_TRY = {"retry_schedule_seconds": [], "jitter": 0}


async def history(
    gateway: Gateway, endpoint_factory: EndpointFactory
) -> tuple[list[str], list[str]]:
    """Two subscriptions of `shop`; at 10:00, 11:00 and 12:00 an order each, whose event
    the first endpoint refuses and the second takes: (subscription ids, times)."""
    refusing = await endpoint_factory([500])
    taking = await endpoint_factory([200])
    subs = [
        (await subscribe(gateway, url=refusing.url, event_types=["order.accepted"]))["id"],
        (await subscribe(gateway, url=taking.url, event_types=["order.accepted"]))["id"],
    ]
    start = gateway.provider.clock.now().replace(hour=10, minute=0, second=0, microsecond=0)
    times = []
    for hour in range(3):
        gateway.provider.clock.set(start + timedelta(hours=hour))
        times.append(isoformat_z(gateway.provider.clock.now()))
        await gateway.place(item_id=1001)
        await gateway.app[DISPATCHER].run_due()
    gateway.provider.clock.advance(3600)
    return subs, times


async def states(gateway: Gateway) -> list[str]:
    rows = await gateway.app[DATABASE].fetch("SELECT state FROM messages ORDER BY created_at")
    return sorted(r["state"] for r in rows)


async def test_a_range_by_state_with_a_dry_run_first(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks=ONE_TRY)
    (refusing, taking), times = await history(gateway, endpoint_factory)
    before = await states(gateway)
    assert before == ["delivered"] * 3 + ["failed"] * 3

    async def replay(sid: str, **body: Any) -> Any:
        answer = await gateway.call("POST", f"/v1/subscriptions/{sid}/replay", json=body)
        return answer.status, answer.body

    # the dead letters of 10:00 and 11:00, not of 12:00 (the range is [since, until))
    window = {"since": times[0], "until": times[2]}
    assert await replay(refusing, **window, dry_run=True) == (
        200,
        {"would_replay": 2, "dry_run": True},
    )
    assert await states(gateway) == before  # a dry run sends nothing
    assert await replay(taking, **window, dry_run=True) == (
        200,
        {"would_replay": 0, "dry_run": True},
    )  # nothing failed there
    assert await replay(taking, **window, state="delivered", dry_run=True) == (
        200,
        {"would_replay": 2, "dry_run": True},
    )
    assert await replay(taking, since=times[0], state="all", dry_run=True) == (
        200,
        {"would_replay": 3, "dry_run": True},
    )
    assert await replay(refusing, **window) == (202, {"replayed": 2})
    assert sorted(await states(gateway)) == sorted(
        ["delivered"] * 3 + ["failed", "pending", "pending"]
    )


async def test_every_subscription_of_the_tenant_at_once(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks=ONE_TRY)
    _, times = await history(gateway, endpoint_factory)
    everything = {"since": times[0], "state": "all", "dry_run": True}
    counted = await gateway.call("POST", "/v1/replay", json=everything)
    assert counted.body == {"would_replay": 6, "dry_run": True}
    other = await gateway.call("POST", "/v1/replay", "games", json=everything)
    assert other.body == {"would_replay": 0, "dry_run": True}  # games has no subscription
    sent = await gateway.call("POST", "/v1/replay", json={"since": times[0]})
    assert sent.status == 202 and sent.body == {"replayed": 3}


async def test_a_bad_range_names_its_field(gateway: Gateway) -> None:
    sid = (await subscribe(gateway, url="http://127.0.0.1:9/h"))["id"]
    path = f"/v1/subscriptions/{sid}/replay"
    for body, field in [
        ({}, "since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),  # 422
        ({"since": "2026-01-01T00:00:00Z", "state": "pending"}, "state"),
        ({"since": "2026-01-01T00:00:00Z", "dry_run": "yes"}, "dry_run"),
        ({"since": "2026-01-01T00:00:00Z", "from": "x"}, "from"),
    ]:
        answer = await gateway.call("POST", path, json=body)
        assert answer.status == (422 if field == "until" else 400), (body, answer.body)
        assert answer.body["error"]["details"]["field"] == field


async def test_the_cli_counts_then_replays_a_range(
    make_gateway: GatewayFactory,
    endpoint_factory: EndpointFactory,
    tmp_path: Path,
    storage_url: str,
) -> None:
    gateway = await make_gateway(webhooks=ONE_TRY)
    (refusing, _), times = await history(gateway, endpoint_factory)
    config = tmp_path / "ops.toml"
    config.write_text(
        f'[storage]\nurl = "{storage_url}"\n[accounts.main]\nbase_url = "http://127.0.0.1:9"\n'
        'client_id = "c"\ncurrency = "EUR"\napi_key = { env = "X" }\n'
        'webhook_secret = { env = "X" }\n'
    )

    def run(*argv: str) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["deliveries", "replay", "--config", str(config), *argv]) == 0
        return out.getvalue()

    window = ["--subscription", refusing, "--since", times[1], "--until", times[2]]
    counted = await asyncio.to_thread(run, *window, "--dry-run")
    assert counted.startswith("1 message(s) would be queued again")
    sent = await asyncio.to_thread(run, *window)
    assert sent.startswith("1 message(s) queued again")


async def test_the_console_counts_then_sends_a_range(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway(webhooks=ONE_TRY, server={"tenant_reads_per_second": 0})
    (refusing, _), times = await history(gateway, endpoint_factory)
    http = await signed_in(gateway)
    async with http:
        page = f"{gateway.url}/console/subscriptions/{refusing}"
        html = await (await http.get(page)).text()
        form = {"csrf": csrf_of(html), "since": times[0][:16], "state": "failed"}
        counted = await http.post(f"{page}/replay", data={**form, "dry_run": "true"})
        assert "3 message(s) would be sent again" in await counted.text()
        sent = await http.post(f"{page}/replay", data=form)
        assert sent.status == 200 and "Queued again" in await sent.text()
    assert (await states(gateway)).count("pending") == 3


async def test_a_new_endpoint_catches_up_on_the_last_hours(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway()
    old = (await gateway.place(item_id=1001)).body
    gateway.provider.clock.advance(3 * 3600)
    recent = [(await gateway.place(item_id=1001, quantity=q)).body for q in (1, 2)]
    await gateway.place("games", item_id=1001)  # another tenant's: not shop's to hear
    endpoint = await endpoint_factory([200])
    made = await gateway.call(
        "POST",
        "/v1/subscriptions",
        json={"url": endpoint.url, "backfill_hours": 2, "filter": {"data.quantity": {"$gte": 1}}},
    )
    assert made.status == 201 and made.body["backfilled"] == 2
    await gateway.app[DISPATCHER].run_due()
    assert sorted(e[1] for e in endpoint.events()) == sorted(o["id"] for o in recent)
    assert old["id"] not in [e[1] for e in endpoint.events()]
    refused = await gateway.call(
        "POST", "/v1/subscriptions", json={"url": endpoint.url, "backfill_hours": 100}
    )
    assert refused.status == 400 and refused.body["error"]["details"]["field"] == "backfill_hours"
