"""The ground every part of `Dialogs` stands on: appending turns, the capture choice, finding a
session, and the rows-to-model conversions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Row

from gazette.auth.models import Principal
from gazette.auth.service import require_scope
from gazette.dialogs.models import (
    Session,
    Summary,
    Turn,
)
from gazette.errors import ConflictError, InvalidInputError, NotFoundError
from gazette.logs import get_logger
from gazette.redaction import redact_text
from gazette.store import dialogs as dialog_rows
from gazette.store.workspaces import require_workspace_id

if TYPE_CHECKING:
    from gazette.app import Gazette


log = get_logger("gazette.dialogs")
_Rows = TypeVar("_Rows")

CAPTURE_COMMAND = "chosen with gazette training capture"
_INSERT_ATTEMPTS = 3


class DialogsBase:
    """State and helpers shared by the parts of `Dialogs` (`gazette.dialogs.service`)."""

    def __init__(self, gz: Gazette) -> None:
        self._gz = gz
        self._settings = gz.settings.training

    def _append(
        self,
        principal: Principal,
        session_id: str,
        rows: list[dict[str, Any]],
        *,
        also: Callable[[Connection, int], None] | None = None,
    ) -> int:
        """Insert `rows` (redacted here), and whatever `also` writes, in one transaction."""
        redacted = [{**row, "content": redact_text(row["content"])} for row in rows]
        for attempt in range(1, _INSERT_ATTEMPTS + 1):
            try:
                with self._gz.store.begin(principal.viewer()) as conn:
                    workspace_id = require_workspace_id(conn, principal.workspace)
                    first = dialog_rows.insert_turns(conn, workspace_id, principal.user, session_id, redacted)
                    if also is not None:
                        also(conn, workspace_id)
                    return first
            except ConflictError:
                # Two answers in the same session finished together: number after the other one.
                if attempt == _INSERT_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_session(
        self, principal: Principal, session: str, read: Callable[[Connection, int, str, str], _Rows]
    ) -> tuple[str, _Rows]:
        """(the session's id, what `read` returns for it) after the checks every read of a session makes.

        Raises:
            PermissionDeniedError: no `dialogs:read` scope.
            NotFoundError, InvalidInputError: as `_resolve`.
        """
        require_scope(principal, "dialogs:read")
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            session_id = self._resolve(conn, workspace_id, principal.user, session)
            return session_id, read(conn, workspace_id, principal.user, session_id)

    def _capture(self, conn: Connection, workspace_id: int, user: str) -> tuple[bool, str, datetime | None]:
        choice = dialog_rows.find_capture(conn, workspace_id, user)
        if choice is not None:
            return bool(choice.enabled), CAPTURE_COMMAND, choice.updated_at
        source = self._gz.loaded.source_of("training.capture")
        return self._settings.capture, f"setting training.capture ({source})", None

    # ---------------------------------------------------------------- sessions

    def _pick_session(
        self, conn: Connection, workspace_id: int, user: str, ref: str | None, new: bool, now: datetime
    ) -> tuple[str, bool]:
        """(session id, whether it is new) for a question."""
        if ref:
            return self._resolve(conn, workspace_id, user, ref), False
        idle = self._settings.session_idle_minutes
        if not new and idle:
            latest = dialog_rows.latest_turn(conn, workspace_id, user)
            if latest is not None and now - latest.timestamp < timedelta(minutes=idle):
                return str(latest.session_id), False
        return uuid.uuid4().hex, True

    def _resolve(self, conn: Connection, workspace_id: int, user: str, ref: str) -> str:
        """The session an id or a unique prefix names.

        Raises:
            NotFoundError: none does.
            InvalidInputError: empty, or several do.
        """
        ref = ref.strip()
        if not ref:
            raise InvalidInputError("the session id is empty: `gazette dialogs list` shows your sessions")
        found = dialog_rows.sessions_matching(conn, workspace_id, user, ref)
        if ref in found:
            return ref
        if not found:
            raise NotFoundError(
                f"no dialog session {ref!r}: `gazette dialogs list` shows your sessions; "
                "`gazette ask --new` starts one",
                details={"session": ref},
            )
        if len(found) > 1:
            raise InvalidInputError(
                f"session prefix {ref!r} matches {', '.join(found)}{' …' if len(found) >= 5 else ''}: give more of it",
                details={"session": ref},
            )
        return found[0]


def _turn(row: Row[Any]) -> Turn:
    return Turn(
        session=row.session_id,
        turn_number=row.turn_number,
        role=row.role,
        content=row.content,
        model=row.model,
        route=row.route,
        tokens_used=row.tokens_used,
        latency_ms=row.latency_ms,
        context_window=row.context_window,
        interrupted=bool(row.interrupted),
        timestamp=row.timestamp,
    )


def _summary_of(row: Row[Any] | None) -> Summary | None:
    if row is None:
        return None
    return Summary(
        session=row.session_id,
        through_turn=row.through_turn,
        content=row.content,
        model=row.model,
        source_tokens=row.source_tokens,
        tokens=row.tokens,
        created_at=row.created_at,
    )


def _session(row: Row[Any]) -> Session:
    return Session(
        id=row.session_id,
        turns=row.turns,
        started_at=row.started_at,
        last_at=row.last_at,
        title=row.title or "",
        model=row.model,
    )


def _summary(session_id: str, turns: list[Turn]) -> Session:
    questions = [turn.content for turn in turns if turn.role == "user"]
    models = [turn.model for turn in turns if turn.model]
    return Session(
        id=session_id,
        turns=len(turns),
        started_at=turns[0].timestamp,
        last_at=turns[-1].timestamp,
        title=questions[0] if questions else "",
        model=models[-1] if models else None,
    )
