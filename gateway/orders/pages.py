"""Pages of the ledger's orders, newest first, for tenants, observers and admins.

Part of the ledger (a mixin of `Ledger`, so the orders table keeps one owner): what
makes a list cost the same at a thousand orders and at a million, the query shapes
that migration 0005's indexes serve as range scans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway import cursors
from gateway.clock import stamp
from gateway.domain import OrderRecord, OrderStatus
from gateway.orders.rows import record_of
from gateway.sealing import Sealer
from gateway.storage import Database


@dataclass(frozen=True)
class OrderScope:
    """Which orders a caller may see: one tenant's, some accounts', or all."""

    tenant: str | None = None
    accounts: tuple[str, ...] | None = None

    def admits(self, record: OrderRecord) -> bool:
        if self.tenant is not None and record.tenant != self.tenant:
            return False
        return self.accounts is None or record.account in self.accounts


@dataclass(frozen=True)
class OrderFilters:
    status: OrderStatus | None = None
    account: str | None = None
    tenant: str | None = None
    item_id: int | None = None
    merchant_order_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


class OrderPages:
    db: Database
    sealer: Sealer

    async def page(
        self, scope: OrderScope, filters: OrderFilters, limit: int, cursor: str | None
    ) -> tuple[list[OrderRecord], str | None]:
        """A page, newest first. Each query leads with one tenant or one account, so that an
        index of migration 0005 serves it as a range scan; a caller seeing several accounts
        gets one query per account, merged (each reads at most a page)."""
        after = cursors.decode(cursor) if cursor is not None else None
        tenant = scope.tenant or filters.tenant
        accounts = scope.accounts
        if filters.account is not None:
            allowed = accounts is None or filters.account in accounts
            accounts = (filters.account,) if allowed else ()
        if tenant is not None or accounts is None:
            rows = await self._page_query(tenant, None, accounts, filters, limit, after)
        else:
            rows = []
            for account in accounts:
                rows += await self._page_query(None, account, None, filters, limit, after)
            rows.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
        records = [record_of(r, self.sealer) for r in rows[:limit]]
        more = len(rows) > limit
        next_cursor = (
            cursors.encode(stamp(records[-1].created_at), records[-1].id)
            if more and records
            else None
        )
        return records, next_cursor

    async def _page_query(
        self,
        tenant: str | None,
        account: str | None,
        within: tuple[str, ...] | None,
        filters: OrderFilters,
        limit: int,
        after: tuple[str, str] | None,
    ) -> list[Any]:
        where: list[str] = []
        args: list[Any] = []

        def add(clause: str, *values: Any) -> None:
            marks = []
            for value in values:
                args.append(value)
                marks.append(f"${len(args)}")
            where.append(clause.format(*marks))

        if tenant is not None:
            add("tenant = {}", tenant)
        if account is not None:
            add("account = {}", account)
        if within is not None:
            if not within:
                return []
            add(f"account IN ({', '.join('{}' for _ in within)})", *within)
        if filters.status is not None:
            add("status = {}", filters.status.value)
        if filters.item_id is not None:
            add("item_id = {}", filters.item_id)
        if filters.merchant_order_id is not None:
            add("merchant_order_id = {}", filters.merchant_order_id)
        if filters.created_after is not None:
            add("created_at > {}", stamp(filters.created_after))
        if filters.created_before is not None:
            add("created_at < {}", stamp(filters.created_before))
        if after is not None:
            # a row value: the index range starts right there (an OR of two comparisons
            # would make the engine walk from the newest row down to the cursor)
            add("(created_at, id) < ({}, {})", *after)
        if filters.merchant_order_id is not None:
            # one order per tenant (a unique key), a few across tenants: read them all by
            # that key and order them here, rather than walk the ledger in time order
            rows = await self.db.fetch(f"SELECT * FROM orders WHERE {' AND '.join(where)}", *args)
            rows.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
            return rows[: limit + 1]
        args.append(limit + 1)
        return await self.db.fetch(
            "SELECT * FROM orders"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY created_at DESC, id DESC LIMIT ${len(args)}",
            *args,
        )
