"""Queries on `rate_limit_log`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from gazette.store.tables import rate_limit_log


def insert_call(
    conn: Connection,
    *,
    workspace_id: int,
    token_id: int | None,
    user: str,
    provider: str,
    endpoint: str,
    status_code: int,
    at: datetime,
) -> None:
    conn.execute(
        insert(rate_limit_log).values(
            workspace_id=workspace_id,
            token_id=token_id,
            user_id=user,
            provider=provider,
            endpoint=endpoint,
            status_code=status_code,
            created_at=at,
        )
    )


def recent_calls(conn: Connection, workspace_id: int, *, provider: str | None = None, limit: int = 50) -> list[Any]:
    query = select(rate_limit_log).where(rate_limit_log.c.workspace_id == workspace_id)
    if provider:
        query = query.where(rate_limit_log.c.provider == provider)
    return list(conn.execute(query.order_by(rate_limit_log.c.id.desc()).limit(limit)))
