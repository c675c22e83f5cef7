"""Expiry given as text on every surface: `90d`, `12h`, `30m`, `2w` or `never`."""

from __future__ import annotations

import re
from datetime import timedelta

from gazette.errors import InvalidInputError

DEFAULT = timedelta(days=90)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PATTERN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)


def parse_expiry(text: str | None) -> timedelta | None:
    """`None` -> the 90-day default; `never` -> no expiry (None); `90d` -> timedelta.

    Raises:
        InvalidInputError: anything else.
    """
    if text is None:
        return DEFAULT
    if text.strip().lower() == "never":
        return None
    match = _PATTERN.match(text)
    if not match or int(match.group(1)) == 0:
        raise InvalidInputError(f"invalid expiry {text!r}: use a duration like 90d, 12h, 30m, 2w, or 'never'")
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})
