from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Filter")


@_attrs_define
class Filter:
    """A payload filter over the event as sent (`{"type", "data"}`): keys are dotted
    paths (`data.account`, `data.item_id`, `data.product_type`, `data.price`) with a
    value (equality) or operators (`$eq`, `$ne`, `$in`, `$nin`, `$gt`, `$gte`, `$lt`,
    `$lte`, `$exists`), and `$and`/`$or` (lists of filters) and `$not` (a filter).
    Money compares as decimals. An invalid filter is a 422 `invalid_filter` whose
    `details.field` points at the bad part, such as `filter.data.price.$gte`. See
    docs/webhooks.md.

    """

    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        filter_ = cls()

        filter_.additional_properties = d
        return filter_

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
