"""Per-endpoint delivery rates: over its rate, a delivery waits (pending, due when the
endpoint's bucket refills); it is never dropped and no attempt is counted."""

from __future__ import annotations

from gateway.state import DATABASE, DISPATCHER
from tests.conftest import Gateway, GatewayFactory
from tests.test_webhooks_delivery import EndpointFactory, subscribe


async def attempts(gateway: Gateway) -> list[tuple[str, int]]:
    rows = await gateway.app[DATABASE].fetch(
        "SELECT state, attempts FROM messages ORDER BY ordering"
    )
    return [(r["state"], r["attempts"]) for r in rows]


async def test_over_its_rate_a_delivery_waits_and_is_not_dropped(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory
) -> None:
    gateway = await make_gateway()
    endpoint = await endpoint_factory([200])
    made = await subscribe(
        gateway, url=endpoint.url, event_types=["order.accepted"], rate_limit_per_second=1
    )
    assert made["rate_limit_per_second"] == 1
    for _ in range(3):
        await gateway.place(item_id=1001)
    dispatcher = gateway.app[DISPATCHER]
    await dispatcher.run_due()
    assert len(endpoint.hooks) == 1  # one a second
    assert sorted(await attempts(gateway)) == [("delivered", 1), ("pending", 0), ("pending", 0)]
    await dispatcher.run_due()
    assert len(endpoint.hooks) == 1  # not due before the bucket refills
    gateway.provider.clock.advance(1)
    await dispatcher.run_due()
    assert len(endpoint.hooks) == 2
    gateway.provider.clock.advance(1)
    await dispatcher.run_due()
    assert len(endpoint.hooks) == 3
    assert await attempts(gateway) == [("delivered", 1)] * 3  # none counted as a retry


async def test_the_rate_is_changed_at_run_time_and_checked(gateway: Gateway) -> None:
    made = await subscribe(gateway, url="http://127.0.0.1:9/h")
    assert made["rate_limit_per_second"] is None
    path = f"/v1/subscriptions/{made['id']}"
    set_ = await gateway.call("PATCH", path, json={"rate_limit_per_second": 2.5})
    assert set_.status == 200 and set_.body["rate_limit_per_second"] == 2.5
    cleared = await gateway.call("PATCH", path, json={"rate_limit_per_second": 0})
    assert cleared.body["rate_limit_per_second"] is None
    for bad in (-1, 5000, "fast", True):
        refused = await gateway.call("PATCH", path, json={"rate_limit_per_second": bad})
        assert refused.status == 400, bad
        assert refused.body["error"]["details"]["field"] == "rate_limit_per_second"
