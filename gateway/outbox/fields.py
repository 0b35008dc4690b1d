"""What a subscription's fields may hold: checked when it is made or changed, each mistake
named by its field (the payload filter's language is `gateway.outbox.filters`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from gateway.errors import AccountNotAllowed, DestinationNotAllowed, Forbidden, InvalidField
from gateway.tenants import Tenant

EVENT_TYPES = (
    "order.accepted",
    "order.completed",
    "order.partial",
    "order.failed",
    "order.unknown",
)


def check_url(value: Any) -> str:
    """The URL's shape; whether the rules allow it is `DestinationPolicy`'s to say. A
    string that is not an acceptable URL is a 422, as a refused destination is."""
    if not isinstance(value, str):
        raise InvalidField("url", "the endpoint's http:// or https:// URL, as a string")

    def refuse(reason: str) -> DestinationNotAllowed:
        return DestinationNotAllowed("url", reason)

    if len(value) > 2000:
        raise refuse("at most 2000 characters")
    if not value.isascii() or not value.isprintable() or " " in value:
        raise refuse("ASCII without spaces or control characters; percent-encode the rest")
    try:
        parsed = urlparse(value)
        parsed.port  # noqa: B018 -- raises on a port that is not a number in range
    except ValueError:
        raise refuse("not a valid URL (check the host and the port)") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise refuse("an absolute http:// or https:// URL")
    return value


def check_event_types(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidField("event_types", "a list of event types; empty means all")
    for event_type in value:
        if event_type not in EVENT_TYPES:
            raise InvalidField(
                "event_types", f"{event_type!r} is not one of {', '.join(EVENT_TYPES)}"
            )
    return tuple(dict.fromkeys(value))


def check_scope(value: Any, tenant: Tenant) -> str:
    if value is None or value == "own":
        return "own"
    if not isinstance(value, str) or not value.startswith("account:"):
        raise InvalidField("scope", "'own', or 'account:<name>' for every order of an account")
    account = value.removeprefix("account:")
    if tenant.role.value == "tenant":
        raise Forbidden(
            "only observers and admins may subscribe to a whole account; use scope 'own'",
            details={"field": "scope"},
        )
    if not tenant.may_use(account):
        raise AccountNotAllowed(
            f"scope: {account!r} is not one of your accounts", details={"field": "scope"}
        )
    return value


def check_rate(value: Any) -> float | None:
    """Deliveries a second to the endpoint (per process), or None (0 or absent): no bound
    beyond `per_endpoint_concurrency`."""
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1000:
        raise InvalidField(
            "rate_limit_per_second", "deliveries a second, above 0 and at most 1000; 0 for none"
        )
    return float(value)
