from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.catalog_field_type import CatalogFieldType

if TYPE_CHECKING:
    from ..models.catalog_field_option import CatalogFieldOption


T = TypeVar("T", bound="CatalogField")


@_attrs_define
class CatalogField:
    name: str
    label: str
    type_: CatalogFieldType
    required: bool
    options: list[CatalogFieldOption] | None
    """ A choice field's options (null for a text field): send the option's `id`. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        label = self.label

        type_ = self.type_.value

        required = self.required

        options: list[dict[str, Any]] | None
        if isinstance(self.options, list):
            options = []
            for options_type_0_item_data in self.options:
                options_type_0_item = options_type_0_item_data.to_dict()
                options.append(options_type_0_item)

        else:
            options = self.options

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "label": label,
                "type": type_,
                "required": required,
                "options": options,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.catalog_field_option import CatalogFieldOption

        d = dict(src_dict)
        name = d.pop("name")

        label = d.pop("label")

        type_ = CatalogFieldType(d.pop("type"))

        required = d.pop("required")

        def _parse_options(data: object) -> list[CatalogFieldOption] | None:
            if data is None:
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                options_type_0 = []
                _options_type_0 = data
                for options_type_0_item_data in _options_type_0:
                    options_type_0_item = CatalogFieldOption.from_dict(
                        options_type_0_item_data
                    )

                    options_type_0.append(options_type_0_item)

                return options_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[CatalogFieldOption] | None, data)

        options = _parse_options(d.pop("options"))

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
