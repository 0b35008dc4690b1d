"""The `gateway` command line: its options, its environment variables, its exit statuses.

Only this module (with `gateway.commands`, which does what each subcommand
says) reads argv and the environment and configures logging.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway import commands as subcommands
from gateway.config import ConfigError, Role
from gateway.logs import configure_logging
from gateway.sealing import SealError
from gateway.serving import AddressInUse
from gateway.storage.database import StorageUnavailable

if TYPE_CHECKING:
    pass


ENVIRONMENT = """environment variables (an option given on the command line wins):
  GATEWAY_CONFIG        the config file, for every command that takes --config
  GATEWAY_LOG_LEVEL     debug, info, warning or error (default: info; demo: warning)
  GATEWAY_PORT          the gateway's port, for serve and demo
  GATEWAY_WORKERS       gateway processes for serve (PostgreSQL only; default 1)
  GATEWAY_SANDBOX_PORT  the sandbox's port, for sandbox and demo
  GATEWAY_SEAL_KEYS     the keys codes are sealed with, newest first (unless the config's
                        [storage] seal_keys names another source)

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


def _config_runner(args: argparse.Namespace) -> Callable[[argparse.Namespace], int]:
    if args.command == "config" and args.config_command in ("diff", "apply"):
        from gateway.admin.commands import run_config_sync

        return run_config_sync
    return subcommands.run_config_check


def _run_orders(args: argparse.Namespace) -> int:
    if args.orders_command in ("show", "decisions"):
        from gateway.remote import run_remote_orders

        return run_remote_orders(args)
    return subcommands.run_orders(args)


