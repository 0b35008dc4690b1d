"""Gift-card codes sealed at rest with the operator's keys.

Codes are money: whoever reads them can spend them. Every column that can hold
a code stores it sealed (Fernet: AES-128-CBC with HMAC-SHA256, from the
`cryptography` package, the well-kept implementation of the spec), so a copy
of the database file or a backup without the keys holds no usable code.

Keys come from `[storage] seal_keys` (default: the environment variable
`GATEWAY_SEAL_KEYS`), newest first, separated by commas, spaces or newlines.
New values are sealed with the first key; any listed key opens. To rotate: put
a new key first, restart, run `gateway seal rekey` (which re-seals every row
with the newest key), then drop the old key. `gateway seal new-key` prints one.

A sealed value is text: `sealed:1:<Fernet token>`. A value without that prefix
is read as it stands, so a database written before sealing still reads, and
`gateway seal rekey` seals it.
"""

from __future__ import annotations

import base64
import functools
import re
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from gateway.storage import Database, Row, Transaction

PREFIX = "sealed:1:"
# Rows re-sealed per transaction by `reseal_column`: short transactions, so that a running
# gateway's writes never wait long behind a rekey.
RESEAL_BATCH = 300


class SealError(ValueError):
    """A sealed value no configured key opens, or keys that are not keys."""


def new_key() -> str:
    return Fernet.generate_key().decode()


def parse_keys(text: str) -> list[str]:
    return [k for k in re.split(r"[\s,]+", text.strip()) if k]


class Sealer:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SealError("no key given; make one with `gateway seal new-key`")
        try:
            self._fernets = [Fernet(k.encode()) for k in keys]
        except (ValueError, TypeError):
            raise SealError(
                "a key is not a Fernet key (32 url-safe base64-encoded bytes); "
                "make one with `gateway seal new-key`"
            ) from None
        self._multi = MultiFernet(self._fernets)
        self._keys = [k.encode() for k in keys]

    def derived(self, purpose: str) -> MultiFernet:
        """Keys of their own for another purpose (the console's session cookies), derived
        from the seal keys with HKDF: one secret to keep and rotate, and a cookie can never
        be taken for a sealed code or the other way round."""
        fernets = []
        for key in self._keys:
            derive = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
            fernets.append(Fernet(base64.urlsafe_b64encode(derive.derive(key))))
        return MultiFernet(fernets)

    def seal(self, text: str) -> str:
        return PREFIX + self._multi.encrypt(text.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before sealing
        try:
            return self._multi.decrypt(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise SealError(
                "a sealed value opens with none of the configured keys; "
                "was a key dropped before `gateway seal rekey` ran?"
            ) from None

    def is_current(self, stored: str) -> bool:
        """Sealed with the newest key (nothing for `rekey` to do)."""
        if not stored.startswith(PREFIX):
            return False
        try:
            self._fernets[0].decrypt(stored.removeprefix(PREFIX).encode())
        except InvalidToken:
            return False
        return True


async def reseal_column(
    db: Database,
    sealer: Sealer,
    table: str,
    keys: tuple[str, ...],
    column: str,
    batch: int = RESEAL_BATCH,
) -> tuple[int, int]:
    """Seal every value of `table.column` with the newest key, `batch` rows per transaction,
    walking the primary key `keys`; returns (re-sealed, already current). Empty and NULL
    values are left as they are (nothing to hide; an empty outbox payload means purged).

    Each row is written only if it still holds what was read: a gateway writing the row
    meanwhile wins, and what it wrote is sealed with the newest key already (a rekey runs
    after every gateway restarted with the new key first).
    """
    names = ", ".join(keys)
    same = " AND ".join(f"{key} = ${i + 3}" for i, key in enumerate(keys))
    update = f"UPDATE {table} SET {column} = $1 WHERE {column} = $2 AND {same}"
    resealed = current = 0
    after: list[Any] = []
    while True:
        where = ""
        if after:
            where = f" WHERE ({names}) > ({', '.join(f'${i + 1}' for i in range(len(keys)))})"
        select = (
            f"SELECT {names}, {column} AS sealed_value FROM {table}{where}"
            f" ORDER BY {names} LIMIT {int(batch)}"
        )
        rows, done, fresh = await db.transaction(
            functools.partial(_reseal, sealer, keys, select, after, update)
        )
        resealed, current = resealed + done, current + fresh
        if len(rows) < batch:
            return resealed, current
        after = [rows[-1][key] for key in keys]


async def _reseal(
    sealer: Sealer,
    keys: tuple[str, ...],
    select: str,
    after: list[Any],
    update: str,
    tx: Transaction,
) -> tuple[list[Row], int, int]:
    rows = await tx.fetch(select, *after)
    done = fresh = 0
    for row in rows:
        value = row["sealed_value"]
        if not value:
            continue
        if sealer.is_current(value):
            fresh += 1
            continue
        key_values = [row[key] for key in keys]
        done += await tx.execute(update, sealer.seal(sealer.open(value)), value, *key_values)
    return rows, done, fresh
