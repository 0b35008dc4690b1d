"""Reading tenant input: each mistake names its field and says what to send instead."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from multidict import MultiMapping

from gateway.clock import parse_rfc3339
from gateway.domain import OrderStatus, PlaceRequest
from gateway.errors import BadRequest, InvalidField

PLACE_FIELDS = {"item_id", "quantity", "merchant_order_id", "fields", "account"}
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


def place_request(body: Any) -> PlaceRequest:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    unknown = sorted(set(body) - PLACE_FIELDS)
    if unknown:
        raise InvalidField(
            unknown[0], f"unknown field; an order takes {', '.join(sorted(PLACE_FIELDS))}"
        )
    no_nulls(body)
    item_id = body.get("item_id")
    if isinstance(item_id, float) and item_id.is_integer():
        item_id = int(item_id)  # JSON has one number type: 1001.0 is the integer 1001
    if item_id is None:
        raise InvalidField("item_id", "required: the numeric id of a catalog item")
    if isinstance(item_id, bool) or not isinstance(item_id, int) or not 0 < item_id < 2**63:
        raise InvalidField("item_id", "must be a positive integer")
    quantity = body.get("quantity")
    merchant_order_id = body.get("merchant_order_id")
    if merchant_order_id is not None and (
        not isinstance(merchant_order_id, str) or not 0 < len(merchant_order_id) <= 100
    ):
        raise InvalidField("merchant_order_id", "a string of 1 to 100 characters")
    fields = body.get("fields", {})
    if not isinstance(fields, dict):
        raise InvalidField("fields", "an object keyed by the item's field names")
    for name, value in fields.items():
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidField(
                f"fields.{name}", "a text field takes a string, a choice field its numeric id"
            )
    account = body.get("account")
    if account is not None and (not isinstance(account, str) or not account):
        raise InvalidField("account", "the name of one of your accounts")
    return PlaceRequest(
        item_id=item_id,
        quantity=None if quantity is None else _quantity(quantity),
        merchant_order_id=merchant_order_id,
        fields=fields,
        account=account,
    )


def no_nulls(body: dict[str, Any]) -> None:
    for name, value in body.items():
        if value is None:
            raise InvalidField(name, "may not be null; leave the field out instead")


def _quantity(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidField("quantity", 'a positive number, or a decimal string such as "12.50"')
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidField("quantity", "must be finite")
    try:
        quantity = Decimal(str(value))
    except InvalidOperation:
        raise InvalidField("quantity", 'not a number; send e.g. 2 or "12.50"') from None
    if not quantity.is_finite() or quantity <= 0:
        raise InvalidField("quantity", "must be a positive number")
    if quantity > Decimal("1e12"):
        raise InvalidField("quantity", "too large")
    return quantity


def idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not 0 < len(value) <= 255 or not value.isprintable() or not value.isascii():
        raise InvalidField("Idempotency-Key", "1 to 255 printable ASCII characters")
    return value


def only(query: MultiMapping[str], allowed: set[str]) -> None:
    for key, value in query.items():
        if key not in allowed:
            raise InvalidField(
                key, f"unknown query parameter; this list takes {', '.join(sorted(allowed))}"
            )
        if value == "":
            raise InvalidField(key, "empty; leave the parameter out instead")


def whole(raw: str, low: int = 0, high: int = 2**63 - 1) -> int | None:
    """An ASCII whole number within bounds (storage holds 64-bit integers), else None."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if low <= value <= high else None


def limit(query: MultiMapping[str]) -> int:
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    value = whole(raw, 1, MAX_LIMIT)
    if value is None:
        raise InvalidField("limit", f"a whole number from 1 to {MAX_LIMIT}")
    return value


def integer(query: MultiMapping[str], name: str, low: int = 0) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    value = whole(raw, low)
    if value is None:
        raise InvalidField(name, f"a whole number from {low} (at most 19 digits)")
    return value


def status(query: MultiMapping[str]) -> OrderStatus | None:
    raw = query.get("status")
    if raw is None:
        return None
    try:
        return OrderStatus(raw)
    except ValueError:
        raise InvalidField("status", f"one of {', '.join(s.value for s in OrderStatus)}") from None


def timestamp(query: MultiMapping[str], name: str) -> datetime | None:
    raw = query.get(name)
    return None if raw is None else rfc3339(raw, name)


def rfc3339(raw: str, name: str) -> datetime:
    try:
        return parse_rfc3339(raw)
    except ValueError as exc:
        hint = ""
        if " " in raw.strip():  # a `+01:00` offset sent unencoded arrives as a space
            hint = "; a '+' in a URL query must be encoded as %2B (or use a trailing Z)"
        raise InvalidField(
            name,
            f"{exc}: an RFC 3339 time with its offset, such as 2026-11-28T10:00:00Z{hint}",
        ) from None


def boolean(query: MultiMapping[str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise InvalidField(name, "true or false")
    return raw == "true"
