"""Queries on `dialog_summaries`: one user's sessions' older turns distilled by a cheaper model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select
from sqlalchemy.exc import IntegrityError

from gazette.store.tables import dialog_summaries as summaries


def _session(workspace_id: int, user: str, session_id: str) -> Any:
    return (
        (summaries.c.workspace_id == workspace_id)
        & (summaries.c.user_id == user)
        & (summaries.c.session_id == session_id)
    )


def latest(conn: Connection, workspace_id: int, user: str, session_id: str) -> Row[Any] | None:
    """The summary reaching furthest into the session, if any."""
    query = select(summaries).where(_session(workspace_id, user, session_id))
    return conn.execute(query.order_by(summaries.c.through_turn.desc()).limit(1)).first()


def insert_summary(
    conn: Connection,
    workspace_id: int,
    user: str,
    session_id: str,
    *,
    through_turn: int,
    content: str,
    model: str,
    source_tokens: int,
    tokens: int,
    at: datetime,
) -> bool:
    """Store a summary; False when one through the same turn was stored first (by a concurrent call)."""
    values = {
        "workspace_id": workspace_id,
        "user_id": user,
        "session_id": session_id,
        "through_turn": through_turn,
        "content": content,
        "model": model,
        "source_tokens": source_tokens,
        "tokens": tokens,
        "created_at": at,
    }
    try:
        with conn.begin_nested():
            conn.execute(insert(summaries).values(**values))
    except IntegrityError:
        return False
    return True


def delete_session(conn: Connection, workspace_id: int, user: str, session_id: str) -> int:
    """Remove a session's summaries; returns how many there were."""
    return conn.execute(delete(summaries).where(_session(workspace_id, user, session_id))).rowcount
