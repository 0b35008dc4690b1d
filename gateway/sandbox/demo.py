"""The sandbox's default world: a catalog that exercises every rule, and two accounts.

Keys and secrets are derived from the seed, so a given seed always prints the
same credentials.
"""

from __future__ import annotations

import random
from decimal import Decimal

from gateway.sandbox.model import Choice, FormField, Item, ProductType
from gateway.sandbox.provider import AccountSpec

REGIONS = [Choice(1, "Europe"), Choice(2, "North America"), Choice(3, "Asia")]
SERVERS = [Choice(10, "EU West"), Choice(11, "US East")]


def demo_items() -> list[Item]:
    d = Decimal
    return [
        Item(1001, "Steam Gift Card 10 EUR", ProductType.KEY, d("9.90"), d("9.50"),
             stock=None, min_quantity=d(1), max_quantity=d(10)),
        Item(1002, "PlayStation Store 20 EUR", ProductType.KEY, d("19.50"), d("18.90"),
             stock=3, min_quantity=d(1), max_quantity=d(5)),
        Item(1003, "Xbox Game Pass 1 month", ProductType.KEY, d("8.99"), None,
             stock=0, min_quantity=d(1), max_quantity=d(5)),
        Item(1004, "Retired gift card", ProductType.KEY, d("5.00"), None,
             stock=None, min_quantity=d(1), max_quantity=d(5), available=False),
        Item(2001, "Game wallet top-up (EUR)", ProductType.TOPUP, d("1.05"), d("1.02"),
             stock=None, min_quantity=d(5), max_quantity=d(500),
             fields=[FormField("player_id", "Player ID", "text"),
                     FormField("region", "Region", "choice", options=REGIONS)]),
        Item(2002, "Mobile diamonds", ProductType.TOPUP, d("0.011"), None,
             stock=None, min_quantity=d(60), max_quantity=d(8100),
             fields=[FormField("player_id", "Player ID", "text")]),
        Item(3001, "Account levelling", ProductType.SERVICE, d("25.00"), d("24.00"),
             stock=None, min_quantity=d(1), max_quantity=d(1),
             fields=[FormField("account_login", "Account login", "text"),
                     FormField("server", "Server", "choice", options=SERVERS),
                     FormField("notes", "Notes", "text", required=False)]),
    ]  # fmt: skip


def demo_accounts(seed: int = 0) -> list[AccountSpec]:
    rng = random.Random(f"sandbox-accounts-{seed}")

    def secret(prefix: str) -> str:
        return prefix + f"{rng.getrandbits(128):032x}"

    return [
        AccountSpec(
            name="main",
            client_id="client_main",
            api_keys=[secret("ak_")],
            balance=Decimal("1000.00"),
            webhook_secret=secret("whk_"),
        ),
        AccountSpec(
            name="partner",
            client_id="client_partner",
            api_keys=[secret("ak_")],
            balance=Decimal("500.00"),
            webhook_secret=secret("whk_"),
            personal_prices={1001: Decimal("8.75"), 2001: Decimal("0.98")},
        ),
    ]
