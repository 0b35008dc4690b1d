"""The place-order pipeline, and reading orders back.

place: choose the account (hooks, else the request, else the tenant's
default) → idempotency key → validation hooks → intent in the ledger →
reservation hooks → the provider (inside the plugins' wrappers) → outcome in
the ledger → settlement and notification hooks.

The tenant's `merchant_order_id` is unique per tenant: a repeat with the same
body returns the existing order (200), a different body is a 409. An
`Idempotency-Key` replays the first stored response; the same key with
another body is a 422, and while the first call is still running a 409. A
lost provider answer leaves the order `unknown` (202); a later read or the
provider's webhook settles it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import structlog

from gateway.accounts import AccountSession, OutcomeUnknown
from gateway.catalog import AccountCatalog, CatalogItem, CatalogUnavailable
from gateway.clock import Clock, stamp
from gateway.domain import OrderRecord, OrderStatus, PlaceRequest, ProviderOrder
from gateway.errors import (
    AccountNotAllowed,
    Conflict,
    Forbidden,
    GatewayError,
    IdempotencyInFlight,
    IdempotencyMismatch,
    NotFound,
)
from gateway.events import Outbox
from gateway.ledger import Claim, KeyClaim, Ledger, OrderFilters, OrderScope
from gateway.metrics import Metrics
from gateway.plugin_api import OrderIntent, Rejection, Settlement
from gateway.plugin_host import PluginFailed, PluginHost, PluginRejected
from gateway.storage import Transaction
from gateway.tenants import Tenant
from gateway.views import order_view

log = structlog.get_logger()

# How long a GET may serve a non-terminal order before reading it from the provider again.
READ_THROUGH_AFTER = timedelta(seconds=2)
# An Idempotency-Key still "in flight" after this long was taken by a process that died.
ABANDONED_AFTER = timedelta(minutes=5)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def request_hash(account: str, request: PlaceRequest) -> str:
    canonical = json.dumps(
        {
            "account": account,
            "item_id": request.item_id,
            "quantity": None if request.quantity is None else str(request.quantity.normalize()),
            "merchant_order_id": request.merchant_order_id,
            "fields": request.fields,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_reference() -> str:
    """The gateway's own unique reference, sent as the provider's merchant_order_id."""
    return "gw_" + secrets.token_hex(16)


def estimate(item: CatalogItem | None, quantity: Decimal | None) -> Decimal | None:
    """Catalog price x quantity, rounded as the provider rounds (half up, to cents)."""
    if item is None:
        return None
    units = quantity if quantity is not None else Decimal(1)
    return (item.price * units).quantize(CENT, rounding=ROUND_HALF_UP)


class OrderDesk:
    def __init__(
        self,
        ledger: Ledger,
        sessions: dict[str, AccountSession],
        catalogs: dict[str, AccountCatalog],
        currencies: dict[str, str],
        plugins: PluginHost,
        outbox: Outbox,
        clock: Clock,
        metrics: Metrics,
        idempotency_ttl: timedelta,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self.ledger = ledger
        self.outbox = outbox
        self.on_enqueued = on_enqueued
        self.sessions = sessions
        self.catalogs = catalogs
        self.currencies = currencies
        self.plugins = plugins
        self.clock = clock
        self.metrics = metrics
        self.idempotency_ttl = idempotency_ttl

    def _wake(self, written: int) -> None:
        """After a commit: tell the dispatcher, if that transaction wrote to the outbox (so
        that orders nobody subscribed to cost no delivery round)."""
        if written:
            self.on_enqueued()

    def _abandoned(self, claim: KeyClaim) -> bool:
        """An in-flight key older than any request can take belongs to a process that died."""
        longest = max((s.config.timeout_seconds for s in self.sessions.values()), default=10.0)
        limit = timedelta(seconds=max(ABANDONED_AFTER.total_seconds(), 4 * longest))
        return claim.created_at is not None and self.clock.now() - claim.created_at > limit

    def account_for(self, tenant: Tenant, requested: str | None) -> str:
        account = requested or tenant.default_account
        if not tenant.may_use(account):
            raise AccountNotAllowed(
                f"tenant {tenant.name!r} may not use account {account!r}; "
                f"use one of: {', '.join(tenant.accounts)}",
                details={"field": "account", "allowed": list(tenant.accounts)},
            )
        return account

    async def _choose_account(self, tenant: Tenant, request: PlaceRequest) -> str:
        chosen = await self.plugins.gate(
            "gateway_select_account",
            tenant.name,
            tenant=tenant,
            requested=request.account,
            request=request,
        )
        return self.account_for(tenant, chosen if chosen is not None else request.account)

    async def place(self, tenant: Tenant, request: PlaceRequest, key: str | None) -> Answer:
        if not tenant.may_place:
            raise Forbidden(f"tenant {tenant.name!r} is an observer and may not place orders")
        account = await self._choose_account(tenant, request)
        structlog.contextvars.bind_contextvars(account=account)
        digest = request_hash(account, request)
        if key is None:
            return await self._place(tenant, account, request, digest, None)
        claim = await self.ledger.claim_key(tenant.name, key, digest, self.idempotency_ttl)
        if claim.outcome is Claim.MISMATCH:
            raise IdempotencyMismatch(
                "this Idempotency-Key was used with a different request body; "
                "use a new key for a new request",
                details={"idempotency_key": key},
            )
        if claim.outcome is Claim.IN_FLIGHT and self._abandoned(claim):
            # The process that took this key died mid-request. With an intent written, that
            # order is the answer (it may exist at the provider: never place it twice);
            # without one, nothing reached the provider and the request can run afresh.
            record = await self.ledger.get(claim.order_id) if claim.order_id else None
            if record is None:
                await self.ledger.release_key(tenant.name, key)
                return await self.place(tenant, request, key)
            status = 202 if record.status is OrderStatus.UNKNOWN else 201
            body = order_view(record, show_codes=True)
            await self.ledger.finish_key(tenant.name, key, status, body, record.id)
            return Answer(status, body, replayed=True)
        if claim.outcome is Claim.IN_FLIGHT:
            raise IdempotencyInFlight(
                "a request with this Idempotency-Key is still being processed; retry shortly",
                details={"idempotency_key": key, "order_id": claim.order_id},
                headers={"Retry-After": "1"},
            )
        if claim.outcome is Claim.REPLAY:
            self.metrics.orders.labels(account=account, outcome="replayed").inc()
            assert claim.status is not None
            return Answer(claim.status, claim.body, replayed=True)
        try:
            answer = await self._place(tenant, account, request, digest, key)
        except GatewayError as exc:
            if exc.status >= 500:
                await self.ledger.release_key(tenant.name, key)  # worth retrying as is
            else:
                await self.ledger.finish_key(tenant.name, key, exc.status, _error_body(exc), None)
            raise
        except BaseException:
            await self.ledger.release_key(tenant.name, key)
            raise
        await self.ledger.finish_key(
            tenant.name, key, answer.status, answer.body, answer.body.get("id")
        )
        return answer

    async def _intent(self, tenant: Tenant, account: str, request: PlaceRequest) -> OrderIntent:
        try:
            item = (await self.catalogs[account].items()).get(request.item_id)
            loaded = True
        except CatalogUnavailable:
            item, loaded = None, False
        return OrderIntent(
            order_id=str(uuid.uuid4()),
            tenant=tenant,
            account=account,
            currency=self.currencies[account],
            request=request,
            item=item,
            catalog_loaded=loaded,
            estimate=estimate(item, request.quantity),
            request_id=structlog.contextvars.get_contextvars().get("request_id"),
            at=self.clock.now(),
        )

    def _settlement(self, intent: OrderIntent, kind: str, **values: Any) -> Settlement:
        return Settlement(
            kind=kind,
            order_id=intent.order_id,
            tenant=intent.tenant.name,
            account=intent.account,
            currency=intent.currency,
            **values,
        )

    async def _refused(self, intent: OrderIntent, exc: GatewayError, reserved: bool) -> None:
        if reserved:
            await self.plugins.notify(
                "gateway_settle",
                intent.tenant.name,
                settlement=self._settlement(intent, "released"),
                transaction=None,
            )
        by = getattr(exc, "plugin", None) or "provider"
        rejection = Rejection(by, exc.code, exc.message, exc.status, exc.details.get("field"))
        self.metrics.orders.labels(account=intent.account, outcome="rejected").inc()
        await self.plugins.notify(
            "gateway_order_rejected", intent.tenant.name, intent=intent, rejection=rejection
        )

    async def _place(
        self,
        tenant: Tenant,
        account: str,
        request: PlaceRequest,
        digest: str,
        key: str | None,
    ) -> Answer:
        intent = await self._intent(tenant, account, request)
        try:
            await self.plugins.gate("gateway_validate_order", tenant.name, intent=intent)
        except (PluginRejected, PluginFailed) as exc:
            await self._refused(intent, exc, reserved=False)
            raise
        record = OrderRecord(
            id=intent.order_id,
            reference=new_reference(),
            tenant=tenant.name,
            account=account,
            merchant_order_id=request.merchant_order_id,
            request_hash=digest,
            item_id=request.item_id,
            quantity=request.quantity,
            fields=request.fields,
            currency=intent.currency,
            status=OrderStatus.UNKNOWN,
            created_at=intent.at,
            updated_at=intent.at,
            item_name=intent.item.name if intent.item else None,
            product_type=intent.item.product_type if intent.item else None,
        )
        existing = await self.ledger.record_intent(record)
        if existing is not None:
            if existing.request_hash != digest:
                raise Conflict(
                    f"merchant_order_id {request.merchant_order_id!r} is already order "
                    f"{existing.id} with a different request; use a new merchant_order_id",
                    details={"field": "merchant_order_id", "order_id": existing.id},
                )
            self.metrics.orders.labels(account=account, outcome="existing").inc()
            return Answer(200, order_view(existing, show_codes=True), replayed=True)
        if key is not None:
            await self.ledger.attach_key(tenant.name, key, record.id)
        try:
            await self.plugins.gate("gateway_reserve", tenant.name, intent=intent)
        except (PluginRejected, PluginFailed) as exc:
            await self.ledger.discard(record.id)
            await self._refused(intent, exc, reserved=True)
            raise
        try:
            async with self.plugins.around_provider_call(tenant.name, intent=intent):
                placed = await self.sessions[account].place_order(record.reference, request)
        except OutcomeUnknown as exc:

            async def keep_unknown(tx: Transaction) -> int:
                await self.ledger.touch_in(tx, record.id)
                written = await self.outbox.order_event(tx, record)
                await self.plugins.notify(
                    "gateway_settle",
                    tenant.name,
                    settlement=self._settlement(intent, "unknown"),
                    transaction=tx,
                )
                return written

            self._wake(await self.ledger.db.transaction(keep_unknown))
            self.metrics.orders.labels(account=account, outcome="unknown").inc()
            log.warning("order_outcome_unknown", order_id=record.id, reason=exc.reason)
            await self.plugins.notify(
                "gateway_order_accepted", tenant.name, intent=intent, order=record
            )
            return Answer(202, order_view(record, show_codes=True))
        except GatewayError as exc:
            await self.ledger.discard(record.id)
            await self._refused(intent, exc, reserved=True)
            raise

        async def record_placed(tx: Transaction) -> tuple[OrderRecord, int]:
            stored = await self.ledger.apply_to_intent(tx, record, placed)
            if stored is None:  # its webhook won the race: apply this answer under a lock
                current = await self.ledger.lock(tx, record.id)
                assert current is not None
                stored = await self.ledger.apply_in(tx, current, placed)
            written = 0
            if not stored.status.terminal:  # a terminal webhook has told the tenants already
                written = await self.outbox.order_event(tx, stored)
            await self.plugins.notify(
                "gateway_settle",
                tenant.name,
                settlement=self._settlement(intent, "placed", charged=placed.price),
                transaction=tx,
            )
            return stored, written

        stored, written = await self.ledger.db.transaction(record_placed)
        self._wake(written)
        self.metrics.orders.labels(account=account, outcome="placed").inc()
        log.info("order_placed", order_id=stored.id, provider_order_id=placed.provider_order_id)
        await self.plugins.notify(
            "gateway_order_accepted", tenant.name, intent=intent, order=stored
        )
        return Answer(201, order_view(stored, show_codes=True))

    # --- reading and settling ------------------------------------------------------------

    def scope_for(self, tenant: Tenant) -> OrderScope:
        if tenant.role.value == "admin":
            return OrderScope()
        if tenant.role.value == "observer":
            return OrderScope(accounts=tenant.accounts)
        return OrderScope(tenant=tenant.name)

    async def get(self, tenant: Tenant, order_id: str) -> dict[str, Any]:
        record = await self.ledger.get(order_id) if _is_uuid(order_id) else None
        if record is None or not self.scope_for(tenant).admits(record):
            raise NotFound(f"no order {order_id} for tenant {tenant.name!r}")
        record = await self._read_through(record)
        return order_view(record, show_codes=record.tenant == tenant.name)

    async def _read_through(self, record: OrderRecord) -> OrderRecord:
        """A non-terminal order the provider knows is read again once it is a little stale."""
        if record.status.terminal or record.provider_order_id is None:
            return record
        if self.clock.now() - record.updated_at < READ_THROUGH_AFTER:
            return record
        try:
            seen = await self.sessions[record.account].get_order(record.provider_order_id)
        except GatewayError as exc:
            log.warning("order_read_through_failed", order_id=record.id, error=exc.code)
            return record
        return await self.apply_read(record, seen)

    async def apply_read(self, before: OrderRecord, seen: ProviderOrder) -> OrderRecord:
        """Apply a provider read to an order (read-through and reconciliation)."""

        async def apply(tx: Transaction) -> tuple[OrderRecord, bool, int]:
            current = await self.ledger.lock(tx, before.id)
            assert current is not None
            return await self._apply_locked(tx, current, seen)

        after, turned, written = await self.ledger.db.transaction(apply)
        await self._after_terminal(after, turned, written)
        return after

    async def _apply_locked(
        self, tx: Transaction, current: OrderRecord, seen: ProviderOrder
    ) -> tuple[OrderRecord, bool, int]:
        """Inside the caller's transaction: update the ledger and, the first time the order
        turns terminal, settle the plugins' reservations and enqueue the tenants' event.
        Returns the order, whether it turned terminal, and the messages written."""
        after = await self.ledger.apply_in(tx, current, seen)
        turned = after.status.terminal and not current.status.terminal
        written = 0
        if turned:
            price = after.price or Decimal(0)
            await self.plugins.notify(
                "gateway_settle",
                after.tenant,
                settlement=Settlement(
                    kind="final",
                    order_id=after.id,
                    tenant=after.tenant,
                    account=after.account,
                    currency=after.currency,
                    charged=max(Decimal(0), price - after.refund_amount),
                    refunded=after.refund_amount,
                    status=after.status,
                ),
                transaction=tx,
            )
            written = await self.outbox.order_event(tx, after)
        return after, turned, written

    async def _after_terminal(self, order: OrderRecord, turned: bool, written: int) -> None:
        self._wake(written)
        if turned:
            await self.plugins.notify("gateway_order_settled", order.tenant, order=order)

    async def list(
        self, tenant: Tenant, filters: OrderFilters, limit: int, cursor: str | None
    ) -> dict[str, Any]:
        if filters.account is not None and tenant.role.value != "admin":
            self.account_for(tenant, filters.account)
        records, next_cursor = await self.ledger.page(
            self.scope_for(tenant), filters, limit, cursor
        )
        return {
            "data": [order_view(r, show_codes=r.tenant == tenant.name) for r in records],
            "next_cursor": next_cursor,
        }

    async def provider_event(
        self, account: str, seen: ProviderOrder, body: bytes
    ) -> tuple[OrderRecord | None, bool]:
        """A verified provider webhook, in one transaction: store the event (once per order and
        status: the provider retries), update the ledger, settle reservations, enqueue the
        tenants' events. Returns the gateway's order (None for orders it did not place) and
        whether this was a duplicate."""

        async def store(tx: Transaction) -> tuple[OrderRecord | None, bool, int, bool]:
            """(the gateway's order, whether it turned terminal, the messages written,
            whether this was a repeat)"""
            inserted = await tx.fetchrow(
                "INSERT INTO provider_events (id, account, provider_order_id, status, body,"
                " received_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
                "pev_" + uuid.uuid4().hex,
                account,
                seen.provider_order_id,
                seen.status.value,
                body.decode(),
                stamp(self.clock.now()),
            )
            if inserted is None:
                return None, False, 0, True
            record = (
                await self.ledger.lock_by_reference(tx, seen.reference) if seen.reference else None
            )
            if record is not None and record.account != account:
                record = None
            turned, written = False, 0
            if record is not None:
                record, turned, written = await self._apply_locked(tx, record, seen)
                await tx.execute(
                    "UPDATE provider_events SET order_id = $2 WHERE id = $1",
                    inserted["id"],
                    record.id,
                )
            else:
                currency = self.currencies.get(account)
                written = await self.outbox.foreign_event(tx, account, currency, seen)
            return record, turned, written, False

        record, turned, written, repeat = await self.ledger.db.transaction(store)
        if repeat:
            return None, True
        self._wake(written)
        await self.plugins.notify(
            "gateway_provider_webhook",
            record.tenant if record else None,
            account=account,
            event=seen,
            order=record,
        )
        if record is not None:
            await self._after_terminal(record, turned, 0)
        return record, False

    async def replay_order_events(self, tenant: Tenant, order_id: str) -> int:
        """Send an order's events again to its subscribers (the tenant's own order only)."""
        record = await self.ledger.get(order_id) if _is_uuid(order_id) else None
        if record is None or record.tenant != tenant.name:
            raise NotFound(f"no order {order_id} for tenant {tenant.name!r}")
        count = await self.ledger.db.execute(
            "UPDATE messages SET state = 'pending', attempts = 0, next_attempt_at = $2,"
            " claimed_until = NULL WHERE order_id = $1 AND state IN ('delivered', 'failed')",
            order_id,
            stamp(self.clock.now()),
        )
        self._wake(count)
        return count


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _error_body(exc: GatewayError) -> dict[str, Any]:
    return {"error": {"code": exc.code, "message": exc.message, "details": exc.details or None}}
