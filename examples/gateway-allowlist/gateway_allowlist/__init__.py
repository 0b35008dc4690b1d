"""An order-gateway plugin: each tenant may buy only the items on its list.

    [plugins]
    enabled = ["validation", "allowlist", "limits", "audit"]

    [plugins.allowlist]
    shop = [1001, 2001]      # tenant shop: these item ids only
    games = [1001]
    # a tenant not named here may buy anything

A refusal is a 403 `item_not_allowed` naming the field (`item_id`) and, in
the gateway's error details, this plugin.
"""

from __future__ import annotations

from typing import Any

from gateway.plugin_api import OrderIntent, Reject, SettingsError, hookimpl


class AllowlistPlugin:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.allowed: dict[str, frozenset[int]] = {}
        for tenant, items in settings.items():
            if not isinstance(items, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in items
            ):
                raise SettingsError(tenant, "a list of item ids, such as [1001, 2001]")
            self.allowed[tenant] = frozenset(items)

    @hookimpl
    def gateway_validate_order(self, intent: OrderIntent) -> None:
        allowed = self.allowed.get(intent.tenant.name)
        if allowed is None or intent.request.item_id in allowed:
            return
        listed = ", ".join(str(i) for i in sorted(allowed)) or "none"
        raise Reject(
            "item_not_allowed",
            f"tenant {intent.tenant.name!r} may not buy item {intent.request.item_id}; "
            f"its list: {listed}",
            field="item_id",
            status=403,
        )
