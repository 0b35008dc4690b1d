"""Operator alerts: each condition that needs a person reaches the operators' sink once per
incident, signed like tenants' webhooks, and again only after it cleared and came back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from gateway.outbox.subscriptions import new_secret
from gateway.sandbox import Faults
from gateway.state import ALERTS, DISPATCHER, RESOLVER
from tests.conftest import Gateway, GatewayFactory
from tests.test_webhooks_delivery import EndpointFactory, subscribe

SECRET = new_secret()


@pytest.fixture
async def alerted(
    make_gateway: GatewayFactory, endpoint_factory: EndpointFactory, monkeypatch: pytest.MonkeyPatch
) -> tuple[Gateway, Any]:
    monkeypatch.setenv("GATEWAY_TEST_ALERTS_SECRET", SECRET)
    sink = await endpoint_factory([200])
    gateway = await make_gateway(
        alerts={
            "url": sink.url,
            "secret": {"env": "GATEWAY_TEST_ALERTS_SECRET"},
            "balance_floor": {"partner": "600.00"},
        },
        webhooks={"retry_schedule_seconds": [], "jitter": 0},
    )
    return gateway, sink


async def received(gateway: Gateway, sink: Any) -> list[dict[str, Any]]:
    await gateway.app[DISPATCHER].run_due()
    # signed like tenants' webhooks, by the standardwebhooks library's own check
    return [hook.verify(SECRET, gateway.provider.clock) for hook in sink.hooks]


async def test_each_condition_alerts_once_per_incident(
    alerted: tuple[Gateway, Any], endpoint_factory: EndpointFactory
) -> None:
    gateway, sink = alerted
    alerts = gateway.app[ALERTS]
    # a balance under its floor (partner has 500.00 in the sandbox, its floor is 600.00)
    assert await alerts.check_once() == ["balance_low:partner"]
    (first,) = await received(gateway, sink)
    assert first["type"] == "alert.balance_low"
    assert first["data"]["subject"] == "partner" and first["data"]["floor"] == "600.00"
    assert await alerts.check_once() == []  # still low: said once
    # an endpoint whose messages exhausted their attempts (one try in this config)
    refusing = await endpoint_factory([500])
    sub = await subscribe(gateway, url=refusing.url, event_types=["order.accepted"])
    await gateway.place(item_id=1001)
    await gateway.app[DISPATCHER].run_due()
    await gateway.place(item_id=1001)
    await gateway.app[DISPATCHER].run_due()  # two dead letters: one incident
    assert await alerts.check_once() == [f"message_exhausted:{sub['id']}"]
    assert (await received(gateway, sink))[-1]["data"]["dead_letters"] == 2
    assert await alerts.check_once() == []
    # the balance recovers: that incident closes; it drops again: a new alert
    gateway.provider.sandbox.account("partner").balance = Decimal("700.00")
    assert await alerts.check_once() == []
    gateway.provider.sandbox.account("partner").balance = Decimal("10.00")
    assert await alerts.check_once() == ["balance_low:partner"]


async def test_an_account_unavailable_and_an_order_for_an_operator_alert(
    alerted: tuple[Gateway, Any],
) -> None:
    gateway, sink = alerted
    alerts = gateway.app[ALERTS]
    await alerts.check_once()  # the balance one, out of the way
    await gateway.call("GET", "/v1/accounts/main/balance")  # the provider token first
    gateway.provider.sandbox.set_faults("main", Faults(error_rate=1.0))
    unknown = (await gateway.place(item_id=1001)).body
    assert unknown["status"] == "unknown"
    gateway.provider.clock.advance(3601)  # past the re-send window: the operator's now
    await gateway.app[RESOLVER].run_once()
    sent = await alerts.check_once()
    assert f"order_unresolved:{unknown['id']}" in sent
    kinds = {a["type"] for a in await received(gateway, sink)}
    assert "alert.order_unresolved" in kinds


async def test_alerts_need_a_secret(make_gateway: GatewayFactory) -> None:
    from gateway.config import ConfigError

    with pytest.raises(ConfigError) as refused:
        await make_gateway(alerts={"url": "http://127.0.0.1:9/alerts"})
    assert "alerts.secret" in str(refused.value)


async def test_without_a_sink_there_are_no_alerts(gateway: Gateway) -> None:
    assert gateway.app.get(ALERTS) is None
