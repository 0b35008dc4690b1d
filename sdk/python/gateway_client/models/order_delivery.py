from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.order_delivery_state import OrderDeliveryState

T = TypeVar("T", bound="OrderDelivery")


@_attrs_define
class OrderDelivery:
    message_id: str
    subscription_id: str
    url: str
    event_type: str
    state: OrderDeliveryState
    created_at: datetime.datetime
    attempt: int | None
    """ null: not tried yet """
    at: datetime.datetime | None
    status_code: int | None
    latency_ms: float | None
    error: None | str
    next_attempt_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        message_id = self.message_id

        subscription_id = self.subscription_id

        url = self.url

        event_type = self.event_type

        state = self.state.value

        created_at = self.created_at.isoformat()

        attempt: int | None
        attempt = self.attempt

        at: None | str
        if isinstance(self.at, datetime.datetime):
            at = self.at.isoformat()
        else:
            at = self.at

        status_code: int | None
        status_code = self.status_code

        latency_ms: float | None
        latency_ms = self.latency_ms

        error: None | str
        error = self.error

        next_attempt_at: None | str
        if isinstance(self.next_attempt_at, datetime.datetime):
            next_attempt_at = self.next_attempt_at.isoformat()
        else:
            next_attempt_at = self.next_attempt_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "message_id": message_id,
                "subscription_id": subscription_id,
                "url": url,
                "event_type": event_type,
                "state": state,
                "created_at": created_at,
                "attempt": attempt,
                "at": at,
                "status_code": status_code,
                "latency_ms": latency_ms,
                "error": error,
                "next_attempt_at": next_attempt_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        message_id = d.pop("message_id")

        subscription_id = d.pop("subscription_id")

        url = d.pop("url")

        event_type = d.pop("event_type")

        state = OrderDeliveryState(d.pop("state"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_attempt(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        attempt = _parse_attempt(d.pop("attempt"))

        def _parse_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                at_type_0 = datetime.datetime.fromisoformat(data)

                return at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        at = _parse_at(d.pop("at"))

        def _parse_status_code(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        status_code = _parse_status_code(d.pop("status_code"))

        def _parse_latency_ms(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        latency_ms = _parse_latency_ms(d.pop("latency_ms"))

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        def _parse_next_attempt_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_attempt_at_type_0 = datetime.datetime.fromisoformat(data)

                return next_attempt_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("next_attempt_at"))

        order_delivery = cls(
            message_id=message_id,
            subscription_id=subscription_id,
            url=url,
            event_type=event_type,
            state=state,
            created_at=created_at,
            attempt=attempt,
            at=at,
            status_code=status_code,
            latency_ms=latency_ms,
            error=error,
            next_attempt_at=next_attempt_at,
        )

        order_delivery.additional_properties = d
        return order_delivery

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
