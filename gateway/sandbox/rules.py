"""The provider's place-order rules, as its reference page states them.

Facts the public pages leave open are assumed here and nowhere else:
- an unknown field name is refused (the pages name no other behaviour);
- a key item accepts an integral double (`2.0`) as a count;
- an absent or empty `fields` object counts as "no fields" for key items;
- an explicit JSON null is refused like a wrong type (the contract has no nullable inputs);
- top-up and service orders deliver one unit (`delivered_quantity` 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from gateway.sandbox.model import Account, Item, ProductType

MERCHANT_ORDER_ID_MAX = 100
CENT = Decimal("0.01")


class ProviderError(Exception):
    """An error the provider answers as `{"detail", "code"}`."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}


def invalid(detail: str) -> ProviderError:
    return ProviderError(400, "validation_error", detail)


@dataclass
class ValidOrder:
    item: Item
    quantity: Decimal
    unit_price: Decimal
    price: Decimal
    fields: dict[str, str]  # as echoed: choices by display name
    merchant_order_id: str | None


def validate_order(body: Any, account: Account, items: dict[int, Item]) -> ValidOrder:
    if not isinstance(body, dict):
        raise invalid("Request body must be a JSON object")
    for name in ("item_id", "quantity", "merchant_order_id", "fields"):
        if name in body and body[name] is None:
            raise invalid(f"{name}: may not be null; omit it instead")
    item_id = body.get("item_id")
    if item_id is None:
        raise invalid("item_id: this field is required")
    if isinstance(item_id, bool) or not isinstance(item_id, int):
        raise invalid("item_id: must be an integer")
    item = items.get(item_id)
    if item is None:
        raise invalid(f"item_id: item {item_id} does not exist")
    if not item.available:
        raise invalid(f"item_id: item {item_id} is not available")
    if item.stock is not None and item.stock <= 0:
        raise invalid(f"item_id: item {item_id} is out of stock")

    merchant_order_id = body.get("merchant_order_id")
    if merchant_order_id is not None:
        if not isinstance(merchant_order_id, str):
            raise invalid("merchant_order_id: must be a string")
        if len(merchant_order_id) > MERCHANT_ORDER_ID_MAX:
            raise invalid(f"merchant_order_id: at most {MERCHANT_ORDER_ID_MAX} characters")
        if merchant_order_id in account.merchant_order_ids:
            raise invalid("merchant_order_id: an order with this merchant_order_id already exists")

    quantity = _quantity(body, item)
    fields = _fields(body.get("fields"), item)
    unit_price = account.unit_price(item)
    price = (unit_price * quantity).quantize(CENT, rounding=ROUND_HALF_UP)
    return ValidOrder(item, quantity, unit_price, price, fields, merchant_order_id)


def _quantity(body: dict[str, Any], item: Item) -> Decimal:
    raw = body.get("quantity")
    if item.product_type is ProductType.SERVICE:
        if raw is not None:
            raise invalid("quantity: service items take no quantity; omit it")
        return Decimal(1)
    if raw is None:
        if item.product_type is ProductType.TOPUP:
            raise invalid("quantity: required for top-up items")
        quantity = Decimal(1)
    else:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise invalid("quantity: must be a number")
        quantity = Decimal(str(raw))
        if item.product_type is ProductType.KEY and quantity != quantity.to_integral_value():
            raise invalid("quantity: key items take a whole number of units")
    if not item.min_quantity <= quantity <= item.max_quantity:
        raise invalid(f"quantity: must be between {item.min_quantity} and {item.max_quantity}")
    return quantity


def _fields(raw: Any, item: Item) -> dict[str, str]:
    if raw is not None and not isinstance(raw, dict):
        raise invalid("fields: must be an object keyed by field name")
    if item.product_type is ProductType.KEY:
        if raw:
            raise invalid("fields: key items take no fields")
        return {}
    if raw is None:
        raise invalid(f"fields: required for {item.product_type.value} items")
    known = {f.name: f for f in item.fields}
    for name in raw:
        if name not in known:
            raise invalid(f"fields.{name}: unknown field for item {item.id}")
    echoed: dict[str, str] = {}
    for spec in item.fields:
        value = raw.get(spec.name)
        if value is None or value == "":
            if spec.required:
                raise invalid(f"fields.{spec.name}: this field is required")
            continue
        if spec.type == "choice":
            if isinstance(value, bool) or not isinstance(value, int):
                raise invalid(f"fields.{spec.name}: must be a numeric choice id")
            chosen = next((o for o in spec.options if o.id == value), None)
            if chosen is None:
                ids = ", ".join(str(o.id) for o in spec.options)
                raise invalid(f"fields.{spec.name}: {value} is not one of the choice ids {ids}")
            echoed[spec.name] = chosen.name
        else:
            if not isinstance(value, str):
                raise invalid(f"fields.{spec.name}: must be a string")
            echoed[spec.name] = value
    return echoed
