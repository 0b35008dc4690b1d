"""`gateway tenants ...` and `gateway config diff|apply`: the admin API from a shell.

Each command runs against the database a config names (`--config`: the same
checks, the same audit record as the API, actor `cli:<user>`; running
gateways see the change within a second) or against a running gateway's
admin API (`--url`, with an admin token in $GATEWAY_ADMIN_TOKEN, never on
the command line where shell history would keep it). Both print the same.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, ClassVar

import aiohttp

from gateway.admin import declared
from gateway.admin.service import Admin, tenant_view, token_view
from gateway.admin.store import AdminStore
from gateway.clock import SystemClock
from gateway.config import Config, Role, load
from gateway.errors import GatewayError
from gateway.hooks.host import PluginHost
from gateway.storage import open_database


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Failed(Exception):
    """An answer the command prints as `error: code: message` and exits 1 on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")


@asynccontextmanager
async def local_admin(config: Config, seed: bool = True) -> AsyncIterator[Admin]:
    """The admin service on the config's database, as a gateway would build it (and, as a
    gateway's first start would, with the file's tenants applied once: `seed`)."""
    db = await open_database(config.storage_url, config.storage_timeout_seconds)
    host = PluginHost(config.plugins)
    clock = SystemClock()

    async def no_balance(account: str) -> Decimal:
        raise RuntimeError("no provider from the command line")

    async def nothing() -> None:
        return None

    try:
        await host.start(db, clock, no_balance)
        admin = Admin(AdminStore(db, clock), host, tuple(config.accounts), nothing)
        if seed:
            await declared.apply(admin, config.tenants, "config:first-start", False, seed=True)
        yield admin
    finally:
        await host.stop()
        await db.close()


class Local:
    def __init__(self, admin: Admin) -> None:
        self.admin = admin
        self.actor = f"cli:{_user()}"

    async def call(self, action: str, name: str = "", **body: Any) -> Any:
        a = self.admin
        try:
            if action == "list":
                return [tenant_view(t) for t in (await a.snapshot()).tenants.values()]
            if action == "add":
                record, token, secret = await a.create_tenant(
                    self.actor, name, Role(body["role"]), tuple(body["accounts"]),
                    body.get("default_account"), body.get("label", "first token"),
                )  # fmt: skip
                return {**tenant_view(record), "token": {**token_view(token), "token": secret}}
            if action == "tokens":
                return [token_view(t) for t in (await a.tenant(name)).tokens]
            if action == "add-token":
                token, secret = await a.add_token(self.actor, name, body["label"], None)
                return {**token_view(token), "token": secret}
            if action == "revoke":
                return await a.revoke_token(self.actor, name, body["token_id"])
            if action == "patch":
                return tenant_view(await a.update_tenant(self.actor, name, body))
            if action == "delete":
                return await a.delete_tenant(self.actor, name)
            if action == "policy":
                return a.policy(await a.tenant(name), body["plugin"])
            if action == "set-policy":
                plugin = body.pop("plugin")
                record = await a.set_policy(
                    self.actor, name, plugin, body["mode"], body["settings"]
                )
                return a.policy(record, plugin)
        except GatewayError as exc:
            raise Failed(exc.code, exc.message) from None
        raise AssertionError(action)


class Remote:
    ROUTES: ClassVar[dict[str, tuple[str, str]]] = {
        "list": ("GET", "/v1/admin/tenants"),
        "add": ("POST", "/v1/admin/tenants"),
        "tokens": ("GET", "/v1/admin/tenants/{name}/tokens"),
        "add-token": ("POST", "/v1/admin/tenants/{name}/tokens"),
        "revoke": ("DELETE", "/v1/admin/tenants/{name}/tokens/{token_id}"),
        "patch": ("PATCH", "/v1/admin/tenants/{name}"),
        "delete": ("DELETE", "/v1/admin/tenants/{name}"),
        "policy": ("GET", "/v1/admin/tenants/{name}/policies/{plugin}"),
        "set-policy": ("PUT", "/v1/admin/tenants/{name}/policies/{plugin}"),
    }

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    async def call(self, action: str, name: str = "", **body: Any) -> Any:
        method, path = self.ROUTES[action]
        path = path.format(name=name, **body)
        for used in ("token_id", "plugin"):
            body.pop(used, None)
        if action == "add":
            body["name"] = name
        headers = {"Authorization": f"Bearer {self.token}"}
        sent = body if method in ("POST", "PATCH", "PUT") else None
        async with (
            aiohttp.ClientSession(trust_env=False) as http,
            http.request(method, self.url + path, json=sent, headers=headers) as answer,
        ):
            data = await answer.json() if answer.status != 204 else None
        if answer.status >= 400:
            error = (data or {}).get("error", {})
            raise Failed(error.get("code", str(answer.status)), error.get("message", ""))
        return data["data"] if isinstance(data, dict) and "data" in data else data


