"""Queries on `terminal_dialogs` and `dialog_capture`: one user's dialog turns and capture choice.

Every query names the workspace and the user: dialogs are personal, admins included. Rows with
`deleted_at` set are hidden from everything but the turn numbering.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from gazette.errors import ConflictError
from gazette.store.tables import dialog_capture as capture
from gazette.store.tables import terminal_dialogs as turns

DIALOG_ROLES = ("user", "assistant")
_TURN_DEFAULTS: dict[str, Any] = {
    "model": None,
    "route": None,
    "tokens_used": None,
    "latency_ms": None,
    "context_window": None,
    "interrupted": False,
}


def _mine(workspace_id: int, user: str) -> Any:
    return and_(turns.c.workspace_id == workspace_id, turns.c.user_id == user, turns.c.deleted_at.is_(None))


def insert_turns(conn: Connection, workspace_id: int, user: str, session_id: str, rows: list[dict[str, Any]]) -> int:
    """Append `rows` to the session, numbered after its last turn; returns the first number used.

    Raises:
        ConflictError: another writer took the same turn numbers first (retry in a new transaction).
    """
    last = conn.execute(
        select(func.max(turns.c.turn_number)).where(
            turns.c.workspace_id == workspace_id, turns.c.user_id == user, turns.c.session_id == session_id
        )
    ).scalar_one()
    first = int(last or 0) + 1
    # One executemany takes its columns from the first row: give every row all of them.
    values = [
        {
            **_TURN_DEFAULTS,
            **row,
            "workspace_id": workspace_id,
            "user_id": user,
            "session_id": session_id,
            "turn_number": first + i,
        }
        for i, row in enumerate(rows)
    ]
    try:
        conn.execute(insert(turns), values)
    except IntegrityError:
        raise ConflictError(
            f"session {session_id} took turn {first} concurrently", details={"session": session_id}
        ) from None
    return first


def latest_turn(conn: Connection, workspace_id: int, user: str) -> Row[Any] | None:
    """The user's most recent visible turn, in any session."""
    query = select(turns).where(_mine(workspace_id, user)).order_by(turns.c.timestamp.desc(), turns.c.id.desc())
    return conn.execute(query.limit(1)).first()


def sessions_matching(conn: Connection, workspace_id: int, user: str, prefix: str, *, limit: int = 5) -> list[str]:
    """Visible session ids equal to or starting with `prefix`."""
    query = (
        select(turns.c.session_id)
        .where(_mine(workspace_id, user), turns.c.session_id.startswith(prefix, autoescape=True))
        .group_by(turns.c.session_id)
        .order_by(turns.c.session_id)
        .limit(limit)
    )
    return [str(row.session_id) for row in conn.execute(query)]


