"""The orders' sealed columns as a whole: re-sealing them under the newest key, and
checking at start that the keys open what is stored.

Which columns hold codes, and why each is sealed whole:

- `orders.codes`: the codes themselves;
- `idempotency_keys.response_body`: a stored answer is an order with its codes;
- `provider_events.body`: the provider's webhook carries the codes.

The outbox's payloads are `gateway.outbox.queue`'s (`Messages.reseal`).
"""

from __future__ import annotations

from gateway.sealing import Sealer, reseal_column
from gateway.storage import Database

SEALED = (
    ("orders", ("id",), "codes"),
    ("idempotency_keys", ("tenant", "idem_key"), "response_body"),
    ("provider_events", ("id",), "body"),
)


async def reseal(db: Database, sealer: Sealer) -> dict[str, tuple[int, int]]:
    """`gateway seal rekey` for the tables the orders own: (re-sealed, already current)."""
    counts: dict[str, tuple[int, int]] = {}
    for table, keys, column in SEALED:
        counts[f"{table}.{column}"] = await reseal_column(db, sealer, table, keys, column)
    return counts


async def check_keys(db: Database, sealer: Sealer) -> None:
    """Raise `SealError` at start rather than at the first read when the keys open none of
    the newest orders' codes: a key dropped before `gateway seal rekey` ran, or another
    deployment's keys. A sample, by the creation index: a start must not read the ledger."""
    for row in await db.fetch("SELECT codes FROM orders ORDER BY created_at DESC LIMIT 20"):
        sealer.open(row["codes"])
