"""`gateway orders show|decisions ID --url URL`: a tenant's view of a running gateway.

These go through the generated tenant SDK (`gateway_client`, sdk/python), as a
team's own code would: the CLI is its first user, so a change to the
gateway's document that breaks the SDK breaks these commands' tests too. The
token comes from $GATEWAY_TOKEN, never from the command line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from gateway_client import AuthenticatedClient
from gateway_client.api.orders import get_order, list_order_decisions
from gateway_client.models import Error


def _client(url: str) -> AuthenticatedClient:
    token = os.environ.get("GATEWAY_TOKEN", "")
    if not token:
        raise SystemExit("error: export GATEWAY_TOKEN=<your tenant token> to use --url")
    # trust_env off: no proxy variable may send the token anywhere but the URL given
    return AuthenticatedClient(
        base_url=url.rstrip("/"), token=token, httpx_args={"trust_env": False}
    )


def run_remote_orders(args: argparse.Namespace) -> int:
    with _client(args.url) as client:
        answer: Any
        if args.orders_command == "show":
            answer = get_order.sync(args.order_id, client=client)
        else:
            answer = list_order_decisions.sync(args.order_id, client=client)
    if isinstance(answer, Error):
        print(f"error: {answer.error.code}: {answer.error.message}", file=sys.stderr)
        return 1
    if answer is None:
        print(
            "error: the gateway answered with a status its document does not name", file=sys.stderr
        )
        return 1
    if args.orders_command == "show":
        print(json.dumps(answer.to_dict(), sort_keys=True))
        return 0
    for d in answer.data:
        said = f" {d.code}: {d.message}" if d.code else (f" {d.message}" if d.message else "")
        print(
            f"{d.at.isoformat()} {d.plugin:<12} {d.hook:<26} {d.outcome.value:<12} "
            f"{d.mode.value:<7} {d.duration_ms:7.3f} ms{said}"
        )
    return 0
