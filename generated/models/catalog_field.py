from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.catalog_field_type import CatalogFieldType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.catalog_option import CatalogOption


T = TypeVar("T", bound="CatalogField")


@_attrs_define
class CatalogField:
    """One input of an item's order form (**assumed** names)."""

    name: str
    label: str
    type_: CatalogFieldType
    required: bool
    options: list[CatalogOption] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        label = self.label

        type_ = self.type_.value

        required = self.required

        options: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.options, Unset):
            options = []
            for options_item_data in self.options:
                options_item = options_item_data.to_dict()
                options.append(options_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "label": label,
                "type": type_,
                "required": required,
            }
        )
        if options is not UNSET:
            field_dict["options"] = options

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.catalog_option import CatalogOption

        d = dict(src_dict)
        name = d.pop("name")

        label = d.pop("label")

        type_ = CatalogFieldType(d.pop("type"))

        required = d.pop("required")

        _options = d.pop("options", UNSET)
        options: list[CatalogOption] | Unset = UNSET
        if _options is not UNSET:
            options = []
            for options_item_data in _options:
                options_item = CatalogOption.from_dict(options_item_data)

                options.append(options_item)

        catalog_field = cls(
            name=name,
            label=label,
            type_=type_,
            required=required,
            options=options,
        )

        catalog_field.additional_properties = d
        return catalog_field

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
