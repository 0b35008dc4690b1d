"""Per-tenant request rates: one tenant polling as fast as it is answered cannot take the
event loop that places every tenant's orders (docs/performance.md, "Growth").

Time is the injected clock: a test moves it instead of sleeping.
"""

from __future__ import annotations

import pytest

from gateway.config_fields import ConfigError
from gateway.config_server import server_config
from gateway.state import ADMIN_WATCH
from tests.conftest import Gateway, GatewayFactory


async def reads_until_refused(gateway: Gateway, tenant: str = "shop", most: int = 200) -> int:
    for done in range(most):
        answer = await gateway.call("GET", "/v1/orders", tenant)
        if answer.status == 429:
            return done
        assert answer.status == 200, answer.body
    return most


async def test_reads_past_the_tenants_rate_are_429_with_the_ietf_headers(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(server={"tenant_reads_per_second": 5})
    first = await gateway.call("GET", "/v1/orders")
    assert first.status == 200
    assert first.headers["RateLimit-Policy"] == '"read";q=5;w=1'
    assert first.headers["RateLimit"].startswith('"read";r=4;')
    assert await reads_until_refused(gateway) == 4
    limited = await gateway.call("GET", "/v1/orders")
    assert limited.status == 429
    error = limited.body["error"]
    assert error["code"] == "rate_limited"
    assert error["message"] == (
        "too many read requests: at most 5 a second per tenant; retry in 1 s"
    )
    assert error["details"] == {"limit": 5, "window_seconds": 1}
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["RateLimit"] == '"read";r=0;t=1'
    # another tenant has its own bucket
    assert (await gateway.call("GET", "/v1/orders", "games")).status == 200
    # a second later the bucket is full again
    gateway.provider.clock.advance(1)
    assert await reads_until_refused(gateway) == 5


async def test_the_default_bounds_reads_and_not_writes(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    read = await gateway.call("GET", "/v1/orders")
    assert read.headers["RateLimit-Policy"] == '"read";q=50;w=1'
    placed = await gateway.place(item_id=1001)
    assert placed.status == 201 and "RateLimit" not in placed.headers
    assert await reads_until_refused(gateway) == 49
    # a refused read placed nothing and hides nothing: writes go on
    assert (await gateway.place(item_id=1001)).status == 201


async def test_writes_can_be_bounded_and_a_handlers_own_limit_joins_the_header(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(
        server={"tenant_writes_per_second": 2, "tenant_reads_per_second": 0},
        webhooks={"test_sends_per_minute": 10},
    )
    subscribed = await gateway.call(
        "POST", "/v1/subscriptions", json={"url": "http://127.0.0.1:9/h"}
    )
    assert subscribed.status == 201
    test = await gateway.call("POST", f"/v1/subscriptions/{subscribed.body['id']}/test")
    assert test.status == 202
    assert test.headers["RateLimit-Policy"] == '"write";q=2;w=1, "test";q=10;w=60'
    refused = await gateway.place(item_id=1001)
    assert refused.status == 429
    assert refused.body["error"]["message"].startswith("too many write requests: at most 2")
    assert "RateLimit" not in (await gateway.call("GET", "/v1/orders")).headers  # reads: 0
    gateway.provider.clock.advance(1)
    assert (await gateway.place(item_id=1001)).status == 201


@pytest.mark.parametrize("key", ["tenant_reads_per_second", "tenant_writes_per_second"])
def test_a_negative_rate_is_refused_naming_the_key(key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        server_config({key: -1})
    assert f"server.{key}" in str(refused.value)


async def test_an_admin_sets_a_tenants_own_rates_at_run_time(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(server={"tenant_reads_per_second": 50})
    path = "/v1/admin/tenants/games"
    changed = await gateway.call("PATCH", path, "ops", json={"rates": {"reads_per_second": 2}})
    assert changed.status == 200 and changed.body["rates"] == {"reads_per_second": 2}
    await gateway.app[ADMIN_WATCH].reload()  # what every replica does within a second
    assert await reads_until_refused(gateway, "games") == 2
    assert await reads_until_refused(gateway, "shop") >= 48  # the others keep the default
    writes = {"rates": {"writes_per_second": 1, "reads_per_second": 0}}
    assert (await gateway.call("PATCH", path, "ops", json=writes)).status == 200
    await gateway.app[ADMIN_WATCH].reload()
    assert await reads_until_refused(gateway, "games") == 200  # 0: no bound on reads
    assert (await gateway.place("games", item_id=1001)).status == 201
    assert (await gateway.place("games", item_id=1001)).status == 429
    back = await gateway.call("PATCH", path, "ops", json={"rates": {}})
    assert back.body["rates"] == {}
    for bad, field in (
        ({"reads": 1}, "rates"),
        ({"reads_per_second": -1}, "rates.reads_per_second"),
    ):
        refused = await gateway.call("PATCH", path, "ops", json={"rates": bad})
        assert refused.status == 400 and refused.body["error"]["details"]["field"] == field
