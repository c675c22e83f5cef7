"""Queries on `dialog_transcripts`: the raw terminal transcripts of `gazette training wrap` runs.

Like the turns, every query names the workspace and the user. A deleted session's transcripts are
removed, not hidden: they hold everything the program showed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select

from gazette.store.tables import dialog_transcripts as transcripts


def _mine(workspace_id: int, user: str, session_id: str) -> Any:
    return (
        (transcripts.c.workspace_id == workspace_id)
        & (transcripts.c.user_id == user)
        & (transcripts.c.session_id == session_id)
    )


def insert_transcript(
    conn: Connection,
    workspace_id: int,
    user: str,
    session_id: str,
    *,
    command: list[str],
    transcript: str,
    size: int,
    exit_code: int | None,
    started_at: datetime,
    ended_at: datetime | None,
) -> None:
    """Store one run's transcript."""
    conn.execute(
        insert(transcripts).values(
            workspace_id=workspace_id,
            user_id=user,
            session_id=session_id,
            command=command,
            transcript=transcript,
            bytes=size,
            exit_code=exit_code,
            started_at=started_at,
            ended_at=ended_at,
        )
    )


def session_transcripts(conn: Connection, workspace_id: int, user: str, session_id: str) -> list[Row[Any]]:
    """The session's transcripts, oldest first."""
    query = select(transcripts).where(_mine(workspace_id, user, session_id))
    return list(conn.execute(query.order_by(transcripts.c.started_at, transcripts.c.id)))


def delete_transcripts(conn: Connection, workspace_id: int, user: str, session_id: str) -> int:
    """Remove the session's transcripts; returns how many."""
    return int(conn.execute(delete(transcripts).where(_mine(workspace_id, user, session_id))).rowcount)
