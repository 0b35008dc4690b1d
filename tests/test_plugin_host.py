"""Hooks as plugin authors meet them: order, async, rejections, failures, tenants, wrappers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from unittest.mock import ANY

import pytest
from structlog.testing import capture_logs

from gateway.config import ConfigError
from gateway.plugin_api import (
    OrderIntent,
    OrderRecord,
    PlaceRequest,
    Reject,
    Rejection,
    SettingsError,
    Tenant,
    hookimpl,
)
from gateway.state import DATABASE
from tests.conftest import GatewayFactory

CALLS: list[str] = []


class Recorder:
    """Records each hook it sees; `async_` makes every implementation a coroutine."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.label = settings.pop("label", "recorder")
        self.reject_item = settings.pop("reject_item", None)
        for key in settings:
            raise SettingsError(key, "unknown setting")
        self.rejections: list[Rejection] = []
        self.accepted: list[OrderRecord] = []
        self.wrapped: list[str] = []

    @hookimpl
    async def gateway_validate_order(self, intent: OrderIntent) -> None:
        CALLS.append(f"{self.label}:validate")
        if intent.request.item_id == self.reject_item:
            raise Reject(
                "not_today", f"{self.label} refuses item {self.reject_item}", field="item_id"
            )

    @hookimpl
    def gateway_reserve(self, intent: OrderIntent) -> None:
        CALLS.append(f"{self.label}:reserve")

    @hookimpl
    def gateway_order_rejected(self, intent: OrderIntent, rejection: Rejection) -> None:
        self.rejections.append(rejection)

    @hookimpl
    async def gateway_order_accepted(self, order: OrderRecord) -> None:  # a subset of arguments
        self.accepted.append(order)

    @hookimpl
    def gateway_wrap_provider_call(self, intent: OrderIntent) -> Any:
        @asynccontextmanager
        async def timed() -> AsyncIterator[None]:
            started = time.perf_counter()
            self.wrapped.append("enter")
            try:
                yield
            finally:
                self.wrapped.append(f"exit after {time.perf_counter() - started:.6f}s")

        return timed()


class Exploding:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.where = settings.get("where", "validate")

    @hookimpl
    def gateway_validate_order(self, intent: OrderIntent) -> None:
        if self.where == "validate":
            raise RuntimeError("bug in a plugin")

    @hookimpl
    def gateway_order_accepted(self, intent: OrderIntent) -> None:
        if self.where == "notify":
            raise RuntimeError("bug in a notification")


class TopupsToPartner:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.target = settings.get("target", "partner")

    @hookimpl
    def gateway_select_account(
        self, tenant: Tenant, requested: str | None, request: PlaceRequest
    ) -> str | None:
        return self.target if request.item_id == 2001 and requested is None else None


FACTORIES = {"recorder": Recorder, "exploding": Exploding, "router": TopupsToPartner}


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    CALLS.clear()


def instance(gateway: Any, name: str) -> Any:
    from gateway.state import PLUGINS

    return next(p.instance for p in gateway.app[PLUGINS].plugins if p.name == name)