def _run_tenants(args: argparse.Namespace) -> int:
    from gateway.admin.commands import run_tenants

    return run_tenants(args)


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
    serve.add_argument(
        "--workers",
        type=int,
        default=int(os.environ["GATEWAY_WORKERS"])
        if os.environ.get("GATEWAY_WORKERS", "").isdigit()
        else 1,
        help="processes on the one port, for a machine's cores (PostgreSQL only;"
        " default: $GATEWAY_WORKERS, else 1)",
    )
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)

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

    for name, what in (
        ("diff", "what `apply` would change in the database"),
        ("apply", "make the database's tenants, tokens and policies the file's"),
    ):
        sync = config_commands.add_parser(name, help=what)
        sync.add_argument("file", type=Path, help="the config file (its [tenants] and storage)")
        sync.add_argument(
            "--prune", action="store_true", help="also delete what the file does not declare"
        )  # fmt: skip

    tenants = commands.add_parser(
        "tenants", help="tenants, their tokens and policies: in the database or a gateway's API"
    )
    tenant_commands = tenants.add_subparsers(dest="tenants_command", required=True)

    def tenant_command(name: str, help: str, named: bool = True) -> argparse.ArgumentParser:
        command = tenant_commands.add_parser(name, help=help)
        if named:
            command.add_argument("name")
        target = command.add_mutually_exclusive_group()
        option = _config_option()
        option["required"] = False
        target.add_argument("--config", **option)
        target.add_argument(
            "--url", default=os.environ.get("GATEWAY_URL"),
            help="a running gateway's URL, with $GATEWAY_ADMIN_TOKEN (default: $GATEWAY_URL)",
        )  # fmt: skip
        return command

    add = tenant_command("add", "add a tenant; prints its first token once")
    add.add_argument("--accounts", required=True, help="comma-separated account names")
    add.add_argument("--default", help="default account (default: the first)")
    add.add_argument("--role", choices=[r.value for r in Role], default="tenant")
    add.add_argument("--label", default="first token", help="the token's label")
    tenant_command("list", "tenants, roles, accounts, token counts, policies", named=False)
    tenant_command("show", "one tenant and its tokens (ids, labels, last use; never secrets)")
    rotate = tenant_command("rotate-token", "a new token; prints it once")
    rotate.add_argument("--drop-old", action="store_true", help="revoke the others now")
    rotate.add_argument("--label", default="rotated", help="the new token's label")
    revoke = tenant_command("revoke", "revoke one token, by its id (see `show`)")
    revoke.add_argument("token_id")
    tenant_command("disable", "refuse the tenant's tokens until it is enabled")
    tenant_command("enable", "accept the tenant's tokens again")
    tenant_command("remove", "delete the tenant and its tokens (its orders stay)")
    policy = tenant_command("policy", "show, or set with --mode, how a plugin runs for it")
    policy.add_argument("plugin")
    policy.add_argument("--mode", choices=["enforce", "shadow", "off"])
    policy.add_argument("--settings", help="JSON: the plugin's settings for this tenant")

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
        "replay", help="send messages again: by id, or a subscription's in a time range"
    )
    d_replay.add_argument("--config", **_config_option())
    d_replay.add_argument("message_ids", nargs="*")
    d_replay.add_argument("--subscription")
    d_replay.add_argument("--since", help="RFC 3339; with --subscription: messages created since")
    d_replay.add_argument("--until", help="RFC 3339; the range is [since, until) (default: now)")
    d_replay.add_argument("--state", choices=["failed", "delivered", "all"], default="failed")
    d_replay.add_argument(
        "--dry-run", action="store_true", help="count what would be sent; send nothing"
    )

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
    for name, what in (
        ("show", "one order, as its tenant sees it"),
        ("decisions", "each plugin hook that ran for an order, in order"),
    ):
        remote = order_commands.add_parser(name, help=f"{what} (from a running gateway)")
        remote.add_argument("order_id")
        url = os.environ.get("GATEWAY_URL")
        remote.add_argument(
            "--url", default=url, required=not url,
            help="the gateway's URL (default: $GATEWAY_URL); your token in $GATEWAY_TOKEN",
        )  # fmt: skip
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
        "--operator", default=subcommands.operator(), help="who decided, for the audit trail"
    )

    seal = commands.add_parser(
        "seal", help="the keys gift-card codes are sealed with at rest (docs/security.md)"
    )
    seal_commands = seal.add_subparsers(dest="seal_command", required=True)
    seal_commands.add_parser("new-key", help="print a new key (put it first, then rekey)")
    rekey = seal_commands.add_parser(
        "rekey", help="re-seal every stored code with the newest key; prints counts per column"
    )
    rekey.add_argument("--config", **_config_option())

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

    codegen = commands.add_parser(
        "codegen", help="regenerate generated/ from openapi.yaml, or the tenant SDK (--target)"
    )
    codegen.add_argument(
        "--check", action="store_true", help="only report drift; exit 1 if there is any"
    )
    codegen.add_argument(
        "--target",
        choices=["client", "sdk", "all"],
        default="client",
        help="client: generated/ from openapi.yaml (default); sdk: the tenant SDK "
        "sdk/python/gateway_client/ from gateway/api/tenant-api.yaml; all: both",
    )

    args = parser.parse_args(argv)
    quiet = args.command in ("demo", "tenants", "config")  # their output is for people
    level = args.log_level or ("warning" if quiet else "info")
    configure_logging(level)
    try:
        runner: Callable[[argparse.Namespace], int] = {
            "serve": subcommands.run_serve,
            "demo": subcommands.run_demo,
            "config": _config_runner(args),
            "tenants": _run_tenants,
            "plugins": subcommands.run_plugins,
            "deliveries": subcommands.run_deliveries,
            "orders": _run_orders,
            "seal": subcommands.run_seal,
            "sandbox": subcommands.run_sandbox,
            "codegen": subcommands.run_codegen,
        }[args.command]
        return runner(args)
    except ConfigError as exc:
        print(f"config error: {exc.key}: {exc.reason}", file=sys.stderr)
        return 1
    except SealError as exc:
        print(f"seal error: {exc}", file=sys.stderr)
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


if __name__ == "__main__":
    raise SystemExit(main())
