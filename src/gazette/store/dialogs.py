"""Queries on `terminal_dialogs` and `dialog_capture`: one user's dialog turns and capture choice.

Every query names the workspace and the user: dialogs are personal, admins included. Rows with
`deleted_at` set are hidden from everything but the turn numbering.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, select, update
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
