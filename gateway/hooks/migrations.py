"""The plugins' own tables: each plugin's `migrations`, applied once, in order, under the
same lock as the gateway's own (replicas may start together)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from gateway.storage import Database
from gateway.storage.database import apply_once, create_locked

if TYPE_CHECKING:
    from gateway.hooks.host import LoadedPlugin

log = structlog.get_logger()


async def migrate_plugins(db: Database, plugins: list[LoadedPlugin]) -> None:
    await create_locked(
        db,
        "CREATE TABLE IF NOT EXISTS plugin_migrations ("
        " plugin TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (plugin, version))",
    )
    for plugin in plugins:
        for version, sql in enumerate(getattr(plugin.instance, "migrations", ()), start=1):
            if await apply_once(
                db,
                sql,
                (
                    "SELECT version FROM plugin_migrations WHERE plugin = $1 AND version = $2",
                    plugin.name,
                    version,
                ),
                (
                    "INSERT INTO plugin_migrations (plugin, version) VALUES ($1, $2)",
                    plugin.name,
                    version,
                ),
            ):
                log.info("plugin_migration_applied", plugin=plugin.name, version=version)
