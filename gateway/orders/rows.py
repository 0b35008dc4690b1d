"""An order's row and its record: the one mapping between the orders table and
`OrderRecord`, both ways, so that what is written reads back equal. The codes are
sealed in the row (`gateway.sealing`): a copy of the table alone gives none away."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from decimal import Decimal

from gateway.clock import stamp, unstamp
from gateway.domain import OrderRecord, OrderStatus, ProviderOrder
from gateway.sealing import Sealer
from gateway.storage import Row


def advanced(current: OrderRecord, seen: ProviderOrder, now: datetime) -> OrderRecord:
    """The order as the ledger's UPDATE leaves it (and as it reads back from storage)."""
    return dataclasses.replace(
        current,
        provider_order_id=seen.provider_order_id,
        status=seen.status,
        item_name=seen.item_name,
        product_type=seen.product_type or current.product_type,
        price=seen.price,
        refund_amount=seen.refund_amount,
        delivered_quantity=seen.delivered_quantity,
        codes=list(seen.codes),
        error=seen.error or None,
        error_message=seen.error_message or None,
        completed_at=to_micros(seen.completed_at),
        updated_at=unstamp(stamp(now)),
        quantity=current.quantity if current.quantity is not None else seen.quantity,
        owner=None,
        unresolved=None,
    )


def to_micros(when: datetime | None) -> datetime | None:
    """What a time reads back as from storage (UTC, microseconds), so records compare equal."""
    return unstamp(stamp(when)) if when is not None else None


def sealed_codes(sealer: Sealer, codes: list[str]) -> str:
    """The codes column's value: sealed even when empty, so that every written row reads
    the same way and `gateway seal rekey` has one rule."""
    return sealer.seal(json.dumps(codes))


def record_of(row: Row, sealer: Sealer) -> OrderRecord:
    # Codes exist only for what was delivered: an order with nothing delivered (pending,
    # processing, failed, unknown, a top-up) holds an empty list, and opening its sealed
    # value is a tenth of a list page's CPU.
    delivered = int(row["delivered_quantity"])
    return OrderRecord(
        id=row["id"],
        reference=row["reference"],
        tenant=row["tenant"],
        account=row["account"],
        merchant_order_id=row["merchant_order_id"],
        request_hash=row["request_hash"],
        item_id=int(row["item_id"]),
        quantity=Decimal(row["quantity"]) if row["quantity"] is not None else None,
        fields=json.loads(row["fields"]),
        currency=row["currency"],
        status=OrderStatus(row["status"]),
        created_at=unstamp(row["created_at"]),
        updated_at=unstamp(row["updated_at"]),
        item_name=row["item_name"],
        product_type=row["product_type"],
        provider_order_id=row["provider_order_id"],
        price=Decimal(row["price"]) if row["price"] is not None else None,
        refund_amount=Decimal(row["refund_amount"]),
        delivered_quantity=delivered,
        codes=json.loads(sealer.open(row["codes"])) if delivered else [],
        error=row["error"],
        error_message=row["error_message"],
        completed_at=unstamp(row["completed_at"]) if row["completed_at"] else None,
        owner=row["owner"],
        resend_at=unstamp(row["resend_at"]) if row["resend_at"] else None,
        resend_attempts=int(row["resend_attempts"]),
        unresolved=row["unresolved"],
        traceparent=row.get("traceparent"),
    )
