"""Every replica's copy of the tenants, tokens and policies, current within a second.

The copy is reloaded whole when `admin_state.version` moves. PostgreSQL
tells a replica at once (LISTEN on the channel the change NOTIFYs, on a
connection of its own); the version is also read every `interval` seconds,
which covers a notification lost with its connection, and SQLite, where the
CLI of another process may have written. Tokens' last-used times, counted in
memory per request, are written here once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from gateway.admin.store import CHANNEL, AdminStore, Snapshot, touch_tokens
from gateway.hooks.host import PluginHost
from gateway.storage import StorageUnavailable
from gateway.tenants import TenantDirectory

log = structlog.get_logger()

TOUCH_EVERY = 60.0


class AdminWatch:
    def __init__(self, store: AdminStore, directory: TenantDirectory, plugins: PluginHost) -> None:
        self.store = store
        self.directory = directory
        self.plugins = plugins
        self.version = -1
        self._lock = asyncio.Lock()
        self._poke = asyncio.Event()
        self._listener: Any = None

    async def apply(self, snapshot: Snapshot) -> None:
        self.directory.load(snapshot.tenants.values())
        await self.plugins.policies.load(
            {name: record.policies for name, record in snapshot.tenants.items()}
        )
        self.version = snapshot.version

    async def reload(self, force: bool = True) -> bool:
        """Read everything again (or only when the version moved); True when it did."""
        async with self._lock:
            if not force and await self.store.version() == self.version:
                return False
            snapshot = await self.store.snapshot()
            if snapshot.version == self.version and not force:
                return False
            await self.apply(snapshot)
            log.info("tenants_reloaded", version=snapshot.version, tenants=len(snapshot.tenants))
            return True

    async def _listen(self) -> None:
        listen = getattr(self.store.db, "listen", None)
        if listen is None or (self._listener is not None and not self._listener.is_closed()):
            return
        try:
            self._listener = await listen(CHANNEL, lambda _payload: self._poke.set())
        except StorageUnavailable as exc:
            log.warning("admin_listen_failed", error=str(exc))

    async def flush_used(self) -> None:
        used = self.directory.take_used()
        try:
            await touch_tokens(self.store.db, used)
        except StorageUnavailable:
            for ident, at in used.items():  # kept for the next turn
                self.directory.used.setdefault(ident, at)

    async def run_forever(self, interval: float = 1.0) -> None:
        loop = asyncio.get_running_loop()
        touched = loop.time()
        try:
            while True:
                await self._listen()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._poke.wait(), interval)
                self._poke.clear()
                try:
                    await self.reload(force=False)
                    if loop.time() - touched >= TOUCH_EVERY:
                        touched = loop.time()
                        await self.flush_used()
                except StorageUnavailable as exc:  # the copy held stays in force meanwhile
                    log.warning("tenants_reload_failed", error=str(exc))
                except Exception:  # revocation rides on this loop: it must outlive a bad turn
                    log.exception("tenants_reload_failed")
        finally:
            if self._listener is not None:
                with contextlib.suppress(Exception):
                    await self._listener.close()
            with contextlib.suppress(Exception):
                await self.flush_used()
