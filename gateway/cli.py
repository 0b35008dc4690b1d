"""The `gateway` command. Only this module reads argv and the environment and configures logging."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Sequence

from aiohttp import web

from gateway.clock import Clock, ManualClock, SystemClock
from gateway.logs import configure_logging


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    parser.add_argument("--log-level", default="info", help="debug, info, warning, error")
    commands = parser.add_subparsers(dest="command", required=True)

    sandbox = commands.add_parser(
        "sandbox", help="run the sandbox provider (a faithful stand-in for the real one)"
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    sandbox.add_argument("--seed", type=int, default=0, help="fixes keys, ids and codes")
    sandbox.add_argument(
        "--fulfilment-delay", type=float, default=2.0, help="seconds until an order is final"
    )
    sandbox.add_argument("--webhook-interval", type=float, default=60.0)
    sandbox.add_argument("--token-ttl", type=float, default=7200.0)
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
    configure_logging(args.log_level)
    if args.command == "sandbox":
        return _run_sandbox(args)
    return _run_codegen(args)


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
    from gateway.sandbox import SandboxSettings, create_sandbox_app, demo_accounts, demo_items

    settings = SandboxSettings(
        accounts=demo_accounts(args.seed),
        items=demo_items(),
        seed=args.seed,
        token_ttl=args.token_ttl,
        fulfilment_delay=args.fulfilment_delay,
        webhook_interval=args.webhook_interval,
    )
    clock: Clock = ManualClock() if args.manual_clock else SystemClock()
    app = create_sandbox_app(settings, clock)

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
        sys.stdout.flush()

    asyncio.run(_serve(app, args.host, args.port, banner))
    return 0


async def _serve(app: web.Application, host: str, port: int, ready: Callable[[int], None]) -> None:
    """Serve until SIGINT or SIGTERM; `ready` gets the bound port (useful with --port 0)."""
    runner = web.AppRunner(app, shutdown_timeout=5, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    ready(bound)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
