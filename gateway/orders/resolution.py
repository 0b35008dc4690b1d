"""No dead ends: every order whose outcome is unknown is brought to the truth.

An order is `unknown` when the provider's answer to its place-order was lost
(a timeout, a 5xx, a broken connection) or its process died before asking.
The provider refuses a second order with the same `merchant_order_id`, and the
gateway's reference is unique per order, so sending the same place-order
again can never place it twice. Its answer is the oracle:

- 201: the first sending never created it; now it is placed (`pending`);
- a duplicate refusal: it exists (`pending` without a provider id: its
  webhook settles it, or an operator with the provider's order id);
- a balance or validation refusal: it was never placed (`failed`,
  `NOT_PLACED`) and its reservation is released; except for refusals the
  provider makes before it looks for duplicates (the item is gone or out of
  stock, perhaps because the first sending took the last one): those prove
  nothing, and the order goes to an operator;
- no answer again (5xx, 429, timeout): re-sent later, with backoff, until
  `resend_window_seconds` after the order was asked for. Past the window the
  order is not sent again (the tenant asked for it then, not now): an operator
  decides, after looking at the provider's dashboard for the reference.

An order is only re-sent once the request that placed it has ended (or its
process has died: `gateway.orders.instances`), so two sendings never overlap. An
intent whose request stopped before the provider was asked (it is marked just
before the call) was never sent: it fails as `NOT_PLACED` and its reservation
is released, rather than be placed later without the reservation that its
request may not have made.
"""

from __future__ import annotations

import asyncio
import enum
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from gateway.clock import Clock
from gateway.domain import OrderRecord, PlaceRequest, ProviderOrder
from gateway.errors import (
    DuplicateReference,
    GatewayError,
    InsufficientBalance,
    ProviderBusy,
    ProviderRejected,
)
from gateway.metrics import Metrics
from gateway.orders.instances import Instance
from gateway.provider.accounts import AccountSession, OutcomeUnknown
from gateway.storage import StorageUnavailable

if TYPE_CHECKING:
    from gateway.orders.desk import OrderDesk

log = structlog.get_logger()

FIRST_BACKOFF = 1.0
GAUGES_EVERY = 10.0  # seconds between two counts of the unresolved orders
MAX_BACKOFF = 300.0
NOT_PLACED = "NOT_PLACED"


class Verdict(enum.Enum):
    PLACED = "placed"  # this sending created it
    EXISTS = "exists"  # an earlier sending created it
    NOT_PLACED = "not_placed"
    AMBIGUOUS = "ambiguous"  # a refusal that proves nothing: an operator decides
    RETRY = "retry"  # no definitive answer


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    reason: str
    placed: ProviderOrder | None = None
    retry_after: float | None = None


def request_of(order: OrderRecord) -> PlaceRequest:
    """The place-order the tenant asked for, as the ledger keeps it."""
    return PlaceRequest(
        item_id=order.item_id,
        quantity=order.quantity,
        merchant_order_id=order.merchant_order_id,
        fields=order.fields,
        account=order.account,
    )


async def resend(session: AccountSession, order: OrderRecord) -> Outcome:
    """Send an `unknown` order again with its own reference, and say what the answer proves."""
    try:
        placed = await session.place_order(order.reference, request_of(order))
    except DuplicateReference:
        return Outcome(Verdict.EXISTS, "the provider already has this reference")
    except InsufficientBalance:
        return Outcome(Verdict.NOT_PLACED, "the provider refused it: insufficient balance")
    except ProviderRejected as exc:
        detail = str(exc.details.get("provider") or exc.message)
        if exc.may_hide_duplicate:
            return Outcome(
                Verdict.AMBIGUOUS,
                f"re-sent, the provider refused it ({detail}) before checking for a duplicate, "
                "so whether the first sending placed it is unknown",
            )
        return Outcome(Verdict.NOT_PLACED, f"the provider refused it: {detail}")
    except OutcomeUnknown as exc:
        return Outcome(Verdict.RETRY, f"no answer again ({exc.reason})")
    except ProviderBusy as exc:
        retry = exc.headers.get("Retry-After", "")
        return Outcome(
            Verdict.RETRY,
            "the provider is rate-limiting",
            retry_after=float(retry) if retry.isdigit() else None,
        )
    except GatewayError as exc:  # a provider failure, or an answer nothing proves from
        return Outcome(Verdict.RETRY, f"{exc.code}: {exc.message}")
    return Outcome(Verdict.PLACED, "placed by a re-sending", placed=placed)


