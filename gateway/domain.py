"""The gateway's own types. Only `gateway.provider.accounts` knows the generated client's types."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


class OrderStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"
    # The provider's answer was lost (timeout, 5xx): the order may or may not exist there.
    # The gateway re-sends it until the provider answers (docs/operations.md).
    UNKNOWN = "unknown"

    @property
    def terminal(self) -> bool:
        return self in (OrderStatus.COMPLETED, OrderStatus.PARTIAL, OrderStatus.FAILED)


@dataclass(frozen=True)
class PlaceRequest:
    """A tenant's order, as validated at the edge (types only; item rules are the plugins')."""

    item_id: int
    quantity: Decimal | None
    merchant_order_id: str | None
    fields: dict[str, Any]
    account: str | None


@dataclass(frozen=True)
class ProviderOrder:
    """The provider's view of one order, from a place or get answer or from its webhook."""

    provider_order_id: str
    reference: str | None  # the provider's merchant_order_id: our reference
    status: OrderStatus
    item_id: int | None
    item_name: str
    product_type: str | None
    quantity: Decimal
    price: Decimal
    refund_amount: Decimal
    delivered_quantity: int
    fields: dict[str, str]
    codes: list[str]
    error: str
    error_message: str
    completed_at: datetime | None


@dataclass
class OrderRecord:
    id: str
    reference: str
    tenant: str
    account: str
    merchant_order_id: str | None
    request_hash: str
    item_id: int
    quantity: Decimal | None
    fields: dict[str, Any]
    currency: str
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    item_name: str | None = None
    product_type: str | None = None
    provider_order_id: str | None = None
    price: Decimal | None = None
    refund_amount: Decimal = Decimal(0)
    delivered_quantity: int = 0
    codes: list[str] = field(default_factory=list)
    error: str | None = None
    error_message: str | None = None
    completed_at: datetime | None = None
    # No dead ends: while `unknown`, who is placing it and how often it was re-sent; and
    # why an operator must decide, once the gateway cannot find out by itself.
    owner: str | None = None
    resend_at: datetime | None = None  # None while `unknown`: never sent
    resend_attempts: int = 0
    unresolved: str | None = None
    # W3C trace context of the place-order: later events of the order are sent in its trace.
    traceparent: str | None = None


# --- the catalog, as the gateway reads the provider's snapshot ---------------------------


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    type: str
    required: bool
    options: tuple[Choice, ...]


@dataclass(frozen=True)
class CatalogItem:
    id: int
    name: str
    product_type: str
    price: Decimal
    subscriber_price: Decimal | None
    stock: int | None
    min_quantity: Decimal
    max_quantity: Decimal
    available: bool
    fields: tuple[FormField, ...]

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> CatalogItem:
        sub = record.get("subscriber_price")
        return cls(
            id=int(record["id"]),
            name=str(record["name"]),
            product_type=str(record["product_type"]),
            price=decimal_from_provider(record["price"]),
            subscriber_price=None if sub is None else decimal_from_provider(sub),
            stock=record.get("stock"),
            min_quantity=decimal_from_provider(record.get("min_quantity", 1)),
            max_quantity=decimal_from_provider(record.get("max_quantity", 1)),
            available=bool(record.get("available", True)),
            fields=tuple(
                FormField(
                    name=str(f["name"]),
                    label=str(f.get("label", f["name"])),
                    type=str(f.get("type", "text")),
                    required=bool(f.get("required", True)),
                    options=tuple(
                        Choice(int(o["id"]), str(o["name"])) for o in f.get("options") or ()
                    ),
                )
                for f in record.get("fields") or ()
            ),
        )


def unresolved_state(order: OrderRecord) -> str:
    """Why an order is not settled yet: `resending` (its outcome is unknown and the gateway
    is finding out), `awaiting_webhook` (placed, no provider id yet) or `operator`."""
    if order.unresolved is not None:
        return "operator"
    if order.status is OrderStatus.UNKNOWN:
        return "resending"
    return "awaiting_webhook"


def decimal_from_provider(value: float | int) -> Decimal:
    """The provider's JSON numbers are doubles; their shortest repr is the decimal it meant."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def money_text(value: Decimal) -> str:
    """A JSON money string: at least two decimals, never an exponent."""
    if value.as_tuple().exponent > -2:  # type: ignore[operator]
        value = value.quantize(Decimal("0.01"))
    return format(value, "f")


def quantity_text(value: Decimal) -> str:
    return format(value.normalize(), "f")
