"""`Audit`: the append-only, hash-chained record of who did what."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from gazette.audit.chain import GENESIS, Break, entry_hash, verify
from gazette.auth.models import Principal
from gazette.auth.service import require_scope
from gazette.errors import ConflictError
from gazette.redaction import redact_value
from gazette.store import audit as audit_rows
from gazette.store.types import utcnow

if TYPE_CHECKING:
    from gazette.app import Gazette

_APPEND_ATTEMPTS = 5


class Entry(BaseModel):
    id: int
    seq: int
    at: datetime
    workspace: str | None
    actor_kind: str
    actor_id: str
    event: str
    target: str | None
    outcome: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class Verification(BaseModel):
    ok: bool
    checked: int
    first_break: Break | None = None


def digest_arguments(arguments: Mapping[str, Any]) -> str:
    """A stable digest of call arguments: the audit records that a call happened, not its data."""
    encoded = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


class Audit:
    def __init__(self, gz: Gazette) -> None:
        self._gz = gz

    def record(
        self,
        event: str,
        *,
        principal: Principal | None = None,
        actor_kind: str = "anonymous",
        actor_id: str = "-",
        workspace: str | None = None,
        target: str | None = None,
        outcome: str = "ok",
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one entry. Secrets in the payload are masked before they are hashed and stored.

        Raises:
            ConflictError: the tail kept moving under us (several writers, retried first).
        """
        entry = {
            "at": utcnow(),
            "workspace": principal.workspace if principal else workspace,
            "actor_kind": principal.kind if principal else actor_kind,
            "actor_id": principal.user if principal else actor_id,
            "event": event,
            "target": target,
            "outcome": outcome,
            "payload": redact_value("payload", dict(payload or {})),
        }
        for _ in range(_APPEND_ATTEMPTS):
            try:
                with self._gz.store.begin() as conn:
                    audit_rows.lock_for_append(conn)
                    last = audit_rows.tail(conn)
                    row = {**entry, "seq": last.seq + 1 if last else 1, "prev_hash": last.hash if last else GENESIS}
                    row["hash"] = entry_hash(row)
                    audit_rows.insert_entry(conn, row)
                return
            except IntegrityError:
                continue  # another process appended first: read the new tail and try again
        raise ConflictError("could not append to the audit log: too many concurrent writers")

    def list_entries(self, principal: Principal, *, limit: int = 50, event: str | None = None) -> list[Entry]:
        """Newest first. Admins see every workspace; others need `admin` anyway (audit is sensitive).

        Raises:
            PermissionDeniedError: the principal lacks the admin scope.
        """
        require_scope(principal, "admin")
        with self._gz.store.begin() as conn:
            rows = audit_rows.recent(conn, limit=limit, event=event)
        return [Entry.model_validate(row._asdict()) for row in rows]

    def verify(self, principal: Principal) -> Verification:
        """Recompute the whole chain.

        Raises:
            PermissionDeniedError: the principal lacks the admin scope.
        """
        require_scope(principal, "admin")
        with self._gz.store.begin() as conn:
            checked, first_break = verify(row._asdict() for row in audit_rows.iterate(conn))
        return Verification(ok=first_break is None, checked=checked, first_break=first_break)

    def export(self, principal: Principal) -> Iterator[Entry]:
        """Every entry in chain order, for `audit export`.

        Raises:
            PermissionDeniedError: the principal lacks the admin scope.
        """
        require_scope(principal, "admin")
        with self._gz.store.begin() as conn:
            for row in audit_rows.iterate(conn):
                yield Entry.model_validate(row._asdict())
