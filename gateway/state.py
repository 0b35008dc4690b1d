"""Typed keys for everything the app holds; each resource is made once, in `cleanup_ctx`."""

from __future__ import annotations

from aiohttp import web

from gateway.accounts import AccountSession
from gateway.catalog import AccountCatalog
from gateway.config import Config
from gateway.delivery import Dispatcher
from gateway.instances import Instance
from gateway.ledger import Ledger
from gateway.orders import OrderDesk
from gateway.plugin_host import PluginHost
from gateway.reconcile import Reconciler
from gateway.resolution import Resolver
from gateway.storage import Database
from gateway.subscriptions import Subscriptions

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
RECONCILER = web.AppKey("reconciler", Reconciler)
RESOLVER = web.AppKey("resolver", Resolver)
INSTANCE = web.AppKey("instance", Instance)
