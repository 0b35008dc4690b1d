"""Who hears about a tenant's orders on an account, as this process last saw it.

The provider's first answer to a place-order is the commonest change of all, and
on PostgreSQL it is written as one statement with its messages and no transaction
(`gateway.orders.answers`). For that the process keeps, per tenant and account,
the endpoints that hear about the order and a fingerprint of them as the database
held them. The statement changes nothing unless the database's fingerprint is
still the one its messages were made for, so an endpoint added, changed or removed
by any replica is never missed: the order then takes the ordinary transaction,
and the stale entry is forgotten.
"""

from __future__ import annotations

from gateway.outbox.subscriptions import Subscription, hears, subscription_from_row
from gateway.storage import Database


def fingerprint(tenant: str = "$1", scope: str = "$2") -> str:
    """A query of one value that changes whenever anything changes about the endpoints
    that hear about an order (`hears`) that decides whether, and how, an event is written
    for them. PostgreSQL only: the one-statement answer exists there alone."""
    return (
        "SELECT md5(COALESCE(string_agg(id || '|' || tenant || '|' || state || '|' || scope"
        " || '|' || event_types || '|' || COALESCE(filter, ''), ',' ORDER BY id COLLATE \"C\"),"
        f" '')) FROM subscriptions WHERE {hears(tenant, scope)}"
    )


_KNOWN = (
    f"WITH s AS (SELECT * FROM subscriptions WHERE {hears()})"
    f" SELECT ({fingerprint()}) AS fingerprint, s.* FROM (SELECT 1) AS one"
    " LEFT JOIN s ON true ORDER BY s.created_at, s.id"
)


class KnownSubscribers:
    """Per process: (account, tenant) -> the fingerprint and the endpoints it stands for.
    Only a hint: every use is checked against the database in the statement itself."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], tuple[str, list[Subscription]]] = {}

    async def get(self, db: Database, account: str, tenant: str) -> tuple[str, list[Subscription]]:
        key = (account, tenant)
        known = self._known.get(key)
        if known is None:
            rows = await db.fetch(_KNOWN, tenant, f"account:{account}")
            subscriptions = [subscription_from_row(r) for r in rows if r["id"] is not None]
            known = self._known[key] = (rows[0]["fingerprint"], subscriptions)
        return known

    def forget(self, account: str, tenant: str) -> None:
        self._known.pop((account, tenant), None)
