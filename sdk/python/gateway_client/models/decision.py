from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.decision_mode import DecisionMode
from ..models.decision_outcome import DecisionOutcome

T = TypeVar("T", bound="Decision")


@_attrs_define
class Decision:
    plugin: str
    hook: str
    outcome: DecisionOutcome
    mode: DecisionMode
    code: None | str
    message: None | str
    duration_ms: float
    at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        plugin = self.plugin

        hook = self.hook

        outcome = self.outcome.value

        mode = self.mode.value

        code: None | str
        code = self.code

        message: None | str
        message = self.message

        duration_ms = self.duration_ms

        at = self.at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "plugin": plugin,
                "hook": hook,
                "outcome": outcome,
                "mode": mode,
                "code": code,
                "message": message,
                "duration_ms": duration_ms,
                "at": at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        plugin = d.pop("plugin")

        hook = d.pop("hook")

        outcome = DecisionOutcome(d.pop("outcome"))

        mode = DecisionMode(d.pop("mode"))

        def _parse_code(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        code = _parse_code(d.pop("code"))

        def _parse_message(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        message = _parse_message(d.pop("message"))

        duration_ms = d.pop("duration_ms")

        at = datetime.datetime.fromisoformat(d.pop("at"))

        decision = cls(
            plugin=plugin,
            hook=hook,
            outcome=outcome,
            mode=mode,
            code=code,
            message=message,
            duration_ms=duration_ms,
            at=at,
        )

        decision.additional_properties = d
        return decision

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
