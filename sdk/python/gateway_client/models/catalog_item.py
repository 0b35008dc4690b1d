from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.catalog_item_price_list import CatalogItemPriceList
from ..models.product_type import ProductType

if TYPE_CHECKING:
    from ..models.catalog_field import CatalogField


T = TypeVar("T", bound="CatalogItem")


@_attrs_define
class CatalogItem:
    id: int
    name: str
    product_type: ProductType
    account: str
    price: str
    subscriber_price: None | str
    currency: str
    price_list: CatalogItemPriceList
    stock: int | None
    """ null is unlimited """
    min_quantity: str
    max_quantity: str
    available: bool
    fields: list[CatalogField]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        product_type = self.product_type.value

        account = self.account

        price = self.price

        subscriber_price: None | str
        subscriber_price = self.subscriber_price

        currency = self.currency

        price_list = self.price_list.value

        stock: int | None
        stock = self.stock

        min_quantity = self.min_quantity

        max_quantity = self.max_quantity

        available = self.available

        fields = []
        for fields_item_data in self.fields:
            fields_item = fields_item_data.to_dict()
            fields.append(fields_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "product_type": product_type,
                "account": account,
                "price": price,
                "subscriber_price": subscriber_price,
                "currency": currency,
                "price_list": price_list,
                "stock": stock,
                "min_quantity": min_quantity,
                "max_quantity": max_quantity,
                "available": available,
                "fields": fields,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.catalog_field import CatalogField

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        product_type = ProductType(d.pop("product_type"))

        account = d.pop("account")

        price = d.pop("price")

        def _parse_subscriber_price(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        subscriber_price = _parse_subscriber_price(d.pop("subscriber_price"))

        currency = d.pop("currency")

        price_list = CatalogItemPriceList(d.pop("price_list"))

        def _parse_stock(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        stock = _parse_stock(d.pop("stock"))

        min_quantity = d.pop("min_quantity")

        max_quantity = d.pop("max_quantity")

        available = d.pop("available")

        fields = []
        _fields = d.pop("fields")
        for fields_item_data in _fields:
            fields_item = CatalogField.from_dict(fields_item_data)

            fields.append(fields_item)

        catalog_item = cls(
            id=id,
            name=name,
            product_type=product_type,
            account=account,
            price=price,
            subscriber_price=subscriber_price,
            currency=currency,
            price_list=price_list,
            stock=stock,
            min_quantity=min_quantity,
            max_quantity=max_quantity,
            available=available,
            fields=fields,
        )

        catalog_item.additional_properties = d
        return catalog_item

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
