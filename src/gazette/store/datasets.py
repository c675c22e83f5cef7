"""Queries on `training_datasets`: the record of every training export, one user's own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from gazette.store.tables import training_datasets as datasets


def insert_dataset(
    conn: Connection,
    workspace_id: int,
    user: str,
    *,
    format: str,  # the column's name
    path: str | None,
    filters: dict[str, Any],
    session_ids: list[str],
    turns: int,
    skipped: dict[str, Any],
    at: datetime,
) -> int:
    """Record one export; returns its id."""
    result = conn.execute(
        insert(datasets).values(
            workspace_id=workspace_id,
            user_id=user,
            format=format,
            path=path,
            filters=filters,
            session_ids=session_ids,
            sessions=len(session_ids),
            turns=turns,
            skipped=skipped,
            created_at=at,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])
