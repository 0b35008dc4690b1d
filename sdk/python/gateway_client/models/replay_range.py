from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.replay_range_state import ReplayRangeState
from ..types import UNSET, Unset

T = TypeVar("T", bound="ReplayRange")


@_attrs_define
class ReplayRange:
    since: datetime.datetime
    until: datetime.datetime | Unset = UNSET
    """ Default: now. The range is [since, until). """
    state: ReplayRangeState | Unset = ReplayRangeState.FAILED
    dry_run: bool | Unset = False

    def to_dict(self) -> dict[str, Any]:
        since = self.since.isoformat()

        until: str | Unset = UNSET
        if not isinstance(self.until, Unset):
            until = self.until.isoformat()

        state: str | Unset = UNSET
        if not isinstance(self.state, Unset):
            state = self.state.value

        dry_run = self.dry_run

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "since": since,
            }
        )
        if until is not UNSET:
            field_dict["until"] = until
        if state is not UNSET:
            field_dict["state"] = state
        if dry_run is not UNSET:
            field_dict["dry_run"] = dry_run

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        since = datetime.datetime.fromisoformat(d.pop("since"))

        _until = d.pop("until", UNSET)
        until: datetime.datetime | Unset
        if isinstance(_until, Unset):
            until = UNSET
        else:
            until = datetime.datetime.fromisoformat(_until)

        _state = d.pop("state", UNSET)
        state: ReplayRangeState | Unset
        if isinstance(_state, Unset):
            state = UNSET
        else:
            state = ReplayRangeState(_state)

        dry_run = d.pop("dry_run", UNSET)

        replay_range = cls(
            since=since,
            until=until,
            state=state,
            dry_run=dry_run,
        )

        return replay_range
