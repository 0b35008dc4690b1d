"""The `gateway` command. Only this module reads argv and the environment and configures logging."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.clock import Clock, ManualClock, SystemClock, isoformat_z, unstamp
from gateway.config import Config, ConfigError, Role
from gateway.logs import configure_logging
from gateway.serving import AddressInUse, serve
from gateway.storage.database import StorageUnavailable

if TYPE_CHECKING:
    from gateway.app import AccountSecrets


ENVIRONMENT = """environment variables (an option given on the command line wins):
  GATEWAY_CONFIG        the config file, for every command that takes --config
  GATEWAY_LOG_LEVEL     debug, info, warning or error (default: info; demo: warning)
  GATEWAY_PORT          the gateway's port, for serve and demo
  GATEWAY_SANDBOX_PORT  the sandbox's port, for sandbox and demo

exit status: 0 done; 1 the command could not do its work (it says why, and what to
do, in one line); 2 the command line is wrong."""


def _config_option() -> dict[str, Any]:
    """--config, defaulting to $GATEWAY_CONFIG (then not required)."""
    env = os.environ.get("GATEWAY_CONFIG")
    return {
        "type": Path,
        "default": Path(env) if env else None,
        "required": not env,
        "help": "the config file (default: $GATEWAY_CONFIG)",
    }


def _port_option(variable: str, default: int) -> dict[str, Any]:
    value = os.environ.get(variable, "")
    return {
        "type": int,
        "default": int(value) if value.isdigit() else default,
        "help": f"0 picks a free one (default: ${variable} or {default})",
    }


def _version() -> str:
    try:
        return version("order-gateway")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gateway",
        description="The order gateway.",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("GATEWAY_LOG_LEVEL"),
        choices=["debug", "info", "warning", "error"],
        help="default: $GATEWAY_LOG_LEVEL, else info (demo: warning, so its banner stays in sight)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gateway from a config file")
    serve.add_argument(
        "--port",
        type=int,
        default=int(os.environ["GATEWAY_PORT"])
        if os.environ.get("GATEWAY_PORT", "").isdigit()
        else None,
        help="overrides [server] port (default: $GATEWAY_PORT, else the config's)",
    )
    serve.add_argument("--config", **_config_option())

    demo = commands.add_parser(
        "demo", help="the sandbox provider and a gateway in front of it, with demo tenants"
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", **_port_option("GATEWAY_PORT", 8080))
    demo.add_argument("--sandbox-port", **_port_option("GATEWAY_SANDBOX_PORT", 8081))
    demo.add_argument("--storage", help="storage URL (default: SQLite in a temporary folder)")

    config = commands.add_parser("config", help="check a config file")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser("check", help="name the first key that is wrong, and why")
    env_config = os.environ.get("GATEWAY_CONFIG")
    check.add_argument(
        "file",
        type=Path,
        nargs="?" if env_config else None,
        default=Path(env_config) if env_config else None,
        help="the config file (default: $GATEWAY_CONFIG)",
    )

    tenants = commands.add_parser("tenants", help="add tenants, rotate their tokens, list them")
    tenant_commands = tenants.add_subparsers(dest="tenants_command", required=True)
    add = tenant_commands.add_parser("add", help="add a tenant; prints its token once")
    add.add_argument("name")
    add.add_argument("--config", **_config_option())
    add.add_argument("--accounts", required=True, help="comma-separated account names")
    add.add_argument("--default", help="default account (default: the first)")
    add.add_argument("--role", choices=[r.value for r in Role], default="tenant")
    rotate = tenant_commands.add_parser("rotate-token", help="a new token; prints it once")
    rotate.add_argument("name")
    rotate.add_argument("--config", **_config_option())
    rotate.add_argument("--drop-old", action="store_true", help="old tokens stop working now")
    listing = tenant_commands.add_parser("list", help="tenants, roles, accounts, token counts")
    listing.add_argument("--config", **_config_option())

    plugins = commands.add_parser(
        "plugins", help="the plugins a config loads, in calling order, with their hooks"
    )
    plugins.add_argument("--config", **_config_option())

    deliveries = commands.add_parser(
        "deliveries", help="tenant webhook messages: list them, send them again"
    )
    delivery_commands = deliveries.add_subparsers(dest="deliveries_command", required=True)
    d_list = delivery_commands.add_parser("list", help="messages, newest first")
    d_list.add_argument("--config", **_config_option())
    d_list.add_argument(
        "--state", choices=["pending", "delivering", "delivered", "failed", "cancelled"]
    )
    d_list.add_argument("--tenant")
    d_list.add_argument("--subscription")
    d_list.add_argument("--limit", type=int, default=50)
    d_replay = delivery_commands.add_parser(
        "replay", help="send messages again: by id, or a subscription's failures since a time"
    )
    d_replay.add_argument("--config", **_config_option())
    d_replay.add_argument("message_ids", nargs="*")
    d_replay.add_argument("--subscription")
    d_replay.add_argument("--since", help="RFC 3339; with --subscription: its failed messages")

    orders = commands.add_parser(
        "orders", help="orders the gateway could not settle by itself: list them, resolve them"
    )
    order_commands = orders.add_subparsers(dest="orders_command", required=True)
    o_list = order_commands.add_parser(
        "unresolved", help="unknown, placed without a provider id, or waiting for an operator"
    )
    o_list.add_argument("--config", **_config_option())
    o_list.add_argument("--limit", type=int, default=500)
    o_list.add_argument("--json", action="store_true", help="one JSON object per line")
    o_resolve = order_commands.add_parser(
        "resolve",
        help="after looking the order's reference up in the provider's dashboard: "
        "it is there (its provider order id) or it is not",
    )
    o_resolve.add_argument("--config", **_config_option())
    o_resolve.add_argument("order_id")
    found = o_resolve.add_mutually_exclusive_group(required=True)
    found.add_argument("--provider-order-id", help="the provider's id of the order found")
    found.add_argument(
        "--not-placed", action="store_true", help="no order with this reference exists there"
    )
    o_resolve.add_argument(
        "--operator", default=_operator(), help="who decided, for the audit trail"
    )

    sandbox = commands.add_parser(
        "sandbox", help="run the sandbox provider (a faithful stand-in for the real one)"
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", **_port_option("GATEWAY_SANDBOX_PORT", 8081))
    sandbox.add_argument(
        "--gateway-url",
        help="point every account's webhook URL at this gateway "
        "(URL/provider-webhooks/ACCOUNT), as the provider's dashboard would",
    )
    sandbox.add_argument(
        "--print-env",
        action="store_true",
        help="print the export lines for gateway.example.toml's secrets, and exit",
    )
    sandbox.add_argument("--seed", type=int, default=0, help="fixes keys, ids and codes")
    sandbox.add_argument(
        "--fulfilment-delay", type=float, default=2.0, help="seconds until an order is final"
    )
    sandbox.add_argument("--webhook-interval", type=float, default=60.0)
    sandbox.add_argument("--token-ttl", type=float, default=7200.0)
    sandbox.add_argument(
        "--balance", help="every account's starting balance (default: 1000.00 and 500.00)"
    )
    sandbox.add_argument(
        "--manual-clock",
        action="store_true",
        help="time moves only through POST /sandbox/clock/advance",
    )

    codegen = commands.add_parser("codegen", help="regenerate generated/ from openapi.yaml")
    codegen.add_argument(
        "--check", action="store_true", help="only report drift; exit 1 if there is any"
    )

    args = parser.parse_args(argv)
    level = args.log_level or ("warning" if args.command == "demo" else "info")
    configure_logging(level)
    try:
        runner: Callable[[argparse.Namespace], int] = {
            "serve": _run_serve,
            "demo": _run_demo,
            "config": _run_config_check,
            "tenants": _run_tenants,
            "plugins": _run_plugins,
            "deliveries": _run_deliveries,
            "orders": _run_orders,
            "sandbox": _run_sandbox,
            "codegen": _run_codegen,
        }[args.command]
        return runner(args)
    except ConfigError as exc:
        print(f"config error: {exc.key}: {exc.reason}", file=sys.stderr)
        return 1
    except StorageUnavailable as exc:
        print(f"storage unavailable: {exc}; is the database up and reachable?", file=sys.stderr)
        return 1
    except AddressInUse as exc:
        print(
            f"cannot listen on {exc.host}:{exc.port}: it is in use. Stop what runs there, or "
            "choose another port (--port, or the command's port variable; 0 picks a free one)",
            file=sys.stderr,
        )
        return 1


# --- the gateway -------------------------------------------------------------------------


def _run_serve(args: argparse.Namespace) -> int:
    from gateway.app import Settings, create_app
    from gateway.config import load

    config = load(args.config)
    app = create_app(Settings(config, _secrets(config)))
    port = config.server.port if args.port is None else args.port

    def announce(port: int) -> None:
        print(f"Gateway on http://{config.server.host}:{port} (API at /v1, /openapi.json)")
        sys.stdout.flush()

    asyncio.run(serve(app, config.server.host, port, announce))
    return 0


def _secrets(config: Config) -> dict[str, AccountSecrets]:
    from gateway.app import AccountSecrets

    return {
        name: AccountSecrets(
            account.api_key.resolve(f"accounts.{name}.api_key"),
            account.webhook_secret.resolve(f"accounts.{name}.webhook_secret"),
        )
        for name, account in config.accounts.items()
    }


def _run_config_check(args: argparse.Namespace) -> int:
    from gateway.config import check_secrets, load
    from gateway.hooks.host import PluginHost

    config = load(args.file)
    PluginHost(config.plugins)  # each plugin checks its own settings, as `serve` has them do
    check_secrets(config)
    print(f"{args.file}: ok")
    print(f"  storage: {config.storage_url.split(':', 1)[0]}")
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


def _run_tenants(args: argparse.Namespace) -> int:
    from gateway import tenants
    from gateway.config import load

    if args.tenants_command == "list":
        for entry in tenants.list_tenants(load(args.config)):
            print(
                f"{entry['name']}: {entry['role']}, accounts {', '.join(entry['accounts'])} "
                f"(default {entry['default_account']}), {entry['tokens']} token(s)"
            )
        return 0
    if args.tenants_command == "add":
        accounts = [a.strip() for a in args.accounts.split(",") if a.strip()]
        token = tenants.add(args.config, args.name, accounts, args.default, Role(args.role))
    else:
        token = tenants.rotate_token(args.config, args.name, keep_old=not args.drop_old)
    print(token)
    print(
        "This token is shown once; the config keeps only its hash. Restart the gateway to load it.",
        file=sys.stderr,
    )
    return 0


def _run_plugins(args: argparse.Namespace) -> int:
    from gateway.config import load
    from gateway.hooks.host import PluginHost

    host = PluginHost(load(args.config).plugins)
    for position, plugin in enumerate(host.describe(), start=1):
        tenants = plugin["tenants"] if plugin["tenants"] == "all" else ", ".join(plugin["tenants"])
        print(f"{position}. {plugin['name']} ({plugin['source']}; tenants: {tenants})")
        for hook in plugin["hooks"]:
            print(f"     {hook}")
    return 0


def _run_deliveries(args: argparse.Namespace) -> int:
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
    count = asyncio.run(replay_messages(config, args.message_ids, args.subscription, args.since))
    print(f"{count} message(s) queued again; a running gateway sends them within its poll interval")
    return 0


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _run_orders(args: argparse.Namespace) -> int:
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
                _secrets(config),
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


def _run_demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="gateway-demo-") as tmp:
        storage = args.storage or f"sqlite:///{Path(tmp) / 'gateway.sqlite3'}"
        asyncio.run(run_demo(args.host, args.port, args.sandbox_port, storage))
    return 0


# --- the sandbox and the client ----------------------------------------------------------


def _run_codegen(args: argparse.Namespace) -> int:
    from gateway import codegen

    try:
        if args.check:
            drift = codegen.check()
            for line in drift:
                print(line)
            print("generated/ is up to date" if not drift else "generated/ has drifted")
            return 1 if drift else 0
        codegen.regenerate()
    except codegen.CodegenError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"regenerated {codegen.TARGET}")
    return 0


def _run_sandbox(args: argparse.Namespace) -> int:
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


if __name__ == "__main__":
    raise SystemExit(main())
