"""`gateway demo`: the sandbox provider and a gateway in front of it, wired, with demo tenants.

What a new user runs first: it needs no config and no secrets, prints the
tenants' tokens (made fresh each start) and a curl line that places an order.
"""

from __future__ import annotations

import sys

from gateway.app import AccountSecrets, Settings, create_app
from gateway.config import parse
from gateway.sandbox import SANDBOX, SandboxSettings, create_sandbox_app, demo_accounts, demo_items
from gateway.serving import start, until_stopped
from gateway.state import DESTINATIONS
from gateway.tenants import new_token, token_hash

DEMO_TENANTS = {
    "shop": ("tenant", ["main", "partner"]),
    "watch": ("observer", ["main", "partner"]),
    "ops": ("admin", ["main", "partner"]),
}


async def run_demo(
    host: str, port: int, sandbox_port: int, storage_url: str, seal_keys: list[str]
) -> None:
    accounts = demo_accounts(0)
    sandbox_app = create_sandbox_app(
        SandboxSettings(accounts=accounts, items=demo_items(), fulfilment_delay=2.0)
    )
    sandbox_runner, sandbox_bound = await start(sandbox_app, host, sandbox_port)
    runners = [sandbox_runner]
    try:
        provider = f"http://{host}:{sandbox_bound}"
        tokens = {name: new_token() for name in DEMO_TENANTS}
        config = parse(
            {
                "storage": {"url": storage_url},
                # a new user's first receiver is on this machine: let webhooks reach loopback
                # (never the gateway itself nor the sandbox: those stay refused)
                "webhooks": {"destinations": {"allow": ["127.0.0.0/8", "::1/128"]}},
                "accounts": {
                    spec.name: {
                        "base_url": provider,
                        "client_id": spec.client_id,
                        "currency": "EUR",
                        "api_key": {"env": "UNUSED_IN_DEMO"},
                        "webhook_secret": {"env": "UNUSED_IN_DEMO"},
                    }
                    for spec in accounts
                },
                "tenants": {
                    name: {
                        "token_hashes": [token_hash(tokens[name])],
                        "accounts": accts,
                        "role": role,
                    }
                    for name, (role, accts) in DEMO_TENANTS.items()
                },
            }
        )
        secrets = {
            spec.name: AccountSecrets(spec.api_keys[0], spec.webhook_secret) for spec in accounts
        }
        app = create_app(Settings(config, secrets, seal_keys=seal_keys))
        gateway_runner, bound = await start(app, host, port)
        runners.append(gateway_runner)
        app[DESTINATIONS].forbid_own(host, bound)
        base = f"http://{host}:{bound}"
        for spec in accounts:
            sandbox_app[SANDBOX].account(
                spec.name
            ).webhook_url = f"{base}/provider-webhooks/{spec.name}"
        print(f"Gateway on {base} in front of the sandbox provider on {provider}")
        for name, (role, accts) in DEMO_TENANTS.items():
            print(f"  tenant {name:<5} ({role}, accounts {', '.join(accts)}): {tokens[name]}")
        print("Place a first order:")
        print(
            f"  curl -s -X POST {base}/v1/orders -H 'Authorization: Bearer {tokens['shop']}'"
            " -H 'Content-Type: application/json' -d '{\"item_id\": 1001, \"quantity\": 2}'"
        )
        print(f"Then list it: curl -s {base}/v1/orders -H 'Authorization: Bearer {tokens['shop']}'")
        print(f"The API: {base}/openapi.json   Readiness: {base}/readyz   (Ctrl-C stops)")
        sys.stdout.flush()
        await until_stopped()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
