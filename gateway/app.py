"""The app factory: builds the gateway from settings and does no I/O until it starts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import structlog
from aiohttp import web
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver
from opentelemetry.trace import Tracer, TracerProvider

from gateway import console
from gateway.admin import declared
from gateway.admin.service import Admin
from gateway.admin.store import AdminStore
from gateway.admin.watch import AdminWatch
from gateway.alerts import Alerts
from gateway.api import admin as api_admin
from gateway.api import catalog as api_catalog
from gateway.api import intake, ops, outbox_admin
from gateway.api import orders as api_orders
from gateway.api import webhooks as api_webhooks
from gateway.api.edge import BODY_TIMEOUT, MAX_BODY, METRICS, RATE_LIMITS, TENANTS, TRACER, edge
from gateway.clock import Clock, SystemClock
from gateway.config import Config, ConfigError, seal_keys
from gateway.domain import CatalogItem
from gateway.hooks.host import PluginHost
from gateway.metrics import Metrics
from gateway.orders.desk import OrderDesk
from gateway.orders.instances import Instance
from gateway.orders.ledger import Ledger
from gateway.orders.reconcile import Reconciler
from gateway.orders.resolution import Resolver
from gateway.orders.sealed import check_keys
from gateway.outbox.destinations import DestinationPolicy, GuardedResolver
from gateway.outbox.dispatcher import Dispatcher
from gateway.outbox.events import Outbox
from gateway.outbox.subscriptions import Subscriptions
from gateway.provider.accounts import AccountSession
from gateway.provider.catalog import AccountCatalog, CatalogUnavailable
from gateway.ratelimit import RateLimits
from gateway.retention import Housekeeping, Retention
from gateway.sealing import Sealer, SealError
from gateway.state import (
    ADMIN,
    ADMIN_WATCH,
    ALERTS,
    CATALOGS,
    CONFIG,
    DATABASE,
    DESK,
    DESTINATIONS,
    DISPATCHER,
    HOUSEKEEPING,
    INSTANCE,
    LEDGER,
    PLUGINS,
    RECONCILER,
    RESOLVER,
    SESSIONS,
    SUBSCRIPTIONS,
    WEBHOOK_SECRETS,
)
from gateway.storage import Database, StorageUnavailable, open_database
from gateway.storage.postgres import PostgresDatabase
from gateway.storage.sqlite import SqliteDatabase
from gateway.tenants import TenantDirectory
from gateway.tracing import build_provider, shutdown, tracer_of

log = structlog.get_logger()


@dataclass(frozen=True)
class AccountSecrets:
    api_key: str
    webhook_secret: str


@dataclass(frozen=True)
class Settings:
    config: Config
    secrets: dict[str, AccountSecrets]
    clock: Clock = field(default_factory=SystemClock)
    # Background loops: catalog refresh, webhook delivery, reconciliation. Tests that
    # drive time by hand turn them off and call the workers' run_once/run_due themselves.
    background: bool = True
    # Plugins that are not installed as packages, by name (plugin authors' tests).
    plugin_factories: dict[str, Callable[[dict[str, Any]], Any]] = field(default_factory=dict)
    # How webhook destinations' names are resolved; tests give one that never leaves the
    # machine (gateway.outbox.destinations.StaticResolver). None: the system's resolver.
    resolver: AbstractResolver | None = None
    # The keys codes are sealed with at rest, newest first (gateway.sealing). None: the
    # config's (`[storage] seal_keys`, by default $GATEWAY_SEAL_KEYS), read by create_app.
    seal_keys: list[str] | None = None
    # Where this app's spans go (tests: an SDK provider with an in-memory exporter; the
    # test owns it). None: the config's [telemetry] (no tracing without an endpoint).
    tracer_provider: TracerProvider | None = None


def create_app(settings: Settings) -> web.Application:
    config = settings.config
    missing = sorted(set(config.accounts) - set(settings.secrets))
    if missing:
        raise ValueError(f"no secrets given for accounts: {', '.join(missing)}")
    app = web.Application(middlewares=[edge], client_max_size=config.server.max_body_bytes)
    app[CONFIG] = config
    app[METRICS] = Metrics()
    app[TENANTS] = TenantDirectory(config.tenants, settings.clock)
    app[MAX_BODY] = config.server.max_body_bytes
    app[BODY_TIMEOUT] = config.server.header_timeout_seconds
    app[WEBHOOK_SECRETS] = {name: s.webhook_secret for name, s in settings.secrets.items()}
    plugins = PluginHost(config.plugins, settings.plugin_factories)
    app[PLUGINS] = plugins
    app.cleanup_ctx.append(_tracing(settings))  # first: the last spans are flushed last
    app[DESTINATIONS] = _destinations(config)
    app[RATE_LIMITS] = RateLimits(
        settings.clock,
        {
            "test": (config.webhooks.test_sends_per_minute, 60),
            "replay": (config.webhooks.replays_per_minute, 60),
            "subscription": (config.webhooks.subscription_changes_per_minute, 60),
            "read": (config.server.tenant_reads_per_second, 1),
            "write": (config.server.tenant_writes_per_second, 1),
        },
    )
    keys = seal_keys(config) if settings.seal_keys is None else settings.seal_keys
    sealer = Sealer(keys)
    app.cleanup_ctx.append(_storage(settings, sealer))
    app.cleanup_ctx.append(_plugins(settings))
    app.cleanup_ctx.append(_accounts(settings, sealer))
    app.router.add_routes(
        api_admin.routes
        + api_orders.routes
        + api_catalog.routes
        + api_webhooks.routes
        + intake.routes
        + ops.routes
        + outbox_admin.routes
    )
    app.router.add_routes(plugins.routes())
    console.setup(app, sealer, settings.clock, config.server.public_url)
    return app


def _tracing(settings: Settings):  # type: ignore[no-untyped-def]
    async def tracing(app: web.Application) -> AsyncIterator[None]:
        built = None
        if settings.tracer_provider is None:
            built = build_provider(settings.config.telemetry)
        app[TRACER] = tracer = tracer_of(settings.tracer_provider or built)
        app[PLUGINS].tracer = tracer
        yield
        if built is not None:  # the exporter's last batch, off the event loop
            await asyncio.get_running_loop().run_in_executor(None, shutdown, built)

    return tracing


def _traced(db: Database, tracer: Tracer) -> None:
    if isinstance(db, SqliteDatabase | PostgresDatabase):
        db.tracer = tracer


def _storage(settings: Settings, sealer: Sealer):  # type: ignore[no-untyped-def]
    async def storage(app: web.Application) -> AsyncIterator[None]:
        db = await open_database(
            settings.config.storage_url, settings.config.storage_timeout_seconds
        )
        try:
            await check_keys(db, sealer)
        except SealError as exc:  # refuse to start, rather than fail every read of an order
            await db.close()
            raise ConfigError("storage.seal_keys", str(exc)) from None
        _traced(db, app[TRACER])
        app[DATABASE] = db
        app[LEDGER] = Ledger(db, settings.clock, sealer)
        instance = Instance(db, settings.clock)
        await instance.register()
        app[INSTANCE] = instance
        yield
        with contextlib.suppress(StorageUnavailable):
            await instance.retire()
        await db.close()

    return storage


def _plugins(settings: Settings):  # type: ignore[no-untyped-def]
    async def plugins(app: web.Application) -> AsyncIterator[None]:
        async def balance(account: str) -> Decimal:
            return await app[SESSIONS][account].balance()

        async def item(account: str, item_id: int) -> CatalogItem | None:
            try:
                return (await app[CATALOGS][account].items()).get(item_id)
            except CatalogUnavailable:
                return None

        plugins = app[PLUGINS]
        await plugins.start(app[DATABASE], settings.clock, balance, item)
        store = AdminStore(app[DATABASE], settings.clock)
        watch = AdminWatch(store, app[TENANTS], plugins)
        admin = Admin(store, plugins, tuple(settings.config.accounts), watch.reload)
        app[ADMIN], app[ADMIN_WATCH] = admin, watch
        # An existing config keeps working: its tenants are applied on the first start.
        await declared.apply(admin, settings.config.tenants, "config:first-start", False, seed=True)
        await watch.reload()
        task = asyncio.create_task(watch.run_forever()) if settings.background else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await plugins.stop()

    return plugins


def _destinations(config: Config) -> DestinationPolicy:
    """The operator's rules, and what is never a destination: this gateway and its provider."""
    policy = DestinationPolicy(config.webhooks.destinations)
    if config.server.port:
        policy.forbid_own(config.server.host, config.server.port)
    for account in config.accounts.values():
        policy.forbid_url(account.base_url)
        policy.forbid_url(account.catalog_url)
    return policy


