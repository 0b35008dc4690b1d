"""Opaque page cursors: a (time, id) pair, the last row of a page, newest-first lists."""

from __future__ import annotations

import base64
import binascii
import json
import re

from gateway.clock import unstamp
from gateway.errors import InvalidField

_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def encode(at: str, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([at, key]).encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[str, str]:
    """The (stored time, id) a cursor names; a 400 naming `cursor` for anything else."""
    try:
        if len(cursor) > 512:
            raise ValueError
        at, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        unstamp(at)
        # ids are plain tokens; anything else (a NUL, a lone surrogate) never reaches SQL
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise InvalidField(
            "cursor", "not a cursor this API gave out; pass next_cursor from the last page"
        ) from None
    return at, key
