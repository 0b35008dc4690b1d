"""Typed keys for everything the app holds; each resource is made once, in `cleanup_ctx`."""

from __future__ import annotations

from aiohttp import web

from gateway.admin.service import Admin
from gateway.admin.watch import AdminWatch
from gateway.alerts import Alerts
from gateway.config import Config
from gateway.hooks.host import PluginHost
from gateway.orders.desk import OrderDesk
from gateway.orders.instances import Instance
from gateway.orders.ledger import Ledger
from gateway.orders.reconcile import Reconciler
from gateway.orders.resolution import Resolver
from gateway.outbox.destinations import DestinationPolicy
from gateway.outbox.dispatcher import Dispatcher
from gateway.outbox.subscriptions import Subscriptions
from gateway.provider.accounts import AccountSession
from gateway.provider.catalog import AccountCatalog
from gateway.retention import Housekeeping
from gateway.storage import Database

CONFIG = web.AppKey("config", Config)
DATABASE = web.AppKey("database", Database)
LEDGER = web.AppKey("ledger", Ledger)
SESSIONS = web.AppKey("sessions", dict[str, AccountSession])
CATALOGS = web.AppKey("catalogs", dict[str, AccountCatalog])
DESK = web.AppKey("desk", OrderDesk)
WEBHOOK_SECRETS = web.AppKey("webhook_secrets", dict[str, str])
PLUGINS = web.AppKey("plugins", PluginHost)
SUBSCRIPTIONS = web.AppKey("subscriptions", Subscriptions)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
DESTINATIONS = web.AppKey("destinations", DestinationPolicy)
RECONCILER = web.AppKey("reconciler", Reconciler)
RESOLVER = web.AppKey("resolver", Resolver)
INSTANCE = web.AppKey("instance", Instance)
HOUSEKEEPING = web.AppKey("housekeeping", Housekeeping)
ADMIN = web.AppKey("admin", Admin)
ADMIN_WATCH = web.AppKey("admin_watch", AdminWatch)
ALERTS = web.AppKey("alerts", Alerts)  # set only when [alerts] names a sink
