"""What each `gateway` subcommand does, once `gateway.cli` has parsed its line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
import tempfile
from collections.abc import Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.clock import Clock, ManualClock, SystemClock, isoformat_z, unstamp
from gateway.config import Config
from gateway.serving import serve

if TYPE_CHECKING:
    from gateway.app import AccountSecrets


# --- the gateway -------------------------------------------------------------------------


def run_serve(args: argparse.Namespace) -> int:
    from gateway.app import Settings, create_app
    from gateway.config import load

    config = load(args.config)
    port = config.server.port if args.port is None else args.port
    if args.workers != 1:
        return _serve_workers(args, config, port)
    app = create_app(Settings(config, account_secrets(config)))

    def announce(port: int) -> None:
        from gateway.state import DESTINATIONS

        app[DESTINATIONS].forbid_own(config.server.host, port)  # port 0 is known only now
        print(f"Gateway on http://{config.server.host}:{port} (API at /v1, /openapi.json)")
        sys.stdout.flush()

    on_loop(
        config.server.event_loop,
        serve(app, config.server.host, port, announce, config.server, reuse_port=args.reuse_port),
    )
    return 0


def on_loop(loop: str, main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on "uvloop" or "asyncio" (`[server] event_loop`). uvloop's transports
    write and read in C: docs/performance.md measures what that saves per order."""
    factory = None
    if loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)


def _serve_workers(args: argparse.Namespace, config: Config, port: int) -> int:
    from gateway.config import ConfigError
    from gateway.workers import Supervisor

    if args.workers < 1:
        raise ConfigError("--workers", "at least 1")
    if not config.storage_url.startswith("postgres"):
        raise ConfigError(
            "--workers",
            "several processes need PostgreSQL ([storage] url): SQLite has one writer per"
            " file; run one process, or move to PostgreSQL",
        )
    account_secrets(config)  # a missing secret is said once, here, not by every worker
    return Supervisor(args.config, config.server.host, port, args.workers).run()


def account_secrets(config: Config) -> dict[str, AccountSecrets]:
    from gateway.app import AccountSecrets

    return {
        name: AccountSecrets(
            account.api_key.resolve(f"accounts.{name}.api_key"),
            account.webhook_secret.resolve(f"accounts.{name}.webhook_secret"),
        )
        for name, account in config.accounts.items()
    }


def run_config_check(args: argparse.Namespace) -> int:
    from gateway.config import check_secrets, load, seal_keys
    from gateway.hooks.host import PluginHost

    config = load(args.file)
    PluginHost(config.plugins)  # each plugin checks its own settings, as `serve` has them do
    check_secrets(config)
    print(f"{args.file}: ok")
    print(
        f"  storage: {config.storage_url.split(':', 1)[0]}; codes sealed with "
        f"{len(seal_keys(config))} key(s) from {config.seal_keys.describe()}"
    )
    for account in config.accounts.values():
        print(
            f"  account {account.name}: {account.base_url} ({account.currency}); "
            f"api_key from {account.api_key.describe()}, "
            f"webhook_secret from {account.webhook_secret.describe()}"
        )
    for tenant in config.tenants.values():
        print(
            f"  tenant {tenant.name}: {tenant.role.value}, accounts {', '.join(tenant.accounts)}, "
            f"{len(tenant.token_hashes)} token(s)"
        )
    return 0


def run_plugins(args: argparse.Namespace) -> int:
    from gateway.config import load
    from gateway.hooks.host import PluginHost

    host = PluginHost(load(args.config).plugins)
    for position, plugin in enumerate(host.describe(), start=1):
        tenants = plugin["tenants"] if plugin["tenants"] == "all" else ", ".join(plugin["tenants"])
        print(f"{position}. {plugin['name']} ({plugin['source']}; tenants: {tenants})")
        for hook in plugin["hooks"]:
            print(f"     {hook}")
    return 0


def run_deliveries(args: argparse.Namespace) -> int:
    from gateway.config import load
    from gateway.operations import list_messages, replay_messages

    config = load(args.config)
    if args.deliveries_command == "list":
        rows = asyncio.run(
            list_messages(config, args.state, args.tenant, args.subscription, args.limit)
        )
        for row in rows:
            waiting = row["state"] in ("pending", "delivering")
            due = isoformat_z(unstamp(row["next_attempt_at"])) if waiting else "-"
            print(
                f"{row['id']} {row['state']:<10} attempts_made={row['attempts']} "
                f"last_status={row['last_status'] or '-'} next_attempt={due} "
                f"{row['event_type']} order={row['order_id'] or '-'} tenant={row['tenant']} "
                f"subscription={row['subscription_id']}"
            )
        print(f"{len(rows)} message(s)", file=sys.stderr)
        return 0
    if not args.message_ids and not (args.subscription and args.since):
        print("name message ids, or --subscription with --since", file=sys.stderr)
        return 2
    count = asyncio.run(
        replay_messages(
            config,
            args.message_ids,
            args.subscription,
            args.since,
            until=args.until,
            state=args.state,
            dry_run=args.dry_run,
        )
    )
    if args.dry_run:
        print(f"{count} message(s) would be queued again; nothing was")
        return 0
    print(f"{count} message(s) queued again; a running gateway sends them within its poll interval")
    return 0


def operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def run_orders(args: argparse.Namespace) -> int:
    from gateway.config import load
    from gateway.errors import GatewayError
    from gateway.operations import resolve_order, unresolved_orders

    config = load(args.config)
    if args.orders_command == "unresolved":
        rows = asyncio.run(unresolved_orders(config, max(1, min(args.limit, 10_000))))
        for row in rows:
            if args.json:
                print(json.dumps(row, sort_keys=True))
                continue
            print(
                f"{row['id']} {row['state']:<16} {row['status']:<8} age={row['age_seconds']}s "
                f"tenant={row['tenant']} account={row['account']} reference={row['reference']} "
                f"attempts={row['attempts']}"
                + (f" reason: {row['reason']}" if row["reason"] else "")
            )
        print(f"{len(rows)} unresolved order(s)", file=sys.stderr)
        return 0
    try:
        order = asyncio.run(
            resolve_order(
                config,
                account_secrets(config),
                args.order_id,
                args.provider_order_id,
                args.not_placed,
                args.operator,
            )
        )
    except GatewayError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    print(f"{order.id}: {order.status.value}" + (f" ({order.error})" if order.error else ""))
    return 0


def run_seal(args: argparse.Namespace) -> int:
    from gateway.config import load
    from gateway.operations import rekey
    from gateway.sealing import new_key

    if args.seal_command == "new-key":
        print(new_key())
        print(
            "Put it first in the keys (storage.seal_keys, default $GATEWAY_SEAL_KEYS), restart "
            "every gateway, then run `gateway seal rekey`.",
            file=sys.stderr,
        )
        return 0
    for column, (resealed, current) in asyncio.run(rekey(load(args.config))).items():
        print(f"{column}: {resealed} re-sealed, {current} already current")
    print(
        "Sealed with the newest key: once every gateway runs with it first, older keys can go.",
        file=sys.stderr,
    )
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo
    from gateway.sealing import new_key, parse_keys

    # The demo needs no set-up: without $GATEWAY_SEAL_KEYS, a key for this run only (its
    # temporary database goes with it; a --storage kept across runs wants the variable).
    keys = parse_keys(os.environ.get("GATEWAY_SEAL_KEYS", "")) or [new_key()]
    with tempfile.TemporaryDirectory(prefix="gateway-demo-") as tmp:
        storage = args.storage or f"sqlite:///{Path(tmp) / 'gateway.sqlite3'}"
        asyncio.run(run_demo(args.host, args.port, args.sandbox_port, storage, keys))
    return 0


# --- the sandbox and the client ----------------------------------------------------------


def run_codegen(args: argparse.Namespace) -> int:
    from gateway import codegen

    names = list(codegen.TARGETS) if args.target == "all" else [args.target]
    drifted = False
    try:
        for target in (codegen.TARGETS[name] for name in names):
            folder = f"{target.folder.relative_to(codegen.ROOT)}/"
            if args.check:
                drift = target.check()
                for line in drift:
                    print(line)
                print(f"{folder} is up to date" if not drift else f"{folder} has drifted")
                drifted = drifted or bool(drift)
            else:
                target.regenerate()
                print(f"regenerated {target.folder}")
    except codegen.CodegenError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 1 if drifted else 0


def run_sandbox(args: argparse.Namespace) -> int:
    from gateway.sandbox import (
        SANDBOX,
        SandboxSettings,
        create_sandbox_app,
        demo_accounts,
        demo_items,
    )

    accounts = demo_accounts(args.seed)
    if args.balance is not None:
        for spec in accounts:
            spec.balance = Decimal(args.balance)
    settings = SandboxSettings(
        accounts=accounts,
        items=demo_items(),
        seed=args.seed,
        token_ttl=args.token_ttl,
        fulfilment_delay=args.fulfilment_delay,
        webhook_interval=args.webhook_interval,
    )
    if args.print_env:
        for spec in settings.accounts:
            prefix = spec.name.upper()
            print(f"export {prefix}_API_KEY={spec.api_keys[0]}")
            print(f"export {prefix}_WEBHOOK_SECRET={spec.webhook_secret}")
        return 0
    # A manual clock starts at the real time, so that what it stamps sorts with the rest.
    clock: Clock = (
        ManualClock(datetime.now(UTC).replace(microsecond=0))
        if args.manual_clock
        else SystemClock()
    )
    app = create_sandbox_app(settings, clock)
    if args.gateway_url:
        base = args.gateway_url.rstrip("/")
        for spec in settings.accounts:
            app[SANDBOX].account(spec.name).webhook_url = f"{base}/provider-webhooks/{spec.name}"

    def banner(port: int) -> None:
        base = f"http://{args.host}:{port}"
        print(f"Sandbox provider on {base}  (API {base}/api/v1, catalog {base}/catalog.lmdb.zst)")
        for spec in settings.accounts:
            personal = "personal prices" if spec.personal_prices else "global prices"
            print(
                f"  account {spec.name:<8} client_id={spec.client_id} api_key={spec.api_keys[0]} "
                f"webhook_secret={spec.webhook_secret} balance={spec.balance} ({personal})"
            )
        print("  admin: GET/PATCH /sandbox/accounts, PUT /sandbox/accounts/{name}/faults, ...")
        webhooks = args.gateway_url or "not set: pass --gateway-url, or PATCH /sandbox/accounts"
        print(f"  webhooks to: {webhooks}")
        print('  for gateway.example.toml: eval "$(gateway sandbox --print-env)"')
        sys.stdout.flush()

    asyncio.run(serve(app, args.host, args.port, banner))
    return 0
