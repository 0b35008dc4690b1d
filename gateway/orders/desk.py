"""The place-order pipeline (reading orders back is `gateway.orders.reads`).

place: choose the account (hooks, else the request, else the tenant's default) →
idempotency key → validation hooks → intent in the ledger → reservation hooks → the
provider (inside the plugins' wrappers) → outcome → settlement and notification hooks.

The tenant's `merchant_order_id` is unique per tenant: a repeat with the same
body returns the existing order (200), a different body is a 409. An
`Idempotency-Key` replays the first stored response (an `unknown` one as the
order stands now); the same key with another body is a 422, and while the
first call is still running a 409. A key or an order held by a process that
died is taken over within seconds (`gateway.orders.instances`). A lost
provider answer leaves the order `unknown` (202) until
`gateway.orders.resolution` finds out the truth; what any answer does to the
order is `gateway.orders.outcomes`; events to tenants never go back from a
later state to `unknown`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import structlog

from gateway.clock import Clock
from gateway.domain import OrderRecord, OrderStatus, PlaceRequest
from gateway.errors import (
    Conflict,
    DuplicateReference,
    Forbidden,
    GatewayError,
    IdempotencyInFlight,
    IdempotencyMismatch,
)
from gateway.hooks.host import PluginHost
from gateway.metrics import Metrics
from gateway.orders.instances import Instance
from gateway.orders.intents import new_intent, new_reference, request_hash
from gateway.orders.keys import Claim, KeyClaim
from gateway.orders.ledger import Ledger
from gateway.orders.outcomes import Outcomes
from gateway.orders.reads import OrderReads
from gateway.orders.resolution import NOT_PLACED, Outcome, Verdict, resend
from gateway.outbox.events import Outbox
from gateway.plugin_api import OrderIntent, Rejection, Settlement
from gateway.provider.accounts import AccountSession, OutcomeUnknown
from gateway.provider.catalog import AccountCatalog, CatalogUnavailable
from gateway.storage import StorageUnavailable
from gateway.tenants import Tenant
from gateway.views import order_view

log = structlog.get_logger()

# A place-order that failed this fast (a 5xx, a broken connection) is sent again at once,
# inside the request, so that a passing fault still answers 201.
QUICK_FAILURE = 1.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


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
        instance: Instance,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self.ledger = ledger
        self.outbox = outbox
        self.sessions = sessions
        self.catalogs = catalogs
        self.currencies = currencies
        self.plugins = plugins
        self.clock = clock
        self.metrics = metrics
        self.idempotency_ttl = idempotency_ttl
        self.instance = instance
        # What this process's requests hold now: order ids being placed, keys being answered.
        self.placing: set[str] = set()
        self._keys: set[tuple[str, str]] = set()
        self.outcomes = Outcomes(ledger, sessions, currencies, plugins, outbox, clock, on_enqueued)
        self.reads = OrderReads(ledger, sessions, self.outcomes, outbox, clock)

    def _count(self, tenant: str, account: str, outcome: str) -> None:
        self.metrics.orders.labels(tenant=tenant, account=account, outcome=outcome).inc()

    async def _abandoned(
        self, tenant: str, key: str, claim: KeyClaim, record: OrderRecord | None
    ) -> bool:
        """An in-flight key whose request is no longer running anywhere: it ended without
        answering (its storage failed), or its process died. A request whose order no
        longer names it as owner has concluded that order, whatever became of the key."""
        if claim.owner == self.instance.id:
            return (tenant, key) not in self._keys
        if record is not None and record.owner != claim.owner:
            return True
        return claim.owner not in await self.instance.live()

    async def _choose_account(self, tenant: Tenant, request: PlaceRequest) -> str:
        chosen = await self.plugins.gate(
            "gateway_select_account",
            tenant.name,
            tenant=tenant,
            requested=request.account,
            request=request,
        )
        return tenant.account_for(chosen if chosen is not None else request.account)

    async def place(self, tenant: Tenant, request: PlaceRequest, key: str | None) -> Answer:
        if not tenant.may_place:
            raise Forbidden(f"tenant {tenant.name!r} is an observer and may not place orders")
        account = await self._choose_account(tenant, request)
        structlog.contextvars.bind_contextvars(account=account)
        digest = request_hash(account, request)
        if key is None:
            return await self._place(tenant, account, request, digest, None)
        claim = await self.ledger.claim_key(
            tenant.name, key, digest, self.idempotency_ttl, self.instance.id
        )
        if claim.outcome is Claim.MISMATCH:
            raise IdempotencyMismatch(
                "this Idempotency-Key was used with a different request body; "
                "use a new key for a new request",
                details={"idempotency_key": key},
            )
        held = None
        if claim.outcome is Claim.IN_FLIGHT and claim.order_id:
            held = await self.ledger.get(claim.order_id)
        if claim.outcome is Claim.IN_FLIGHT and await self._abandoned(
            tenant.name, key, claim, held
        ):
            # The request that took this key is gone. With an intent written, that order is
            # the answer (it may exist at the provider: never place it twice; the resolver
            # finds out); without one, nothing reached the provider: run the request afresh,
            # once the key is this request's (of several retries, one wins it).
            if held is not None:
                answer = self._as_answer(held, replayed=True)
                await self.ledger.finish_key(tenant.name, key, answer.status, answer.body, held.id)
                return answer
            if await self.ledger.take_over_key(
                tenant.name, key, digest, claim.owner, self.instance.id
            ):
                return await self._place_keyed(tenant, account, request, digest, key)
        if claim.outcome is Claim.IN_FLIGHT:
            raise IdempotencyInFlight(
                "a request with this Idempotency-Key is still being processed; retry shortly",
                details={"idempotency_key": key, "order_id": claim.order_id},
                headers={"Retry-After": "1"},
            )
        if claim.outcome is Claim.REPLAY:
            self._count(tenant.name, account, "replayed")
            assert claim.status is not None
            if claim.status == 202 and claim.order_id:  # it was unknown: say what it is now
                record = await self.ledger.get(claim.order_id)
                if record is not None:
                    return self._as_answer(record, replayed=True)
            return Answer(claim.status, claim.body, replayed=True)
        return await self._place_keyed(tenant, account, request, digest, key)

    async def _place_keyed(
        self, tenant: Tenant, account: str, request: PlaceRequest, digest: str, key: str
    ) -> Answer:
        """Place under a key this request holds, and leave the key with its answer."""
        self._keys.add((tenant.name, key))
        held: list[str] = []  # the order this key stands for, once its intent is written
        try:
            answer = await self._place(tenant, account, request, digest, key, held)
        except GatewayError as exc:
            if held:  # an order exists: the key answers with it from now on
                record = await self.ledger.get(held[0])
                if record is not None:
                    replay = self._as_answer(record)
                    await self.ledger.finish_key(
                        tenant.name, key, replay.status, replay.body, record.id
                    )
            elif exc.status >= 500:
                await self.ledger.release_key(tenant.name, key)  # worth retrying as is
            else:
                await self.ledger.finish_key(tenant.name, key, exc.status, _error_body(exc), None)
            raise
        except BaseException:
            if not held:
                await self.ledger.release_key(tenant.name, key)
            raise
        finally:
            self._keys.discard((tenant.name, key))
        await self.ledger.finish_key(
            tenant.name, key, answer.status, answer.body, answer.body.get("id")
        )
        return answer

    @staticmethod
    def _as_answer(record: OrderRecord, replayed: bool = False) -> Answer:
        status = 202 if record.status is OrderStatus.UNKNOWN else 201
        return Answer(status, order_view(record, owner=True), replayed=replayed)

    async def _intent(self, tenant: Tenant, account: str, request: PlaceRequest) -> OrderIntent:
        try:
            item = (await self.catalogs[account].items()).get(request.item_id)
            loaded = True
        except CatalogUnavailable:
            item, loaded = None, False
        currency = self.currencies[account]
        return new_intent(tenant, account, currency, request, item, loaded, self.clock.now())

    async def _refused(self, intent: OrderIntent, exc: GatewayError, reserved: bool) -> None:
        if reserved:
            await self.plugins.notify(
                "gateway_settle",
                intent.tenant.name,
                settlement=released(intent),
                transaction=None,
            )
        by = getattr(exc, "plugin", None) or "provider"
        if by != "provider":  # where to read each plugin's word on it
            exc.details.setdefault("order_id", intent.order_id)
        rejection = Rejection(by, exc.code, exc.message, exc.status, exc.details.get("field"))
        self._count(intent.tenant.name, intent.account, "rejected")
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
        held: list[str] | None = None,
    ) -> Answer:
        intent = await self._intent(tenant, account, request)
        decisions = self.plugins.decisions
        decisions.begin(intent.order_id, tenant.name)  # one trace row for the whole placement
        try:
            return await self._place_intent(tenant, intent, digest, key, held)
        finally:
            decisions.close(intent.order_id)

    async def _place_intent(
        self,
        tenant: Tenant,
        intent: OrderIntent,
        digest: str,
        key: str | None,
        held: list[str] | None,
    ) -> Answer:
        request, account = intent.request, intent.account
        try:
            await self.plugins.gate("gateway_validate_order", tenant.name, intent=intent)
        except GatewayError as exc:
            await self._refused(intent, exc, reserved=False)
            raise
        item = intent.item
        quantity = request.quantity
        if quantity is None and item is not None and item.product_type in ("key", "service"):
            quantity = Decimal(1)  # what the provider takes when it is left out
        record = OrderRecord(
            id=intent.order_id,
            reference=new_reference(),
            tenant=tenant.name,
            account=account,
            merchant_order_id=request.merchant_order_id,
            request_hash=digest,
            item_id=request.item_id,
            quantity=quantity,
            fields=request.fields,
            currency=intent.currency,
            status=OrderStatus.UNKNOWN,
            created_at=intent.at,
            updated_at=intent.at,
            item_name=item.name if item else None,
            product_type=item.product_type if item else None,
            price=intent.estimate,  # the catalog's word, until the provider's
            owner=self.instance.id,
        )
        self.placing.add(record.id)
        try:
            return await self._send(tenant, intent, record, key, held)
        finally:
            self.placing.discard(record.id)

    async def _send(
        self,
        tenant: Tenant,
        intent: OrderIntent,
        record: OrderRecord,
        key: str | None,
        held: list[str] | None,
    ) -> Answer:
        existing = await self.ledger.record_intent(record)
        if existing is not None:
            if existing.request_hash != record.request_hash:
                raise Conflict(
                    f"merchant_order_id {record.merchant_order_id!r} is already order "
                    f"{existing.id} with a different request; use a new merchant_order_id",
                    details={"field": "merchant_order_id", "order_id": existing.id},
                )
            self._count(record.tenant, record.account, "existing")
            return Answer(200, order_view(existing, owner=True), replayed=True)
        if held is not None:
            held.append(record.id)
        if key is not None:
            await self.ledger.attach_key(tenant.name, key, record.id)

        async def never_sent(exc: GatewayError) -> None:
            """Refused before the provider was asked, or by the provider on the first
            sending: the intent never became an order."""
            await self.ledger.discard(record.id)
            if held is not None:
                held.clear()
            await self._refused(intent, exc, reserved=True)

        try:
            await self.plugins.gate("gateway_reserve", tenant.name, intent=intent)
        except GatewayError as exc:
            await never_sent(exc)
            raise
        session = self.sessions[record.account]
        lease = self.clock.now() + timedelta(seconds=2 * session.config.timeout_seconds + 5)
        if not await self.ledger.mark_sending(record.id, self.instance.id, lease):
            # Another process took this intent over meanwhile (it thought this one dead) and
            # concluded it was never sent: it must not be sent now.
            current = await self.ledger.get(record.id)
            assert current is not None
            return self._as_answer(current)
        try:
            return await self._ask(tenant, intent, record, never_sent)
        except StorageUnavailable as exc:
            # It may be placed now, and the resolver will find out: the tenant gets its id
            # to follow, not a 503 inviting a second order.
            log.warning("order_outcome_unrecorded", order_id=record.id, error=str(exc))
            return self._as_answer(record)

    async def _ask(
        self,
        tenant: Tenant,
        intent: OrderIntent,
        record: OrderRecord,
        never_sent: Callable[[GatewayError], Awaitable[None]],
    ) -> Answer:
        started = time.monotonic()
        try:
            async with self.plugins.around_provider_call(tenant.name, intent=intent):
                placed = await self.sessions[record.account].place_order(
                    record.reference, intent.request
                )
        except DuplicateReference:
            outcome = Outcome(Verdict.EXISTS, "the provider already has this reference")
        except OutcomeUnknown as exc:
            outcome = Outcome(Verdict.RETRY, exc.reason)
            if exc.reason != "timeout" and time.monotonic() - started < QUICK_FAILURE:
                outcome = await resend(self.sessions[record.account], record)  # at once
        except GatewayError as exc:
            await never_sent(exc)
            raise
        else:
            outcome = Outcome(Verdict.PLACED, "placed", placed=placed)
        stored = await self.outcomes.conclude(record, outcome, by="request")
        await self.plugins.notify(
            "gateway_order_accepted", tenant.name, intent=intent, order=stored
        )
        if stored.status is OrderStatus.UNKNOWN:
            self._count(record.tenant, record.account, "unknown")
            log.warning("order_outcome_unknown", order_id=record.id, reason=outcome.reason)
        elif stored.error == NOT_PLACED:
            self._count(record.tenant, record.account, "not_placed")
        else:
            self._count(record.tenant, record.account, "placed")
            bound = {"order_id": stored.id, "provider_order_id": stored.provider_order_id}
            structlog.contextvars.bind_contextvars(**bound)  # on the request's one log line
        return self._as_answer(stored)


def released(intent: OrderIntent) -> Settlement:
    """Nothing will be charged for this order: its reservation goes."""
    tenant, account = intent.tenant.name, intent.account
    return Settlement("released", intent.order_id, tenant, account, intent.currency)


def _error_body(exc: GatewayError) -> dict[str, Any]:
    return {"error": {"code": exc.code, "message": exc.message, "details": exc.details or None}}