def _accounts(settings: Settings, sealer: Sealer):  # type: ignore[no-untyped-def]
    async def accounts(app: web.Application) -> AsyncIterator[None]:
        config = settings.config
        sessions = {
            name: AccountSession(
                account,
                settings.secrets[name].api_key,
                settings.clock,
                app[METRICS],
                renew_margin=config.token_renew_margin_seconds,
            )
            for name, account in config.accounts.items()
        }
        for session in sessions.values():
            session.tracer = app[TRACER]
            await session.start()
        catalogs = {name: AccountCatalog(s, settings.clock) for name, s in sessions.items()}
        app[SESSIONS] = sessions
        app[CATALOGS] = catalogs
        hooks = config.webhooks
        resolver = settings.resolver or DefaultResolver()
        subscriptions = Subscriptions(
            app[DATABASE],
            settings.clock,
            timedelta(hours=hooks.secret_overlap_hours),
            app[DESTINATIONS],
            resolver,
            hooks.destinations.max_subscriptions_per_tenant,
            sealer,
        )
        dispatcher = Dispatcher(
            app[DATABASE],
            settings.clock,
            hooks,
            subscriptions,
            app[PLUGINS],
            app[METRICS],
            GuardedResolver(resolver, app[DESTINATIONS]),
            tracer=app[TRACER],
        )
        outbox = Outbox(settings.clock, sealer)
        await dispatcher.start()
        app[SUBSCRIPTIONS] = subscriptions
        app[DISPATCHER] = dispatcher
        app[DESK] = OrderDesk(
            app[LEDGER],
            sessions,
            catalogs,
            {name: a.currency for name, a in config.accounts.items()},
            app[PLUGINS],
            outbox,
            settings.clock,
            app[METRICS],
            timedelta(hours=config.idempotency_ttl_hours),
            app[INSTANCE],
            on_enqueued=dispatcher.wake,
        )
        app[RECONCILER] = Reconciler(app[DESK], settings.clock, hooks)
        app[RESOLVER] = Resolver(
            app[DESK],
            app[INSTANCE],
            settings.clock,
            app[METRICS],
            timedelta(seconds=config.resend_window_seconds),
        )
        app[HOUSEKEEPING] = Housekeeping(
            app[DATABASE], settings.clock, outbox.messages, app[PLUGINS], Retention.of(config)
        )
        alerts = _alerts(app, settings, sealer, sessions, dispatcher.wake)
        if alerts is not None:
            app[ALERTS] = alerts
            await alerts.start()
        tasks: list[asyncio.Task[None]] = []
        if settings.background:
            await asyncio.gather(*(_first_load(c) for c in catalogs.values()))
            tasks = [
                asyncio.create_task(c.run(config.accounts[name].catalog_refresh_seconds))
                for name, c in catalogs.items()
            ]
            tasks.append(asyncio.create_task(dispatcher.run_forever()))
            tasks.append(asyncio.create_task(app[RECONCILER].run_forever()))
            tasks.append(asyncio.create_task(app[RESOLVER].run_forever()))
            tasks.append(asyncio.create_task(app[INSTANCE].run_forever()))
            tasks.append(asyncio.create_task(app[HOUSEKEEPING].run_forever()))
            if alerts is not None:
                tasks.append(asyncio.create_task(alerts.run_forever()))
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await dispatcher.close()
        for session in sessions.values():
            await session.close()

    return accounts


def _alerts(
    app: web.Application,
    settings: Settings,
    sealer: Sealer,
    sessions: dict[str, AccountSession],
    wake: Callable[[], None],
) -> Alerts | None:
    """The operators' alerts, when `[alerts]` names a sink."""
    config = settings.config.alerts
    if config.url is None or config.secret is None:
        return None

    def accounts() -> dict[str, tuple[bool, str | None]]:
        return {n: (s.state.available, s.state.last_error) for n, s in sessions.items()}

    async def balance(account: str) -> Decimal:
        return await sessions[account].balance()

    secret = config.secret.resolve("alerts.secret")
    return Alerts(app[DATABASE], settings.clock, config, secret, sealer, accounts, balance, wake)


async def _first_load(catalog: AccountCatalog) -> None:
    """A start with the provider down still starts; /readyz shows the missing catalog."""
    with contextlib.suppress(CatalogUnavailable):
        await catalog.refresh()
