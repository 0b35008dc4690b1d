"""The sandbox provider's state: accounts, catalog items, orders and faults."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from gateway.clock import isoformat_z


class ProductType(enum.StrEnum):
    KEY = "key"
    TOPUP = "topup"
    SERVICE = "service"


class Status(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (Status.COMPLETED, Status.PARTIAL, Status.FAILED)


@dataclass
class Choice:
    id: int
    name: str


@dataclass
class FormField:
    name: str
    label: str
    type: str  # "text" or "choice"
    required: bool = True
    options: list[Choice] = field(default_factory=list)


@dataclass
class Item:
    id: int
    name: str
    product_type: ProductType
    price: Decimal
    subscriber_price: Decimal | None = None
    stock: int | None = None  # None: unlimited
    min_quantity: Decimal = Decimal(1)
    max_quantity: Decimal = Decimal(1)
    available: bool = True
    fields: list[FormField] = field(default_factory=list)

    def record(self, price: Decimal | None = None) -> dict[str, Any]:
        """The snapshot record, with an account's personal price when it has one."""
        return {
            "id": self.id,
            "name": self.name,
            "product_type": self.product_type.value,
            "price": number_json(price if price is not None else self.price),
            "subscriber_price": (
                None if self.subscriber_price is None else number_json(self.subscriber_price)
            ),
            "stock": self.stock,
            "min_quantity": number_json(self.min_quantity),
            "max_quantity": number_json(self.max_quantity),
            "available": self.available,
            "fields": [
                {
                    "name": f.name,
                    "label": f.label,
                    "type": f.type,
                    "required": f.required,
                    **(
                        {"options": [{"id": o.id, "name": o.name} for o in f.options]}
                        if f.type == "choice"
                        else {}
                    ),
                }
                for f in self.fields
            ],
        }


@dataclass
class Faults:
    """What goes wrong for one account, decided per request with the sandbox's seeded RNG.

    Rates are shares between 0 and 1. `hang_rate` answers nothing at all, after
    the request has taken effect: the lost-answer case a client must survive.
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    hang_rate: float = 0.0
    drop_webhook_rate: float = 0.0
    duplicate_webhook_rate: float = 0.0
    fail_order_rate: float = 0.0

    RATES = (
        "error_rate",
        "rate_limit_rate",
        "hang_rate",
        "drop_webhook_rate",
        "duplicate_webhook_rate",
        "fail_order_rate",
    )


@dataclass
class Outcome:
    """A scripted result for the next order of an account to reach fulfilment."""

    status: Status
    delivered_quantity: int | None = None
    error: str = ""
    error_message: str = ""


@dataclass
class Account:
    name: str
    client_id: str
    api_keys: dict[str, bool]  # key -> active
    balance: Decimal
    webhook_secret: str
    webhook_url: str | None = None
    api_enabled: bool = True
    personal_prices: dict[int, Decimal] | None = None
    faults: Faults = field(default_factory=Faults)
    scripted: list[Outcome] = field(default_factory=list)
    merchant_order_ids: set[str] = field(default_factory=set)

    def unit_price(self, item: Item) -> Decimal:
        if self.personal_prices and item.id in self.personal_prices:
            return self.personal_prices[item.id]
        return item.price


@dataclass
class Order:
    id: str
    account: str
    item: Item
    quantity: Decimal
    price: Decimal
    unit_price: Decimal
    fields: dict[str, str]
    merchant_order_id: str | None
    source: str
    created_by: dict[str, Any] | None
    created_at: datetime
    status: Status = Status.PENDING
    delivered_quantity: int = 0
    refund_amount: Decimal = Decimal(0)
    error: str = ""
    error_message: str = ""
    codes: list[str] = field(default_factory=list)
    completed_at: datetime | None = None


def number_json(value: Decimal) -> int | float:
    """A provider number: JSON integers where whole, doubles otherwise."""
    return int(value) if value == value.to_integral_value() else float(value)


def order_json(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "item": order.item.id,
        "item_name": order.item.name,
        "item_product_type": order.item.product_type.value,
        "quantity": number_json(order.quantity),
        "delivered_quantity": order.delivered_quantity,
        "price": number_json(order.price),
        "refund_amount": number_json(order.refund_amount),
        "fields": dict(order.fields),
        "status": order.status.value,
        "error": order.error,
        "error_message": order.error_message,
        "codes": list(order.codes),
        "merchant_order_id": order.merchant_order_id,
        "source": order.source,
        "created_by": order.created_by,
        "created_at": isoformat_z(order.created_at),
        "completed_at": isoformat_z(order.completed_at) if order.completed_at else None,
    }
