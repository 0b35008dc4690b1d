"""Delivering the outbox to tenants' endpoints: signed, retried, ordered per order, never lost.

Messages are claimed in a transaction (on PostgreSQL with `FOR UPDATE SKIP
LOCKED`, so several gateway processes share the outbox and none sends a
message another holds) under a lease: a process that dies mid-delivery
leaves the message to be claimed again when its lease runs out. A message
waits while an earlier message of the same order to the same endpoint is
undelivered, so each endpoint sees an order's events in order. Each endpoint
has at most `per_endpoint_concurrency` deliveries in flight per process, so a
slow or dead endpoint delays no other.

Outcomes: a 2xx delivers; 410 disables the endpoint; anything else, a
timeout or a refused connection is retried on the schedule (with jitter, and
never sooner than `Retry-After`), and after the last attempt the message is
dead-lettered (`failed`). An endpoint failing for longer than
`disable_after_hours` is disabled. Either way `gateway_delivery_exhausted`
tells the plugins.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import structlog
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver
from opentelemetry.trace import Span, SpanKind, Tracer, get_current_span
from standardwebhooks import Webhook

from gateway.clock import Clock
from gateway.config import WebhooksConfig
from gateway.hooks.host import PluginHost
from gateway.metrics import Metrics
from gateway.outbox.destinations import DestinationRefused, GuardedResolver
from gateway.outbox.queue import Attempt, Messages
from gateway.outbox.rates import DeliveryRates
from gateway.outbox.subscriptions import (
    Subscription,
    Subscriptions,
    current,
    disable,
    mark_failing,
    mark_healthy,
)
from gateway.storage import Database, Row, StorageUnavailable, Transaction
from gateway.storage.group import GroupCommit
from gateway.tracing import NO_TRACER, inject, span, stored_context

log = structlog.get_logger()

EXCERPT = 512
STATISTICS_EVERY = 10.0  # seconds between ANALYZE runs of the outbox on PostgreSQL
MAX_RETRY_AFTER = 24 * 3600


def sign(message_id: str, when: datetime, body: str, secrets: list[str]) -> str:
    """Standard Webhooks `webhook-signature`: one `v1,<base64>` per active secret."""
    return " ".join(Webhook(secret).sign(message_id, when, body) for secret in secrets)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        config: WebhooksConfig,
        subscriptions: Subscriptions,
        plugins: PluginHost,
        metrics: Metrics,
        resolver: AbstractResolver | None = None,
        rng: random.Random | None = None,
        tracer: Tracer = NO_TRACER,
    ) -> None:
        self.db = db
        self.tracer = tracer
        # attempts finish by the hundred per second under load: record them together
        self._commits = GroupCommit(db)
        self.clock = clock
        self.config = config
        self.subscriptions = subscriptions
        self.messages = Messages(clock, subscriptions.sealer)
        self.rates = DeliveryRates(clock)
        self.plugins = plugins
        self.metrics = metrics
        self.rng = rng or random.Random()
        # checks every address it gives against the destination rules (destinations.py)
        self.resolver = resolver or GuardedResolver(DefaultResolver(), subscriptions.policy)
        self._http: aiohttp.ClientSession | None = None
        self._wake = asyncio.Event()
        self._in_flight: dict[str, int] = defaultdict(int)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=0, resolver=self.resolver),
            trust_env=False,  # never through a proxy from the environment: it would see past
        )  # the destination rules

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._commits.close()
        if self._http is not None:
            await self._http.close()

    def wake(self) -> None:
        self._wake.set()

    # --- claiming ---------------------------------------------------------------------

    async def claim(self, limit: int) -> list[Row]:
        """Take up to `limit` due messages this process may send now, under a lease, each
        with its endpoint as it is now (`_subscription`)."""
        now = self.clock.now()
        lease = now + timedelta(seconds=self.config.attempt_timeout_seconds * 2 + 30)

        async def claim(tx: Transaction) -> list[Row]:
            rows = await self.messages.claim(
                tx, self.db.engine, now, lease, self.config.per_endpoint_concurrency,
                self._in_flight, limit,
            )  # fmt: skip
            if rows:
                endpoints = await current(tx, {r["subscription_id"] for r in rows})
                for row in rows:
                    row["_subscription"] = endpoints.get(row["subscription_id"])
            return rows

        return await self.db.transaction(claim)

    # --- running ----------------------------------------------------------------------

    async def run_due(self) -> int:
        """Deliver everything due now and wait for it (tests drive time with this)."""
        sent = 0
        while rows := await self.claim(100):
            await asyncio.gather(*(self._tracked(row) for row in rows))
            sent += len(rows)
        return sent

    async def run_forever(self) -> None:
        analyzed = 0.0
        while True:
            self._wake.clear()  # before the claim: a wake while it runs must not be lost
            try:
                if time.monotonic() - analyzed > STATISTICS_EVERY:
                    analyzed = time.monotonic()
                    await self.messages.analyze(self.db)
                rows = await self.claim(100)
            except StorageUnavailable as exc:  # an outage: wait, and claim again
                log.warning("dispatcher_storage_unavailable", error=str(exc))
                rows = []
            except Exception:  # a bug in one turn must not stop deliveries for good
                log.exception("dispatcher_turn_failed")
                rows = []
            for row in rows:
                task = asyncio.create_task(self._tracked(row))
                self._tasks.add(task)
                task.add_done_callback(self._done)
            if not rows:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel
                # that lands as the wake arrives, and the task then never stops.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.config.poll_interval_seconds):
                        await self._wake.wait()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()

    async def _tracked(self, row: Row) -> None:
        """One delivery, in a task of its own: every line it logs names the message and the
        request that caused it, and it is a span in that request's trace (a child of the
        context stored with the message), whose context the webhook carries on."""
        sub = row["subscription_id"]
        structlog.contextvars.bind_contextvars(
            request_id=row.get("request_id"), message_id=row["id"]
        )
        self._in_flight[sub] += 1
        try:
            with span(
                self.tracer,
                "webhook delivery",
                context=stored_context(row.get("traceparent")),
                kind=SpanKind.CLIENT,
                attributes=_delivery_attributes(row),
            ):
                await self.deliver(row)
        except StorageUnavailable as exc:  # its lease runs out and it is claimed again
            log.warning("delivery_storage_unavailable", message_id=row["id"], error=str(exc))
        except Exception:
            log.exception("delivery_crashed", message_id=row["id"])
        finally:
            self._in_flight[sub] -= 1

    # --- one attempt ---------------------------------------------------------------------

    async def deliver(self, row: Row) -> None:
        assert self._http is not None, "Dispatcher.start() was not awaited"
        subscription: Subscription | None = row.get("_subscription")
        if subscription is None or subscription.state != "active":
            state = (
                "cancelled"
                if subscription is None or subscription.state == "deleted"
                else "pending"
            )
            await self.messages.release(self.db, row["id"], state)
            return
        now = self.clock.now()
        if subscription.rate_limit:
            wait_until = self.rates.take(subscription.id, subscription.rate_limit)
            if wait_until is not None:  # over the endpoint's rate: it waits, it is not dropped
                await self.messages.postpone(self.db, row["id"], wait_until)
                return
        body: str = self.messages.open(row["payload"])  # stored sealed
        signing = subscription.signing_secrets(now, self.subscriptions.sealer)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "order-gateway-webhooks/1",
            "webhook-id": row["id"],
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": sign(row["id"], now, body, signing),
        }
        if row.get("request_id"):  # the tenant's (or the intake's) request that caused it
            headers["X-Request-Id"] = row["request_id"]
        inject(headers)  # traceparent: this attempt's span, in the trace that caused it
        status: int | None = None
        excerpt: str | None = None
        error: str | None = None
        retry_after: float | None = None
        started = time.perf_counter()
        try:
            # a literal address is connected to without the resolver: judge it here; a name
            # is judged by the resolver on each address it gives
            self.subscriptions.policy.check_literal(subscription.url)
            async with self._http.post(
                subscription.url,
                data=body.encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.config.attempt_timeout_seconds),
                allow_redirects=False,
            ) as response:
                status = response.status
                excerpt = (await response.content.read(EXCERPT)).decode(errors="replace")
                retry_after = _retry_after(response.headers.get("Retry-After"))
        except DestinationRefused as exc:
            error = f"destination not allowed ({exc.rule}): {exc.message}"
        except TimeoutError:
            error = f"no answer within {self.config.attempt_timeout_seconds:g} s"
        except aiohttp.ClientError as exc:
            error = f"{type(exc).__name__}: {exc}"[:EXCERPT]
        latency_ms = int((time.perf_counter() - started) * 1000)
        await self._record(row, subscription, status, excerpt, error, retry_after, latency_ms)

    async def _record(
        self,
        row: Row,
        subscription: Subscription,
        status: int | None,
        excerpt: str | None,
        error: str | None,
        retry_after: float | None,
        latency_ms: int,
    ) -> None:
        now = self.clock.now()

        tried = Attempt(
            row["id"], subscription.id, int(row["attempts"]) + 1, now, status, latency_ms,
            excerpt, error,
        )  # fmt: skip

        async def record(tx: Transaction) -> tuple[str, str | None]:
            exhausted: str | None = None  # why the plugins are told, if they are
            if status is not None and 200 <= status < 300:
                await self.messages.delivered(tx, self.db.engine, tried)
                if subscription.failing_since is not None:
                    await mark_healthy(tx, subscription.id)
                return "delivered", None
            schedule = self.config.retry_schedule_seconds
            if status == 410:
                outcome = exhausted = "gone"
                await self.messages.dead(tx, tried)
                await self._disable(tx, subscription, "the endpoint answered 410 Gone", now)
            elif tried.number > len(schedule):
                outcome = exhausted = "dead"
                await self.messages.dead(tx, tried)
            else:
                outcome = "retry"
                delay = schedule[tried.number - 1] * (
                    1 + self.rng.uniform(-self.config.jitter, self.config.jitter)
                )
                if retry_after is not None:
                    delay = max(delay, retry_after)
                await self.messages.retry_at(tx, tried, now + timedelta(seconds=delay))
            if status != 410:
                failing_since = subscription.failing_since or now
                if subscription.failing_since is None:
                    await mark_failing(tx, subscription.id, now)
                elif now - failing_since >= timedelta(hours=self.config.disable_after_hours):
                    exhausted = exhausted or "disabled"
                    await self._disable(
                        tx,
                        subscription,
                        f"failing since {failing_since.isoformat()} "
                        f"(more than {self.config.disable_after_hours:g} h)",
                        now,
                    )
            return outcome, exhausted

        outcome, exhausted = await self._commits.run(record)
        _delivery_outcome(get_current_span(), status, outcome)
        self.metrics.deliveries.labels(outcome=outcome).inc()
        self.metrics.delivery_seconds.labels(outcome=outcome).observe(latency_ms / 1000)
        log.info(
            "webhook_delivery",
            subscription_id=subscription.id,
            attempt=tried.number,
            status=status,
            error=error,
            outcome=outcome,
            latency_ms=latency_ms,
        )
        if exhausted is not None:
            await self.plugins.notify(
                "gateway_delivery_exhausted",
                subscription.tenant,
                tenant=subscription.tenant,
                subscription_id=subscription.id,
                message_id=row["id"],
                event_type=row["event_type"],
            )

    async def _disable(
        self, tx: Any, subscription: Subscription, reason: str, now: datetime
    ) -> None:
        await disable(tx, subscription.id, reason, now)
        log.warning("subscription_disabled", subscription_id=subscription.id, reason=reason)


def _delivery_attributes(row: Row) -> dict[str, str | int]:
    return {
        "gateway.message_id": row["id"],
        "gateway.subscription_id": row["subscription_id"],
        "gateway.event_type": row["event_type"],
        "gateway.delivery.attempt": int(row["attempts"]) + 1,
    }


def _delivery_outcome(span: Span, status: int | None, outcome: str) -> None:
    if span.is_recording():
        span.set_attribute("gateway.delivery.outcome", outcome)
        if status is not None:
            span.set_attribute("http.response.status_code", status)


def _retry_after(value: str | None) -> float | None:
    if value is None or not value.strip().isascii() or not value.strip().isdigit():
        return None
    return float(min(int(value.strip()), MAX_RETRY_AFTER))
