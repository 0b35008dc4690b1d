"""`[alerts]`: the operators' own sink, told once per incident when something needs a
person (gateway/alerts.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.config_fields import ConfigError, SecretRef, _number, _only, _secret, _url


@dataclass(frozen=True)
class AlertsConfig:
    url: str | None = None  # none: no alerts
    secret: SecretRef | None = None  # a whsec_ secret: alerts are signed as tenants' webhooks
    check_every_seconds: float = 60.0
    balance_floor: dict[str, Decimal] = field(default_factory=dict)


def alerts_config(raw: dict[str, Any], accounts: set[str]) -> AlertsConfig:
    _only(raw, "alerts", set(AlertsConfig.__dataclass_fields__))
    if not raw:
        return AlertsConfig()
    url = _url(raw, "alerts", "url")
    if "secret" not in raw:
        raise ConfigError("alerts.secret", 'the signing secret, such as { env = "ALERTS_SECRET" }')
    every = _number(raw, "alerts", "check_every_seconds", 60.0)
    if not 1 <= every <= 3600:
        raise ConfigError("alerts.check_every_seconds", "from 1 to 3600")
    floors = raw.get("balance_floor", {})
    if not isinstance(floors, dict):
        raise ConfigError("alerts.balance_floor", 'a table of account = "amount"')
    parsed: dict[str, Decimal] = {}
    for account, amount in floors.items():
        if account not in accounts:
            raise ConfigError(f"alerts.balance_floor.{account}", "not an account of this config")
        try:
            if not isinstance(amount, str):
                raise InvalidOperation
            parsed[account] = Decimal(amount)
        except InvalidOperation:
            raise ConfigError(
                f"alerts.balance_floor.{account}", 'an amount as text, e.g. "100.00"'
            ) from None
    return AlertsConfig(url, _secret(raw, "alerts", "secret"), every, parsed)
