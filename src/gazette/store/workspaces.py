"""Queries on `workspaces`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from gazette.errors import NotFoundError
from gazette.store.tables import workspaces


@dataclass(frozen=True)
class WorkspaceRow:
    id: int
    slug: str
    name: str
    created_at: datetime


def find_workspace(conn: Connection, slug: str) -> WorkspaceRow | None:
    row = conn.execute(
        select(workspaces.c.id, workspaces.c.slug, workspaces.c.name, workspaces.c.created_at).where(
            workspaces.c.slug == slug, workspaces.c.deleted_at.is_(None)
        )
    ).first()
    return WorkspaceRow(*row) if row else None


def require_workspace_id(conn: Connection, slug: str) -> int:
    """The id of an existing workspace.

    Raises:
        NotFoundError: no such workspace (or it was deleted).
    """
    row = find_workspace(conn, slug)
    if row is None:
        raise NotFoundError(f"workspace {slug!r} does not exist", details={"workspace": slug})
    return row.id


def list_workspaces(conn: Connection) -> list[WorkspaceRow]:
    rows = conn.execute(
        select(workspaces.c.id, workspaces.c.slug, workspaces.c.name, workspaces.c.created_at)
        .where(workspaces.c.deleted_at.is_(None))
        .order_by(workspaces.c.id)
    )
    return [WorkspaceRow(*row) for row in rows]