def list_sessions(conn: Connection, workspace_id: int, user: str, *, limit: int) -> list[Row[Any]]:
    """Newest first: session_id, turns, started_at, last_at, title (the first question), model (the last)."""
    inner = turns.alias("t")
    first_question = (
        select(inner.c.content)
        .where(
            inner.c.workspace_id == turns.c.workspace_id,
            inner.c.user_id == turns.c.user_id,
            inner.c.session_id == turns.c.session_id,
            inner.c.role == "user",
            inner.c.deleted_at.is_(None),
        )
        .order_by(inner.c.turn_number)
        .limit(1)
        .scalar_subquery()
    )
    last_model = (
        select(inner.c.model)
        .where(
            inner.c.workspace_id == turns.c.workspace_id,
            inner.c.user_id == turns.c.user_id,
            inner.c.session_id == turns.c.session_id,
            inner.c.model.is_not(None),
            inner.c.deleted_at.is_(None),
        )
        .order_by(inner.c.turn_number.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(
            turns.c.session_id,
            func.count().label("turns"),
            func.min(turns.c.timestamp).label("started_at"),
            func.max(turns.c.timestamp).label("last_at"),
            first_question.label("title"),
            last_model.label("model"),
        )
        .where(_mine(workspace_id, user))
        .group_by(turns.c.workspace_id, turns.c.user_id, turns.c.session_id)
        .order_by(func.max(turns.c.timestamp).desc(), func.max(turns.c.id).desc())
        .limit(limit)
    )
    return list(conn.execute(query))


def session_turns(conn: Connection, workspace_id: int, user: str, session_id: str) -> list[Row[Any]]:
    query = select(turns).where(_mine(workspace_id, user), turns.c.session_id == session_id)
    return list(conn.execute(query.order_by(turns.c.turn_number)))


def recent_turns(
    conn: Connection, workspace_id: int, user: str, *, last: int, session_id: str | None = None
) -> list[Row[Any]]:
    """The user's `last` most recent user and assistant turns (of one session, or of all), oldest first."""
    query = select(turns).where(_mine(workspace_id, user), turns.c.role.in_(DIALOG_ROLES))
    if session_id is not None:
        query = query.where(turns.c.session_id == session_id)
    newest_first = conn.execute(query.order_by(turns.c.timestamp.desc(), turns.c.id.desc()).limit(last))
    return list(reversed(list(newest_first)))


def delete_session(conn: Connection, workspace_id: int, user: str, session_id: str, at: datetime) -> int:
    """Soft-delete a session's turns; returns how many were hidden."""
    result = conn.execute(
        update(turns).where(_mine(workspace_id, user), turns.c.session_id == session_id).values(deleted_at=at)
    )
    return int(result.rowcount)


def count_dialogs(conn: Connection, workspace_id: int, user: str) -> tuple[int, int]:
    """(sessions, turns) the user has, deleted ones not counted."""
    row = conn.execute(
        select(func.count(func.distinct(turns.c.session_id)), func.count()).where(_mine(workspace_id, user))
    ).one()
    return int(row[0]), int(row[1])


def find_capture(conn: Connection, workspace_id: int, user: str) -> Row[Any] | None:
    query = select(capture).where(capture.c.workspace_id == workspace_id, capture.c.user_id == user)
    return conn.execute(query).first()


def set_capture(conn: Connection, workspace_id: int, user: str, *, enabled: bool, at: datetime) -> None:
    updated = conn.execute(
        update(capture)
        .where(capture.c.workspace_id == workspace_id, capture.c.user_id == user)
        .values(enabled=enabled, updated_at=at)
    )
    if updated.rowcount == 0:
        conn.execute(insert(capture).values(workspace_id=workspace_id, user_id=user, enabled=enabled, updated_at=at))


@dataclass(frozen=True)
class ExportScope:
    """The sessions an export takes: started in [start, end), with a turn by `model`, or just one."""

    start: datetime | None = None
    end: datetime | None = None
    model: str | None = None
    session_id: str | None = None


def _export_sessions(workspace_id: int, user: str, scope: ExportScope) -> Any:
    """The visible sessions in `scope`: (session_id, started_at), by the first turn's time."""
    started = func.min(turns.c.timestamp)
    query = select(turns.c.session_id, started.label("started_at")).where(_mine(workspace_id, user))
    if scope.session_id is not None:
        query = query.where(turns.c.session_id == scope.session_id)
    if scope.model is not None:
        answered = select(turns.c.session_id).where(
            _mine(workspace_id, user), or_(turns.c.model == scope.model, turns.c.route == scope.model)
        )
        query = query.where(turns.c.session_id.in_(answered))
    query = query.group_by(turns.c.session_id)
    if scope.start is not None:
        query = query.having(started >= scope.start)
    if scope.end is not None:
        query = query.having(started < scope.end)
    return query.subquery("chosen")


def count_export_sessions(conn: Connection, workspace_id: int, user: str, scope: ExportScope) -> int:
    """How many sessions `export_turns` will go through."""
    chosen = _export_sessions(workspace_id, user, scope)
    return int(conn.execute(select(func.count()).select_from(chosen)).scalar_one())


def export_turns(
    conn: Connection, workspace_id: int, user: str, scope: ExportScope, *, batch: int = 2000
) -> Iterator[Any]:
    """The visible turns of the sessions in `scope`, session after session by start time, each in
    turn order; fetched `batch` rows at a time."""
    chosen = _export_sessions(workspace_id, user, scope)
    query = (
        select(
            turns.c.session_id,
            turns.c.turn_number,
            turns.c.role,
            turns.c.content,
            turns.c.interrupted,
            turns.c.timestamp,
        )
        .join(chosen, chosen.c.session_id == turns.c.session_id)
        .where(_mine(workspace_id, user))
        .order_by(chosen.c.started_at, turns.c.session_id, turns.c.turn_number)
    )
    # A server-side cursor on PostgreSQL: 100k turns are never all in memory at once.
    yield from conn.execution_options(yield_per=batch).execute(query)


def existing_sessions(conn: Connection, workspace_id: int, user: str, session_ids: list[str]) -> set[str]:
    """Which of `session_ids` the user has rows for, deleted ones included."""
    found: set[str] = set()
    for i in range(0, len(session_ids), 500):
        chunk = session_ids[i : i + 500]
        query = select(turns.c.session_id).where(
            turns.c.workspace_id == workspace_id, turns.c.user_id == user, turns.c.session_id.in_(chunk)
        )
        found |= {str(row.session_id) for row in conn.execute(query.distinct())}
    return found
