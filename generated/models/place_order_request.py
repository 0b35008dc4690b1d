from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.place_order_request_fields import PlaceOrderRequestFields


T = TypeVar("T", bound="PlaceOrderRequest")


@_attrs_define
class PlaceOrderRequest:
    item_id: int
    """ The numeric item id. """
    quantity: float | Unset = UNSET
    """ Integer count for key items (default 1); decimal amount for top-up items (required); omit for service items.
    """
    merchant_order_id: str | Unset = UNSET
    """ Your reference id, unique per account. """
    fields: PlaceOrderRequestFields | Unset = UNSET
    """ Item input fields (top-up / service only), keyed by field name. Text fields take a string; choice fields
    take the numeric choice id. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        item_id = self.item_id

        quantity = self.quantity

        merchant_order_id = self.merchant_order_id

        fields: dict[str, Any] | Unset = UNSET
        if not isinstance(self.fields, Unset):
            fields = self.fields.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "item_id": item_id,
            }
        )
        if quantity is not UNSET:
            field_dict["quantity"] = quantity
        if merchant_order_id is not UNSET:
            field_dict["merchant_order_id"] = merchant_order_id
        if fields is not UNSET:
            field_dict["fields"] = fields

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.place_order_request_fields import PlaceOrderRequestFields

        d = dict(src_dict)
        item_id = d.pop("item_id")

        quantity = d.pop("quantity", UNSET)

        merchant_order_id = d.pop("merchant_order_id", UNSET)

        _fields = d.pop("fields", UNSET)
        fields: PlaceOrderRequestFields | Unset
        if isinstance(_fields, Unset):
            fields = UNSET
        else:
            fields = PlaceOrderRequestFields.from_dict(_fields)

        place_order_request = cls(
            item_id=item_id,
            quantity=quantity,
            merchant_order_id=merchant_order_id,
            fields=fields,
        )

        place_order_request.additional_properties = d
        return place_order_request

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
