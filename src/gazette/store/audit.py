"""Queries on `audit_log`: lock the tail, read it, insert after it, read in order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from gazette.store.tables import audit_log

# Serialises appenders on PostgreSQL (SQLite: BEGIN IMMEDIATE takes the write lock up front).
_PG_APPEND_LOCK = 0x6A2E0A0D


def lock_for_append(conn: Connection) -> None:
    """Take the append lock; call first in the transaction."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_APPEND_LOCK})")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def tail(conn: Connection) -> Any:
    return conn.execute(select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).first()


def insert_entries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(insert(audit_log), rows)


def iterate(conn: Connection, *, batch: int = 1000) -> Iterator[Row[Any]]:
    """Every entry in storage order (by id), streamed."""
    yield from conn.execute(select(audit_log).order_by(audit_log.c.id).execution_options(yield_per=batch))


def recent(conn: Connection, *, limit: int, event: str | None = None, workspace: str | None = None) -> list[Row[Any]]:
    query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if event:
        query = query.where(audit_log.c.event == event)
    if workspace:
        query = query.where(audit_log.c.workspace == workspace)
    return list(conn.execute(query))
