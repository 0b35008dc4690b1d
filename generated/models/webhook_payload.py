from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.order_status import OrderStatus

if TYPE_CHECKING:
    from ..models.webhook_payload_fields import WebhookPayloadFields


T = TypeVar("T", bound="WebhookPayload")


@_attrs_define
class WebhookPayload:
    """The body of the provider's order webhook. Its names differ from the
    order object: `order_id`/`id`, `item_id`/`item`, `total_price`/`price`.

    """

    order_id: UUID
    merchant_order_id: None | str
    status: OrderStatus
    """ `pending` → sometimes `processing` → `completed`, `partial` or `failed`. """
    item_id: int | None
    item_name: str
    quantity: float
    total_price: float
    delivered_quantity: int
    refund_amount: float
    fields: WebhookPayloadFields
    codes: list[str]
    error: str
    error_message: str
    created_at: datetime.datetime
    completed_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        order_id = str(self.order_id)

        merchant_order_id: None | str
        merchant_order_id = self.merchant_order_id

        status = self.status.value

        item_id: int | None
        item_id = self.item_id

        item_name = self.item_name

        quantity = self.quantity

        total_price = self.total_price

        delivered_quantity = self.delivered_quantity

        refund_amount = self.refund_amount

        fields = self.fields.to_dict()

        codes = self.codes

        error = self.error

        error_message = self.error_message

        created_at = self.created_at.isoformat()

        completed_at: None | str
        if isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "order_id": order_id,
                "merchant_order_id": merchant_order_id,
                "status": status,
                "item_id": item_id,
                "item_name": item_name,
                "quantity": quantity,
                "total_price": total_price,
                "delivered_quantity": delivered_quantity,
                "refund_amount": refund_amount,
                "fields": fields,
                "codes": codes,
                "error": error,
                "error_message": error_message,
                "created_at": created_at,
                "completed_at": completed_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.webhook_payload_fields import WebhookPayloadFields

        d = dict(src_dict)
        order_id = UUID(d.pop("order_id"))

        def _parse_merchant_order_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        merchant_order_id = _parse_merchant_order_id(d.pop("merchant_order_id"))

        status = OrderStatus(d.pop("status"))

        def _parse_item_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        item_id = _parse_item_id(d.pop("item_id"))

        item_name = d.pop("item_name")

        quantity = d.pop("quantity")

        total_price = d.pop("total_price")

        delivered_quantity = d.pop("delivered_quantity")

        refund_amount = d.pop("refund_amount")

        fields = WebhookPayloadFields.from_dict(d.pop("fields"))

        codes = cast(list[str], d.pop("codes"))

        error = d.pop("error")

        error_message = d.pop("error_message")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_completed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        completed_at = _parse_completed_at(d.pop("completed_at"))

        webhook_payload = cls(
            order_id=order_id,
            merchant_order_id=merchant_order_id,
            status=status,
            item_id=item_id,
            item_name=item_name,
            quantity=quantity,
            total_price=total_price,
            delivered_quantity=delivered_quantity,
            refund_amount=refund_amount,
            fields=fields,
            codes=codes,
            error=error,
            error_message=error_message,
            created_at=created_at,
            completed_at=completed_at,
        )

        webhook_payload.additional_properties = d
        return webhook_payload

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
