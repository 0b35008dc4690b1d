"""Webhook destinations: the operator's rules hold at subscribe time and at every connection.

Nothing here connects outside loopback: names resolve through a table (StaticResolver),
and every refused destination is refused before a connection is made. The gateways here
run with the default rules (loopback refused) unless a test allows loopback.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.config_webhooks import destinations_config
from gateway.outbox.destinations import (
    RESOLVE_SECONDS,
    DestinationPolicy,
    DestinationRefused,
    StaticResolver,
)
from gateway.state import DATABASE, DESTINATIONS, DISPATCHER
from gateway.testing import TEST_DESTINATIONS
from tests.conftest import Gateway, GatewayFactory
from tests.test_webhooks_delivery import EndpointFactory, subscribe

DEFAULT_RULES = {"destinations": {}}


async def refused(gateway: Gateway, url: str, tenant: str = "shop") -> dict[str, Any]:
    answer = await gateway.call("POST", "/v1/subscriptions", tenant, json={"url": url})
    assert answer.status == 422, (url, answer.body)
    error = answer.body["error"]
    assert error["code"] == "destination_not_allowed"
    assert error["details"]["field"] == "url"
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://127.0.0.1:8081/hook", "loopback"),
        ("http://localhost:8081/hook", "loopback"),
        ("http://127.1.2.3:8081/", "loopback"),
        ("http://[::1]:8081/", "loopback"),
        ("http://[::ffff:127.0.0.1]:8081/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link_local"),
        ("http://[fe80::1]/", "link_local"),
        ("http://10.0.0.5/hook", "private"),
        ("http://172.16.3.4/hook", "private"),
        ("http://192.168.1.1/hook", "private"),
        ("http://[fd00::1]/hook", "private"),
        ("http://0.0.0.0:8081/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://100.64.0.1/", "reserved"),
        ("http://2130706433/", "ambiguous_address"),
        ("http://0x7f.1/", "ambiguous_address"),
        ("http://017700000001/", "ambiguous_address"),
        ("https://hooks.example:22/", "port"),
        ("http://user:secret@hooks.example/", "user_info"),
        ("http://[v1.:.hooks.example]:8081/", "url"),  # IPvFuture: aiohttp skips resolvers
        ("http://[64:ff9b::169.254.169.254]/", "reserved"),  # NAT64
        ("http://[64:ff9b:1::a00:1]/", "reserved"),
        ("http://[2002:7f00:1::]/", "reserved"),  # 6to4
        ("http://[::127.0.0.1]/", "reserved"),  # IPv4-compatible
        ("http://[::ffff:0:127.0.0.1]/", "reserved"),  # SIIT
        ("http://[fec0::1]/", "reserved"),  # site-local
        ("http://localhost.:8081/", "loopback"),
    ],
)
async def test_a_destination_the_rules_refuse_is_422_naming_the_rule(
    make_gateway: GatewayFactory, url: str, rule: str
) -> None:
    gateway = await make_gateway(webhooks=DEFAULT_RULES)
    error = await refused(gateway, url)
    assert error["details"]["rule"] == rule
    assert "secret" not in error["message"]  # user info is never echoed
    listed = await gateway.call("GET", "/v1/subscriptions")
    assert listed.body["data"] == []


async def test_a_name_is_judged_by_every_address_it_resolves_to(
    make_gateway: GatewayFactory,
) -> None:
    names = StaticResolver(
        {"inside.example": ["10.1.2.3"], "split.example": ["93.184.215.14", "127.0.0.1"]}
    )
    gateway = await make_gateway(webhooks=DEFAULT_RULES, resolver=names)
    inside = await refused(gateway, "https://inside.example/hook")
    assert inside["details"]["rule"] == "private"
    assert "10.1.2.3" not in inside["message"]  # no lookup service into the operator's network
    assert (await refused(gateway, "https://split.example/hook"))["details"]["rule"] == "loopback"
    # a name that does not resolve now is accepted, and judged at every connection
    assert (
        await gateway.call("POST", "/v1/subscriptions", json={"url": "https://later.example/h"})
    ).status == 201


async def test_listed_ranges_and_names_are_allowed_and_public_can_be_turned_off(
    make_gateway: GatewayFactory,
) -> None:
    names = StaticResolver({"hooks.corp.example": ["10.9.0.7"]})
    rules = {"destinations": {"allow": ["10.20.0.0/16", "*.corp.example"], "allow_public": False}}
    gateway = await make_gateway(webhooks=rules, resolver=names)
    for url in ("http://10.20.1.1:8081/h", "https://hooks.corp.example/h"):
        answer = await gateway.call("POST", "/v1/subscriptions", json={"url": url})
        assert answer.status == 201, answer.body
    assert (await refused(gateway, "http://10.21.0.1/h"))["details"]["rule"] == "private"
    assert (await refused(gateway, "http://93.184.215.14/h"))["details"]["rule"] == "public"


async def test_the_gateway_itself_and_its_provider_are_never_destinations(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway()  # loopback allowed, as in the demo
    assert (await refused(gateway, gateway.url + "/v1/orders"))["details"][
        "rule"
    ] == "gateway_itself"
    provider = str(gateway.provider.server.make_url("/admin/accounts/main/keys"))
    assert (await refused(gateway, provider))["details"]["rule"] == "gateway_itself"
    renamed = provider.replace("127.0.0.1", "localhost")
    assert (await refused(gateway, renamed))["details"]["rule"] == "gateway_itself"


async def test_a_name_rebound_to_loopback_after_subscribing_is_refused_at_connection(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    endpoint = await endpoint_factory()
    names = StaticResolver({"rebind.example": ["93.184.215.14"]})
    gateway = await make_gateway(webhooks=DEFAULT_RULES, resolver=names)
    port = endpoint.server.port
    subscription = await subscribe(gateway, url=f"http://rebind.example:{port}/hook")
    names.names["rebind.example"] = ["127.0.0.1"]  # the attacker's DNS now answers loopback
    await gateway.place(item_id=1001)
    await gateway.app[DISPATCHER].run_due()
    assert endpoint.hooks == []
    log = await gateway.call("GET", f"/v1/subscriptions/{subscription['id']}/deliveries")
    attempt = log.body["data"][0]
    assert attempt["status_code"] is None and "destination not allowed" in attempt["error"]
    assert attempt["state"] == "pending"  # retried: the operator may allow it meanwhile


async def test_rules_tightened_after_subscribing_hold_for_stored_literal_addresses(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    endpoint = await endpoint_factory()
    permissive = await make_gateway()
    await subscribe(permissive, url=endpoint.url)
    await permissive.place(item_id=1001)
    strict = await make_gateway(webhooks=DEFAULT_RULES)  # the same database, default rules
    assert await strict.app[DISPATCHER].run_due() == 1
    assert endpoint.hooks == []
    rows = await strict.app[DATABASE].fetch("SELECT error FROM delivery_attempts")
    assert "loopback" in rows[0]["error"]


async def test_redirects_are_not_followed(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    target = await endpoint_factory()
    redirecting = await endpoint_factory(statuses=[307])
    redirecting.headers["Location"] = target.url
    gateway = await make_gateway()
    await subscribe(gateway, url=redirecting.url)
    await gateway.place(item_id=1001)
    await gateway.app[DISPATCHER].run_due()
    assert len(redirecting.hooks) == 1 and target.hooks == []
    rows = await gateway.app[DATABASE].fetch("SELECT state, last_status FROM messages")
    assert [(r["state"], r["last_status"]) for r in rows] == [("pending", 307)]


async def test_a_tenant_holds_at_most_its_quota_of_subscriptions(
    make_gateway: GatewayFactory,
) -> None:
    rules = {"destinations": {**TEST_DESTINATIONS, "max_subscriptions_per_tenant": 2}}
    gateway = await make_gateway(webhooks=rules)
    ids = [(await subscribe(gateway, url=f"http://127.0.0.1:9/{n}"))["id"] for n in range(2)]
    third = await gateway.call("POST", "/v1/subscriptions", json={"url": "http://127.0.0.1:9/3"})
    assert third.status == 422 and third.body["error"]["code"] == "quota_exceeded"
    assert "max_subscriptions_per_tenant" in third.body["error"]["message"]
    other = await gateway.call(
        "POST", "/v1/subscriptions", "games", json={"url": "http://127.0.0.1:9/g"}
    )
    assert other.status == 201  # per tenant
    assert (await gateway.call("DELETE", f"/v1/subscriptions/{ids[0]}")).status == 204
    again = await gateway.call("POST", "/v1/subscriptions", json={"url": "http://127.0.0.1:9/3"})
    assert again.status == 201


async def test_test_sends_and_replays_are_rate_limited_per_tenant(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(webhooks={"test_sends_per_minute": 2, "replays_per_minute": 1})
    sid = (await subscribe(gateway, url="http://127.0.0.1:9/h"))["id"]
    test = f"/v1/subscriptions/{sid}/test"
    first = await gateway.call("POST", test)
    assert first.status == 202 and first.headers["RateLimit-Policy"] == '"test";q=2;w=60'
    assert first.headers["RateLimit"].startswith('"test";r=1;')
    assert (await gateway.call("POST", test)).status == 202
    limited = await gateway.call("POST", test)
    assert limited.status == 429 and limited.body["error"]["code"] == "rate_limited"
    assert limited.headers["Retry-After"] == "30"
    assert limited.headers["RateLimit"] == '"test";r=0;t=30'
    other = (await subscribe(gateway, "games", url="http://127.0.0.1:9/g"))["id"]
    assert (await gateway.call("POST", f"/v1/subscriptions/{other}/test", "games")).status == 202
    since = {"since": "2026-01-01T00:00:00Z"}
    replay = f"/v1/subscriptions/{sid}/replay"
    assert (await gateway.call("POST", replay, json=since)).status == 202
    assert (await gateway.call("POST", replay, json=since)).status == 429
    gateway.provider.clock.advance(60)
    assert (await gateway.call("POST", replay, json=since)).status == 202
    assert (await gateway.call("POST", test)).status == 202
    pings = await gateway.app[DATABASE].fetch("SELECT id FROM messages WHERE event_type = 'ping'")
    assert len(pings) == 4  # a refused test send wrote nothing


async def test_replaying_an_order_resends_only_to_the_owners_endpoints(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    own, watcher = await endpoint_factory(), await endpoint_factory()
    gateway = await make_gateway()
    await subscribe(gateway, url=own.url)
    await subscribe(gateway, "watch", url=watcher.url, scope="account:main")
    placed = (await gateway.place(item_id=1001)).body
    await gateway.app[DISPATCHER].run_due()
    assert len(own.hooks) == 1 and len(watcher.hooks) == 1
    replayed = await gateway.call("POST", f"/v1/orders/{placed['id']}/replay-events")
    assert replayed.status == 202 and replayed.body == {"replayed": 1}
    await gateway.app[DISPATCHER].run_due()
    assert len(own.hooks) == 2 and len(watcher.hooks) == 1


async def test_a_name_that_resolves_slowly_is_let_through_and_judged_at_connection(
    make_gateway: GatewayFactory,
) -> None:
    class Slow(StaticResolver):
        async def resolve(self, host: str, port: int = 0, family: Any = 0) -> Any:
            await asyncio.Event().wait()  # never answers

    gateway = await make_gateway(webhooks=DEFAULT_RULES, resolver=Slow())
    gateway.app[DESTINATIONS].resolve_seconds = 0.1  # the default is RESOLVE_SECONDS
    started = asyncio.get_running_loop().time()
    answer = await gateway.call("POST", "/v1/subscriptions", json={"url": "https://slow.example/"})
    assert answer.status == 201
    assert asyncio.get_running_loop().time() - started < 1 < RESOLVE_SECONDS


def test_the_provider_and_the_gateway_by_any_spelling_are_refused() -> None:
    policy = DestinationPolicy(destinations_config({"allow": ["10.0.0.0/8", "127.0.0.0/8"]}))
    policy.forbid_url("http://provider.internal:8081")
    policy.forbid_url("http://0.0.0.0:8082")  # a sandbox listening everywhere
    policy.forbid_own("gw.internal", 8080)
    for url in (
        "http://provider.internal.:8081/admin",
        "http://PROVIDER.internal:8081/",
        "http://127.0.0.1:8082/admin",
        "http://localhost:8082/",
        "http://[::1]:8082/",
        "http://gw.internal:8080/v1/orders",
        "http://127.0.0.1:8080/",
    ):
        with pytest.raises(DestinationRefused) as refusal:
            policy.check_literal(url)
        assert refusal.value.rule == "gateway_itself", url
    assert policy.check_literal("http://10.1.2.3:8443/") is None  # listed and not ours


async def test_subscription_changes_are_rate_limited_per_tenant(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(webhooks={"subscription_changes_per_minute": 2})
    url = {"url": "http://127.0.0.1:9/h"}
    sid = (await gateway.call("POST", "/v1/subscriptions", json=url)).body["id"]
    assert (await gateway.call("PATCH", f"/v1/subscriptions/{sid}", json=url)).status == 200
    limited = await gateway.call("POST", "/v1/subscriptions", json=url)
    assert (
        limited.status == 429 and limited.headers["RateLimit-Policy"] == '"subscription";q=2;w=60'
    )
    # changes that resolve nothing are not counted
    events = {"event_types": ["order.failed"]}
    assert (await gateway.call("PATCH", f"/v1/subscriptions/{sid}", json=events)).status == 200
    assert (await gateway.call("POST", "/v1/subscriptions", "games", json=url)).status == 201