def backoff(attempts: int, retry_after: float | None) -> float:
    """Seconds before the next sending: doubling from one second, jittered, capped."""
    delay: float = min(MAX_BACKOFF, FIRST_BACKOFF * 2.0 ** max(0, attempts - 1))
    delay *= 1 + random.uniform(-0.1, 0.1)
    return max(delay, retry_after or 0.0)


class Resolver:
    """Re-sends the `unknown` orders that are due, one process per order."""

    def __init__(
        self,
        desk: OrderDesk,
        instance: Instance,
        clock: Clock,
        metrics: Metrics,
        window: timedelta,
        interval: float = 1.0,
    ) -> None:
        self.desk = desk
        self.instance = instance
        self.clock = clock
        self.metrics = metrics
        self.window = window
        self.interval = interval
        self._gauges_at = 0.0

    async def run_once(self) -> dict[str, int]:
        counts = {v.value: 0 for v in Verdict} | {"skipped": 0, "expired": 0}
        now = self.clock.now()
        due = await self.desk.ledger.due_resends(now, limit=100)
        live = await self.instance.live() if due else set()
        for order in due:
            if not self._abandoned(order, live):
                counts["skipped"] += 1
                continue
            try:
                counts[await self._take(order, now)] += 1
            except StorageUnavailable:
                raise  # the whole turn waits for storage
            except Exception:  # one bad order must not hold up the others
                log.exception("resolve_order_failed", order_id=order.id)
                counts["skipped"] += 1
        if any(v for k, v in counts.items() if k != "skipped"):
            log.info("unknown_orders_resolved", **counts)
        return counts

    async def _take(self, order: OrderRecord, now: datetime) -> str:
        """Do what is due for one abandoned order; returns what became of it."""
        if order.resend_at is None:  # its request stopped before the provider was asked
            failed = await self.desk.outcomes.fail_never_sent(order)
            return Verdict.NOT_PLACED.value if failed else "skipped"
        session = self.desk.sessions.get(order.account)
        if session is None:
            await self.desk.outcomes.give_up(
                order,
                f"account {order.account!r} is no longer in the config, so the order cannot "
                f"be re-sent; look for reference {order.reference} in its provider dashboard",
            )
            return "expired"
        if now - order.created_at > self.window:
            if not await self._claim(order, session):
                return "skipped"
            await self.desk.outcomes.give_up(order, self._past_window(order))
            return "expired"
        if not await self._claim(order, session):
            return "skipped"
        return (await self._resend(order, session)).verdict.value

    def _abandoned(self, order: OrderRecord, live: set[str]) -> bool:
        """Nobody is placing it now: its request ended, or its process died."""
        if order.owner is None:
            return True
        if order.owner == self.instance.id:
            return order.id not in self.desk.placing
        return order.owner not in live

    async def _claim(self, order: OrderRecord, session: AccountSession) -> bool:
        until = self.clock.now() + timedelta(seconds=2 * session.config.timeout_seconds + 5)
        return await self.desk.ledger.claim_resend(order, self.instance.id, until)

    def _past_window(self, order: OrderRecord) -> str:
        return (
            f"no definitive answer from the provider within {self.window.total_seconds():g} s "
            f"of the order ({order.resend_attempts} re-sendings); look for reference "
            f"{order.reference} in the provider's dashboard"
        )

    async def _resend(self, order: OrderRecord, session: AccountSession) -> Outcome:
        self.desk.placing.add(order.id)
        try:
            outcome = await resend(session, order)
            await self.desk.outcomes.conclude(order, outcome)
        finally:
            self.desk.placing.discard(order.id)
        return outcome

    async def refresh_gauges(self) -> None:
        """Unresolved orders by state, and the age of the oldest: what an operator watches."""
        now = self.clock.now()
        for state, (count, oldest) in (await self.desk.ledger.unresolved_counts()).items():
            self.metrics.unresolved.labels(state=state).set(count)
            age = (now - oldest).total_seconds() if oldest else 0.0
            self.metrics.unresolved_age.labels(state=state).set(age)

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            for work in (self.run_once, self._gauges_due):
                try:
                    await work()
                except StorageUnavailable as exc:
                    log.warning("resolver_storage_unavailable", error=str(exc))
                except Exception:  # a bad turn is logged; the next one tries again
                    log.exception("resolver_failed")

    async def _gauges_due(self) -> None:
        if time.monotonic() - self._gauges_at >= GAUGES_EVERY:
            self._gauges_at = time.monotonic()
            await self.refresh_gauges()


def next_resend(clock: Clock, attempts: int, retry_after: float | None = None) -> datetime:
    return clock.now() + timedelta(seconds=backoff(attempts, retry_after))


__all__ = [
    "NOT_PLACED",
    "Outcome",
    "Resolver",
    "Verdict",
    "next_resend",
    "resend",
]
