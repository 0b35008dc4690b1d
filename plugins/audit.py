"""Built-in plugin `audit`: one durable record per decision and state change.

Every order accepted or refused (and by which plugin, or the provider),
every terminal status, every resolution of an order whose outcome was unknown
(and who resolved it: the gateway or an operator, in `plugin`), every
provider webhook and every exhausted tenant delivery becomes a row in
`audit_records` and a structured log line, with the time, tenant, account,
item, quantity, amount, decision, deciding plugin, reason and request id.
Delivered codes and secrets are never written: a record says how many codes
there were, not what they were.

The log line is written at once; the rows are written off the request path
by the gateway's `QueuedWriter` (batched, a few milliseconds behind; only a
crash in that window loses a row, never its log line; it survives a database
outage, up to `MAX_QUEUED` records). Reading the trail waits for the records
queued before the read.

`GET /v1/audit` (admins only) reads them, newest first, filtered by
`tenant`, `account`, `order_id` and `decision`.

Settings: `retention_days` (default 365), how long a record is kept: a year
covers the questions an audit trail answers (a dispute, a yearly review),
and the log lines it duplicates are usually kept less. Older records are
deleted on the gateway's housekeeping turns, a batch at a time, oldest first
(on `audit_records_at`).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from aiohttp import web

from gateway.plugin_api import (
    AdminChange,
    Forbidden,
    InvalidField,
    OrderIntent,
    OrderRecord,
    PluginContext,
    ProviderOrder,
    QueuedWriter,
    Rejection,
    Resolution,
    SettingsError,
    Swept,
    authenticate,
    cursors,
    hookimpl,
    in_batches,
    isoformat_z,
    money_text,
    params,
    stamp,
    unstamp,
)

log = structlog.get_logger()

MIGRATION = """
CREATE TABLE audit_records (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    request_id TEXT,
    tenant TEXT,
    account TEXT,
    order_id TEXT,
    item_id BIGINT,
    quantity TEXT,
    amount TEXT,
    currency TEXT,
    decision TEXT NOT NULL,
    plugin TEXT,
    reason TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_records_at ON audit_records (at, id);
CREATE INDEX audit_records_order ON audit_records (order_id)
"""

DECISIONS = (
    "accepted", "rejected", "settled", "resolved", "webhook_received", "delivery_exhausted",
    "admin_change",
)  # fmt: skip
FILTERS = ("tenant", "account", "order_id", "decision")


_INSERT = (
    "INSERT INTO audit_records (id, at, request_id, tenant, account, order_id, item_id,"
    " quantity, amount, currency, decision, plugin, reason, details)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
)
_FORGET = (
    "DELETE FROM audit_records WHERE at < $1 AND id IN ("
    "SELECT id FROM audit_records WHERE at < $1 ORDER BY at LIMIT $2)"
)
MAX_QUEUED = 100_000


# The trail's list filters each lead an index in the list's order, so a rare decision or
# a quiet tenant is a range scan, not a walk down the whole trail (tests/test_query_plans.py).
LIST_INDEXES = """
CREATE INDEX audit_records_decision ON audit_records (decision, at, id);
CREATE INDEX audit_records_tenant ON audit_records (tenant, at, id);
CREATE INDEX audit_records_account ON audit_records (account, at, id)
"""


class AuditPlugin:
    migrations = (MIGRATION, LIST_INDEXES)

    def __init__(self, settings: dict[str, Any]) -> None:
        for key in settings:
            if key not in ("retention_days", "log_records"):
                raise SettingsError(key, "unknown setting; audit takes retention_days, log_records")
        days = settings.get("retention_days", 365)
        if isinstance(days, bool) or not isinstance(days, int | float) or days <= 0:
            raise SettingsError("retention_days", "a number of days above 0, such as 365")
        self.retention = timedelta(days=days)
        # each record is also a log line: at debug by default, so that an order is one info
        # line (the request's); `log_records = true` puts them at info, for a log pipeline
        # that is the audit store
        shown = settings.get("log_records", False)
        if not isinstance(shown, bool):
            raise SettingsError("log_records", "true or false")
        self._log = log.info if shown else log.debug
        self._context: PluginContext | None = None
        self._writer = QueuedWriter("audit", _INSERT, MAX_QUEUED)

    async def start(self, context: PluginContext) -> None:
        self._context = context
        self._writer.start(context.database)

    async def stop(self) -> None:
        await self._writer.stop()

    async def flush(self) -> None:
        """Wait until every record queued so far is in the table."""
        await self._writer.flush()

    def _record(self, decision: str, **fields: Any) -> None:
        assert self._context is not None
        details = fields.pop("details", {})
        record = {
            "id": str(uuid.uuid4()),
            "at": stamp(self._context.clock.now()),
            "request_id": structlog.contextvars.get_contextvars().get("request_id"),
            "decision": decision,
            **fields,
        }
        self._writer.add(
            (
                record["id"], record["at"], record["request_id"], record.get("tenant"),
                record.get("account"), record.get("order_id"), record.get("item_id"),
                record.get("quantity"), record.get("amount"), record.get("currency"), decision,
                record.get("plugin"), record.get("reason"), json.dumps(details, sort_keys=True),
            )
        )  # fmt: skip
        self._log("audit_record", **{k: v for k, v in record.items() if v is not None}, **details)

    @staticmethod
    def _from_intent(intent: OrderIntent) -> dict[str, Any]:
        quantity = intent.request.quantity
        return {
            "tenant": intent.tenant.name,
            "account": intent.account,
            "order_id": intent.order_id,
            "item_id": intent.request.item_id,
            "quantity": None if quantity is None else str(quantity),
            "amount": None if intent.estimate is None else money_text(intent.estimate),
            "currency": intent.currency,
        }

    @hookimpl
    def gateway_order_accepted(self, intent: OrderIntent, order: OrderRecord) -> None:
        fields = self._from_intent(intent)
        if order.price is not None:
            fields["amount"] = money_text(order.price)
        self._record(
            "accepted",
            **fields,
            details={"status": order.status.value, "reference": order.reference},
        )

    @hookimpl
    def gateway_order_rejected(self, intent: OrderIntent, rejection: Rejection) -> None:
        self._record(
            "rejected",
            **self._from_intent(intent),
            plugin=rejection.by,
            reason=rejection.message,
            details={"code": rejection.code, "field": rejection.field},
        )

    @hookimpl
    def gateway_order_settled(self, order: OrderRecord) -> None:
        self._record(
            "settled",
            tenant=order.tenant,
            account=order.account,
            order_id=order.id,
            item_id=order.item_id,
            quantity=None if order.quantity is None else str(order.quantity),
            amount=None if order.price is None else money_text(order.price),
            currency=order.currency,
            reason=order.error_message,
            details={
                "status": order.status.value,
                "delivered_quantity": order.delivered_quantity,
                "refund_amount": money_text(order.refund_amount),
                "codes_delivered": len(order.codes),
                "error": order.error,
            },
        )

    @hookimpl
    def gateway_order_resolved(self, order: OrderRecord, resolution: Resolution) -> None:
        """Who settled an order whose outcome was unknown, and on what evidence."""
        self._record(
            "resolved",
            tenant=order.tenant,
            account=order.account,
            order_id=order.id,
            item_id=order.item_id,
            amount=None if order.price is None else money_text(order.price),
            currency=order.currency,
            plugin=resolution.by,
            reason=resolution.reason,
            details={
                "outcome": resolution.outcome,
                "status": order.status.value,
                "reference": order.reference,
                "attempts": resolution.attempts,
            },
        )

    @hookimpl
    def gateway_provider_webhook(
        self, account: str, event: ProviderOrder, order: OrderRecord | None
    ) -> None:
        self._record(
            "webhook_received",
            tenant=order.tenant if order else None,
            account=account,
            order_id=order.id if order else None,
            item_id=event.item_id,
            quantity=str(event.quantity),
            amount=money_text(event.price),
            details={
                "provider_order_id": event.provider_order_id,
                "status": event.status.value,
                "codes_delivered": len(event.codes),
                "known_order": order is not None,
            },
        )

    @hookimpl
    def gateway_delivery_exhausted(
        self, tenant: str, subscription_id: str, message_id: str, event_type: str
    ) -> None:
        self._record(
            "delivery_exhausted",
            tenant=tenant,
            details={
                "subscription_id": subscription_id,
                "message_id": message_id,
                "event_type": event_type,
            },
        )

    @hookimpl
    def gateway_admin_change(self, change: AdminChange) -> None:
        """Who changed which tenant, token or policy: `plugin` holds the actor, `reason` the
        action, as for an operator's resolution."""
        self._record(
            "admin_change",
            tenant=change.tenant or None,
            plugin=change.actor,
            reason=change.action,
            details={"change": change.details},
        )

    @hookimpl
    async def gateway_housekeeping(self, now: datetime, batch: int) -> None:
        await self.forget(now, batch)

    async def forget(self, now: datetime, batch: int) -> Swept:
        """Apart from the hook, which returns nothing, so that a sweep's work can be seen."""
        assert self._context is not None
        before = stamp(now - self.retention)
        return await in_batches(self._context.database, _FORGET, before, batch=batch)

    @hookimpl
    def gateway_routes(self) -> list[web.RouteDef]:
        return [web.get("/v1/audit", self.read)]

    async def read(self, request: web.Request) -> web.Response:
        tenant = authenticate(request)
        if tenant.role.value != "admin":
            raise Forbidden("only an admin may read the audit trail")
        await self.flush()
        query = request.query
        params.only(query, {*FILTERS, "limit", "cursor"})
        decision = query.get("decision")
        if decision is not None and decision not in DECISIONS:
            raise InvalidField("decision", f"one of {', '.join(DECISIONS)}")
        limit = params.limit(query)
        where, args = [], []
        for key in FILTERS:
            if query.get(key) is not None:
                args.append(query[key])
                where.append(f"{key} = ${len(args)}")
        # an admin reads the records of its own accounts (and those about no account, such
        # as an endpoint's exhausted deliveries), as it reads only those accounts' orders
        marks = ", ".join(f"${len(args) + 1 + i}" for i in range(len(tenant.accounts)))
        args += list(tenant.accounts)
        # (an expression: a scope to check row by row, not an index to walk and sort by)
        where.append(f"COALESCE(account, '') IN ('', {marks})")
        cursor = query.get("cursor")
        if cursor:
            at, last = cursors.decode(cursor)
            args += [at, last]
            n = len(args)
            where.append(f"(at, id) < (${n - 1}, ${n})")  # a row value: an index range
        args.append(limit + 1)
        assert self._context is not None
        rows = await self._context.database.fetch(
            "SELECT * FROM audit_records"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY at DESC, id DESC LIMIT ${len(args)}",
            *args,
        )
        page = rows[:limit]
        data = [
            {
                **{k: v for k, v in row.items() if k not in ("details", "at")},
                "at": isoformat_z(unstamp(row["at"])),
                "details": json.loads(row["details"]),
            }
            for row in page
        ]
        next_cursor = cursors.encode(page[-1]["at"], page[-1]["id"]) if len(rows) > limit else None
        return web.json_response({"data": data, "next_cursor": next_cursor})
