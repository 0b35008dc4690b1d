"""Per-tenant plugin policies: each plugin's mode and settings for one tenant.

A plugin runs for a tenant in `enforce` (its refusals refuse), `shadow` (it
runs and its decisions are traced, `would_reject` instead of `rejected`, but
nothing it says blocks the order) or `off`. Without a policy of its own a
tenant gets `enforce`, or `off` when the plugin's `tenants` list in the config
leaves it out. Settings given for a tenant are laid over the plugin's
configured ones, and the tenant gets an instance of the plugin built from
them (one per distinct set of settings, started like the main one), so that a
plugin needs no code to have per-tenant settings.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from gateway.plugin_api import PluginContext, SettingsError

log = structlog.get_logger()

MODES = ("enforce", "shadow", "off")


@dataclass(frozen=True)
class Rule:
    mode: str
    instance: Any | None  # None: the plugin's main instance


class TenantPolicies:
    def __init__(
        self,
        factories: dict[str, Callable[[dict[str, Any]], Any]],
        base: dict[str, dict[str, Any]],
    ) -> None:
        self._factories = factories
        self._base = base
        self._rules: dict[tuple[str, str], Rule] = {}
        self._instances: dict[tuple[str, str], Any] = {}  # (plugin, settings JSON) → instance
        self._context: Callable[[str], PluginContext] | None = None

    def base(self, plugin: str) -> dict[str, Any]:
        """The plugin's configured settings (every tenant's, unless a policy says otherwise)."""
        return dict(self._base[plugin])

    def rule(self, tenant: str, plugin: str) -> Rule | None:
        return self._rules.get((tenant, plugin))

    def build(self, plugin: str, settings: Mapping[str, Any]) -> Any:
        """The plugin built with these settings over its configured ones; SettingsError
        names the key when they are wrong."""
        if "tenants" in settings:
            raise SettingsError("tenants", "a policy is already per tenant: set its mode instead")
        return self._factories[plugin]({**self._base[plugin], **settings})

    async def start(self, context: Callable[[str], PluginContext]) -> None:
        self._context = context

    async def load(self, policies: Mapping[str, Mapping[str, Any]]) -> None:
        """Swap in every tenant's policies: {tenant: {plugin: Policy(mode, settings)}}."""
        rules: dict[tuple[str, str], Rule] = {}
        for tenant, by_plugin in policies.items():
            for plugin, policy in by_plugin.items():
                if plugin not in self._factories:
                    continue  # a policy for a plugin this config does not load
                instance = None
                if policy.settings:
                    instance = await self._instance(plugin, policy.settings)
                rules[(tenant, plugin)] = Rule(policy.mode, instance)
        self._rules = rules

    async def _instance(self, plugin: str, settings: Mapping[str, Any]) -> Any:
        key = (plugin, json.dumps(settings, sort_keys=True))
        if key in self._instances:
            return self._instances[key]
        try:
            instance = self.build(plugin, settings)
        except SettingsError as exc:
            # Checked when set; a plugin upgraded since may refuse it: run its main settings.
            log.error(
                "tenant_policy_settings_refused", plugin=plugin, key=exc.key, reason=exc.reason
            )
            return None
        start = getattr(instance, "start", None)
        if start is not None and self._context is not None:
            result = start(self._context(plugin))
            if inspect.isawaitable(result):
                await result
        self._instances[key] = instance
        return instance

    async def stop(self) -> None:
        for instance in self._instances.values():
            stop = getattr(instance, "stop", None)
            if stop is None:
                continue
            try:
                result = stop()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("plugin_stop_failed", plugin=type(instance).__name__)
        self._instances.clear()
