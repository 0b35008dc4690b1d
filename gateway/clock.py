"""Time as a dependency.

Token lifetimes, fulfilment delays and webhook retry schedules all depend on
"now". Everything that reads the time takes a `Clock`, so that tests move time
forward by hand instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to: the tests' clock."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._now += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        if when < self._now:
            raise ValueError("a clock does not go backwards")
        self._now = when


def isoformat_z(when: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as the provider writes its timestamps."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def stamp(when: datetime) -> str:
    """The storage form of a time: fixed-width UTC, so that text order is time order."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unstamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
