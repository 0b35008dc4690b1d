"""Loading plugins and calling their hooks.

Plugins come from the `order_gateway.plugins` entry-point group (the
built-ins register there too) and run when the config names them, in the
order it names them. pluggy holds the registrations, checks every
implementation against `gateway.hooks.specs` and fixes the calling order; the
host then calls the implementations one at a time and awaits the async ones,
since pluggy itself cannot (its firstresult and exception handling stop at an
un-awaited coroutine). Calling each implementation itself also lets the host
name the plugin that refused or failed, and skip plugins not enabled for a
tenant.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import entry_points
from typing import Any

import pluggy
import structlog
from aiohttp import web
from opentelemetry.trace import Tracer

from gateway.config import ConfigError, PluginsConfig
from gateway.errors import GatewayError, ProviderFailure
from gateway.hooks import specs as hookspecs
from gateway.hooks.decisions import DecisionLog, order_of
from gateway.hooks.migrations import migrate_plugins
from gateway.hooks.policies import TenantPolicies
from gateway.plugin_api import (
    ENTRY_POINT_GROUP,
    PROJECT,
    PluginContext,
    Reject,
    Selection,
    SettingsError,
    Settlement,
)
from gateway.storage import Database, StorageUnavailable
from gateway.tracing import NO_TRACER, plugin_span

log = structlog.get_logger()

# What a plugin's call into the gateway (a balance read, a transaction) may raise: not the
# plugin's failure, so it reaches the tenant as itself (a 429 stays a retryable 503).
PASSED_THROUGH = (ProviderFailure, StorageUnavailable)

# Notification hooks about one order, traced with its decisions (the others name no order).
_TRACED = {
    "gateway_settle",
    "gateway_order_accepted",
    "gateway_order_rejected",
    "gateway_order_settled",
    "gateway_order_resolved",
    "gateway_provider_webhook",
}

GATING = {
    "gateway_select_account",
    "gateway_validate_order",
    "gateway_reserve",
    "gateway_wrap_provider_call",
}


class PluginRejected(GatewayError):
    code = "rejected"

    def __init__(self, plugin: str, reject: Reject) -> None:
        details: dict[str, Any] = {"plugin": plugin}
        if reject.field:
            details["field"] = reject.field
        super().__init__(reject.message, details=details)
        self.status = reject.status
        self.code = reject.code
        self.plugin = plugin
        self.field = reject.field


class PluginFailed(GatewayError):
    status, code = 503, "plugin_failed"

    def __init__(self, plugin: str) -> None:
        super().__init__(
            f"plugin {plugin!r} failed while checking this order; nothing was sent to the "
            "provider. Retry later, or quote the request id to the operators.",
            details={"plugin": plugin},
        )
        self.plugin = plugin


@dataclass(frozen=True)
class LoadedPlugin:
    name: str
    instance: Any
    tenants: frozenset[str] | None  # None: every tenant
    source: str

    def active_for(self, tenant: str | None) -> bool:
        return self.tenants is None or tenant is None or tenant in self.tenants


def installed() -> dict[str, Any]:
    """Installed plugin entry points by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