async def _run(args: argparse.Namespace, action: str, name: str, **body: Any) -> Any:
    if args.url:
        token = os.environ.get("GATEWAY_ADMIN_TOKEN", "")
        if not token:
            raise Failed("no_token", "export GATEWAY_ADMIN_TOKEN=<an admin's token> to use --url")
        return await Remote(args.url, token).call(action, name, **body)
    if args.config is None:
        raise Failed("no_target", "name the database (--config FILE) or a gateway (--url URL)")
    async with local_admin(load(args.config)) as admin:
        return await Local(admin).call(action, name, **body)


def _line(t: dict[str, Any]) -> str:
    modes = ", ".join(f"{p} {v['mode']}" for p, v in t.get("policies", {}).items())
    return (
        f"{t['name']}: {t['role']}, accounts {', '.join(t['accounts'])} "
        f"(default {t['default_account']}), {t['tokens']} token(s)"
        + (", disabled" if t["disabled"] else "")
        + (f"; policies: {modes}" if modes else "")
    )


async def _tenants(args: argparse.Namespace) -> int:
    command, name = args.tenants_command, getattr(args, "name", "")
    secret_note = "This token is shown once; only its hash is kept. Gateways use it within 1 s."
    if command == "list":
        for tenant in await _run(args, "list", ""):
            print(_line(tenant))
    elif command == "add":
        accounts = [a.strip() for a in args.accounts.split(",") if a.strip()]
        body = {"accounts": accounts, "role": args.role, "label": args.label}
        if args.default:
            body["default_account"] = args.default
        made = await _run(args, "add", name, **body)
        print(made["token"]["token"])
        print(secret_note, file=sys.stderr)
    elif command == "show":
        tenant = next((t for t in await _run(args, "list", "") if t["name"] == name), None)
        if tenant is None:
            raise Failed("not_found", f"no tenant named {name!r}")
        print(_line(tenant))
        for token in await _run(args, "tokens", name):
            print(
                f"  {token['id']} {token['label']!r} created {token['created_at']} "
                f"expires {token['expires_at'] or 'never'} last used {token['last_used_at'] or '-'}"
            )
    elif command == "rotate-token":
        old = await _run(args, "tokens", name)
        made = await _run(args, "add-token", name, label=args.label)
        if args.drop_old:
            for token in old:
                await _run(args, "revoke", name, token_id=token["id"])
        print(made["token"])
        print(secret_note, file=sys.stderr)
    elif command == "revoke":
        await _run(args, "revoke", name, token_id=args.token_id)
        print(f"revoked {args.token_id} of {name}", file=sys.stderr)
    elif command in ("disable", "enable"):
        print(_line(await _run(args, "patch", name, disabled=command == "disable")))
    elif command == "remove":
        await _run(args, "delete", name)
        print(f"deleted {name}; its orders keep the name", file=sys.stderr)
    elif command == "policy":
        if args.mode is None:
            shown = await _run(args, "policy", name, plugin=args.plugin)
        else:
            settings = json.loads(args.settings) if args.settings else {}
            shown = await _run(
                args, "set-policy", name, plugin=args.plugin, mode=args.mode, settings=settings
            )
        print(json.dumps(shown, sort_keys=True))
    return 0


def run_tenants(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_tenants(args))
    except Failed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


async def _sync(args: argparse.Namespace) -> int:
    config = load(args.file)
    async with local_admin(config, seed=False) as admin:
        if args.config_command == "diff":
            steps = declared.plan(config.tenants, await admin.snapshot(), admin, args.prune)
        else:
            steps = await declared.apply(admin, config.tenants, f"config:{_user()}", args.prune)
    for step in steps:
        print(step.text)
    verb = "would change" if args.config_command == "diff" else "changed"
    print(f"{len(steps)} change(s); {verb} the database of {args.file}", file=sys.stderr)
    return 0


def run_config_sync(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_sync(args))
    except GatewayError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
