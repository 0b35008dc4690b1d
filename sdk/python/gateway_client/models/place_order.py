from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.place_order_fields import PlaceOrderFields


T = TypeVar("T", bound="PlaceOrder")


@_attrs_define
class PlaceOrder:
    item_id: int
    quantity: float | str | Unset = UNSET
    """ Key items a whole count (default 1); top-ups a decimal amount; omit for services. A number or a decimal
    string. """
    merchant_order_id: str | Unset = UNSET
    """ Yours; unique per tenant. """
    fields: PlaceOrderFields | Unset = UNSET
    """ The item's fields; a text field takes a string, a choice field its numeric id. """
    account: str | Unset = UNSET
    """ One of your accounts; defaults to your default account. """

    def to_dict(self) -> dict[str, Any]:
        item_id = self.item_id

        quantity: float | str | Unset
        if isinstance(self.quantity, Unset):
            quantity = UNSET
        else:
            quantity = self.quantity

        merchant_order_id = self.merchant_order_id

        fields: dict[str, Any] | Unset = UNSET
        if not isinstance(self.fields, Unset):
            fields = self.fields.to_dict()

        account = self.account

        field_dict: dict[str, Any] = {}

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
        if account is not UNSET:
            field_dict["account"] = account

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.place_order_fields import PlaceOrderFields

        d = dict(src_dict)
        item_id = d.pop("item_id")

        def _parse_quantity(data: object) -> float | str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(float | str | Unset, data)

        quantity = _parse_quantity(d.pop("quantity", UNSET))

        merchant_order_id = d.pop("merchant_order_id", UNSET)

        _fields = d.pop("fields", UNSET)
        fields: PlaceOrderFields | Unset
        if isinstance(_fields, Unset):
            fields = UNSET
        else:
            fields = PlaceOrderFields.from_dict(_fields)

        account = d.pop("account", UNSET)

        place_order = cls(
            item_id=item_id,
            quantity=quantity,
            merchant_order_id=merchant_order_id,
            fields=fields,
            account=account,
        )

        return place_order
