from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.order_status import OrderStatus
from ..models.product_type import ProductType

if TYPE_CHECKING:
    from ..models.order_fields import OrderFields


T = TypeVar("T", bound="Order")


@_attrs_define
class Order:
    id: UUID
    tenant: str
    account: str
    provider_order_id: None | str
    item_id: int
    item_name: None | str
    product_type: None | ProductType
    quantity: None | str
    """ A decimal string. """
    delivered_quantity: int
    price: None | str
    refund_amount: str
    currency: str
    fields: None | OrderFields
    """ What the tenant sent for the item's fields; only to the owning tenant (null for others: it may name a
    customer). """
    status: OrderStatus
    error: None | str
    """ The provider's (e.g. `OUT_OF_STOCK`), or `NOT_PLACED`: the provider never placed the order and nothing was
    charged. """
    error_message: None | str
    codes: list[str] | None
    """ Delivered keys; only to the owning tenant (null for others). """
    merchant_order_id: None | str
    created_at: datetime.datetime
    completed_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.order_fields import OrderFields

        id = str(self.id)

        tenant = self.tenant

        account = self.account

        provider_order_id: None | str
        provider_order_id = self.provider_order_id

        item_id = self.item_id

        item_name: None | str
        item_name = self.item_name

        product_type: None | str
        if isinstance(self.product_type, ProductType):
            product_type = self.product_type.value
        else:
            product_type = self.product_type

        quantity: None | str
        quantity = self.quantity

        delivered_quantity = self.delivered_quantity

        price: None | str
        price = self.price

        refund_amount = self.refund_amount

        currency = self.currency

        fields: dict[str, Any] | None
        if isinstance(self.fields, OrderFields):
            fields = self.fields.to_dict()
        else:
            fields = self.fields

        status = self.status.value

        error: None | str
        error = self.error

        error_message: None | str
        error_message = self.error_message

        codes: list[str] | None
        if isinstance(self.codes, list):
            codes = self.codes

        else:
            codes = self.codes

        merchant_order_id: None | str
        merchant_order_id = self.merchant_order_id

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
                "tenant": tenant,
                "account": account,
                "provider_order_id": provider_order_id,
                "item_id": item_id,
                "item_name": item_name,
                "product_type": product_type,
                "quantity": quantity,
                "delivered_quantity": delivered_quantity,
                "price": price,
                "refund_amount": refund_amount,
                "currency": currency,
                "fields": fields,
                "status": status,
                "error": error,
                "error_message": error_message,
                "codes": codes,
                "merchant_order_id": merchant_order_id,
                "created_at": created_at,
                "completed_at": completed_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.order_fields import OrderFields

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        tenant = d.pop("tenant")

        account = d.pop("account")

        def _parse_provider_order_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        provider_order_id = _parse_provider_order_id(d.pop("provider_order_id"))

        item_id = d.pop("item_id")

        def _parse_item_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        item_name = _parse_item_name(d.pop("item_name"))

        def _parse_product_type(data: object) -> None | ProductType:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                product_type_type_0 = ProductType(data)

                return product_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ProductType, data)

        product_type = _parse_product_type(d.pop("product_type"))

        def _parse_quantity(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        quantity = _parse_quantity(d.pop("quantity"))

        delivered_quantity = d.pop("delivered_quantity")

        def _parse_price(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        price = _parse_price(d.pop("price"))

        refund_amount = d.pop("refund_amount")

        currency = d.pop("currency")

        def _parse_fields(data: object) -> None | OrderFields:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                fields_type_0 = OrderFields.from_dict(data)

                return fields_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | OrderFields, data)

        fields = _parse_fields(d.pop("fields"))

        status = OrderStatus(d.pop("status"))

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        def _parse_error_message(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error_message = _parse_error_message(d.pop("error_message"))

        def _parse_codes(data: object) -> list[str] | None:
            if data is None:
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                codes_type_0 = cast(list[str], data)

                return codes_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None, data)

        codes = _parse_codes(d.pop("codes"))

        def _parse_merchant_order_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        merchant_order_id = _parse_merchant_order_id(d.pop("merchant_order_id"))

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
            tenant=tenant,
            account=account,
            provider_order_id=provider_order_id,
            item_id=item_id,
            item_name=item_name,
            product_type=product_type,
            quantity=quantity,
            delivered_quantity=delivered_quantity,
            price=price,
            refund_amount=refund_amount,
            currency=currency,
            fields=fields,
            status=status,
            error=error,
            error_message=error_message,
            codes=codes,
            merchant_order_id=merchant_order_id,
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
