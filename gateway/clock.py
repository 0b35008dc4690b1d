"""Time as a dependency.

Token lifetimes, fulfilment delays and webhook retry schedules all depend on
"now". Everything that reads the time takes a `Clock`, so that tests move time
forward by hand instead of sleeping.
"""

from __future__ import annotations

import re
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
    """The storage form of a time: fixed-width UTC, so that text order is time order.
    Formatted field by field: strftime cost a few per cent of an order's CPU."""
    u = when if when.tzinfo is UTC else when.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond:06d}Z"
    )


def unstamp(text: str) -> datetime:
    # fromisoformat is ~90x faster than strptime (a page of 50 orders reads 150 stamps); it
    # also takes other forms, so only the exact storage form goes that way.
    if len(text) == 27 and text[26] == "Z" and text[10] == "T" and text[19] == ".":
        return datetime.fromisoformat(text)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})"
)


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 date-time (`2026-11-30T10:00:00Z`, `…+01:00`), strictly: no basic
    format, no missing offset. Years 0001 to 9999 are all valid RFC 3339; one whose
    offset carries it past either end in UTC is clamped to that end, so that comparing
    and storing it can never overflow. Raises ValueError."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError("not an RFC 3339 date-time such as 2026-11-28T10:00:00Z")
    fraction = (match.group(7) or "")[:6].ljust(6, "0")
    offset = match.group(8).upper()
    base = text[: match.start(7) - 1] if match.group(7) else text[: match.start(8)]
    when = datetime.fromisoformat(
        f"{base}.{fraction}{'+00:00' if offset == 'Z' else offset}".replace("t", "T")
    )
    try:
        return when.astimezone(UTC)
    except OverflowError:
        return (datetime.min if when.year < 5000 else datetime.max).replace(tzinfo=UTC)
