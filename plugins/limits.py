"""Built-in plugin `limits`: what an order may spend, exact under concurrency.

- `max_order`: per account, the most one order may cost (catalog estimate).
- `balance_floor`: per account, a reserve the gateway never spends into. The
  provider balance is read at most every `balance_cache_seconds`; orders in
  flight and charges since the last read are subtracted meanwhile (per
  gateway process: replicas each keep their own view, so give the floor a
  margin when running several).
- `budgets`: per tenant and currency, `daily` and `monthly` spend caps (UTC
  days and months). An order reserves its estimate atomically (a database
  transaction; on PostgreSQL under an advisory lock per tenant and currency),
  is settled at the provider's actual price when placed, and gives back what
  a partial or failed order refunds, or everything when it is refused.

    [plugins.limits]
    balance_cache_seconds = 5
    retention_days = 90
    max_order = { main = "500.00" }
    balance_floor = { main = "100.00" }
    [plugins.limits.budgets.shop]
    EUR = { daily = "100.00", monthly = "1500.00" }

Money is written as a string (or a whole number) so that it stays exact.

Settled reservations (`final`, `released`) and the spend of days and months
are deleted once `retention_days` old (default 90, at least 32), on the
gateway's housekeeping turns. The budget checks read only the current day's
and month's spend, and a settlement changes only its own order's day and
month; 32 days on, both are over, so nothing deleted can count again. Open
reservations (`reserved`, `placed`) stay until they settle, however old.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog

from gateway.plugin_api import (
    OrderIntent,
    PluginContext,
    Reject,
    SettingsError,
    Settlement,
    SpendableBalances,
    Swept,
    Transaction,
    hookimpl,
    in_batches,
)

log = structlog.get_logger()

MIGRATION = """
CREATE TABLE limits_reservations (
    order_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    account TEXT NOT NULL,
    currency TEXT NOT NULL,
    day TEXT NOT NULL,
    month TEXT NOT NULL,
    estimate TEXT NOT NULL,
    amount TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE limits_spend (
    tenant TEXT NOT NULL,
    currency TEXT NOT NULL,
    period TEXT NOT NULL,
    amount TEXT NOT NULL,
    PRIMARY KEY (tenant, currency, period)
)
"""
# The retention sweeps' indexes: settled reservations oldest first, spend by period.
RETENTION_INDEXES = """
CREATE INDEX limits_reservations_settled ON limits_reservations (created_at)
    WHERE state IN ('final', 'released');
CREATE INDEX limits_spend_period ON limits_spend (period)
"""
_SETTLED = "state IN ('final', 'released') AND created_at < $1"
_FORGET_RESERVATIONS = (
    f"DELETE FROM limits_reservations WHERE {_SETTLED} AND order_id IN ("
    f"SELECT order_id FROM limits_reservations WHERE {_SETTLED} ORDER BY created_at LIMIT $2)"
)
# Periods from `$1` (the prefix: D: or M:) up to `$2`, the first period kept.
_PAST = "period >= $1 AND period < $2"
_FORGET_SPEND = (
    f"DELETE FROM limits_spend WHERE {_PAST} AND (tenant, currency, period) IN ("
    f"SELECT tenant, currency, period FROM limits_spend WHERE {_PAST} ORDER BY period LIMIT $3)"
)


def _money(value: Any, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SettingsError(key, 'write money as a string such as "100.00" (or a whole number)')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise SettingsError(key, f"{value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise SettingsError(key, "a non-negative amount")
    return amount


def _table(settings: dict[str, Any], key: str) -> dict[str, Any]:
    value = settings.get(key, {})
    if not isinstance(value, dict):
        raise SettingsError(key, "a table")
    return value


@dataclass(frozen=True)
class Budget:
    daily: Decimal | None
    monthly: Decimal | None


class LimitsPlugin:
    migrations = (MIGRATION, RETENTION_INDEXES)

    def __init__(self, settings: dict[str, Any]) -> None:
        known = {"balance_cache_seconds", "max_order", "balance_floor", "budgets", "retention_days"}
        for key in settings:
            if key not in known:
                raise SettingsError(
                    key, f"unknown setting; limits takes {', '.join(sorted(known))}"
                )
        cache = settings.get("balance_cache_seconds", 5)
        if isinstance(cache, bool) or not isinstance(cache, int | float) or cache < 0:
            raise SettingsError("balance_cache_seconds", "a number of seconds, 0 or more")
        self.balance_cache = timedelta(seconds=cache)
        days = settings.get("retention_days", 90)
        if isinstance(days, bool) or not isinstance(days, int | float) or days < 32:
            raise SettingsError(
                "retention_days",
                "a number of days, at least 32: until then a settled order's month may still"
                " be counted",
            )
        self.retention = timedelta(days=days)
        self.max_order = {
            account: _money(value, f"max_order.{account}")
            for account, value in _table(settings, "max_order").items()
        }
        self.floor = {
            account: _money(value, f"balance_floor.{account}")
            for account, value in _table(settings, "balance_floor").items()
        }
        self.budgets: dict[tuple[str, str], Budget] = {}
        for tenant, currencies in _table(settings, "budgets").items():
            if not isinstance(currencies, dict):
                raise SettingsError(f"budgets.{tenant}", "a table of currency = { daily, monthly }")
            for currency, caps in currencies.items():
                where = f"budgets.{tenant}.{currency}"
                if not isinstance(caps, dict) or not caps or set(caps) - {"daily", "monthly"}:
                    raise SettingsError(where, 'a table { daily = "…", monthly = "…" }')
                self.budgets[(tenant, currency)] = Budget(
                    _money(caps["daily"], f"{where}.daily") if "daily" in caps else None,
                    _money(caps["monthly"], f"{where}.monthly") if "monthly" in caps else None,
                )
        self._context: PluginContext | None = None
        self._balances: SpendableBalances | None = None

    async def start(self, context: PluginContext) -> None:
        self._context = context
        self._balances = SpendableBalances(context, self.balance_cache)

    # --- reserve ---------------------------------------------------------------------

    @hookimpl
    async def gateway_reserve(self, intent: OrderIntent) -> None:
        budget = self.budgets.get((intent.tenant.name, intent.currency))
        limited = budget or intent.account in self.max_order or intent.account in self.floor
        if not limited:
            return
        amount = intent.estimate
        if amount is None:
            raise Reject(
                "cannot_estimate",
                "this order's cost cannot be estimated (no catalog price), so limits cannot be "
                "checked; retry when the catalog is loaded",
                field="item_id",
                status=409,
            )
        cap = self.max_order.get(intent.account)
        if cap is not None and amount > cap:
            raise Reject(
                "order_limit_exceeded",
                f"this order would cost {amount} {intent.currency}; account "
                f"{intent.account!r} takes at most {cap} per order",
                field="quantity",
                status=403,
            )
        if intent.account in self.floor:
            await self._check_floor(intent.account, amount, intent.currency)
        if budget is not None:
            await self._reserve_budget(intent, amount, budget)
        assert self._balances is not None
        self._balances.hold(intent.order_id, intent.account, amount)

    async def _check_floor(self, account: str, amount: Decimal, currency: str) -> None:
        assert self._balances is not None
        spendable = await self._balances.spendable(account) - self.floor[account]
        if amount > spendable:
            raise Reject(
                "balance_floor",
                f"account {account!r} keeps a reserve of {self.floor[account]} {currency}; "
                f"this order ({amount}) would go below it",
                status=402,
            )

    async def _reserve_budget(self, intent: OrderIntent, amount: Decimal, budget: Budget) -> None:
        assert self._context is not None
        db = self._context.database
        day = intent.at.strftime("%Y-%m-%d")
        month = intent.at.strftime("%Y-%m")
        tenant, currency = intent.tenant.name, intent.currency

        async def reserve(tx: Transaction) -> None:
            await self._lock(tx, tenant, currency)
            for period, cap, label in ((f"D:{day}", budget.daily, "daily"),
                                       (f"M:{month}", budget.monthly, "monthly")):  # fmt: skip
                if cap is None:
                    continue
                spent = await self._spent(tx, tenant, currency, period)
                if spent + amount > cap:
                    raise Reject(
                        "budget_exceeded",
                        f"tenant {tenant!r} has {cap - spent} {currency} left of its {label} "
                        f"budget of {cap}; this order would cost {amount}",
                        status=402,
                    )
            for period in (f"D:{day}", f"M:{month}"):
                await self._add(tx, tenant, currency, period, amount)
            await tx.execute(
                "INSERT INTO limits_reservations (order_id, tenant, account, currency, day, month,"
                " estimate, amount, state, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 'reserved', $8)",
                intent.order_id, tenant, intent.account, currency, day, month, str(amount),
                intent.at.isoformat(),
            )  # fmt: skip

        await db.transaction(reserve)

    async def _lock(self, tx: Transaction, tenant: str, currency: str) -> None:
        assert self._context is not None
        if self._context.database.engine == "postgresql":
            # SQLite transactions are already exclusive (BEGIN IMMEDIATE).
            await tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))", f"limits:{tenant}:{currency}"
            )

    async def _spent(self, tx: Transaction, tenant: str, currency: str, period: str) -> Decimal:
        row = await tx.fetchrow(
            "SELECT amount FROM limits_spend WHERE tenant = $1 AND currency = $2 AND period = $3",
            tenant, currency, period,
        )  # fmt: skip
        return Decimal(row["amount"]) if row else Decimal(0)

    async def _add(
        self, tx: Transaction, tenant: str, currency: str, period: str, delta: Decimal
    ) -> None:
        total = await self._spent(tx, tenant, currency, period) + delta
        updated = await tx.execute(
            "UPDATE limits_spend SET amount = $4"
            " WHERE tenant = $1 AND currency = $2 AND period = $3",
            tenant, currency, period, str(total),
        )  # fmt: skip
        if not updated:
            await tx.execute(
                "INSERT INTO limits_spend (tenant, currency, period, amount)"
                " VALUES ($1, $2, $3, $4)",
                tenant, currency, period, str(total),
            )  # fmt: skip

    # --- retention -------------------------------------------------------------------

    @hookimpl
    async def gateway_housekeeping(self, now: datetime, batch: int) -> None:
        await self.forget(now, batch)

    async def forget(self, now: datetime, batch: int) -> tuple[Swept, Swept]:
        """Apart from the hook, which returns nothing, so that a sweep's work can be seen:
        (reservations, spend rows) deleted."""
        assert self._context is not None
        db, cutoff = self._context.database, now - self.retention
        reservations = await in_batches(db, _FORGET_RESERVATIONS, cutoff.isoformat(), batch=batch)
        spend = Swept()
        for prefix, first_kept in (
            ("D:", cutoff.strftime("%Y-%m-%d")),
            ("M:", cutoff.strftime("%Y-%m")),
        ):
            spend += await in_batches(db, _FORGET_SPEND, prefix, prefix + first_kept, batch=batch)
        return reservations, spend

    # --- settle ----------------------------------------------------------------------

    @hookimpl
    def gateway_settle_needs_transaction(self, settlement: Settlement) -> bool:
        """Only a budgeted tenant's counts are written; the rest settle in memory."""
        return self._counted(settlement)

    def _counted(self, settlement: Settlement) -> bool:
        budgeted = (settlement.tenant, settlement.currency) in self.budgets
        return budgeted and settlement.kind != "unknown"

    @hookimpl
    async def gateway_settle(self, settlement: Settlement, transaction: Transaction | None) -> None:
        if self._balances is not None:
            self._balances.settle(settlement)
        if not self._counted(settlement):
            return
        assert self._context is not None
        if transaction is not None:  # the caller's transaction: commit with its change
            await self._settle(transaction, settlement)
            return
        await self._context.database.transaction(lambda tx: self._settle(tx, settlement))

    async def _settle(self, tx: Transaction, settlement: Settlement) -> None:
        await self._lock(tx, settlement.tenant, settlement.currency)
        row = await tx.fetchrow(
            "SELECT * FROM limits_reservations WHERE order_id = $1", settlement.order_id
        )
        if row is None or row["state"] == "final" or settlement.kind == row["state"] == "released":
            return  # a released order that the provider turns out to have is counted again
        held = Decimal(row["amount"])
        now_counts = {
            "released": Decimal(0),
            "placed": settlement.charged,
            "final": settlement.charged,
        }[settlement.kind]
        delta = now_counts - held
        if delta:
            for period in (f"D:{row['day']}", f"M:{row['month']}"):
                await self._add(tx, row["tenant"], row["currency"], period, delta)
        await tx.execute(
            "UPDATE limits_reservations SET amount = $2, state = $3 WHERE order_id = $1",
            settlement.order_id, str(now_counts), settlement.kind,
        )  # fmt: skip
        log.info(
            "limits_settled",
            order_id=settlement.order_id,
            kind=settlement.kind,
            counted=str(now_counts),
        )