class PluginHost:
    tracer: Tracer = NO_TRACER  # a span per plugin call: the app sets its own

    def __init__(
        self, config: PluginsConfig, factories: dict[str, Callable[..., Any]] | None = None
    ):
        """Build every enabled plugin from its settings; bad settings raise ConfigError naming
        the plugin and the key. `factories` adds plugins that are not installed (tests)."""
        self.manager = pluggy.PluginManager(PROJECT)
        self.manager.add_hookspecs(hookspecs)
        available = installed()
        for name in config.settings:
            if name not in config.enabled:
                raise ConfigError(
                    f"plugins.{name}",
                    f"settings for a plugin that is not enabled; add {name!r} "
                    "to plugins.enabled or remove the block",
                )
        self.plugins: list[LoadedPlugin] = []
        built: dict[str, Callable[..., Any]] = {}
        base: dict[str, dict[str, Any]] = {}
        for name in config.enabled:
            factory, source = self._factory(name, available, factories or {})
            settings = dict(config.settings.get(name, {}))
            tenants = settings.pop("tenants", None)
            built[name], base[name] = factory, dict(settings)
            if tenants is not None and (
                not isinstance(tenants, list) or not all(isinstance(t, str) for t in tenants)
            ):
                raise ConfigError(f"plugins.{name}.tenants", "a list of tenant names")
            try:
                instance = factory(settings)
            except SettingsError as exc:
                raise ConfigError(f"plugins.{name}.{exc.key}", exc.reason) from None
            self.plugins.append(
                LoadedPlugin(name, instance, frozenset(tenants) if tenants else None, source)
            )
        # pluggy calls the last registered first: register in reverse so config order is call order.
        for plugin in reversed(self.plugins):
            self.manager.register(plugin.instance, name=plugin.name)
        self.manager.check_pending()
        self._by_name = {p.name: p for p in self.plugins}
        self.policies = TenantPolicies(built, base)
        self.decisions = DecisionLog()

    @staticmethod
    def _factory(
        name: str, available: dict[str, Any], extra: dict[str, Callable[..., Any]]
    ) -> tuple[Callable[..., Any], str]:
        if name in extra:
            return extra[name], "given"
        if name not in available:
            known = ", ".join(sorted({*available, *extra})) or "none"
            raise ConfigError(
                "plugins.enabled", f"no installed plugin named {name!r}; installed: {known}"
            )
        ep = available[name]
        try:
            return ep.load(), ep.value
        except Exception as exc:  # an installed plugin that cannot import is a config problem
            raise ConfigError("plugins.enabled", f"plugin {name!r} failed to load: {exc}") from exc

    # --- lifecycle ------------------------------------------------------------------

    async def start(
        self,
        database: Database,
        clock: Any,
        balance: Callable[[str], Awaitable[Decimal]],
        item: Callable[[str, int], Awaitable[Any]] | None = None,
    ) -> None:
        await migrate_plugins(database, self.plugins)

        def context(name: str) -> PluginContext:
            return PluginContext(clock, database, name, balance, item)

        for plugin in self.plugins:
            start = getattr(plugin.instance, "start", None)
            if start is not None:
                await _maybe_await(start(context(plugin.name)))
        await self.policies.start(context)
        self.decisions.start(database, clock)

    async def stop(self) -> None:
        await self.decisions.stop()
        await self.policies.stop()
        for plugin in reversed(self.plugins):
            stop = getattr(plugin.instance, "stop", None)
            if stop is not None:
                try:
                    await _maybe_await(stop())
                except Exception:
                    log.exception("plugin_stop_failed", plugin=plugin.name)

    def describe(self) -> list[dict[str, Any]]:
        """What is loaded, in calling order, with the hooks each implements."""
        return [
            {
                "name": p.name,
                "source": p.source,
                "tenants": sorted(p.tenants) if p.tenants else "all",
                "settings": self.policies.base(p.name),
                "hooks": sorted(
                    impl_name
                    for impl_name in dir(hookspecs)
                    if impl_name.startswith("gateway_")
                    and any(
                        i.plugin_name == p.name
                        for i in getattr(self.manager.hook, impl_name).get_hookimpls()
                    )
                ),
            }
            for p in self.plugins
        ]

    # --- calling --------------------------------------------------------------------

    def mode(self, tenant: str | None, plugin: str) -> str:
        """How `plugin` runs for `tenant`: its policy's mode, else the config's word."""
        rule = self.policies.rule(tenant, plugin) if tenant is not None else None
        return rule.mode if rule is not None else self.configured_mode(tenant, plugin)

    def configured_mode(self, tenant: str | None, plugin: str) -> str:
        return "enforce" if self._by_name[plugin].active_for(tenant) else "off"

    def _impls(
        self, hook: str, tenant: str | None
    ) -> Iterator[tuple[str, Callable[..., Any], list[str], str]]:
        caller = getattr(self.manager.hook, hook)
        for impl in reversed(caller.get_hookimpls()):
            name, function = impl.plugin_name, impl.function
            rule = self.policies.rule(tenant, name) if tenant is not None else None
            mode = rule.mode if rule is not None else self.configured_mode(tenant, name)
            if mode == "off":
                continue
            if rule is not None and rule.instance is not None:
                function = getattr(rule.instance, function.__name__)
            yield name, function, list(impl.argnames), mode

    def _note(
        self, kwargs: dict[str, Any], tenant: str | None, name: str, hook: str, outcome: str,
        mode: str, started: float, code: str | None = None, message: str | None = None,
    ) -> None:  # fmt: skip
        """Every plugin call ends here: its span, and its decision when it is about an order."""
        took = time.perf_counter() - started
        plugin_span(self.tracer, name, hook, outcome, mode, took)
        if hook in GATING or hook in _TRACED:
            note = (order_of(kwargs), tenant, name, hook, outcome, mode, took, code, message)
            self.decisions.note(*note)

    def _refused(
        self, kwargs: dict[str, Any], tenant: str | None, name: str, hook: str, mode: str,
        started: float, reject: Reject | None,
    ) -> bool:  # fmt: skip
        """A gating call refused (`reject`) or failed (None): traced; True when the plugin is in
        shadow mode, so that the order goes on as if it had allowed it."""
        shadow = mode == "shadow"
        if reject is None:
            log.exception("plugin_failed", plugin=name, hook=hook, mode=mode)
            self._note(kwargs, tenant, name, hook, "failed", mode, started)
        else:
            outcome = "would_reject" if shadow else "rejected"
            code, message = reject.code, reject.message
            self._note(kwargs, tenant, name, hook, outcome, mode, started, code, message)
        return shadow

    async def gate(self, hook: str, tenant: str, /, **kwargs: Any) -> Any:
        """Run a gating hook; the first non-None result is returned (for firstresult hooks).
        A plugin in shadow mode is run and traced, and nothing it says changes the order."""
        assert hook in GATING
        for name, function, argnames, mode in self._impls(hook, tenant):
            started = time.perf_counter()
            shadow = mode == "shadow"
            try:
                result = await _maybe_await(function(*[kwargs[a] for a in argnames]))
            except Reject as reject:
                if self._refused(kwargs, tenant, name, hook, mode, started, reject):
                    continue
                raise PluginRejected(name, reject) from None
            except PASSED_THROUGH:
                raise  # the provider's or the database's own answer keeps its meaning
            except Exception:
                if self._refused(kwargs, tenant, name, hook, mode, started, None):
                    continue
                raise PluginFailed(name) from None
            if hook == "gateway_select_account" and result is not None:
                why = f": {result.reason}" if isinstance(result, Selection) else ""
                result = result.account if isinstance(result, Selection) else result
                said = (
                    f"would select account {result!r}{why}"
                    if shadow
                    else f"account {result!r}{why}"
                )
                self._note(kwargs, tenant, name, hook, "selected", mode, started, None, said)
                if not shadow:
                    return result
                continue
            outcome = "reserved" if hook == "gateway_reserve" else "allowed"
            self._note(kwargs, tenant, name, hook, outcome, mode, started)
        return None

    def settle_needs_transaction(self, tenant: str, settlement: Settlement) -> bool:
        """Some `gateway_settle` that takes `transaction` is a plugin's that does not answer
        False to `gateway_settle_needs_transaction` (no answer or a failure: it does)."""
        kwargs = {"settlement": settlement}
        asked = self._impls("gateway_settle_needs_transaction", tenant)
        answers = {name: (function, args) for name, function, args, _ in asked}
        for name, _, argnames, _ in self._impls("gateway_settle", tenant):
            function, args = answers.get(name, (None, []))
            try:
                said = function(*[kwargs[a] for a in args]) if function else None
            except Exception:
                log.exception("plugin_question_failed", plugin=name)
                said = None
            if "transaction" in argnames and said is not False:
                return True
        return False

    async def notify(self, hook: str, tenant: str | None, /, **kwargs: Any) -> None:
        """Run a notification hook; a failing plugin is logged and the rest still run.

        Inside a SQLite transaction (`gateway_settle`), each plugin's coroutine is driven
        on its own, so that one that awaits other I/O there is one failing plugin, logged
        like any other, instead of failing the whole transaction."""
        assert hook not in GATING
        inline = getattr(kwargs.get("transaction"), "run_inline", None)
        for name, function, argnames, mode in self._impls(hook, tenant):
            started = time.perf_counter()
            try:
                result = function(*[kwargs[a] for a in argnames])
                if inline is not None and inspect.isawaitable(result):
                    inline(result)
                else:
                    await _maybe_await(result)
            except Exception:
                log.exception("plugin_notification_failed", plugin=name, hook=hook)
                outcome = "failed"
            else:
                outcome = "settled" if hook == "gateway_settle" else "notified"
            self._note(kwargs, tenant, name, hook, outcome, mode, started)

    @asynccontextmanager
    async def around_provider_call(self, tenant: str, /, **kwargs: Any) -> Any:
        hook = "gateway_wrap_provider_call"
        async with AsyncExitStack() as stack:
            for name, function, argnames, mode in self._impls(hook, tenant):
                started = time.perf_counter()
                try:
                    manager = function(*[kwargs[a] for a in argnames])
                    if manager is None:
                        continue
                    if not isinstance(manager, AbstractAsyncContextManager) and not hasattr(
                        manager, "__aenter__"
                    ):
                        raise TypeError(
                            "gateway_wrap_provider_call must return an async context manager"
                        )
                    await stack.enter_async_context(manager)
                except Reject as reject:
                    if self._refused(kwargs, tenant, name, hook, mode, started, reject):
                        continue
                    raise PluginRejected(name, reject) from None
                except PASSED_THROUGH:
                    raise
                except Exception:
                    if self._refused(kwargs, tenant, name, hook, mode, started, None):
                        continue
                    raise PluginFailed(name) from None
                self._note(kwargs, tenant, name, hook, "allowed", mode, started)
            yield

    def routes(self) -> list[web.RouteDef]:
        collected: list[web.RouteDef] = []
        for name, function, _, _ in self._impls("gateway_routes", None):
            for route in function() or []:
                if not isinstance(route, web.RouteDef):
                    raise ConfigError(
                        f"plugins.{name}", "gateway_routes must return web.RouteDef items"
                    )
                collected.append(route)
        return collected


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value
