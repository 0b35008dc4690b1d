"""`routing`: choose, among a tenant's accounts, one that can pay for the order.

Settings (`[plugins.routing]`, or per tenant through the admin API):

    strategy = "cheapest"            # or "preference"
    preference = ["main", "partner"] # the order to try; the tie-break for "cheapest"
    balance_cache_seconds = 5        # how stale a provider balance may be

On `gateway_select_account`, when the tenant names no account: each of its accounts
that has the item in its catalog (and available), whose provider balance, less what this
process has in flight on it, covers the price x quantity. `cheapest` takes the lowest
price among them (`preference` breaks ties, then the tenant's own order), `preference`
the first in `preference` that can pay. The choice and its reason are in the order's
decision trace (`GET /v1/orders/{id}/decisions`): "account 'partner': cheapest that can
pay (8.50 EUR; main 9.90 EUR)". When none can pay, or the item is in no catalog, it
chooses nothing and the order goes to the named or default account as before, where the
other plugins and the provider decide.

In flight: what this process reserved and has not yet seen settled, and what the provider
charged since the balance was read (the cached balance does not show it yet). Per process,
like the balance cache: several replicas each keep their own (the limits plugin's
`balance_floor` is the place for a hard floor across replicas).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from gateway.plugin_api import (
    OrderIntent,
    PlaceRequest,
    PluginContext,
    Selection,
    SettingsError,
    Settlement,
    SpendableBalances,
    Tenant,
    hookimpl,
)

STRATEGIES = ("cheapest", "preference")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Candidate:
    account: str
    cost: Decimal
    spendable: Decimal


class RoutingPlugin:
    def __init__(self, settings: dict[str, Any]) -> None:
        known = {"strategy", "preference", "balance_cache_seconds"}
        for key in settings:
            if key not in known:
                raise SettingsError(
                    key, f"unknown setting; routing takes {', '.join(sorted(known))}"
                )
        self.strategy = settings.get("strategy", "cheapest")
        if self.strategy not in STRATEGIES:
            raise SettingsError("strategy", "cheapest or preference")
        preference = settings.get("preference", [])
        if not isinstance(preference, list) or not all(isinstance(a, str) for a in preference):
            raise SettingsError("preference", 'a list of account names, such as ["main"]')
        self.preference: list[str] = preference
        cache = settings.get("balance_cache_seconds", 5)
        if isinstance(cache, bool) or not isinstance(cache, int | float) or cache < 0:
            raise SettingsError("balance_cache_seconds", "a number of seconds, 0 or more")
        self.balance_cache = timedelta(seconds=cache)
        self._context: PluginContext | None = None
        self._balances: SpendableBalances | None = None

    async def start(self, context: PluginContext) -> None:
        self._context = context
        self._balances = SpendableBalances(context, self.balance_cache)

    def _order(self, tenant: Tenant) -> list[str]:
        listed = [a for a in self.preference if a in tenant.accounts]
        rest = [tenant.default_account] + [
            a for a in tenant.accounts if a != tenant.default_account
        ]
        return listed + [a for a in rest if a not in listed]

    async def _candidate(self, account: str, request: PlaceRequest) -> Candidate | str:
        """The account as a candidate, or why it is not one."""
        assert self._context is not None and self._context.item is not None
        item = await self._context.item(account, request.item_id)
        if item is None or not item.available:
            return f"{account} does not sell item {request.item_id}"
        quantity = request.quantity if request.quantity is not None else item.min_quantity
        cost = (item.price * quantity).quantize(CENT, rounding=ROUND_HALF_UP)
        try:
            assert self._balances is not None
            spendable = await self._balances.spendable(account)
        except Exception:  # a provider that does not answer: this account is not known to pay
            return f"{account}: balance unknown"
        if spendable < cost:
            return f"{account}: {spendable} left, {cost} needed"
        return Candidate(account, cost, spendable)

    @hookimpl
    async def gateway_select_account(
        self, tenant: Tenant, requested: str | None, request: PlaceRequest
    ) -> Selection | None:
        if requested is not None or self._context is None or self._context.item is None:
            return None  # the tenant chose; or nothing to read prices from
        found: list[Candidate] = []
        refused: list[str] = []
        for account in self._order(tenant):
            candidate = await self._candidate(account, request)
            if isinstance(candidate, str):
                refused.append(candidate)
            else:
                found.append(candidate)
                if self.strategy == "preference":
                    break
        if not found:
            return None
        chosen = min(found, key=lambda c: c.cost) if self.strategy == "cheapest" else found[0]
        others = "; ".join([f"{c.account} {c.cost}" for c in found if c is not chosen] + refused)
        kind = (
            "cheapest that can pay"
            if self.strategy == "cheapest"
            else "first preferred that can pay"
        )
        reason = f"{kind} ({chosen.cost})" + (f"; {others}" if others else "")
        return Selection(chosen.account, reason)

    @hookimpl
    def gateway_reserve(self, intent: OrderIntent) -> None:
        if intent.estimate is not None and self._balances is not None:
            self._balances.hold(intent.order_id, intent.account, intent.estimate)

    @hookimpl
    def gateway_settle(self, settlement: Settlement) -> None:
        if self._balances is not None:
            self._balances.settle(settlement)
