"""The audit chain: canonical serialisation, hashing and verification (pure functions).

Each entry's hash is SHA-256 over its canonical JSON (sorted keys, no whitespace), which
includes its position `seq` and the previous entry's hash. Changing, deleting, reordering or
inserting an entry breaks the chain at (or just after) that entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq",
    "at",
    "workspace",
    "actor_kind",
    "actor_id",
    "event",
    "target",
    "outcome",
    "payload",
    "prev_hash",
)


def canonical(entry: Mapping[str, Any]) -> bytes:
    fields = {name: entry.get(name) for name in HASHED_FIELDS}
    at = fields["at"]
    if isinstance(at, datetime):
        fields["at"] = at.isoformat(timespec="microseconds")
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def entry_hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


class Break(BaseModel):
    """The first place the chain does not hold."""

    id: int
    seq: int
    problem: str
    detail: str


def verify(entries: Iterable[Mapping[str, Any]]) -> tuple[int, Break | None]:
    """Walk entries in storage order; return how many were checked and the first break, if any."""
    expected_seq, expected_prev, checked = 1, GENESIS, 0
    for entry, following in _with_next(entries):
        checked += 1
        seq, ident = int(entry["seq"]), int(entry["id"])
        if entry_hash(entry) != entry["hash"]:
            return checked, Break(id=ident, seq=seq, problem="modified", detail="content does not match its hash")
        if seq > expected_seq:
            if following is not None and int(following["seq"]) == expected_seq:
                detail = f"position {seq} appears before position {expected_seq}"
                return checked, Break(id=ident, seq=seq, problem="reordered", detail=detail)
            detail = f"entries {expected_seq}..{seq - 1} are missing"
            return checked, Break(id=ident, seq=seq, problem="deleted", detail=detail)
        if seq < expected_seq:
            detail = f"position {seq} appears where {expected_seq} belongs"
            return checked, Break(id=ident, seq=seq, problem="reordered", detail=detail)
        if entry["prev_hash"] != expected_prev:
            detail = "does not link to the entry before it"
            return checked, Break(id=ident, seq=seq, problem="inserted", detail=detail)
        expected_seq, expected_prev = seq + 1, str(entry["hash"])
    return checked, None


def _with_next(entries: Iterable[Mapping[str, Any]]) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any] | None]]:
    iterator = iter(entries)
    current = next(iterator, None)
    while current is not None:
        following = next(iterator, None)
        yield current, following
        current = following
