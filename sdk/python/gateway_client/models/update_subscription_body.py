from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.event_type import EventType
from ..models.subscription_state import SubscriptionState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.update_subscription_body_filter import UpdateSubscriptionBodyFilter


T = TypeVar("T", bound="UpdateSubscriptionBody")


@_attrs_define
class UpdateSubscriptionBody:
    url: str | Unset = UNSET
    """ An http:// or https:// URL the operator's destination rules allow (no user info); anything else is 422
    `destination_not_allowed`. """
    event_types: list[EventType] | Unset = UNSET
    """ empty means all """
    scope: str | Unset = UNSET
    """ `own`, or `account:<name>` for observers and admins """
    filter_: UpdateSubscriptionBodyFilter | Unset = UNSET
    """ A payload filter (see Filter); an empty object {} removes it. """
    rate_limit_per_second: float | Unset = UNSET
    """ Deliveries a second to this endpoint, per process; 0 removes the bound. """
    state: SubscriptionState | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        url = self.url

        event_types: list[str] | Unset = UNSET
        if not isinstance(self.event_types, Unset):
            event_types = []
            for event_types_item_data in self.event_types:
                event_types_item = event_types_item_data.value
                event_types.append(event_types_item)

        scope = self.scope

        filter_: dict[str, Any] | Unset = UNSET
        if not isinstance(self.filter_, Unset):
            filter_ = self.filter_.to_dict()

        rate_limit_per_second = self.rate_limit_per_second

        state: str | Unset = UNSET
        if not isinstance(self.state, Unset):
            state = self.state.value

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if url is not UNSET:
            field_dict["url"] = url
        if event_types is not UNSET:
            field_dict["event_types"] = event_types
        if scope is not UNSET:
            field_dict["scope"] = scope
        if filter_ is not UNSET:
            field_dict["filter"] = filter_
        if rate_limit_per_second is not UNSET:
            field_dict["rate_limit_per_second"] = rate_limit_per_second
        if state is not UNSET:
            field_dict["state"] = state

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.update_subscription_body_filter import (
            UpdateSubscriptionBodyFilter,
        )

        d = dict(src_dict)
        url = d.pop("url", UNSET)

        _event_types = d.pop("event_types", UNSET)
        event_types: list[EventType] | Unset = UNSET
        if _event_types is not UNSET:
            event_types = []
            for event_types_item_data in _event_types:
                event_types_item = EventType(event_types_item_data)

                event_types.append(event_types_item)

        scope = d.pop("scope", UNSET)

        _filter_ = d.pop("filter", UNSET)
        filter_: UpdateSubscriptionBodyFilter | Unset
        if isinstance(_filter_, Unset):
            filter_ = UNSET
        else:
            filter_ = UpdateSubscriptionBodyFilter.from_dict(_filter_)

        rate_limit_per_second = d.pop("rate_limit_per_second", UNSET)

        _state = d.pop("state", UNSET)
        state: SubscriptionState | Unset
        if isinstance(_state, Unset):
            state = UNSET
        else:
            state = SubscriptionState(_state)

        update_subscription_body = cls(
            url=url,
            event_types=event_types,
            scope=scope,
            filter_=filter_,
            rate_limit_per_second=rate_limit_per_second,
            state=state,
        )

        return update_subscription_body
