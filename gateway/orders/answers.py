"""The provider's first answer to a sending, on PostgreSQL: one statement, no transaction.

It is the commonest write of all: the intent becomes the provider's order, and
every endpoint that hears about it gets its message. As a transaction that is
BEGIN, the UPDATE, the endpoints' SELECT, an INSERT per endpoint and COMMIT,
each a round trip; here it is one statement, which PostgreSQL applies whole
or not at all. It writes only when

- the order is still the `unknown` intent, and the provider's id is no other
  order's (the conditions of `Ledger.apply_to_intent`);
- the endpoints that hear about the order are still those the messages were
  made for: `KnownSubscribers` keeps them per process, and the statement
  compares their fingerprint with the database's own;
- and the caller has found that no plugin settles through the transaction
  (`gateway_settle_needs_transaction`).

When it writes nothing, the caller takes the transaction, which reads and
locks what it needs and decides as before; a stale fingerprint is forgotten.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.domain import OrderRecord, OrderStatus, ProviderOrder
from gateway.hooks.host import PluginHost
from gateway.orders.ledger import NOT_ANOTHERS, UPDATE_ORDER, Ledger, update_args
from gateway.orders.rows import advanced
from gateway.outbox.events import Outbox
from gateway.outbox.known import fingerprint
from gateway.outbox.writing import MESSAGE_COLUMNS
from gateway.plugin_api import Settlement

_COLUMNS = ", ".join(MESSAGE_COLUMNS)
_FIRST = 18  # the first message array's parameter: after the order's 14, tenant, scope, print
_ARRAYS = ", ".join(f"${_FIRST + i}::text[]" for i in range(len(MESSAGE_COLUMNS)))

_ALONE = f"""
WITH heard AS ({fingerprint("$15", "$16")}),
changed AS (
    {UPDATE_ORDER} AND status = 'unknown'{NOT_ANOTHERS} AND (SELECT * FROM heard) = $17
    RETURNING id
),
sent AS (
    INSERT INTO messages ({_COLUMNS}, state, next_attempt_at)
    SELECT {_COLUMNS}, 'pending', created_at FROM unnest({_ARRAYS}) AS m({_COLUMNS})
    WHERE EXISTS (SELECT 1 FROM changed)
    RETURNING 1
)
SELECT (SELECT count(*) FROM changed) AS changed, (SELECT count(*) FROM sent) AS sent,
    (SELECT * FROM heard) AS fingerprint
"""


def settlement_of(order: OrderRecord, kind: str, **values: Any) -> Settlement:
    return Settlement(
        kind=kind,
        order_id=order.id,
        tenant=order.tenant,
        account=order.account,
        currency=order.currency,
        **values,
    )


async def answer_alone(
    ledger: Ledger, outbox: Outbox, plugins: PluginHost, intent: OrderRecord, seen: ProviderOrder
) -> tuple[OrderRecord, bool, int] | None:
    """What `Outcomes.conclude` does with the provider's first word on an intent, less the
    round trips: the order as stored, False (not terminal), the messages written; None
    when nothing was written (then take the transaction)."""
    if (
        ledger.db.engine != "postgresql"
        or intent.status is not OrderStatus.UNKNOWN
        or seen.status.terminal
    ):
        return None
    now = ledger.clock.now()
    stored = advanced(intent, seen, now)
    settlement = settlement_of(stored, "placed", charged=seen.price)
    if plugins.settle_needs_transaction(stored.tenant, settlement):
        return None
    written = await _write(ledger, outbox, intent, stored, seen, now)
    if written is None:
        return None
    await plugins.notify("gateway_settle", stored.tenant, settlement=settlement, transaction=None)
    return stored, False, written


async def _write(
    ledger: Ledger, outbox: Outbox, intent: OrderRecord, stored: OrderRecord,
    seen: ProviderOrder, now: datetime,
) -> int | None:  # fmt: skip
    account, tenant = intent.account, intent.tenant
    print_, subscriptions = await outbox.known.get(ledger.db, account, tenant)
    scope = f"account:{account}"
    order = update_args(intent, seen, now, ledger.sealer)

    def values() -> list[Any]:  # in the statement's span: the messages' trace names it
        messages = outbox.order_messages(stored, subscriptions, now)
        columns = [[m[i] for m in messages] for i in range(len(MESSAGE_COLUMNS))]
        return [*order, tenant, scope, print_, *columns]

    row = await ledger.db.atomic(_ALONE, values)
    assert row is not None
    if row["changed"]:
        return int(row["sent"])
    if row["fingerprint"] != print_:
        outbox.known.forget(account, tenant)
    return None
