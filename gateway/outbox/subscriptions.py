"""Tenants' webhook endpoints: what they want to hear, about which orders, signed with what.

Scope `own` hears about the tenant's own orders; `account:<name>` about every
order on that account, dashboard orders included, and is for observers and
admins. Each endpoint has a `whsec_` secret (Standard Webhooks); rotating it
keeps the old one signing alongside for an overlap window, so receivers can
switch without losing a message.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp.abc import AbstractResolver

from gateway.clock import Clock, isoformat_z, stamp, unstamp
from gateway.errors import (
    DestinationNotAllowed,
    InvalidField,
    NotFound,
    QuotaExceeded,
    RotationInProgress,
)
from gateway.outbox import filters
from gateway.outbox.destinations import DestinationPolicy, DestinationRefused
from gateway.outbox.fields import EVENT_TYPES as EVENT_TYPES
from gateway.outbox.fields import check_event_types, check_rate, check_scope, check_url
from gateway.outbox.queue import Messages
from gateway.sealing import Sealer, reseal_column
from gateway.storage import Database, Row, Transaction
from gateway.tenants import Tenant

TEST_EVENT = "ping"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass(frozen=True)
class Subscription:
    id: str
    tenant: str
    url: str
    event_types: tuple[str, ...]
    scope: str
    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    state: str
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime
    filter: dict[str, Any] | None = None
    rate_limit: float | None = None  # deliveries a second, per process

    def wants(self, event_type: str, data: dict[str, Any] | None = None) -> bool:
        """Its types, and its payload filter on the event as it would be sent."""
        if event_type == TEST_EVENT:
            return True
        if self.event_types and event_type not in self.event_types:
            return False
        event = {"type": event_type, "data": data or {}}
        return self.filter is None or filters.matches(self.filter, event)

    def signing_secrets(self, now: datetime, sealer: Sealer) -> list[str]:
        """The secrets that sign now, opened: `secret` and `previous_secret` are kept as
        stored (sealed), and opened only to sign, so that fanning an event out to many
        endpoints costs no decryption."""
        keys = [sealer.open(self.secret)]
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            keys.append(sealer.open(self.previous_secret))
        return keys

    def view(self, *, secret: str | None = None) -> dict[str, Any]:
        """The tenant's view; `secret` (opened) only in the answers that show it once."""
        body: dict[str, Any] = {
            "id": self.id,
            "url": self.url,
            "event_types": list(self.event_types),
            "scope": self.scope,
            "filter": self.filter,
            "rate_limit_per_second": self.rate_limit,
            "state": self.state,
            "disabled_reason": self.disabled_reason,
            "failing_since": isoformat_z(self.failing_since) if self.failing_since else None,
            "previous_secret_expires_at": isoformat_z(self.previous_secret_until)
            if self.previous_secret_until
            else None,
            "created_at": isoformat_z(self.created_at),
        }
        if secret is not None:
            body["secret"] = secret
        return body


def subscription_from_row(row: Row) -> Subscription:
    return Subscription(
        id=row["id"],
        tenant=row["tenant"],
        url=row["url"],
        event_types=tuple(json.loads(row["event_types"])),
        scope=row["scope"],
        secret=row["secret"],
        previous_secret=row["previous_secret"],
        previous_secret_until=unstamp(row["previous_secret_until"])
        if row["previous_secret_until"]
        else None,
        state=row["state"],
        disabled_reason=row["disabled_reason"],
        failing_since=unstamp(row["failing_since"]) if row["failing_since"] else None,
        created_at=unstamp(row["created_at"]),
        updated_at=unstamp(row["updated_at"]),
        filter=json.loads(row["filter"]) if row["filter"] else None,
        rate_limit=row["rate_limit"],
    )


# --- statements the outbox and the dispatcher run inside their own transactions ---------


def hears(tenant: str = "$1", scope: str = "$2") -> str:
    """The condition on endpoints that hear about an order of the tenant in parameter
    `tenant` on the account whose scope ('account:NAME') is in parameter `scope`."""
    return (
        f"state IN ('active', 'disabled') AND ((scope = 'own' AND tenant = {tenant})"
        f" OR scope = {scope})"
    )


async def subscribers(tx: Transaction, account: str, tenant: str | None) -> list[Subscription]:
    """Who hears about an order on `account` placed by `tenant` (None: not placed by us)."""
    rows = await tx.fetch(
        f"SELECT * FROM subscriptions WHERE {hears()} ORDER BY created_at, id",
        tenant or "",
        f"account:{account}",
    )
    return [subscription_from_row(r) for r in rows]


