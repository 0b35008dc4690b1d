from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.event_type import EventType
from ..types import UNSET, Unset

T = TypeVar("T", bound="NewSubscription")


@_attrs_define
class NewSubscription:
    url: str
    """ An http:// or https:// URL the operator's destination rules allow (no user info); anything else is 422
    `destination_not_allowed`. """
    event_types: list[EventType] | Unset = UNSET
    """ empty or absent means all """
    scope: str | Unset = UNSET
    """ `own` (default), or `account:<name>` for observers and admins (403 for a tenant, or an account not yours)
    """

    def to_dict(self) -> dict[str, Any]:
        url = self.url

        event_types: list[str] | Unset = UNSET
        if not isinstance(self.event_types, Unset):
            event_types = []
            for event_types_item_data in self.event_types:
                event_types_item = event_types_item_data.value
                event_types.append(event_types_item)

        scope = self.scope

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "url": url,
            }
        )
        if event_types is not UNSET:
            field_dict["event_types"] = event_types
        if scope is not UNSET:
            field_dict["scope"] = scope

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        url = d.pop("url")

        _event_types = d.pop("event_types", UNSET)
        event_types: list[EventType] | Unset = UNSET
        if _event_types is not UNSET:
            event_types = []
            for event_types_item_data in _event_types:
                event_types_item = EventType(event_types_item_data)

                event_types.append(event_types_item)

        scope = d.pop("scope", UNSET)

        new_subscription = cls(
            url=url,
            event_types=event_types,
            scope=scope,
        )

        return new_subscription
