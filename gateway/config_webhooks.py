"""`[webhooks]` and `[webhooks.destinations]`: how tenant webhooks are sent, and where to.

The destination rules are the operator's: which networks a tenant's endpoint may
be on (TENANT-API.md, "Destinations"). The defaults suit a gateway on a
network with private services: public addresses allowed, loopback, link-local,
private and the like refused unless `allow` lists them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from gateway.config_fields import ConfigError, _int, _number, _only

HOST_PATTERN = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")
DEFAULT_PORTS = ((80, 80), (443, 443), (1024, 65535))


@dataclass(frozen=True)
class DestinationsConfig:
    # CIDR ranges and host names (`*.example.com` matches its subdomains) that endpoints
    # may be at even where the rules below refuse them.
    allow: tuple[str, ...] = ()
    allow_public: bool = True
    allowed_ports: tuple[tuple[int, int], ...] = DEFAULT_PORTS
    max_subscriptions_per_tenant: int = 20


@dataclass(frozen=True)
class WebhooksConfig:
    """Tenant webhook delivery and order reconciliation.

    The default retry schedule follows Svix's: after the first attempt, 5 s,
    5 min, 30 min, 2 h, 5 h, 10 h and 10 h, eight attempts over about 28 hours.
    Delivered payloads are kept a week (`payload_retention_hours`) so that a
    tenant can replay a week back, then emptied: what they carried, codes
    included, is no longer in the database. Delivered and cancelled messages
    and their attempts are deleted after 30 days (`message_retention_hours`): a
    month of delivery log answers "did you send it?"; failed ones stay for an
    operator to replay.
    """

    retry_schedule_seconds: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    jitter: float = 0.1
    attempt_timeout_seconds: float = 10.0
    per_endpoint_concurrency: int = 4
    disable_after_hours: float = 72.0
    secret_overlap_hours: float = 24.0
    poll_interval_seconds: float = 1.0
    reconcile_after_seconds: float = 600.0
    reconcile_interval_seconds: float = 60.0
    payload_retention_hours: float = 168.0
    message_retention_hours: float = 720.0
    # per tenant and process; past them a 429 with Retry-After
    test_sends_per_minute: int = 10
    replays_per_minute: int = 10
    # creating or changing a subscription resolves its URL's name: bounded, so that the
    # check is no lookup service into the operator's network
    subscription_changes_per_minute: int = 30
    destinations: DestinationsConfig = field(default_factory=DestinationsConfig)


_INTEGERS = {
    "per_endpoint_concurrency",
    "test_sends_per_minute",
    "replays_per_minute",
    "subscription_changes_per_minute",
}


def webhooks_config(raw: dict[str, Any]) -> WebhooksConfig:
    defaults = WebhooksConfig()
    names = set(WebhooksConfig.__dataclass_fields__)
    _only(raw, "webhooks", names)
    values: dict[str, Any] = {}
    for name in names - {"retry_schedule_seconds", "destinations"} - _INTEGERS:
        value = _number(raw, "webhooks", name, getattr(defaults, name))
        if value < 0 or (name != "jitter" and name.endswith(("seconds", "hours")) and value <= 0):
            raise ConfigError(f"webhooks.{name}", "must be positive")
        values[name] = value
    if values["jitter"] >= 1:
        raise ConfigError("webhooks.jitter", "a share below 1, such as 0.1 for ±10%")
    if values["message_retention_hours"] < values["payload_retention_hours"]:
        raise ConfigError(
            "webhooks.message_retention_hours",
            f"at least payload_retention_hours ({values['payload_retention_hours']:g}): a"
            " delivered message is kept as long as its payload can be replayed",
        )
    for name in _INTEGERS:
        values[name] = _int(raw, "webhooks", name, getattr(defaults, name))
        if values[name] < 1:
            raise ConfigError(f"webhooks.{name}", "at least 1")
    schedule = raw.get("retry_schedule_seconds", list(defaults.retry_schedule_seconds))
    if not isinstance(schedule, list) or not all(
        isinstance(s, int | float) and not isinstance(s, bool) and s > 0 for s in schedule
    ):
        raise ConfigError(
            "webhooks.retry_schedule_seconds", "a list of positive delays, e.g. [5, 300, 1800]"
        )
    destinations = raw.get("destinations", {})
    if not isinstance(destinations, dict):
        raise ConfigError("webhooks.destinations", "must be a table")
    return WebhooksConfig(
        retry_schedule_seconds=tuple(float(s) for s in schedule),
        destinations=destinations_config(destinations),
        **values,
    )


def destinations_config(raw: dict[str, Any]) -> DestinationsConfig:
    where = "webhooks.destinations"
    _only(raw, where, set(DestinationsConfig.__dataclass_fields__))
    allow = raw.get("allow", [])
    if not isinstance(allow, list) or not all(isinstance(v, str) and v for v in allow):
        raise ConfigError(f"{where}.allow", 'a list such as ["10.20.0.0/16", "*.hooks.internal"]')
    for entry in allow:
        if not _is_network(entry) and not HOST_PATTERN.match(entry.lower()):
            raise ConfigError(
                f"{where}.allow",
                f"{entry!r} is neither a CIDR range (10.0.0.0/8, fd00::/8) nor a host name"
                " (hooks.example.com, *.example.com)",
            )
    allow_public = raw.get("allow_public", True)
    if not isinstance(allow_public, bool):
        raise ConfigError(f"{where}.allow_public", "true or false")
    quota = _int(raw, where, "max_subscriptions_per_tenant", 20)
    if quota < 1:
        raise ConfigError(f"{where}.max_subscriptions_per_tenant", "at least 1")
    return DestinationsConfig(
        allow=tuple(entry.lower() for entry in allow),
        allow_public=allow_public,
        allowed_ports=_ports(raw.get("allowed_ports"), f"{where}.allowed_ports"),
        max_subscriptions_per_tenant=quota,
    )


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def _ports(value: Any, key: str) -> tuple[tuple[int, int], ...]:
    if value is None:
        return DEFAULT_PORTS
    hint = 'a list of ports and ranges, e.g. [80, 443, "1024-65535"]'
    if not isinstance(value, list) or not value:
        raise ConfigError(key, hint)
    ranges: list[tuple[int, int]] = []
    for entry in value:
        if isinstance(entry, int) and not isinstance(entry, bool):
            low = high = entry
        elif isinstance(entry, str) and re.fullmatch(r"\d{1,5}-\d{1,5}", entry):
            low, high = (int(part) for part in entry.split("-"))
        else:
            raise ConfigError(key, hint)
        if not 1 <= low <= high <= 65535:
            raise ConfigError(key, f"{entry!r}: ports run from 1 to 65535, low to high")
        ranges.append((low, high))
    return tuple(ranges)
