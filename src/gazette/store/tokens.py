"""Queries on `personal_access_tokens` (metadata of Gazette tokens and provider credentials)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from gazette.errors import ConflictError
from gazette.store.tables import personal_access_tokens as pat
from gazette.store.tables import workspaces

_COLUMNS = (*pat.c, workspaces.c.slug.label("workspace"))


def _select() -> Any:
    return select(*_COLUMNS).join(workspaces, workspaces.c.id == pat.c.workspace_id)


def insert_token(conn: Connection, values: dict[str, Any]) -> Row[Any]:
    """Insert one row and return it (with its workspace slug).

    Raises:
        ConflictError: an active token of that name exists for the provider in the workspace.
    """
    # No savepoint: the ConflictError leaves the caller's transaction, which rolls it back.
    try:
        token_id = conn.execute(insert(pat).values(**values).returning(pat.c.id)).scalar_one()
    except IntegrityError:
        raise ConflictError(
            f"an active {values['provider']} token named {values['name']!r} already exists; "
            "revoke it first or choose another name",
            details={"name": values["name"], "provider": values["provider"]},
        ) from None
    return conn.execute(_select().where(pat.c.id == token_id)).one()


def count_tokens(conn: Connection, provider: str) -> int:
    """Every token of the provider ever minted, revoked ones included."""
    return int(conn.execute(select(func.count()).select_from(pat).where(pat.c.provider == provider)).scalar_one())


def find_by_hash(conn: Connection, token_hash: str) -> Row[Any] | None:
    return conn.execute(_select().where(pat.c.token_hash == token_hash)).first()


def find_active_credential(conn: Connection, workspace_id: int, user: str, provider: str) -> Row[Any] | None:
    """The user's newest active credential for a provider."""
    query = (
        _select()
        .where(
            pat.c.workspace_id == workspace_id,
            pat.c.user_id == user,
            pat.c.provider == provider,
            pat.c.revoked_at.is_(None),
        )
        .order_by(pat.c.id.desc())
        .limit(1)
    )
    return conn.execute(query).first()


def list_tokens(
    conn: Connection, workspace_id: int, *, user: str | None = None, include_revoked: bool = False
) -> list[Row[Any]]:
    query = _select().where(pat.c.workspace_id == workspace_id)
    if user is not None:
        query = query.where(pat.c.user_id == user)
    if not include_revoked:
        query = query.where(pat.c.revoked_at.is_(None))
    return list(conn.execute(query.order_by(pat.c.provider, pat.c.name, pat.c.id)))


def find_active_by_name_or_prefix(conn: Connection, workspace_id: int, key: str) -> list[Row[Any]]:
    query = _select().where(
        pat.c.workspace_id == workspace_id,
        pat.c.revoked_at.is_(None),
        or_(pat.c.name == key, pat.c.token_prefix == key),
    )
    return list(conn.execute(query))


def count_request(conn: Connection, token_id: int, *, now: datetime) -> int | None:
    """Count one request against the token's day (UTC) in one atomic statement.

    Returns the count for today including this request, or None when the daily limit was
    already reached (nothing is counted then). Concurrent callers can never exceed the limit.
    """
    today = now.date()
    new_count = case((pat.c.requests_day == today, pat.c.requests_today + 1), else_=1)
    statement = (
        update(pat)
        .where(
            pat.c.id == token_id,
            or_(
                pat.c.rate_limit_rpd.is_(None),
                pat.c.requests_day.is_(None),
                pat.c.requests_day != today,
                pat.c.requests_today < pat.c.rate_limit_rpd,
            ),
        )
        .values(requests_today=new_count, requests_day=today, last_request_at=now)
        .returning(pat.c.requests_today)
    )
    value = conn.execute(statement).scalar_one_or_none()
    return int(value) if value is not None else None


def add_requests(conn: Connection, token_id: int, count: int, *, now: datetime) -> None:
    """Add `count` requests to the token's day (UTC), for tokens without a daily limit."""
    today = now.date()
    new_count = case((pat.c.requests_day == today, pat.c.requests_today + count), else_=count)
    conn.execute(
        update(pat)
        .where(pat.c.id == token_id)
        .values(requests_today=new_count, requests_day=today, last_request_at=now)
    )


def mark_revoked(conn: Connection, token_id: int, when: datetime) -> Row[Any]:
    conn.execute(update(pat).where(pat.c.id == token_id).values(revoked_at=when))
    return conn.execute(_select().where(pat.c.id == token_id)).one()
