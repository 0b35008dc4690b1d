"""How the gateway's objects look in JSON: money as decimal strings, codes only to their owner."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.clock import isoformat_z
from gateway.domain import CatalogItem, OrderRecord, money_text, quantity_text, unresolved_state


def order_view(order: OrderRecord, *, owner: bool) -> dict[str, Any]:
    """`owner`: the order's own tenant, who alone sees its codes (money) and the fields it
    sent (often a player's or a customer's details); observers and admins see null."""
    return {
        "id": order.id,
        "tenant": order.tenant,
        "account": order.account,
        "provider_order_id": order.provider_order_id,
        "item_id": order.item_id,
        "item_name": order.item_name,
        "product_type": order.product_type,
        "quantity": None if order.quantity is None else quantity_text(order.quantity),
        "delivered_quantity": order.delivered_quantity,
        "price": None if order.price is None else money_text(order.price),
        "refund_amount": money_text(order.refund_amount),
        "currency": order.currency,
        "fields": order.fields if owner else None,
        "status": order.status.value,
        "error": order.error,
        "error_message": order.error_message,
        "codes": list(order.codes) if owner else None,
        "merchant_order_id": order.merchant_order_id,
        "created_at": isoformat_z(order.created_at),
        "completed_at": isoformat_z(order.completed_at) if order.completed_at else None,
    }


def item_view(item: CatalogItem, account: str, currency: str, source: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "product_type": item.product_type,
        "account": account,
        "price": money_text(item.price),
        "subscriber_price": (
            None if item.subscriber_price is None else money_text(item.subscriber_price)
        ),
        "currency": currency,
        "price_list": source,
        "stock": item.stock,
        "min_quantity": quantity_text(item.min_quantity),
        "max_quantity": quantity_text(item.max_quantity),
        "available": item.available,
        "fields": [
            {
                "name": f.name,
                "label": f.label,
                "type": f.type,
                "required": f.required,
                "options": [{"id": o.id, "name": o.name} for o in f.options]
                if f.type == "choice"
                else None,
            }
            for f in item.fields
        ],
    }


def unresolved_view(order: OrderRecord, now: datetime) -> dict[str, Any]:
    """What an operator needs to look an order up in the provider's dashboard."""
    return {
        "id": order.id,
        "state": unresolved_state(order),
        "status": order.status.value,
        "tenant": order.tenant,
        "account": order.account,
        "reference": order.reference,
        "merchant_order_id": order.merchant_order_id,
        "item_id": order.item_id,
        "price": None if order.price is None else money_text(order.price),
        "currency": order.currency,
        "attempts": order.resend_attempts,
        "reason": order.unresolved,
        "created_at": isoformat_z(order.created_at),
        "age_seconds": int((now - order.created_at).total_seconds()),
    }
