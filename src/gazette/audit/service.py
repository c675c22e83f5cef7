"""`Audit`: the append-only, hash-chained record of who did what."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from gazette.audit.chain import GENESIS, Break, entry_hash, verify
from gazette.auth.models import Principal
from gazette.auth.service import require_scope
from gazette.errors import ConflictError
from gazette.logs import get_logger
from gazette.redaction import redact_value
from gazette.store import audit as audit_rows
from gazette.store.types import utcnow

if TYPE_CHECKING:
    from gazette.app import Gazette

_APPEND_ATTEMPTS = 5
# Entries are appended in batches: at most this long after they are recorded (or at once when
# durable, and always before the log is read or the process stops).
FLUSH_INTERVAL_SECONDS = 0.05
RETRY_SECONDS = 1.0
_log = get_logger("gazette.audit")


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
        self._pending: list[dict[str, Any]] = []
        # High-volume events counted between flushes: key -> [entry, count]
        self._tallies: dict[tuple[Any, ...], list[Any]] = {}
        self._wakeup = threading.Condition()
        self._flushing = threading.Lock()
        self._writer: threading.Thread | None = None
        self._closed = False

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
        durable: bool = False,
    ) -> None:
        """Queue one entry; the writer appends it within `FLUSH_INTERVAL_SECONDS`, or before this
        returns when `durable`. Secrets in the payload are masked before they are hashed and stored.

        Raises:
            ConflictError: (durable only) the tail kept moving under us, after retries.
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
        with self._wakeup:
            self._pending.append(entry)
            self._ensure_writer()
            self._wakeup.notify()
        if durable or self._closed:
            self.flush()

    def tally(self, event: str, *, principal: Principal, payload: Mapping[str, str]) -> None:
        """Count a high-volume event (one per request); each flush appends one entry per distinct
        principal and payload, with the count and the time of the first one."""
        key = (event, principal.kind, principal.user, principal.workspace, tuple(sorted(payload.items())))
        with self._wakeup:
            tally = self._tallies.get(key)
            if tally is not None:
                tally[1] += 1
                return
            self._tallies[key] = [
                {
                    "at": utcnow(),
                    "workspace": principal.workspace,
                    "actor_kind": principal.kind,
                    "actor_id": principal.user,
                    "event": event,
                    "target": None,
                    "outcome": "ok",
                    "payload": redact_value("payload", dict(payload)),
                },
                1,
            ]
            self._ensure_writer()
            self._wakeup.notify()

    def flush(self) -> None:
        """Append everything queued so far, in order, in one transaction.

        Raises:
            ConflictError: the tail kept moving under us (several writers, retried first).
        """
        with self._flushing:
            with self._wakeup:
                tallied = [
                    {**entry, "payload": {**entry["payload"], "count": count}}
                    for entry, count in self._tallies.values()
                ]
                self._tallies = {}
                batch = sorted([*self._pending, *tallied], key=lambda entry: entry["at"])
                self._pending = []
            if not batch:
                return
            try:
                self._append(batch)
            except BaseException:
                with self._wakeup:  # keep them for the next attempt, still in order
                    self._pending[:0] = batch
                raise

    def _ensure_writer(self) -> None:
        # Called with self._wakeup held.
        if self._writer is None and not self._closed:
            self._writer = threading.Thread(target=self._write_loop, name="gazette-audit", daemon=True)
            self._writer.start()

    def close(self) -> None:
        """Stop the writer after appending what is queued."""
        with self._wakeup:
            self._closed = True
            self._wakeup.notify()
        if self._writer is not None:
            self._writer.join(timeout=10)
        self.flush()

    def _write_loop(self) -> None:
        while True:
            with self._wakeup:
                self._wakeup.wait_for(lambda: bool(self._pending or self._tallies) or self._closed)
                if self._closed:
                    return
            time.sleep(FLUSH_INTERVAL_SECONDS)  # gather what arrives meanwhile into one transaction
            try:
                self.flush()
            except Exception:
                _log.exception("audit append failed; retrying in %ss", RETRY_SECONDS)
                time.sleep(RETRY_SECONDS)

    def _append(self, batch: list[dict[str, Any]]) -> None:
        for _ in range(_APPEND_ATTEMPTS):
            try:
                with self._gz.store.begin() as conn:
                    audit_rows.lock_for_append(conn)
                    last = audit_rows.tail(conn)
                    seq, previous = (last.seq, last.hash) if last else (0, GENESIS)
                    rows = []
                    for entry in batch:
                        seq += 1
                        row = {**entry, "seq": seq, "prev_hash": previous}
                        row["hash"] = previous = entry_hash(row)
                        rows.append(row)
                    audit_rows.insert_entries(conn, rows)
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
        self.flush()
        with self._gz.store.begin() as conn:
            rows = audit_rows.recent(conn, limit=limit, event=event)
        return [Entry.model_validate(row._asdict()) for row in rows]

    def verify(self, principal: Principal) -> Verification:
        """Recompute the whole chain.

        Raises:
            PermissionDeniedError: the principal lacks the admin scope.
        """
        require_scope(principal, "admin")
        self.flush()
        with self._gz.store.begin() as conn:
            checked, first_break = verify(row._asdict() for row in audit_rows.iterate(conn))
        return Verification(ok=first_break is None, checked=checked, first_break=first_break)

    def export(self, principal: Principal) -> Iterator[Entry]:
        """Every entry in chain order, for `audit export`.

        Raises:
            PermissionDeniedError: the principal lacks the admin scope.
        """
        require_scope(principal, "admin")
        self.flush()
        with self._gz.store.begin() as conn:
            for row in audit_rows.iterate(conn):
                yield Entry.model_validate(row._asdict())
