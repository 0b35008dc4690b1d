"""The provider's answers in the gateway's terms: its order object and its webhook as a
`ProviderOrder`, and what the words of a refusal mean.

With `accounts`, the only modules that know the generated client's types.
"""

from __future__ import annotations

from typing import Any

from gateway.domain import OrderStatus, ProviderOrder, decimal_from_provider
from generated.models import Order, WebhookPayload


# The provider answers every refused order with 400 `validation_error`; which refusal it is
# shows only in `detail`. Its wording is not documented (**assumed**, as the sandbox words
# it in gateway/sandbox/rules.py): correct these two when a real account shows otherwise.
def refuses_duplicate(detail: str) -> bool:
    """A duplicate merchant_order_id: the order this reference names exists."""
    return detail.startswith("merchant_order_id:") and "already exists" in detail


def checked_before_duplicates(detail: str) -> bool:
    """Item checks (unknown, unavailable, out of stock) come before the duplicate check,
    and the first sending may itself have used up the stock they look at."""
    return detail.startswith("item_id:")


def parse_webhook(body: dict[str, Any]) -> ProviderOrder:
    """The provider's webhook body, in the gateway's terms (raises on a malformed one)."""
    payload = WebhookPayload.from_dict(body)
    return ProviderOrder(
        provider_order_id=str(payload.order_id),
        reference=payload.merchant_order_id,
        status=OrderStatus(payload.status.value),
        item_id=payload.item_id,
        item_name=payload.item_name,
        product_type=None,
        quantity=decimal_from_provider(payload.quantity),
        price=decimal_from_provider(payload.total_price),
        refund_amount=decimal_from_provider(payload.refund_amount),
        delivered_quantity=payload.delivered_quantity,
        fields=payload.fields.to_dict(),
        codes=list(payload.codes),
        error=payload.error,
        error_message=payload.error_message,
        completed_at=payload.completed_at,
    )


def from_order(order: Order) -> ProviderOrder:
    return ProviderOrder(
        provider_order_id=str(order.id),
        reference=order.merchant_order_id,
        status=OrderStatus(order.status.value),
        item_id=order.item,
        item_name=order.item_name,
        product_type=order.item_product_type.value,
        quantity=decimal_from_provider(order.quantity),
        price=decimal_from_provider(order.price),
        refund_amount=decimal_from_provider(order.refund_amount),
        delivered_quantity=order.delivered_quantity,
        fields=order.fields.to_dict(),
        codes=list(order.codes),
        error=order.error,
        error_message=order.error_message,
        completed_at=order.completed_at,
    )