async def current(tx: Transaction, ids: set[str]) -> dict[str, Subscription]:
    """Endpoints as they are now, one read for a batch of messages."""
    ordered = sorted(ids)
    marks = ", ".join(f"${i}" for i in range(1, 1 + len(ordered)))
    rows = await tx.fetch(f"SELECT * FROM subscriptions WHERE id IN ({marks})", *ordered)
    return {r["id"]: subscription_from_row(r) for r in rows}


async def mark_failing(tx: Transaction, subscription_id: str, now: datetime) -> None:
    await tx.execute(
        "UPDATE subscriptions SET failing_since = $2 WHERE id = $1 AND failing_since IS NULL",
        subscription_id,
        stamp(now),
    )


async def mark_healthy(tx: Transaction, subscription_id: str) -> None:
    await tx.execute("UPDATE subscriptions SET failing_since = NULL WHERE id = $1", subscription_id)


async def disable(tx: Transaction, subscription_id: str, reason: str, now: datetime) -> None:
    await tx.execute(
        "UPDATE subscriptions SET state = 'disabled', disabled_reason = $2, updated_at = $3"
        " WHERE id = $1 AND state = 'active'",
        subscription_id,
        reason,
        stamp(now),
    )


class Subscriptions:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        secret_overlap: timedelta,
        policy: DestinationPolicy,
        resolver: AbstractResolver,
        quota: int,
        sealer: Sealer,
    ) -> None:
        self.sealer = sealer
        self.db = db
        self.clock = clock
        self.secret_overlap = secret_overlap
        self.policy = policy
        self.resolver = resolver
        self.quota = quota

    async def _destination(self, value: Any) -> str:
        url = check_url(value)
        try:
            await self.policy.check(url, self.resolver)
        except DestinationRefused as exc:
            raise DestinationNotAllowed(exc.rule, exc.message) from None
        return url

    async def create(self, tenant: Tenant, body: dict[str, Any]) -> Subscription:
        unknown = set(body) - {"url", "event_types", "scope", "filter", "rate_limit_per_second"}
        if unknown:
            raise InvalidField(
                sorted(unknown)[0],
                "unknown field; a subscription takes url, event_types, scope, filter,"
                " rate_limit_per_second",
            )
        rate = check_rate(body.get("rate_limit_per_second"))
        url = await self._destination(body.get("url"))
        types = check_event_types(body.get("event_types"))
        scope = check_scope(body.get("scope"), tenant)
        rule = None if body.get("filter") is None else filters.check(body["filter"])
        row = await self.db.fetchrow(
            "SELECT COUNT(*) AS n FROM subscriptions WHERE tenant = $1 AND state != 'deleted'",
            tenant.name,
        )
        held = int(row["n"]) if row else 0
        if held >= self.quota:
            raise QuotaExceeded(
                f"you have {held} subscriptions, the most a tenant may have; delete one you no "
                "longer use (an endpoint can hear every event type), or ask the operators to "
                "raise [webhooks.destinations] max_subscriptions_per_tenant",
                details={"limit": self.quota},
            )
        now = stamp(self.clock.now())
        subscription_id = "sub_" + uuid.uuid4().hex
        await self.db.execute(
            "INSERT INTO subscriptions (id, tenant, url, event_types, scope, secret, state,"
            " created_at, updated_at, filter, rate_limit)"
            " VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7, $8, $9)",
            subscription_id,
            tenant.name,
            url,
            json.dumps(list(types)),
            scope,
            self.sealer.seal(new_secret()),
            now,
            None if rule is None else json.dumps(rule, sort_keys=True),
            rate,
        )
        return await self.get(tenant, subscription_id)

    async def get(self, tenant: Tenant, subscription_id: str) -> Subscription:
        row = await self.db.fetchrow(
            "SELECT * FROM subscriptions WHERE id = $1 AND tenant = $2 AND state != 'deleted'",
            subscription_id,
            tenant.name,
        )
        if row is None:
            raise NotFound(f"no subscription {subscription_id} for tenant {tenant.name!r}")
        return subscription_from_row(row)

    async def by_id(self, subscription_id: str) -> Subscription | None:
        row = await self.db.fetchrow("SELECT * FROM subscriptions WHERE id = $1", subscription_id)
        return subscription_from_row(row) if row else None

    async def list(self, tenant: Tenant) -> list[Subscription]:
        rows = await self.db.fetch(
            "SELECT * FROM subscriptions WHERE tenant = $1 AND state != 'deleted'"
            " ORDER BY created_at DESC, id DESC",
            tenant.name,
        )
        return [subscription_from_row(r) for r in rows]

    async def update(
        self, tenant: Tenant, subscription_id: str, body: dict[str, Any]
    ) -> Subscription:
        current = await self.get(tenant, subscription_id)
        fields = {"url", "event_types", "scope", "state", "filter", "rate_limit_per_second"}
        unknown = set(body) - fields
        if unknown:
            raise InvalidField(
                sorted(unknown)[0], f"unknown field; you may change {', '.join(sorted(fields))}"
            )
        rate = current.rate_limit  # 0 removes it
        if "rate_limit_per_second" in body:
            rate = check_rate(body["rate_limit_per_second"])
        rule = current.filter  # an empty object removes it
        if "filter" in body:
            rule = None if body["filter"] == {} else filters.check(body["filter"])
        url = await self._destination(body["url"]) if "url" in body else current.url
        types = (
            check_event_types(body["event_types"]) if "event_types" in body else current.event_types
        )
        scope = check_scope(body["scope"], tenant) if "scope" in body else current.scope
        state = body.get("state", current.state)
        if state not in ("active", "disabled"):
            raise InvalidField("state", "'active' (re-enable) or 'disabled'")
        reason = current.disabled_reason if state == "disabled" else None
        if state == "disabled" and current.state != "disabled":
            reason = "disabled by the tenant"
        await self.db.execute(
            "UPDATE subscriptions SET url = $2, event_types = $3, scope = $4, state = $5,"
            " disabled_reason = $6, failing_since = CASE WHEN $5 = 'active' THEN NULL"
            " ELSE failing_since END, updated_at = $7, filter = $8, rate_limit = $9"
            " WHERE id = $1",
            subscription_id,
            url,
            json.dumps(list(types)),
            scope,
            state,
            reason,
            stamp(self.clock.now()),
            None if rule is None else json.dumps(rule, sort_keys=True),
            rate,
        )
        return await self.get(tenant, subscription_id)

    async def delete(self, tenant: Tenant, subscription_id: str) -> None:
        await self.get(tenant, subscription_id)

        async def delete(tx: Transaction) -> None:
            await tx.execute(
                "UPDATE subscriptions SET state = 'deleted', updated_at = $2 WHERE id = $1",
                subscription_id,
                stamp(self.clock.now()),
            )
            await Messages(self.clock).cancel_for(tx, subscription_id)

        await self.db.transaction(delete)

    def with_secret(self, subscription: Subscription) -> dict[str, Any]:
        """The view with its signing secret, for the two answers that show it."""
        return subscription.view(secret=self.sealer.open(subscription.secret))

    @staticmethod
    async def resealer(db: Database, sealer: Sealer) -> dict[str, tuple[int, int]]:
        """`gateway seal rekey` for the signing secrets."""
        return {
            f"subscriptions.{column}": await reseal_column(
                db, sealer, "subscriptions", ("id",), column
            )
            for column in ("secret", "previous_secret")
        }

    async def rotate(self, tenant: Tenant, subscription_id: str) -> Subscription:
        """A new secret; the current one keeps signing beside it for the overlap window. A
        second rotation inside that window is refused: it would drop the first old secret
        at once, and the receiver may not have switched yet (to cut a leaked secret off
        now, delete the subscription and create a new one)."""
        current = await self.get(tenant, subscription_id)
        now = self.clock.now()
        until = current.previous_secret_until
        if current.previous_secret and until is not None and now < until:
            raise RotationInProgress(
                f"the previous rotation's old secret still signs until {isoformat_z(until)}; "
                "rotate again after that, or, to stop a leaked secret now, delete this "
                "subscription and create a new one",
                details={"previous_secret_expires_at": isoformat_z(until)},
            )
        await self.db.execute(
            "UPDATE subscriptions SET secret = $2, previous_secret = $3,"
            " previous_secret_until = $4, updated_at = $5 WHERE id = $1",
            subscription_id,
            self.sealer.seal(new_secret()),
            current.secret,  # as stored: sealed
            stamp(now + self.secret_overlap),
            stamp(now),
        )
        return await self.get(tenant, subscription_id)
