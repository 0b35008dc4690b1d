from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.order_source import OrderSource
from ..models.order_status import OrderStatus
from ..models.product_type import ProductType

if TYPE_CHECKING:
    from ..models.created_by import CreatedBy
    from ..models.order_fields import OrderFields


T = TypeVar("T", bound="Order")


@_attrs_define
class Order:
    id: UUID
    """ The order id. """
    item: int
    """ Numeric item id. """
    item_name: str
    item_product_type: ProductType
    quantity: float
    delivered_quantity: int
    """ Units delivered so far (key items / partials). """
    price: float
    """ Amount charged, in major currency units. """
    refund_amount: float
    """ Amount refunded for undelivered units (partial / failed). """
    fields: OrderFields
    """ The submitted input fields (choice values shown as their display name). """
    status: OrderStatus
    """ `pending` → sometimes `processing` → `completed`, `partial` or `failed`. """
    error: str
    """ Machine error code when status = failed (e.g. OUT_OF_STOCK); otherwise empty. """
    error_message: str
    """ Human-readable error message when failed; otherwise empty. """
    codes: list[str]
    """ Delivered key/code strings (key items only). """
    merchant_order_id: None | str
    """ The reference sent at creation; null when none was sent (**assumed**). """
    source: OrderSource
    """ `api` for orders placed through the API; `dashboard` (**assumed** value) otherwise. """
    created_by: CreatedBy | None
    """ Null for API orders. """
    created_at: datetime.datetime
    completed_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.created_by import CreatedBy

        id = str(self.id)

        item = self.item

        item_name = self.item_name

        item_product_type = self.item_product_type.value

        quantity = self.quantity

        delivered_quantity = self.delivered_quantity

        price = self.price

        refund_amount = self.refund_amount

        fields = self.fields.to_dict()

        status = self.status.value

        error = self.error

        error_message = self.error_message

        codes = self.codes

        merchant_order_id: None | str
        merchant_order_id = self.merchant_order_id

        source = self.source.value

        created_by: dict[str, Any] | None
        if isinstance(self.created_by, CreatedBy):
            created_by = self.created_by.to_dict()
        else:
            created_by = self.created_by

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
                "id": id,
                "item": item,
                "item_name": item_name,
                "item_product_type": item_product_type,
                "quantity": quantity,
                "delivered_quantity": delivered_quantity,
                "price": price,
                "refund_amount": refund_amount,
                "fields": fields,
                "status": status,
                "error": error,
                "error_message": error_message,
                "codes": codes,
                "merchant_order_id": merchant_order_id,
                "source": source,
                "created_by": created_by,
                "created_at": created_at,
                "completed_at": completed_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.created_by import CreatedBy
        from ..models.order_fields import OrderFields

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        item = d.pop("item")

        item_name = d.pop("item_name")

        item_product_type = ProductType(d.pop("item_product_type"))

        quantity = d.pop("quantity")

        delivered_quantity = d.pop("delivered_quantity")

        price = d.pop("price")

        refund_amount = d.pop("refund_amount")

        fields = OrderFields.from_dict(d.pop("fields"))

        status = OrderStatus(d.pop("status"))

        error = d.pop("error")

        error_message = d.pop("error_message")

        codes = cast(list[str], d.pop("codes"))

        def _parse_merchant_order_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        merchant_order_id = _parse_merchant_order_id(d.pop("merchant_order_id"))

        source = OrderSource(d.pop("source"))

        def _parse_created_by(data: object) -> CreatedBy | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                created_by_type_0 = CreatedBy.from_dict(data)

                return created_by_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CreatedBy | None, data)

        created_by = _parse_created_by(d.pop("created_by"))

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

        order = cls(
            id=id,
            item=item,
            item_name=item_name,
            item_product_type=item_product_type,
            quantity=quantity,
            delivered_quantity=delivered_quantity,
            price=price,
            refund_amount=refund_amount,
            fields=fields,
            status=status,
            error=error,
            error_message=error_message,
            codes=codes,
            merchant_order_id=merchant_order_id,
            source=source,
            created_by=created_by,
            created_at=created_at,
            completed_at=completed_at,
        )

        order.additional_properties = d
        return order

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
