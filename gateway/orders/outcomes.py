"""What becomes of an order once something is known about it, in one transaction each.

A provider answer (to the gateway's own sending or a re-sending), a read by id,
a provider webhook, an operator's word: each is applied here to the locked
order with everything that must commit with it (the plugins' settlement, the
tenants' events in the outbox), and the order only ever moves forward: a
terminal status is never overwritten, except `NOT_PLACED`, which was the
gateway's inference, by the provider's own word. `OrderDesk` places orders;
`gateway.orders.resolution` finds out what became of the unknown ones; both end here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

import structlog

from gateway.clock import Clock, stamp
from gateway.domain import OrderRecord, OrderStatus, ProviderOrder
from gateway.errors import Conflict, InvalidField, NotFound, ProviderIdConflict
from gateway.hooks.host import PluginHost
from gateway.orders.answers import Answers, settlement_of
from gateway.orders.ledger import Ledger
from gateway.orders.resolution import NOT_PLACED, Outcome, Verdict, next_resend
from gateway.outbox.events import Outbox
from gateway.plugin_api import Resolution, Settlement
from gateway.provider.accounts import AccountSession
from gateway.storage import Transaction

log = structlog.get_logger()


class Outcomes:
    def __init__(
        self,
        ledger: Ledger,
        sessions: dict[str, AccountSession],
        currencies: dict[str, str],
        plugins: PluginHost,
        outbox: Outbox,
        clock: Clock,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self.ledger = ledger
        self.sessions = sessions
        self.currencies = currencies
        self.plugins = plugins
        self.outbox = outbox
        self.clock = clock
        self.on_enqueued = on_enqueued
        self.answers = Answers(ledger, outbox, plugins)  # the first answers, batched

    def wake(self, written: int) -> None:
        """After a commit: tell the dispatcher, if that transaction wrote to the outbox (so
        that orders nobody subscribed to cost no delivery round)."""
        if written:
            self.on_enqueued()

    async def conclude(
        self, order: OrderRecord, outcome: Outcome, by: str = "gateway"
    ) -> OrderRecord:
        """Apply a sending's outcome to an order that was `unknown`, in one transaction with
        its settlement and its tenants' event. The order's current state wins over the
        outcome: a webhook that came first has said more than any place-order answer."""
        placed = outcome.placed

        async def apply(tx: Transaction) -> tuple[OrderRecord, bool, int]:
            if placed is not None and not placed.status.terminal:
                stored = await self.ledger.apply_to_intent(tx, order, placed)
                if stored is not None:  # still the intent: one statement, no lock
                    return await self._after_sending(tx, order, stored, placed)
            current = await self.ledger.lock(tx, order.id)
            if current is None:
                raise NotFound(f"no order {order.id}")
            if placed is not None and placed.status.terminal:  # an operator's read
                return await self.apply_locked(tx, current, placed)
            if placed is not None:
                stored = await self.ledger.apply_in(tx, current, placed)
                return await self._after_sending(tx, current, stored, placed)
            operator = by.startswith("operator:")
            if current.status is not OrderStatus.UNKNOWN or (current.unresolved and not operator):
                return current, False, 0  # settled meanwhile: nothing to add
            return await self._settle_unknown(tx, current, outcome)

        alone: tuple[OrderRecord, bool, int] | None = None
        if placed is not None:  # the provider's first word, as one statement if it can be
            alone = await self.answers.alone(order, placed)
        try:
            if alone is None:
                alone = await self.ledger.db.transaction(apply)
        except ProviderIdConflict as exc:  # nothing was written: the order goes to an operator
            log.error(
                "provider_order_id_conflict", **exc.details, provider_id=exc.provider_order_id
            )
            return await self.give_up(order, "provider_order_id_conflict")
        after, turned, written = alone
        await self.after_terminal(after, turned, written)
        if after.unresolved and outcome.verdict is Verdict.AMBIGUOUS:
            log.warning("order_needs_operator", order_id=after.id, reason=after.unresolved)
        first_answer = by == "request" and outcome.verdict is Verdict.PLACED
        if outcome.verdict is not Verdict.RETRY and not first_answer:
            await self.resolved(after, outcome.verdict.value, by, outcome.reason)
        return after

    async def _after_sending(
        self, tx: Transaction, before: OrderRecord, stored: OrderRecord, placed: ProviderOrder
    ) -> tuple[OrderRecord, bool, int]:
        written = 0
        if before.status is OrderStatus.UNKNOWN and not stored.status.terminal:
            written = await self.outbox.order_event(tx, stored)
        await self.plugins.notify(
            "gateway_settle",
            stored.tenant,
            settlement=settlement_of(stored, "placed", charged=placed.price),
            transaction=tx,
        )
        return stored, False, written

    async def _settle_unknown(
        self, tx: Transaction, current: OrderRecord, outcome: Outcome
    ) -> tuple[OrderRecord, bool, int]:
        verdict = outcome.verdict
        if verdict is Verdict.EXISTS:
            after = await self.ledger.set_resolution(tx, current, status=OrderStatus.PENDING)
            return after, False, await self.outbox.order_event(tx, after)
        if verdict is Verdict.NOT_PLACED:
            message = f"the provider never placed this order: {outcome.reason}"
            after = await self.ledger.set_resolution(
                tx, current, status=OrderStatus.FAILED, error=(NOT_PLACED, message)
            )
            await self.plugins.notify(
                "gateway_settle",
                after.tenant,
                settlement=settlement_of(after, "released"),
                transaction=tx,
            )
            return after, True, await self.outbox.order_event(tx, after)
        if verdict is Verdict.AMBIGUOUS:
            return (
                await self.ledger.set_resolution(tx, current, unresolved=outcome.reason),
                False,
                0,
            )
        attempts = current.resend_attempts + 1  # sendings that got no definitive answer
        after = await self.ledger.set_resolution(
            tx,
            current,
            attempts=attempts,
            resend_at=next_resend(self.clock, attempts, outcome.retry_after),
        )
        if current.resend_attempts:
            return after, False, 0
        # The first word the tenants and plugins hear of it: no answer yet. It comes only
        # while the order is still `unknown`, so never after a later state.
        await self.plugins.notify(
            "gateway_settle",
            after.tenant,
            settlement=settlement_of(after, "unknown"),
            transaction=tx,
        )
        return after, False, await self.outbox.order_event(tx, after)

    async def resolve_by_operator(
        self,
        order_id: str,
        *,
        provider_order_id: str | None,
        not_placed: bool,
        operator: str,
    ) -> OrderRecord:
        """An operator looked for the order's reference in the provider's dashboard: it is
        there (its provider order id), or it is not (`not_placed`). Audited as theirs."""
        if (provider_order_id is None) == (not not_placed):
            raise InvalidField(
                "resolution", "give either the provider's order id or not_placed, not both"
            )
        record = await self.ledger.get(order_id) if is_uuid(order_id) else None
        if record is None:
            raise NotFound(f"no order {order_id}")
        if record.status.terminal:
            raise Conflict(
                f"order {order_id} is already {record.status.value}; nothing to resolve",
                details={"status": record.status.value},
            )
        by = f"operator:{operator}"
        if provider_order_id is not None:
            if not is_uuid(provider_order_id):
                raise InvalidField("provider_order_id", "the provider's order id, a uuid")
            seen = await self.sessions[record.account].get_order(provider_order_id)
            if seen.reference != record.reference:
                raise Conflict(
                    f"provider order {provider_order_id} has merchant_order_id "
                    f"{seen.reference!r}, not this order's reference {record.reference!r}; "
                    "check the id in the provider's dashboard",
                    details={"reference": record.reference},
                )
            reason = f"the provider's order {provider_order_id}, found by its reference"
            return await self.conclude(record, Outcome(Verdict.PLACED, reason, seen), by=by)
        if record.status is OrderStatus.UNKNOWN and record.unresolved is None:
            raise Conflict(
                f"order {order_id} is still being re-sent: the gateway will know whether it "
                "was placed as soon as the provider answers. Only an order waiting for an "
                "operator (gateway orders unresolved, state operator) can be declared not "
                "placed; one found in the provider's dashboard can be resolved with its id",
                details={"state": "resending"},
            )
        if record.status is not OrderStatus.UNKNOWN:
            raise Conflict(
                f"order {order_id} was placed: the provider refused a duplicate of its "
                "reference or answered with it. Find it in the provider's dashboard by "
                f"reference {record.reference} and resolve it with its provider order id",
                details={"reference": record.reference},
            )
        reason = "an operator found no order with this reference in the provider's dashboard"
        return await self.conclude(record, Outcome(Verdict.NOT_PLACED, reason), by=by)

    async def fail_never_sent(self, order: OrderRecord) -> bool:
        """An intent whose request stopped before the provider was asked: in one locked
        transaction, so that it is failed only while it is still unsent and still its dead
        owner's (its own request's `mark_sending` then finds it taken and sends nothing)."""
        reason = "the gateway stopped before it was sent to the provider"

        async def fail(tx: Transaction) -> tuple[OrderRecord, bool, int] | None:
            current = await self.ledger.lock(tx, order.id)
            if (
                current is None
                or current.status is not OrderStatus.UNKNOWN
                or current.resend_at is not None
                or current.owner != order.owner
                or current.unresolved is not None
            ):
                return None
            return await self._settle_unknown(tx, current, Outcome(Verdict.NOT_PLACED, reason))

        done = await self.ledger.db.transaction(fail)
        if done is None:
            return False
        after, turned, written = done
        await self.after_terminal(after, turned, written)
        await self.resolved(after, Verdict.NOT_PLACED.value, "gateway", reason)
        return True

    async def give_up(self, order: OrderRecord, reason: str) -> OrderRecord:
        """The gateway cannot find out by itself (past the re-send window; or placed, with
        no provider id, and no webhook came): an operator decides."""

        async def hand_over(tx: Transaction) -> OrderRecord | None:
            current = await self.ledger.lock(tx, order.id)
            if current is None or current.status.terminal or current.unresolved:
                return None
            if current.provider_order_id is not None:
                return None  # readable: the reconciler settles it
            return await self.ledger.set_resolution(tx, current, unresolved=reason)

        after = await self.ledger.db.transaction(hand_over)
        if after is None:
            return order
        log.warning("order_needs_operator", order_id=after.id, reason=reason)
        await self.resolved(after, Verdict.AMBIGUOUS.value, "gateway", reason)
        return after

    async def resolved(self, order: OrderRecord, outcome: str, by: str, reason: str) -> None:
        await self.plugins.notify(
            "gateway_order_resolved",
            order.tenant,
            order=order,
            resolution=Resolution(
                outcome=outcome, by=by, reason=reason, attempts=order.resend_attempts
            ),
        )

    async def apply_read(self, before: OrderRecord, seen: ProviderOrder) -> OrderRecord:
        """Apply a provider read to an order (read-through and reconciliation)."""

        async def apply(tx: Transaction) -> tuple[OrderRecord, bool, int]:
            current = await self.ledger.lock(tx, before.id)
            assert current is not None
            return await self.apply_locked(tx, current, seen)

        after, turned, written = await self.ledger.db.transaction(apply)
        await self.after_terminal(after, turned, written)
        return after

    async def apply_locked(
        self, tx: Transaction, current: OrderRecord, seen: ProviderOrder
    ) -> tuple[OrderRecord, bool, int]:
        """Inside the caller's transaction: update the ledger and, the first time the order
        turns terminal, settle the plugins' reservations and enqueue the tenants' event.
        Returns the order, whether it turned terminal, and the messages written."""
        after = await self.ledger.apply_in(tx, current, seen)
        overridden = current.error == NOT_PLACED and after is not current  # the provider has it
        turned = after.status.terminal and (not current.status.terminal or overridden)
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

    async def after_terminal(self, order: OrderRecord, turned: bool, written: int) -> None:
        self.wake(written)
        if turned:
            await self.plugins.notify("gateway_order_settled", order.tenant, order=order)

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
                self.ledger.sealer.seal(body.decode()),  # it carries the codes
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
                record, turned, written = await self.apply_locked(tx, record, seen)
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
        self.wake(written)
        await self.plugins.notify(
            "gateway_provider_webhook",
            record.tenant if record else None,
            account=account,
            event=seen,
            order=record,
        )
        if record is not None:
            await self.after_terminal(record, turned, 0)
        return record, False


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
