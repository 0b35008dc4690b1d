from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.event_type import EventType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.filter_ import Filter


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
    filter_: Filter | Unset = UNSET
    """ A payload filter over the event as sent (`{"type", "data"}`): keys are dotted
    paths (`data.account`, `data.item_id`, `data.product_type`, `data.price`) with a
    value (equality) or operators (`$eq`, `$ne`, `$in`, `$nin`, `$gt`, `$gte`, `$lt`,
    `$lte`, `$exists`), and `$and`/`$or` (lists of filters) and `$not` (a filter).
    Money compares as decimals. An invalid filter is a 422 `invalid_filter` whose
    `details.field` points at the bad part, such as `filter.data.price.$gte`. See
    docs/webhooks.md.
     """
    rate_limit_per_second: float | Unset = UNSET
    """ At most this many deliveries a second to this endpoint, per gateway process; over it a delivery waits (it is
    never dropped, and no attempt is counted). 0 or absent: none. """
    backfill_hours: float | Unset = UNSET
    """ Catch up: each order this endpoint would have heard of, created in the last N hours, is sent its event for
    its current status (its event types and filter apply). The answer's `backfilled` says how many. """

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

        backfill_hours = self.backfill_hours

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
        if filter_ is not UNSET:
            field_dict["filter"] = filter_
        if rate_limit_per_second is not UNSET:
            field_dict["rate_limit_per_second"] = rate_limit_per_second
        if backfill_hours is not UNSET:
            field_dict["backfill_hours"] = backfill_hours

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.filter_ import Filter

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

        _filter_ = d.pop("filter", UNSET)
        filter_: Filter | Unset
        if isinstance(_filter_, Unset):
            filter_ = UNSET
        else:
            filter_ = Filter.from_dict(_filter_)

        rate_limit_per_second = d.pop("rate_limit_per_second", UNSET)

        backfill_hours = d.pop("backfill_hours", UNSET)

        new_subscription = cls(
            url=url,
            event_types=event_types,
            scope=scope,
            filter_=filter_,
            rate_limit_per_second=rate_limit_per_second,
            backfill_hours=backfill_hours,
        )

        return new_subscription
