"""Opaque page cursors: a (time, id) pair, the last row of a page, newest-first lists."""

from __future__ import annotations

import base64
import binascii
import json

from gateway.clock import unstamp
from gateway.errors import InvalidField


def encode(at: str, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([at, key]).encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[str, str]:
    """The (stored time, id) a cursor names; a 400 naming `cursor` for anything else."""
    try:
        at, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        unstamp(at)
        if not isinstance(key, str):
            raise ValueError
    except (ValueError, TypeError, binascii.Error):
        raise InvalidField(
            "cursor", "not a cursor this API gave out; pass next_cursor from the last page"
        ) from None
    return at, key