async def test_hooks_run_in_config_order_sync_and_async_alike(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(
        plugins={
            "enabled": ["recorder", "second"],
            "recorder": {"label": "first"},
            "second": {"label": "second"},
        },
        plugin_factories={"recorder": Recorder, "second": Recorder},
    )
    assert (await gateway.place(item_id=1001)).status == 201
    assert CALLS == ["first:validate", "second:validate", "first:reserve", "second:reserve"]
    assert len(instance(gateway, "recorder").accepted) == 1


async def test_a_rejection_names_the_plugin_and_still_notifies(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(
        plugins={"enabled": ["recorder", "audit"], "recorder": {"reject_item": 1001}},
        plugin_factories=FACTORIES,
    )
    answer = await gateway.place(item_id=1001)
    assert answer.status == 422
    assert answer.body["error"]["code"] == "not_today"
    assert answer.body["error"]["details"] == {
        "plugin": "recorder",
        "field": "item_id",
        "order_id": ANY,
    }
    assert gateway.provider.sandbox.orders == {}
    (rejection,) = instance(gateway, "recorder").rejections
    assert (rejection.by, rejection.code) == ("recorder", "not_today")
    audit = await gateway.call("GET", "/v1/audit?decision=rejected", "ops")
    assert audit.body["data"][0]["plugin"] == "recorder"


async def test_a_crashing_gating_plugin_fails_the_order_closed(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(plugins={"enabled": ["exploding"]}, plugin_factories=FACTORIES)
    with capture_logs() as logs:
        answer = await gateway.place(item_id=1001)
    assert answer.status == 503
    assert answer.body["error"]["code"] == "plugin_failed"
    assert answer.body["error"]["details"] == {"plugin": "exploding", "order_id": ANY}
    assert "exploding" in answer.body["error"]["message"]
    assert gateway.provider.sandbox.orders == {}
    assert any(e["event"] == "plugin_failed" and e["plugin"] == "exploding" for e in logs)


async def test_a_crashing_notification_never_breaks_the_order(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(
        plugins={"enabled": ["exploding"], "exploding": {"where": "notify"}},
        plugin_factories=FACTORIES,
    )
    with capture_logs() as logs:
        answer = await gateway.place(item_id=1001)
    assert answer.status == 201
    failures = [e for e in logs if e["event"] == "plugin_notification_failed"]
    assert failures and failures[0]["plugin"] == "exploding"


async def test_a_plugin_can_be_enabled_for_some_tenants_only(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(
        plugins={"enabled": ["recorder"], "recorder": {"reject_item": 1001, "tenants": ["games"]}},
        plugin_factories=FACTORIES,
    )
    assert (await gateway.place("shop", item_id=1001)).status == 201
    assert (await gateway.place("games", item_id=1001)).status == 422


async def test_account_selection_hook_chooses_and_is_checked(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(plugins={"enabled": ["router"]}, plugin_factories=FACTORIES)
    body = {"item_id": 2001, "quantity": 10, "fields": {"player_id": "p", "region": 1}}
    routed = await gateway.place(**body)
    assert routed.body["account"] == "partner"
    assert (await gateway.place(**body, account="main")).body["account"] == "main"
    assert (await gateway.place(item_id=1001)).body["account"] == "main"  # default
    refused = await gateway.place("games", **body)  # games may not use partner
    assert refused.status == 403 and refused.body["error"]["code"] == "account_not_allowed"


async def test_the_wrapper_runs_around_the_provider_call(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(plugins={"enabled": ["recorder"]}, plugin_factories=FACTORIES)
    await gateway.place(item_id=1001)
    wrapped = instance(gateway, "recorder").wrapped
    assert wrapped[0] == "enter" and wrapped[1].startswith("exit after")


@pytest.mark.parametrize(
    ("plugins", "key"),
    [
        ({"enabled": ["nonesuch"]}, "plugins.enabled"),
        ({"enabled": ["validation"], "limits": {}}, "plugins.limits"),
        ({"enabled": ["recorder"], "recorder": {"colour": "red"}}, "plugins.recorder.colour"),
        ({"enabled": ["validation"], "validation": {"strict": True}}, "plugins.validation.strict"),
        ({"enabled": ["recorder"], "recorder": {"tenants": "games"}}, "plugins.recorder.tenants"),
    ],
)
async def test_bad_plugin_config_stops_the_start_naming_plugin_and_key(
    make_gateway: GatewayFactory, plugins: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        await make_gateway(plugins=plugins, plugin_factories=FACTORIES)
    assert caught.value.key == key


class SettlesSlowly:
    """Breaks the transaction rule: awaits a sleep while settling inside the transaction."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settled: list[str] = []

    @hookimpl
    async def gateway_settle(self, settlement: Any, transaction: Any) -> None:
        if transaction is not None:
            await asyncio.sleep(0)
        self.settled.append(settlement.kind)


async def test_a_settle_hook_awaiting_other_io_fails_alone_not_the_order(
    make_gateway: GatewayFactory,
) -> None:
    """On SQLite the order's transaction runs in the database thread; a plugin that awaits
    something else there is logged as failing, and the order is still recorded. PostgreSQL
    lets it wait."""
    gateway = await make_gateway(
        plugins={"enabled": ["slow", "audit"]}, plugin_factories={"slow": SettlesSlowly}
    )
    with capture_logs() as logs:
        answer = await gateway.place(item_id=1001)
    assert answer.status == 201
    stored = await gateway.call("GET", f"/v1/orders/{answer.body['id']}")
    assert stored.body["status"] == "pending"
    failures = [e for e in logs if e["event"] == "plugin_notification_failed"]
    if gateway.app[DATABASE].engine == "sqlite":
        assert [f["plugin"] for f in failures] == ["slow"]
        assert instance(gateway, "slow").settled == []
    else:
        assert failures == []
        assert instance(gateway, "slow").settled == ["placed"]


class SettlesThroughTheTransaction:
    """Takes `transaction` and says nothing about it: always given one."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.given: dict[str, bool] = {}

    @hookimpl
    def gateway_settle(self, settlement: Any, transaction: Any) -> None:
        self.given[settlement.kind] = transaction is not None


class SettlesInMemory(SettlesThroughTheTransaction):
    @hookimpl
    def gateway_settle_needs_transaction(self, settlement: Any) -> bool:
        return False


class CannotSay(SettlesThroughTheTransaction):
    @hookimpl
    def gateway_settle_needs_transaction(self, settlement: Any) -> bool:
        raise RuntimeError("a bug in the plugin")


SETTLERS = {"through": SettlesThroughTheTransaction, "memory": SettlesInMemory, "fails": CannotSay}


@pytest.mark.parametrize(
    ("enabled", "alone"),
    [(["memory"], True), (["memory", "through"], False), (["fails"], False)],
)
async def test_the_first_answer_skips_the_transaction_only_when_no_settler_needs_it(
    make_gateway: GatewayFactory, enabled: list[str], alone: bool
) -> None:
    """On PostgreSQL, an order's first answer is written without a transaction when every
    plugin that settles through one says it will not for this settlement; SQLite always
    has one (gateway.orders.answers)."""
    gateway = await make_gateway(plugins={"enabled": enabled}, plugin_factories=SETTLERS)
    assert (await gateway.place(item_id=1001)).status == 201
    without = alone and gateway.app[DATABASE].engine == "postgresql"
    for name in enabled:
        assert instance(gateway, name).given == {"placed": not without}, name
