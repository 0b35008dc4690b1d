"""Built-in plugin `audit`: one durable record per decision and state change.

Every order accepted or refused (and by which plugin, or the provider),
every terminal status, every provider webhook and every exhausted tenant
delivery becomes a row in `audit_records` and a structured log line, with the
time, tenant, account, item, quantity, amount, decision, deciding plugin,
reason and request id. Delivered codes and secrets are never written: a
record says how many codes there were, not what they were.

`GET /v1/audit` (admins only) reads them, newest first, filtered by
`tenant`, `account`, `order_id` and `decision`.

Settings: none.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import structlog
from aiohttp import web

from gateway import cursors, params
from gateway.clock import isoformat_z, stamp, unstamp
from gateway.errors import Forbidden, InvalidField
from gateway.http import authenticate
from gateway.plugin_api import (
    OrderIntent,
    OrderRecord,
    PluginContext,
    ProviderOrder,
    Rejection,
    SettingsError,
    hookimpl,
    money_text,
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

DECISIONS = ("accepted", "rejected", "settled", "webhook_received", "delivery_exhausted")
FILTERS = ("tenant", "account", "order_id", "decision")


class AuditPlugin:
    migrations = (MIGRATION,)

    def __init__(self, settings: dict[str, Any]) -> None:
        for key in settings:
            raise SettingsError(key, "the audit plugin takes no settings")
        self._context: PluginContext | None = None

    async def start(self, context: PluginContext) -> None:
        self._context = context

    async def _record(self, decision: str, **fields: Any) -> None:
        assert self._context is not None
        details = fields.pop("details", {})
        record = {
            "id": str(uuid.uuid4()),
            "at": stamp(self._context.clock.now()),
            "request_id": structlog.contextvars.get_contextvars().get("request_id"),
            "decision": decision,
            **fields,
        }
        await self._context.database.execute(
            "INSERT INTO audit_records (id, at, request_id, tenant, account, order_id, item_id,"
            " quantity, amount, currency, decision, plugin, reason, details)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            record["id"], record["at"], record["request_id"], record.get("tenant"),
            record.get("account"), record.get("order_id"), record.get("item_id"),
            record.get("quantity"), record.get("amount"), record.get("currency"), decision,
            record.get("plugin"), record.get("reason"), json.dumps(details, sort_keys=True),
        )  # fmt: skip
        log.info("audit_record", **{k: v for k, v in record.items() if v is not None}, **details)

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
    async def gateway_order_accepted(self, intent: OrderIntent, order: OrderRecord) -> None:
        fields = self._from_intent(intent)
        if order.price is not None:
            fields["amount"] = money_text(order.price)
        await self._record(
            "accepted",
            **fields,
            details={"status": order.status.value, "reference": order.reference},
        )

    @hookimpl
    async def gateway_order_rejected(self, intent: OrderIntent, rejection: Rejection) -> None:
        await self._record(
            "rejected",
            **self._from_intent(intent),
            plugin=rejection.by,
            reason=rejection.message,
            details={"code": rejection.code, "field": rejection.field},
        )

    @hookimpl
    async def gateway_order_settled(self, order: OrderRecord) -> None:
        await self._record(
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
    async def gateway_provider_webhook(
        self, account: str, event: ProviderOrder, order: OrderRecord | None
    ) -> None:
        await self._record(
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
    async def gateway_delivery_exhausted(
        self, tenant: str, subscription_id: str, message_id: str, event_type: str
    ) -> None:
        await self._record(
            "delivery_exhausted",
            tenant=tenant,
            details={
                "subscription_id": subscription_id,
                "message_id": message_id,
                "event_type": event_type,
            },
        )

    @hookimpl
    def gateway_routes(self) -> list[web.RouteDef]:
        return [web.get("/v1/audit", self.read)]

    async def read(self, request: web.Request) -> web.Response:
        tenant = authenticate(request)
        if tenant.role.value != "admin":
            raise Forbidden("only an admin may read the audit trail")
        query = request.query
        for key in query:
            if key not in (*FILTERS, "limit", "cursor"):
                raise InvalidField(
                    key, f"unknown query parameter; audit takes {', '.join(FILTERS)}, limit, cursor"
                )
        decision = query.get("decision")
        if decision is not None and decision not in DECISIONS:
            raise InvalidField("decision", f"one of {', '.join(DECISIONS)}")
        limit = params.limit(query)
        where, args = [], []
        for key in FILTERS:
            if query.get(key) is not None:
                args.append(query[key])
                where.append(f"{key} = ${len(args)}")
        cursor = query.get("cursor")
        if cursor:
            at, last = cursors.decode(cursor)
            args += [at, last]
            n = len(args)
            where.append(f"(at < ${n - 1} OR (at = ${n - 1} AND id < ${n}))")
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
