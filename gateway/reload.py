"""Tenants and their tokens follow the config file while the gateway runs.

A token revoked in the file (`gateway tenants ...` edits it) must stop working
without a restart: the file is looked at every second, and when it changed and
still parses, the tenants are swapped in; every other section needs a restart,
and a change there is logged as such. A file that no longer parses changes
nothing and is logged, so a half-saved edit cannot lock everyone out.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog

from gateway.config import Config, ConfigError, load
from gateway.tenants import TenantDirectory

log = structlog.get_logger()


class TenantWatch:
    def __init__(self, path: Path, config: Config, directory: TenantDirectory) -> None:
        self.path = path
        self.config = config
        self.directory = directory
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def check(self) -> bool:
        """Reload when the file changed; True when the tenants were swapped."""
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return False
        self._seen = stamp
        try:
            fresh = load(self.path)
        except ConfigError as exc:
            log.error("config_reload_refused", path=str(self.path), error=str(exc))
            return False
        if (fresh.accounts, fresh.storage_url, fresh.server, fresh.plugins, fresh.webhooks) != (
            self.config.accounts,
            self.config.storage_url,
            self.config.server,
            self.config.plugins,
            self.config.webhooks,
        ):
            log.warning("config_changed_needs_restart", path=str(self.path))
        self.directory.replace(fresh.tenants)
        log.info("tenants_reloaded", path=str(self.path), tenants=len(fresh.tenants))
        return True

    async def run_forever(self, interval: float = 1.0) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                self.check()
            except Exception:  # the watch must outlive any one bad save: revocation rides on it
                log.exception("config_reload_failed", path=str(self.path))
