"""Each account's catalog: the provider's snapshot, decompressed, opened and typed.

The personal snapshot (negotiated prices) is used when the account has one,
the global one otherwise. Refreshed on an interval and on demand; when a
refresh fails the last good snapshot stays in use and the failure is shown in
`/readyz`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import structlog

from gateway.clock import Clock
from gateway.domain import CatalogItem
from gateway.errors import GatewayError
from gateway.provider.accounts import AccountSession
from gateway.provider.snapshot import SnapshotError, read_snapshot

log = structlog.get_logger()


class CatalogUnavailable(GatewayError):
    status, code = 503, "catalog_unavailable"


@dataclass(frozen=True)
class Snapshot:
    items: dict[int, CatalogItem]
    source: str  # "personal" or "global"
    fetched_at: datetime


class AccountCatalog:
    def __init__(self, session: AccountSession, clock: Clock) -> None:
        self.session = session
        self.clock = clock
        self.snapshot: Snapshot | None = None
        self.last_error: str | None = None
        self.last_attempt: datetime | None = None
        self._lock = asyncio.Lock()

    async def refresh(self) -> Snapshot:
        """Fetch and open a new snapshot; on failure keep the last good one and raise."""
        async with self._lock:
            self.last_attempt = self.clock.now()
            try:
                source, data = await self.session.download_catalog()
                records = await asyncio.to_thread(read_snapshot, data)
                items = {item_id: CatalogItem.from_record(r) for item_id, r in records.items()}
            except (GatewayError, SnapshotError, KeyError, TypeError, ValueError) as exc:
                self.last_error = str(exc) or type(exc).__name__
                log.warning(
                    "catalog_refresh_failed", account=self.session.name, error=self.last_error
                )
                raise CatalogUnavailable(
                    f"the catalog of account {self.session.name!r} could not be loaded",
                    details={"account": self.session.name},
                ) from exc
            self.snapshot = Snapshot(items, source, self.clock.now())
            self.last_error = None
            log.info(
                "catalog_refreshed", account=self.session.name, source=source, items=len(items)
            )
            return self.snapshot

    async def items(self) -> dict[int, CatalogItem]:
        if self.snapshot is None:
            await self.refresh()
        assert self.snapshot is not None
        return self.snapshot.items

    async def run(self, interval: float) -> None:
        """Refresh forever; a failure waits for the next turn with the old snapshot in place."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except CatalogUnavailable:
                pass
